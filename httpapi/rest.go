package httpapi

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
)

// The REST binding of UCP's dev.ucp.shopping service (transport rest), for version
// envelopes.UCPVersion, under /ucp/<tenant>:
//
//	POST /ucp/<tenant>/checkout-sessions                 create        → 201
//	GET  /ucp/<tenant>/checkout-sessions/{id}            get
//	PUT  /ucp/<tenant>/checkout-sessions/{id}            update (full replacement)
//	POST /ucp/<tenant>/checkout-sessions/{id}/complete   complete      → 402 when declined
//	POST /ucp/<tenant>/checkout-sessions/{id}/cancel     cancel
//	GET  /ucp/<tenant>/orders/{id}                       the order
//
// Each call becomes the envelope an agent would send over A2A, published on
// <prefix>.in.<tenant>.<context> through the bridge's exchange, so that REST callers get
// the worker's guarantees: applied once, in order, durably. Nothing is stored here.
//
//   - The tenant is the path's: one profile per tenant names /ucp/<tenant> as its endpoint.
//   - A checkout session's id is its context: POST opens a fresh context (derived from the
//     tenant and the Idempotency-Key when there is one, so that a retry finds it again,
//     else random), and the checkout's id in every response is that context. An order's
//     id is <context>.<order id>. Both survive restarts and need no mapping store.
//   - Idempotency-Key becomes the messageId (idem-<hash of the key>): the worker answers a
//     retry with the same content with the first reply, which maps to the same bytes, and
//     other content with idempotency_conflict, 409. Without a key each call is new.
//   - UCP-Agent is required (profile="<uri>"); a version="…" other than UCPVersion is
//     refused. Request-Id is echoed. A request's signature is verified against the
//     signing_keys of the platform's profile (rest_signature.go); a tenant's
//     require_request_signature refuses unsigned ones.
//
// The bridge's guards apply (JSON only, origins, Host on loopback, tokens, in-flight cap).
type rest struct{ b *bridge }

// restCall is one REST operation of one UCP version.
type restCall struct {
	rest
	v  *ucpBinding
	op string
}

// The REST operations.
const (
	opCreate   = "create"
	opGet      = "get"
	opUpdate   = "update"
	opComplete = "complete"
	opCancel   = "cancel"
	opGetOrder = "get_order"
	opShip     = "simulate_shipping" // rest_webhooks.go
	// opUpdateOrder is PUT /orders/{id}: the platform reports the order's fulfillment
	// events and adjustments (update_order).
	opUpdateOrder = "update_order"
)

// RESTPath is the path of tenant's UCP REST endpoint, as its profile advertises it.
func RESTPath(tenant string) string { return "/ucp/" + tenant }

func (x rest) register(mux *http.ServeMux) {
	for _, v := range restVersions {
		for pattern, op := range map[string]string{
			"POST /ucp/{tenant}/checkout-sessions":               opCreate,
			"GET /ucp/{tenant}/checkout-sessions/{id}":           opGet,
			"PUT /ucp/{tenant}/checkout-sessions/{id}":           opUpdate,
			"POST /ucp/{tenant}/checkout-sessions/{id}/complete": opComplete,
			"POST /ucp/{tenant}/checkout-sessions/{id}/cancel":   opCancel,
			"GET /ucp/{tenant}/orders/{id}":                      opGetOrder,
			"PUT /ucp/{tenant}/orders/{id}":                      opUpdateOrder,
			"POST /testing/simulate-shipping/{id}":               opShip,
			"POST /ucp/{tenant}/testing/simulate-shipping/{id}":  opShip,
		} {
			method, path, _ := strings.Cut(pattern, " ")
			c := restCall{x, v, op}
			mux.HandleFunc(method+" "+v.prefix+path, func(w http.ResponseWriter, r *http.Request) {
				start := time.Now()
				outcome := c.serve(w, r)
				x.b.metrics.observe(outcome, time.Since(start))
			})
		}
		if v.prefix != "" {
			// The order at the version's base URL, of the default tenant: where a
			// 2026-01-11 platform looks for it (GET <base>/orders/{id}) and reports
			// on it (PUT).
			for method, op := range map[string]string{"GET": opGetOrder, "PUT": opUpdateOrder} {
				c := restCall{x, v, op}
				mux.HandleFunc(method+" "+v.prefix+"/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
					start := time.Now()
					outcome := c.serve(w, r)
					x.b.metrics.observe(outcome, time.Since(start))
				})
			}
		}
	}
}

// restError is the body of a REST error: UCP's error response, with cartwright's code,
// the message as content and detail, and the JSONPath into the request body.
type restError struct {
	UCP      restStatus    `json:"ucp"`
	Code     string        `json:"code"`
	Content  string        `json:"content"`
	Detail   string        `json:"detail"`
	Path     string        `json:"path,omitempty"`
	Messages []restMessage `json:"messages"`
}

type restStatus struct {
	Version string `json:"version"`
	Status  string `json:"status"`
}

type restMessage struct {
	Type     string `json:"type"`
	Code     string `json:"code"`
	Path     string `json:"path,omitempty"`
	Content  string `json:"content"`
	Severity string `json:"severity"`
}

func (x restCall) serve(w http.ResponseWriter, r *http.Request) string {
	b, op := x.b, x.op
	// The version the call is processed in: the platform's, when it names one this
	// endpoint may serve (rest_versions.go); its refusal waits for the guards.
	v, agentMsg, agentCode := x.v.negotiate(r.Header.Values("UCP-Agent"))
	restFail := v.fail
	if id := r.Header.Get("Request-Id"); id != "" && len(id) <= 256 {
		w.Header().Set("Request-Id", id)
	}
	if op == opShip && !simulationAllowed(b.cfg, r) {
		restFail(w, http.StatusForbidden, "forbidden", "simulation is off, or Simulation-Secret is missing or wrong (webhooks.simulation_secret)", "")
		return outcomeUnauthorized
	}
	hasBody := r.Method != http.MethodGet && op != opShip // simulate-shipping takes no body
	guardBody := hasBody
	if op == opCancel && v.bodylessCancel && r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		guardBody = false // no body to mistake: the Host and Origin guards still apply
	}
	if status, msg := b.guards.verdict(r, guardBody); status != 0 {
		restFail(w, status, "invalid_request", msg, "")
		return outcomeRefused
	}
	tenant := r.PathValue("tenant")
	if tenant == "" {
		tenant = b.cfg.Bridge.DefaultTenant // /testing/simulate-shipping/{id}
	}
	if !b.authorized(tenant, r) {
		restFail(w, http.StatusUnauthorized, "unauthorized", "a bearer token of this tenant is required", "")
		return outcomeUnauthorized
	}
	if agentMsg != "" {
		restFail(w, http.StatusBadRequest, agentCode, agentMsg, "")
		return outcomeRejected
	}
	select {
	case b.inflight <- struct{}{}:
		defer func() { <-b.inflight }()
	default:
		w.Header().Set("Retry-After", "1")
		restFail(w, http.StatusServiceUnavailable, commerce.CodeTemporarilyUnavailable,
			"too many requests in flight (http.max_in_flight); retry shortly", "")
		return outcomeBusy
	}
	if b.cfg.Tenants[tenant] == nil {
		restFail(w, http.StatusNotFound, commerce.CodeUnknownTenant, "no such tenant", "")
		return outcomeRejected
	}

	var body json.RawMessage
	if !hasBody && !x.checkSignature(w, r, v, tenant, nil) {
		return outcomeUnauthorized
	}
	if hasBody {
		limit := b.cfg.Limits.MaxEnvelopeBytes
		if limit <= 0 {
			limit = envelopes.DefaultLimits().MaxEnvelopeBytes
		}
		raw, err := readBody(w, r, limit)
		if err != nil {
			var tooBig *http.MaxBytesError
			if !errors.As(err, &tooBig) {
				return outcomeGone
			}
			restFail(w, http.StatusRequestEntityTooLarge, commerce.CodeEnvelopeTooLarge, "the body is over the limit (limits.max_envelope_bytes)", "")
			return outcomeRejected
		}
		if !x.checkSignature(w, r, v, tenant, raw) {
			return outcomeUnauthorized
		}
		if len(bytes.TrimSpace(raw)) == 0 && op == opCancel {
			raw = []byte("{}")
		}
		if !json.Valid(raw) {
			restFail(w, http.StatusBadRequest, commerce.CodeParseError, "the body is not valid JSON", "$")
			return outcomeRejected
		}
		if firstNonSpace(raw) != '{' {
			restFail(w, http.StatusBadRequest, commerce.CodeInvalidParams, "the body must be a JSON object", "$")
			return outcomeRejected
		}
		body = raw
		if v.request != nil {
			conv, msg, path := v.request(op, body)
			if msg != "" {
				restFail(w, http.StatusBadRequest, commerce.CodeInvalidParams, msg, path)
				return outcomeRejected
			}
			body = conv
		}
	}

	// The session, the messageId and the command's data part.
	messageID := newRESTMessageID()
	if key := r.Header.Get("Idempotency-Key"); key != "" && hasBody {
		if len(key) > 255 {
			restFail(w, http.StatusBadRequest, "invalid_request", "Idempotency-Key is longer than 255 bytes", "")
			return outcomeRejected
		}
		sum := sha256.Sum256([]byte(key))
		messageID = "idem-" + hex.EncodeToString(sum[:20])
	}
	var contextID, orderID string
	switch op {
	case opCreate:
		contextID = DeriveContextID(tenant, messageID)
	case opGetOrder, opShip, opUpdateOrder:
		var ok bool
		contextID, orderID, ok = strings.Cut(r.PathValue("id"), ".")
		if !ok || !natsToken.MatchString(contextID) || orderID == "" {
			restFail(w, http.StatusNotFound, commerce.CodeNotFound, "no such order", "")
			return outcomeRejected
		}
	default:
		contextID = r.PathValue("id")
		if !natsToken.MatchString(contextID) {
			restFail(w, http.StatusNotFound, commerce.CodeNotFound, "no such checkout session", "")
			return outcomeRejected
		}
	}
	if op == opUpdate && v.keepAbsent {
		// The members the PUT leaves out stay as the checkout has them: read it first.
		cur, outcome := x.checkout(r, tenant, contextID)
		if cur == nil {
			return v.sessionUnread(w, outcome)
		}
		body = keepAbsent(body, cur)
	}
	data, msg, path := restData(op, body, orderID)
	if msg != "" {
		status := http.StatusBadRequest
		if op == opUpdateOrder {
			status = http.StatusUnprocessableEntity
		}
		restFail(w, status, commerce.CodeInvalidParams, msg, path)
		return outcomeRejected
	}
	if op == opCreate || op == opComplete {
		x.remember(r, tenant, contextID)
	}
	if op == opComplete && boundToSession(body, contextID) {
		// A token bound to this session names it by the id this binding gives it, the
		// context; the worker checks bindings against its checkout's own id, which the
		// session's checkout says.
		id, outcome := x.checkoutID(r, tenant, contextID)
		if id == "" {
			return v.sessionUnread(w, outcome)
		}
		data = rebind(data, contextID, id)
	}
	env, _ := json.Marshal(restEnvelope{
		JSONRPC: "2.0", ID: messageID, Method: "message/send",
		Params: restParams{Message: restA2AMessage{
			Kind: "message", Role: "user", MessageID: messageID, ContextID: contextID,
			Parts: []restPart{{Kind: "data", Data: data}},
		}},
	})

	reply, outcome, why := b.exchange(r, tenant, contextID, messageID, env)
	if reply == nil {
		if outcome == outcomeTimeout {
			w.Header().Set("Retry-After", "1")
			restFail(w, http.StatusServiceUnavailable, commerce.CodeTemporarilyUnavailable,
				why+"; the call is applied once: send it again with the same Idempotency-Key for its response", "")
		}
		return outcome
	}
	if v := reply.Header.Get(handlers.HdrReplayed); v != "" {
		w.Header().Set(handlers.HdrReplayed, v)
	}
	status, out := restResponse(v, op, contextID, reply.Data)
	if v.response != nil && (status < 400 || status == http.StatusPaymentRequired) {
		status, out = v.response(v, b.cfg.Tenants[tenant], op, status, out)
	}
	writeJSON(w, status, out)
	if status >= 400 {
		return outcomeError
	}
	return outcomeOK
}

// boundToSession reports whether a complete body names the session contextID in one of
// its instruments' credential.binding.checkout_id.
func boundToSession(body json.RawMessage, contextID string) bool {
	return bytes.Contains(body, []byte(`"`+contextID+`"`)) && bytes.Contains(body, []byte(`"binding"`))
}

// rebind replaces contextID by id where a credential.binding.checkout_id of the complete
// command data names it, and nowhere else.
func rebind(data json.RawMessage, contextID, id string) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var d map[string]any
	if dec.Decode(&d) != nil {
		return data
	}
	pay, _ := d[envelopes.KeyPayment].(map[string]any)
	instruments, _ := pay["instruments"].([]any)
	for _, in := range instruments {
		im, _ := in.(map[string]any)
		cred, _ := im["credential"].(map[string]any)
		bind, _ := cred["binding"].(map[string]any)
		if bind != nil && bind["checkout_id"] == contextID {
			bind["checkout_id"] = id
		}
	}
	out, err := json.Marshal(d)
	if err != nil {
		return data
	}
	return out
}

// checkoutID asks the worker for the id of the checkout in contextID (get_checkout): ""
// and the outcome when there is none or no reply.
func (x restCall) checkoutID(r *http.Request, tenant, contextID string) (string, string) {
	c, outcome := x.checkout(r, tenant, contextID)
	id, _ := c["id"].(string)
	if c == nil || id == "" {
		return "", cmp.Or(outcome, outcomeRejected)
	}
	return id, ""
}

// checkout asks the worker for the checkout in contextID (get_checkout), in the
// 2026-04-08 form: nil and the outcome when there is none or no reply.
func (x restCall) checkout(r *http.Request, tenant, contextID string) (map[string]any, string) {
	messageID := newRESTMessageID()
	data, _ := json.Marshal(map[string]string{"action": string(commerce.ActGetCheckout)})
	env, _ := json.Marshal(restEnvelope{
		JSONRPC: "2.0", ID: messageID, Method: "message/send",
		Params: restParams{Message: restA2AMessage{
			Kind: "message", Role: "user", MessageID: messageID, ContextID: contextID,
			Parts: []restPart{{Kind: "data", Data: data}},
		}},
	})
	reply, outcome, _ := x.b.exchange(r, tenant, contextID, messageID, env)
	if reply == nil {
		return nil, outcome
	}
	var rep struct {
		Result *struct {
			Parts []struct {
				Data map[string]map[string]any `json:"data"`
			} `json:"parts"`
		} `json:"result"`
	}
	dec := json.NewDecoder(bytes.NewReader(reply.Data))
	dec.UseNumber()
	if dec.Decode(&rep) != nil || rep.Result == nil || len(rep.Result.Parts) == 0 {
		return nil, outcomeRejected
	}
	c := rep.Result.Parts[0].Data[envelopes.KeyCheckout]
	if c == nil {
		return nil, outcomeRejected
	}
	return c, ""
}

// keepAbsent fills in an update body the members it leaves out (line_items, buyer,
// context, fulfillment, discounts) from cur, the checkout as it is, in the form a
// request takes them: a PUT replaces the members it sends and keeps the others. A body
// it cannot read is left for the worker to refuse.
func keepAbsent(body json.RawMessage, cur map[string]any) json.RawMessage {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		return body
	}
	put := func(name string, v any) {
		if _, sent := in[name]; sent || v == nil {
			return
		}
		if b, err := json.Marshal(v); err == nil {
			in[name] = b
		}
	}
	if lines, ok := cur["line_items"].([]any); ok {
		var req []any
		for _, l := range lines {
			req = append(req, map[string]any{"item": map[string]any{"id": at(l, "item", "id")}, "quantity": at(l, "quantity")})
		}
		put("line_items", req)
	}
	put("buyer", cur["buyer"])
	put("context", cur["context"])
	if codes, ok := at(cur, "discounts", "codes").([]any); ok && len(codes) > 0 {
		put("discounts", map[string]any{"codes": codes})
	}
	if methods, ok := at(cur, "fulfillment", "methods").([]any); ok && len(methods) > 0 {
		var req []any
		for _, m := range methods {
			mm, _ := m.(map[string]any)
			if mm == nil {
				continue
			}
			rm := map[string]any{"type": mm["type"]}
			if ds, ok := mm["destinations"].([]any); ok && len(ds) > 0 {
				rm["destinations"] = ds
			}
			if id, ok := mm["selected_destination_id"].(string); ok && id != "" {
				rm["selected_destination_id"] = id
			}
			if groups, ok := mm["groups"].([]any); ok && len(groups) > 0 {
				if opt, ok := at(groups[0], "selected_option_id").(string); ok && opt != "" {
					rm["groups"] = []any{map[string]any{"selected_option_id": opt}}
				}
			}
			req = append(req, rm)
		}
		put("fulfillment", map[string]any{"methods": req})
	}
	out, err := json.Marshal(in)
	if err != nil {
		return body
	}
	return out
}

type restEnvelope struct {
	JSONRPC string     `json:"jsonrpc"`
	ID      string     `json:"id"`
	Method  string     `json:"method"`
	Params  restParams `json:"params"`
}

type restParams struct {
	Message restA2AMessage `json:"message"`
}

type restA2AMessage struct {
	Kind      string     `json:"kind"`
	Role      string     `json:"role"`
	MessageID string     `json:"messageId"`
	ContextID string     `json:"contextId"`
	Parts     []restPart `json:"parts"`
}

type restPart struct {
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
}

// restData is the data part of op's envelope, in the UCP form where there is one:
// a2a.ucp.checkout to create, a2a.ucp.checkout.payment to complete. An update is the
// update_checkout action, not the UCP form's create-or-replace: a PUT must not open a
// new checkout in a context whose checkout is completed, canceled or absent. With a
// message, the body is refused (at path).
func restData(op string, body json.RawMessage, orderID string) (json.RawMessage, string, string) {
	var data any
	switch op {
	case opCreate:
		data = map[string]json.RawMessage{envelopes.KeyCheckout: body}
	case opUpdate:
		data = map[string]any{"action": string(commerce.ActUpdateCheckout), "checkout": body}
	case opComplete:
		var in struct {
			Payment json.RawMessage `json:"payment"`
			AP2     json.RawMessage `json:"ap2"`
		}
		if err := json.Unmarshal(body, &in); err != nil || firstNonSpace(in.Payment) != '{' {
			return nil, "payment is required: an object {instruments: [...]}", "$.payment"
		}
		d := map[string]json.RawMessage{envelopes.KeyPayment: in.Payment}
		if len(in.AP2) > 0 && string(in.AP2) != "null" {
			d["ap2"] = in.AP2
		}
		data = d
	case opCancel:
		data = map[string]string{"action": string(commerce.ActCancelCheckout)}
	case opGet:
		data = map[string]string{"action": string(commerce.ActGetCheckout)}
	case opGetOrder:
		data = map[string]string{"action": string(commerce.ActGetOrder), "order_id": orderID}
	case opShip:
		data = map[string]string{"action": string(commerce.ActShipOrder), "order_id": orderID}
	case opUpdateOrder:
		// The order as the platform has it: its fulfillment events and adjustments are
		// what it reports; the rest is the business's and is not read.
		var in struct {
			Fulfillment struct {
				Events json.RawMessage `json:"events"`
			} `json:"fulfillment"`
			Adjustments json.RawMessage `json:"adjustments"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, "the body must be the order: its fulfillment must be an object", "$.fulfillment"
		}
		d := map[string]any{"action": string(commerce.ActUpdateOrder), "order_id": orderID}
		if len(in.Fulfillment.Events) > 0 {
			d["events"] = in.Fulfillment.Events
		}
		if len(in.Adjustments) > 0 {
			d["adjustments"] = in.Adjustments
		}
		data = d
	}
	b, _ := json.Marshal(data)
	return b, "", ""
}

func newRESTMessageID() string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	return "rest-" + hex.EncodeToString(r[:])
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}

// sessionUnread answers a call that needed the session's checkout first and could not
// read it: 503 with Retry-After when the worker did not answer in time, 404 when there is
// no such session. It returns outcome.
func (b *ucpBinding) sessionUnread(w http.ResponseWriter, outcome string) string {
	switch outcome {
	case outcomeTimeout:
		w.Header().Set("Retry-After", "1")
		b.fail(w, http.StatusServiceUnavailable, commerce.CodeTemporarilyUnavailable,
			"no reply in time; the call was not applied: send it again", "")
	case outcomeRejected:
		b.fail(w, http.StatusNotFound, commerce.CodeNotFound, "no such checkout session", "")
	}
	return outcome
}
