package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
)

// bridgePattern is the http.ServeMux pattern the bridge is served under: the bridge reads
// the tenant from its {tenant} wildcard.
const bridgePattern = "/a2a/{tenant}"

// bridge is the A2A JSON-RPC binding over HTTP: POST /a2a/<tenant> with a message/send
// request, exactly the envelope an agent would publish on the bus, answered with the
// worker's reply. One request:
//
//	method  → 405 unless POST
//	host    → 421 unless a loopback name (or bridge.public_url's host), when the listener
//	          is bound to loopback: DNS rebinding
//	origin  → 403 when an Origin header names an origin not in http.allowed_origins
//	type    → 415 unless Content-Type is application/json (a charset parameter allowed)
//	auth    → 401 unless the tenant's bearer token (constant-time compare), or, for a tenant
//	          without tokens, a loopback caller
//	cap     → 503 with Retry-After past http.max_in_flight requests being served
//	size    → envelope_too_large over limits.max_envelope_bytes
//	decode  → the errors envelopes.Decode gives (parse_error, invalid_envelope,
//	          unsupported_method, ...), answered here: nothing reaches the bus;
//	          tasks/get and tasks/cancel are TaskNotFound (-32001): there are no tasks
//	notify  → a request without an id (a notification) is published without A2A-Reply-To
//	          and answered 204 with no body, or, refused, 204 all the same (JSON-RPC)
//	tenant  → unknown_tenant
//	context → params.message.contextId, or, when absent, one derived from the tenant and
//	          messageId (so that a retry lands in the same context), returned to the agent
//	          as the reply's contextId
//	publish → the body, unchanged, to <prefix>.in.<tenant>.<context> through JetStream
//	          (waiting for the PubAck), with A2A-Reply-To an inbox of this bridge and the
//	          W3C traceparent/tracestate of the HTTP request
//	reply   → its bytes as the HTTP body, or temporarily_unavailable when none came within
//	          bridge.timeout
//
// Following JSON-RPC over HTTP as A2A uses it, every JSON-RPC response, error or not,
// comes with HTTP 200; other statuses (401, 403, 405, 415, 421, 503) mean the request
// was not taken as JSON-RPC at all. The A2A-Status, A2A-Error-Code, A2A-Replayed,
// A2A-Message-Id and A2A-Tenant headers of the reply are copied onto the HTTP response.
//
// A timeout does not lose the request: it is in A2A_IN and is applied once. The same
// messageId sent again gets its reply (CONTRACT.md section 6), so a timed-out agent
// retries the same bytes.
//
// All requests share one wildcard inbox subscription, _INBOX.<nuid>.*; each waits on its
// own last token, 128 random bits. One subscription, made once, means no request waits
// for its interest to spread through a cluster before it may publish. The inbox is no
// secret (A2A_IN stores it in A2A-Reply-To) and any tenant may send its reply to any
// _INBOX: a request takes a message as its answer only when A2A-Tenant and
// A2A-Message-Id name its own tenant and messageId, and keeps waiting past any other.
type bridge struct {
	cfg     *config.Config
	js      jetstream.JetStream
	sub     *nats.Subscription
	inbox   string // "_INBOX.<nuid>."
	secrets map[string][][sha256.Size]byte
	timeout time.Duration
	log     *slog.Logger
	metrics *bridgeMetrics
	guards  guards
	// inflight holds a token per request being served (http.max_in_flight).
	inflight chan struct{}
	// remember records the platform behind a REST checkout (Options.Remember); may be nil.
	remember RememberFunc
	// verify checks REST requests' signatures (Options.VerifySignature); may be nil.
	verify VerifySignatureFunc

	mu      sync.Mutex
	waiting map[string]*waiter // by inbox token; nil while closed
}

// waiter is one request waiting for its reply.
type waiter struct {
	tenant, messageID string
	ch                chan *nats.Msg // buffered: takes the one reply, or nil at close
}

// bridgeOptions tune a bridge.
type bridgeOptions struct {
	Logger *slog.Logger
	// Registerer, when set, receives the bridge's metrics.
	Registerer prometheus.Registerer
	Remember   RememberFunc
	Verify     VerifySignatureFunc
}

// newBridge subscribes the bridge's inbox on nc and reads the tenants' tokens (config.Bridge.
// Secrets). Close unsubscribes it.
func newBridge(cfg *config.Config, nc *nats.Conn, o bridgeOptions) (*bridge, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	secrets, err := cfg.Bridge.Secrets()
	if err != nil {
		return nil, err
	}
	b := &bridge{
		cfg: cfg, js: js, inbox: nc.NewInbox() + ".",
		secrets: map[string][][sha256.Size]byte{},
		timeout: cfg.Bridge.Timeout, log: o.Logger,
		metrics:  newBridgeMetrics(o.Registerer),
		waiting:  map[string]*waiter{},
		guards:   newGuards(cfg),
		remember: o.Remember,
		verify:   o.Verify,
	}
	limit := cfg.HTTP.MaxInFlight
	if limit <= 0 {
		limit = config.DefaultMaxInFlight
	}
	b.inflight = make(chan struct{}, limit)
	if b.timeout <= 0 {
		b.timeout = 10 * time.Second
	}
	for tenant, tokens := range secrets {
		for _, tok := range tokens {
			b.secrets[tenant] = append(b.secrets[tenant], sha256.Sum256([]byte(tok)))
		}
	}
	b.sub, err = nc.Subscribe(b.inbox+"*", b.deliver)
	if err != nil {
		return nil, err
	}
	// Replies may come in bursts; do not let a slow HTTP client make the server drop them.
	_ = b.sub.SetPendingLimits(-1, 256<<20)
	return b, nil
}

// deliver hands a reply to the request waiting on its token; a late reply (after the
// timeout) finds nobody and is dropped: a retry gets it again. A message that does not
// answer that request (another tenant's reply aimed at this inbox, or a forgery) is
// dropped and the request keeps waiting.
func (b *bridge) deliver(m *nats.Msg) {
	token := strings.TrimPrefix(m.Subject, b.inbox)
	b.mu.Lock()
	wt := b.waiting[token]
	ours := wt != nil && m.Header.Get(handlers.HdrTenant) == wt.tenant &&
		m.Header.Get(handlers.HdrMessageID) == wt.messageID
	if ours {
		delete(b.waiting, token)
	}
	b.mu.Unlock()
	switch {
	case ours:
		wt.ch <- m // buffered, and only the first match gets here: never blocks
	case wt != nil:
		b.metrics.foreign.Inc()
		b.log.Warn("bridge: dropped a message on a request's inbox that does not answer it",
			"tenant", clipString(m.Header.Get(handlers.HdrTenant)),
			"message_id", clipString(m.Header.Get(handlers.HdrMessageID)),
			"want_tenant", wt.tenant, "want_message_id", wt.messageID)
	}
}

// Close stops the bridge: requests still waiting are answered temporarily_unavailable (their
// envelopes stay in A2A_IN and are applied; a retry gets the reply), later ones at once.
func (b *bridge) Close() error {
	b.mu.Lock()
	waiting := b.waiting
	b.waiting = nil
	b.mu.Unlock()
	for _, wt := range waiting {
		wt.ch <- nil
	}
	if waiting == nil {
		return nil
	}
	return b.sub.Unsubscribe()
}

// await registers a waiter for the reply to tenant's messageID under a new inbox token,
// or returns ok false once closed.
func (b *bridge) await(tenant, messageID string) (token string, ch chan *nats.Msg, ok bool) {
	var r [16]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand)
	token = hex.EncodeToString(r[:])
	ch = make(chan *nats.Msg, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waiting == nil {
		return "", nil, false
	}
	b.waiting[token] = &waiter{tenant: tenant, messageID: messageID, ch: ch}
	return token, ch, true
}

func (b *bridge) forget(token string) {
	b.mu.Lock()
	if b.waiting != nil {
		delete(b.waiting, token)
	}
	b.mu.Unlock()
}

// ServeHTTP implements http.Handler under bridgePattern.
func (b *bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	r, span := traceRequest(r)
	outcome := b.serve(w, r)
	endRequest(span, outcome)
	b.metrics.observe(outcome, time.Since(start))
}

// The outcomes of a request, as counted by cartwright_bridge_requests_total.
const (
	outcomeOK           = "ok"           // a success reply
	outcomeError        = "error_reply"  // an error reply from the worker
	outcomeRejected     = "rejected"     // answered by the bridge: not sent to the bus
	outcomeTimeout      = "timeout"      // no reply in time (or the bus refused the publish)
	outcomeUnauthorized = "unauthorized" // 401
	outcomeMethod       = "bad_method"   // 405
	outcomeRefused      = "refused"      // 403, 415, 421: not a request the bridge takes
	outcomeBusy         = "busy"         // 503: over http.max_in_flight
	outcomeGone         = "client_gone"  // the HTTP client left before the reply
)

func (b *bridge) serve(w http.ResponseWriter, r *http.Request) string {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed, "the A2A JSON-RPC endpoint takes POST")
		return outcomeMethod
	}
	if !b.guards.check(w, r) {
		return outcomeRefused
	}
	tenant := r.PathValue("tenant")
	if !b.authorized(tenant, r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cartwright"`)
		httpError(w, http.StatusUnauthorized, "a bearer token of this tenant is required")
		return outcomeUnauthorized
	}
	select {
	case b.inflight <- struct{}{}:
		defer func() { <-b.inflight }()
	default:
		busy(w, cap(b.inflight))
		return outcomeBusy
	}

	limit := b.cfg.Limits.MaxEnvelopeBytes
	if limit <= 0 {
		limit = envelopes.DefaultLimits().MaxEnvelopeBytes
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			return outcomeGone // the client went away mid-body: there is nobody to answer
		}
		b.reject(w, nil, "", commerce.E(commerce.KindMalformed, commerce.CodeEnvelopeTooLarge,
			"envelope is over the limit of %d bytes", limit))
		return outcomeRejected
	}
	notification := isNotification(body)
	env, err := envelopes.Decode(body, b.cfg.Limits)
	if err != nil && env != nil && env.JSONRPC && (env.Method == "tasks/get" || env.Method == "tasks/cancel") {
		if !notification {
			taskNotFound(w, env.ID)
		} else {
			w.WriteHeader(http.StatusNoContent)
		}
		return outcomeRejected
	}
	if err != nil && notification {
		w.WriteHeader(http.StatusNoContent) // JSON-RPC answers no notification, not even its error
		return outcomeRejected
	}
	if err != nil {
		var id json.RawMessage
		msgID := ""
		if env != nil {
			id, msgID = env.ID, env.MessageID
		}
		b.reject(w, id, msgID, commerce.AsError(err))
		return outcomeRejected
	}
	if b.cfg.Tenants[tenant] == nil && notification {
		w.WriteHeader(http.StatusNoContent)
		return outcomeRejected
	}
	if b.cfg.Tenants[tenant] == nil {
		b.reject(w, env.ID, env.MessageID, commerce.E(commerce.KindMalformed, commerce.CodeUnknownTenant,
			"tenant %q is not configured here", clipString(tenant)))
		return outcomeRejected
	}
	contextID := ""
	if env.ContextID != nil {
		contextID = *env.ContextID
		if !natsToken.MatchString(contextID) {
			if notification {
				w.WriteHeader(http.StatusNoContent)
				return outcomeRejected
			}
			e := commerce.Invalid(env.Path()+".contextId", "contextId must be 1 to 64 of A-Z a-z 0-9 _ -")
			b.reject(w, env.ID, env.MessageID, e)
			return outcomeRejected
		}
	} else {
		contextID = DeriveContextID(tenant, env.MessageID)
	}

	if notification {
		// No response, as JSON-RPC has it; the worker's reply goes to the context's reply
		// subject, a2a.out.<tenant>.<context>. 503 when the bus did not take it: a
		// notification is not dropped silently.
		ctx, cancel := context.WithTimeout(r.Context(), b.timeout)
		defer cancel()
		if err := b.publish(ctx, r, tenant, contextID, env.MessageID, body, ""); err != nil {
			if r.Context().Err() != nil {
				return outcomeGone
			}
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return outcomeTimeout
		}
		w.WriteHeader(http.StatusNoContent)
		return outcomeOK
	}
	reply, outcome, why := b.exchange(r, tenant, contextID, env.MessageID, body)
	if reply == nil {
		if outcome == outcomeTimeout {
			b.unavailable(w, env, why)
		}
		return outcome
	}
	for _, h := range []string{handlers.HdrStatus, handlers.HdrErrorCode, handlers.HdrReplayed, handlers.HdrMessageID, handlers.HdrTenant} {
		if v := reply.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	// A2A extension activation: the client asked for UCP's, and every reply speaks it.
	if strings.Contains(r.Header.Get("X-A2A-Extensions"), UCPExtensionURI) {
		w.Header().Set("X-A2A-Extensions", UCPExtensionURI)
	}
	writeJSON(w, http.StatusOK, reply.Data)
	if reply.Header.Get(handlers.HdrStatus) == "error" {
		return outcomeError
	}
	return outcomeOK
}

// exchange publishes body, an envelope of tenant's with messageID, on
// <prefix>.in.<tenant>.<contextID> and waits up to bridge.timeout for its reply, which it
// returns. Without one it returns nil, the outcome (outcomeTimeout, outcomeGone) and, for a
// timeout, why. Every HTTP door (the JSON-RPC bridge, the REST binding) goes through here.
func (b *bridge) exchange(r *http.Request, tenant, contextID, messageID string, body []byte) (*nats.Msg, string, string) {
	token, ch, ok := b.await(tenant, messageID)
	if !ok {
		return nil, outcomeTimeout, "the bridge is shutting down"
	}
	defer b.forget(token)
	ctx, cancel := context.WithTimeout(r.Context(), b.timeout)
	defer cancel()
	if err := b.publish(ctx, r, tenant, contextID, messageID, body, b.inbox+token); err != nil {
		if r.Context().Err() != nil {
			return nil, outcomeGone, ""
		}
		return nil, outcomeTimeout, "the message bus did not take the message"
	}
	select {
	case reply := <-ch:
		if reply == nil {
			return nil, outcomeTimeout, "the bridge is shutting down"
		}
		return reply, "", ""
	case <-ctx.Done():
		if r.Context().Err() != nil {
			return nil, outcomeGone, ""
		}
		return nil, outcomeTimeout, "no reply within " + b.timeout.String()
	}
}

// publish sends body to <prefix>.in.<tenant>.<contextID> through JetStream, waiting for
// the PubAck, with A2A-Reply-To replyTo (none when "") and the trace context of r.
func (b *bridge) publish(ctx context.Context, r *http.Request, tenant, contextID, messageID string, body []byte, replyTo string) error {
	m := nats.NewMsg(b.cfg.Prefix + ".in." + tenant + "." + contextID)
	m.Data = body
	if replyTo != "" {
		m.Header.Set(handlers.HdrReplyTo, replyTo)
	}
	span := tracePublish(ctx, m, messageID)
	if span == nil {
		if tp := r.Header.Get(handlers.HdrTraceParent); traceParent.MatchString(tp) {
			m.Header.Set(handlers.HdrTraceParent, tp)
			if ts := r.Header.Get(handlers.HdrTraceState); ts != "" && len(ts) <= 512 {
				m.Header.Set(handlers.HdrTraceState, ts)
			}
		}
	}
	// No Nats-Msg-Id: a retry must reach the worker to be answered (CONTRACT.md section 2).
	_, err := b.js.PublishMsg(ctx, m)
	endSpan(span, err)
	if err != nil && r.Context().Err() == nil {
		b.log.Warn("bridge: publish failed", "subject", m.Subject, "err", err)
	}
	return err
}

// authorized applies the tenant's tokens, or, for a tenant without any (unknown tenants
// included), admits loopback callers only. Behind a reverse proxy on the same host every
// caller is loopback: give such tenants tokens.
func (b *bridge) authorized(tenant string, r *http.Request) bool {
	want := b.secrets[tenant]
	if len(want) == 0 {
		return loopback(r.RemoteAddr)
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	match := 0
	for _, w := range want { // all of them, whatever matches: no timing hint of which
		match |= subtle.ConstantTimeCompare(got[:], w[:])
	}
	return match == 1
}

func loopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// readBody reads at most limit bytes; more is an *http.MaxBytesError.
func readBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, error) {
	if r.ContentLength > int64(limit) {
		return nil, &http.MaxBytesError{Limit: int64(limit)}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
}

// reject answers a request the bridge refuses itself, as the worker would have.
func (b *bridge) reject(w http.ResponseWriter, id json.RawMessage, messageID string, e *commerce.Error) {
	w.Header().Set(handlers.HdrStatus, "error")
	w.Header().Set(handlers.HdrErrorCode, e.Code)
	if messageID != "" {
		w.Header().Set(handlers.HdrMessageID, messageID)
	}
	writeJSON(w, http.StatusOK, envelopes.Wrap(id, envelopes.ErrorBody(e, messageID), true))
}

func (b *bridge) unavailable(w http.ResponseWriter, env *envelopes.Envelope, why string) {
	b.reject(w, env.ID, env.MessageID, commerce.E(commerce.KindTransient, commerce.CodeTemporarilyUnavailable,
		"%s; the message is applied once: send the same messageId again for its reply", why))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// httpError answers a request that is not taken as JSON-RPC at all.
func httpError(w http.ResponseWriter, status int, msg string) { refuse(w, status, msg) }

// isNotification reports whether body is a JSON-RPC request without an id: a
// notification, which gets no response. ("id": null is a request, answered with id null.)
func isNotification(body []byte) bool {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return false
	}
	_, rpc := top["jsonrpc"]
	_, id := top["id"]
	return rpc && !id
}

// taskNotFound answers tasks/get and tasks/cancel, which A2A 0.3 requires of every agent:
// cartwright creates no tasks (message/send is answered with a message), so there is
// never one to get or cancel. -32001 is A2A's TaskNotFound.
func taskNotFound(w http.ResponseWriter, id json.RawMessage) {
	if id == nil {
		id = json.RawMessage("null")
	}
	type rpcError struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	b, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   rpcError        `json:"error"`
	}{"2.0", id, rpcError{-32001, "task not found: this agent creates no tasks, message/send is answered with a message"}})
	w.Header().Set(handlers.HdrStatus, "error")
	writeJSON(w, http.StatusOK, b)
}

// DeriveContextID is the context of a message that names none: the same for every retry
// of the message (so that its reply is found again), distinct per tenant and messageId.
func DeriveContextID(tenant, messageID string) string {
	sum := sha256.Sum256([]byte(tenant + "\x00" + messageID))
	return "ctx-" + hex.EncodeToString(sum[:16])
}

var (
	natsToken   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	traceParent = regexp.MustCompile(`^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$`)
)

func clipString(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

type bridgeMetrics struct {
	requests *prometheus.CounterVec
	seconds  prometheus.Histogram
	foreign  prometheus.Counter
}

func newBridgeMetrics(reg prometheus.Registerer) *bridgeMetrics {
	m := &bridgeMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cartwright_bridge_requests_total",
			Help: "A2A JSON-RPC bridge requests, by outcome (ok, error_reply, rejected, timeout, unauthorized, bad_method, refused, busy, client_gone).",
		}, []string{"outcome"}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cartwright_bridge_seconds",
			Help:    "Time from a bridge request to its HTTP answer.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		foreign: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cartwright_bridge_foreign_replies_total",
			Help: "Messages on a waiting request's inbox that did not answer it (another tenant or messageId), dropped.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.seconds, m.foreign)
	}
	return m
}

func (m *bridgeMetrics) observe(outcome string, d time.Duration) {
	m.requests.WithLabelValues(outcome).Inc()
	m.seconds.Observe(d.Seconds())
}
