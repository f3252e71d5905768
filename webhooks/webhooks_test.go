package webhooks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/bus/dlq"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
	"github.com/cartwright-dev/cartwright/webhooks"
)

// platform is a platform's side, on a real HTTP server: its profile names its webhook,
// which records every POST and answers with the statuses queued in fail (then 200).
type platform struct {
	srv  *httptest.Server
	mu   sync.Mutex
	hits []hit
	fail []int // statuses to answer, in order, before answering 200
}

type hit struct {
	header http.Header
	body   []byte
	req    *http.Request
}

func newPlatform(t testing.TB) *platform { return newPlatformOn(t, "2026-04-08") }

// newPlatformOn is a platform whose profile speaks UCP version (2026-04-08 or 2026-01-11,
// each with its shape of capabilities).
func newPlatformOn(t testing.TB, version string) *platform {
	p := &platform{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /profile.json", func(w http.ResponseWriter, _ *http.Request) {
		if version == "2026-01-11" {
			fmt.Fprintf(w, `{"ucp":{"version":"2026-01-11","capabilities":[{"name":"dev.ucp.shopping.order","version":"2026-01-11","config":{"webhook_url":%q}}]}}`,
				p.srv.URL+"/webhooks/orders")
			return
		}
		fmt.Fprintf(w, `{"ucp":{"version":"2026-04-08","capabilities":{"dev.ucp.shopping.order":[{"version":"2026-04-08","config":{"webhook_url":%q}}]}}}`,
			p.srv.URL+"/webhooks/orders")
	})
	mux.HandleFunc("POST /webhooks/orders", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.hits = append(p.hits, hit{header: r.Header.Clone(), body: body, req: r.Clone(context.Background())})
		status := http.StatusOK
		if len(p.fail) > 0 {
			status, p.fail = p.fail[0], p.fail[1:]
		}
		p.mu.Unlock()
		w.WriteHeader(status)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *platform) profile() string { return p.srv.URL + "/profile.json" }

func (p *platform) failNext(statuses ...int) {
	p.mu.Lock()
	p.fail = append(p.fail, statuses...)
	p.mu.Unlock()
}

func (p *platform) received() []hit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hit(nil), p.hits...)
}

// waitHits waits until the platform has had n POSTs.
func (p *platform) waitHits(t *testing.T, n int) []hit {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if h := p.received(); len(h) >= n {
			return h
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the platform got %d webhook POSTs, want %d", len(p.received()), n)
	return nil
}

type rig struct {
	nats *testenv.NATS
	js   jetstream.JetStream
	svc  *webhooks.Service
	reg  *prometheus.Registry
	key  *ecdsa.PrivateKey
	cfg  *config.Config
	// stops stops every Service run has started.
	stops []func()
	// client, when set, is the HTTP client of the Services run starts.
	client *http.Client
}

func (r *rig) stopAll(*testing.T) {
	for _, stop := range r.stops {
		stop()
	}
}

// start runs the delivery over a real NATS server with cartwright's streams, signing
// with a fresh key; edit changes the configuration first.
func start(t testing.TB, edit func(*config.Webhooks)) *rig {
	t.Helper()
	n := testenv.StartTestNATS(t)
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithCancel(context.Background())
	if err := bus.Provision(ctx, js, bus.Topology{Prefix: "a2a", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Webhooks.SigningKeyFile = keyFile
	cfg.Webhooks.KeyID = "merchant-test"
	cfg.Webhooks.InitialInterval = 20 * time.Millisecond
	cfg.Webhooks.MaxInterval = 100 * time.Millisecond
	cfg.Webhooks.MaxRetries = 3
	if edit != nil {
		edit(&cfg.Webhooks)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	r := &rig{nats: n, js: js, key: key, cfg: cfg}
	r.svc, r.reg, _ = r.run(t)
	return r
}

// run starts another Service on the rig's NATS, as another worker (or the same one
// restarted) would; stop stops it.
func (r *rig) run(t testing.TB) (svc *webhooks.Service, reg *prometheus.Registry, stop func()) {
	t.Helper()
	nc, err := nats.Connect(r.nats.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reg = prometheus.NewRegistry()
	svc, err = webhooks.New(ctx, r.cfg, nc, webhooks.Options{
		Dial:            func() (*nats.Conn, error) { return nats.Connect(r.nats.URL()) },
		BusinessProfile: func(tenant string) string { return "http://127.0.0.1/.well-known/ucp?tenant=" + tenant },
		OrderFor:        httpapi.OrderForVersion,
		Registerer:      reg,
		Client:          r.client,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			nc.Close()
		})
	}
	t.Cleanup(stop)
	r.stops = append(r.stops, stop)
	return svc, reg, stop
}

// publishEvent stores an event in A2A_EVT as the worker does (docs/events.md).
func (r *rig) publishEvent(t testing.TB, tenant, contextID, msgID string, n int, typ, orderID string) string {
	t.Helper()
	id := fmt.Sprintf("%s:%s:evt:%d", tenant, msgID, n)
	order := map[string]any{"id": orderID, "checkout_id": "chk_1", "status": "placed", "currency": "USD",
		"line_items": []any{map[string]any{"id": "li_1", "quantity": 2}}}
	if typ == "order.shipped" {
		order["fulfillment"] = map[string]any{"events": []any{map[string]any{"id": "ful_1", "type": "shipped"}}}
	}
	body, _ := json.Marshal(map[string]any{
		"id": id, "type": typ, "tenant": tenant, "context_id": contextID, "message_id": msgID,
		"occurred_at": "2026-04-08T12:01:00Z", "data": map[string]any{"a2a.ucp.order": order},
	})
	m := nats.NewMsg("a2a.evt." + tenant + "." + typ)
	m.Data = body
	m.Header.Set("Nats-Msg-Id", id)
	m.Header.Set("A2A-Event-Type", typ)
	if _, err := r.js.PublishMsg(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return id
}

// metric is the value of the counter or histogram count name{labels} in reg (0 when absent).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

type delivered struct {
	EventID     string `json:"event_id"`
	EventType   string `json:"event_type"`
	CreatedTime string `json:"created_time"`
	CheckoutID  string `json:"checkout_id"`
	Order       struct {
		ID          string `json:"id"`
		CheckoutID  string `json:"checkout_id"`
		Fulfillment struct {
			Events []struct {
				Type string `json:"type"`
			} `json:"events"`
		} `json:"fulfillment"`
	} `json:"order"`
}

func decode(t *testing.T, h hit) delivered {
	t.Helper()
	var d delivered
	if err := json.Unmarshal(h.body, &d); err != nil {
		t.Fatalf("webhook body %s: %v", h.body, err)
	}
	return d
}

// TestDeliversPlacedAndShippedSigned: order.created and order.shipped of a checkout
// remembered with the platform's profile reach its webhook_url as order_placed and
// order_shipped, with the REST ids, Standard Webhooks headers and an RFC 9421
// signature that verifies with the business's key (and fails on a changed body).
func TestDeliversPlacedAndShippedSigned(t *testing.T) {
	r := start(t, nil)
	p := newPlatform(t)
	if err := r.svc.Remember(context.Background(), "demo", "ctx-1", p.profile()); err != nil {
		t.Fatal(err)
	}
	placedID := r.publishEvent(t, "demo", "ctx-1", "msg-1", 1, "order.created", "ord_1")
	p.waitHits(t, 1)
	shippedID := r.publishEvent(t, "demo", "ctx-1", "msg-2", 0, "order.shipped", "ord_1")
	hits := p.waitHits(t, 2)

	byType := map[string]hit{}
	for _, h := range hits {
		byType[decode(t, h).EventType] = h
	}
	for typ, id := range map[string]string{"order_placed": placedID, "order_shipped": shippedID} {
		h, ok := byType[typ]
		if !ok {
			t.Fatalf("no %s among %d POSTs", typ, len(hits))
		}
		d := decode(t, h)
		if d.EventID != id || h.header.Get("Webhook-Id") != id {
			t.Errorf("%s: event_id %q, Webhook-Id %q, want %q", typ, d.EventID, h.header.Get("Webhook-Id"), id)
		}
		if d.CheckoutID != "ctx-1" || d.Order.ID != "ctx-1.ord_1" || d.Order.CheckoutID != "ctx-1" {
			t.Errorf("%s: checkout_id %q, order.id %q, order.checkout_id %q; want the REST ids ctx-1, ctx-1.ord_1",
				typ, d.CheckoutID, d.Order.ID, d.Order.CheckoutID)
		}
		if h.header.Get("Webhook-Timestamp") != "1775649660" {
			t.Errorf("%s: Webhook-Timestamp %q, want the event's occurred_at as unix seconds", typ, h.header.Get("Webhook-Timestamp"))
		}
		kid, err := webhooks.Verify(h.req, h.body, &r.key.PublicKey)
		if err != nil || kid != "merchant-test" {
			t.Errorf("%s: signature: kid %q, %v", typ, kid, err)
		}
		if _, err := webhooks.Verify(h.req, append([]byte(" "), h.body...), &r.key.PublicKey); err == nil {
			t.Errorf("%s: a changed body still verifies", typ)
		}
	}
	if d := decode(t, byType["order_shipped"]); len(d.Order.Fulfillment.Events) != 1 || d.Order.Fulfillment.Events[0].Type != "shipped" {
		t.Errorf("order_shipped carries fulfillment events %+v, want one of type shipped", d.Order.Fulfillment.Events)
	}
	for _, typ := range []string{"order_placed", "order_shipped"} {
		if got := metric(t, r.reg, "cartwright_webhook_deliveries_total", map[string]string{"event": typ}); got != 1 {
			t.Errorf("cartwright_webhook_deliveries_total{event=%q} = %v, want 1", typ, got)
		}
	}
	if got := metric(t, r.reg, "cartwright_webhook_request_seconds", map[string]string{"outcome": "ok"}); got != 2 {
		t.Errorf("cartwright_webhook_request_seconds{outcome=ok} count = %v, want 2", got)
	}
}

// TestDeliversInThePlatformsVersion: a platform whose profile is UCP 2026-01-11 gets the
// order in that version's shape (quantities {total, fulfilled}, fulfillment
// {expectations, events}), the shipped event in it; a 2026-04-08 platform gets it as is.
func TestDeliversInThePlatformsVersion(t *testing.T) {
	r := start(t, nil)
	older, newer := newPlatformOn(t, "2026-01-11"), newPlatform(t)
	for ctx, p := range map[string]*platform{"ctx-old": older, "ctx-new": newer} {
		if err := r.svc.Remember(context.Background(), "demo", ctx, p.profile()); err != nil {
			t.Fatal(err)
		}
		r.publishEvent(t, "demo", ctx, "msg-1-"+ctx, 1, "order.created", "ord_1")
		p.waitHits(t, 1)
		r.publishEvent(t, "demo", ctx, "msg-2-"+ctx, 0, "order.shipped", "ord_1")
	}
	orders := func(p *platform) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, h := range p.waitHits(t, 2) {
			var body struct {
				EventType string         `json:"event_type"`
				Order     map[string]any `json:"order"`
			}
			if err := json.Unmarshal(h.body, &body); err != nil {
				t.Fatal(err)
			}
			out[body.EventType] = body.Order
		}
		return out
	}
	old := orders(older)
	for typ, o := range old {
		line, _ := o["line_items"].([]any)[0].(map[string]any)
		q, _ := line["quantity"].(map[string]any)
		f, _ := o["fulfillment"].(map[string]any)
		if o["id"] != "ctx-old.ord_1" || q["total"] != 2.0 || f["expectations"] == nil || f["events"] == nil {
			t.Errorf("2026-01-11 platform, %s: %v", typ, o)
		}
	}
	if evs, _ := old["order_shipped"]["fulfillment"].(map[string]any)["events"].([]any); len(evs) != 1 {
		t.Errorf("2026-01-11 order_shipped without its shipped event: %v", old["order_shipped"])
	}
	for typ, o := range orders(newer) {
		line, _ := o["line_items"].([]any)[0].(map[string]any)
		if line["quantity"] != 2.0 {
			t.Errorf("2026-04-08 platform, %s: %v", typ, o)
		}
	}
}

// TestRetriesThenDelivers: a platform that answers 500 twice gets the event a third
// time, which it takes; two failures are counted, nothing is dead-lettered.
func TestRetriesThenDelivers(t *testing.T) {
	r := start(t, nil)
	p := newPlatform(t)
	p.failNext(500, 503)
	if err := r.svc.Remember(context.Background(), "demo", "ctx-2", p.profile()); err != nil {
		t.Fatal(err)
	}
	id := r.publishEvent(t, "demo", "ctx-2", "msg-1", 1, "order.created", "ord_2")
	hits := p.waitHits(t, 3)
	for i, h := range hits {
		if h.header.Get("Webhook-Id") != id {
			t.Errorf("POST %d: Webhook-Id %q, want the same event %q", i, h.header.Get("Webhook-Id"), id)
		}
	}
	waitFor(t, "the delivery to be counted", func() bool {
		return metric(t, r.reg, "cartwright_webhook_deliveries_total", nil) == 1
	})
	if got := metric(t, r.reg, "cartwright_webhook_failures_total", map[string]string{"reason": "status"}); got != 2 {
		t.Errorf("cartwright_webhook_failures_total{reason=status} = %v, want 2", got)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(p.received()); n != 3 {
		t.Errorf("the platform got %d POSTs, want 3 (two failures, one success)", n)
	}
	if got := metric(t, r.reg, "cartwright_webhook_dead_letters_total", nil); got != 0 {
		t.Errorf("dead letters %v, want 0", got)
	}
}

// TestPoisonedThenReplayed: a platform that keeps failing gets 1+max_retries tries;
// then the event is in A2A_DLQ with webhook_failed, replayable with dlq replay, which
// delivers it once the platform is back, and the dead letter is gone.
func TestPoisonedThenReplayed(t *testing.T) {
	r := start(t, func(w *config.Webhooks) { w.MaxRetries = 2 })
	p := newPlatform(t)
	p.failNext(500, 500, 500)
	if err := r.svc.Remember(context.Background(), "demo", "ctx-3", p.profile()); err != nil {
		t.Fatal(err)
	}
	id := r.publishEvent(t, "demo", "ctx-3", "msg-9", 1, "order.created", "ord_3")
	p.waitHits(t, 3)

	q := dlq.New(r.js, bus.Topology{Prefix: "a2a"})
	var letters []dlq.DeadLetter
	waitFor(t, "the dead letter", func() bool {
		var err error
		letters, err = q.List(context.Background(), dlq.Filter{Code: webhooks.CodeWebhookFailed})
		return err == nil && len(letters) == 1
	})
	d := letters[0]
	if d.Subject != "a2a.dlq.demo.ctx-3" || d.OriginalSubject != "a2a.webhook.demo.ctx-3" || d.MessageID != "msg-9" ||
		d.Attempts != 3 || d.Header.Get(webhooks.HdrEventID) != id || d.Header.Get(webhooks.HdrEventSubject) != "a2a.evt.demo.order.created" {
		t.Errorf("dead letter: subject %s, original %s, message id %s, attempts %d, event %s on %s",
			d.Subject, d.OriginalSubject, d.MessageID, d.Attempts, d.Header.Get(webhooks.HdrEventID), d.Header.Get(webhooks.HdrEventSubject))
	}
	if d.Error != "webhook POST answered status 500" {
		t.Errorf("A2A-Error %q", d.Error)
	}
	if got := metric(t, r.reg, "cartwright_webhook_dead_letters_total", nil); got != 1 {
		t.Errorf("cartwright_webhook_dead_letters_total = %v, want 1", got)
	}
	if got := metric(t, r.reg, "cartwright_webhook_deliveries_total", nil); got != 0 {
		t.Errorf("deliveries %v before the replay, want 0", got)
	}

	if _, err := q.Replay(context.Background(), &d); err != nil {
		t.Fatalf("replay: %v", err)
	}
	hits := p.waitHits(t, 4)
	if got := decode(t, hits[3]); got.EventID != id || got.EventType != "order_placed" {
		t.Errorf("after the replay the platform got %+v, want event %s", got, id)
	}
	waitFor(t, "the replayed delivery to be counted", func() bool {
		return metric(t, r.reg, "cartwright_webhook_deliveries_total", map[string]string{"event": "order_placed"}) == 1
	})
	if left, _ := q.List(context.Background(), dlq.Filter{}); len(left) != 0 {
		t.Errorf("%d dead letters left after the replay", len(left))
	}
}

// TestNothingToDeliver: an order event of a checkout no platform was remembered for,
// and a payment.captured (not an order webhook), send nothing.
func TestNothingToDeliver(t *testing.T) {
	r := start(t, nil)
	p := newPlatform(t)
	r.publishEvent(t, "demo", "ctx-4", "msg-1", 1, "order.created", "ord_4")
	r.publishEvent(t, "demo", "ctx-4", "msg-1", 3, "payment.captured", "ord_4")
	waitFor(t, "the skip to be counted", func() bool {
		return metric(t, r.reg, "cartwright_webhook_skipped_total", map[string]string{"reason": "no_agent"}) == 1
	})
	if n := len(p.received()); n != 0 {
		t.Errorf("the platform got %d POSTs, want none", n)
	}
}

// TestRememberRefusesOtherHosts: with the default allow-list (loopback), a profile on
// another host is not remembered; with the host allowed, it is.
func TestRememberRefusesOtherHosts(t *testing.T) {
	r := start(t, nil)
	ctx := context.Background()
	for _, bad := range []string{"http://169.254.169.254/latest/meta-data", "https://platform.example/profile", "file:///etc/passwd", "http://user:pw@127.0.0.1/p"} {
		if err := r.svc.Remember(ctx, "demo", "ctx-5", bad); err == nil {
			t.Errorf("Remember(%q) = nil, want a refusal", bad)
		}
	}
	if err := r.svc.Remember(ctx, "demo", "ctx-5", "http://localhost:9/p"); err != nil {
		t.Errorf("a loopback profile: %v", err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestRestartResumes: the consumer is durable. Events stored while no delivery runs are
// delivered when one starts again, and what was delivered before is not sent again. A
// delivery that stops holds nothing back: the event stored after the stops waits in the
// stream, not handed to a stopped subscription (where it would wait out the ack wait,
// minutes, before anyone sent it).
func TestRestartResumes(t *testing.T) {
	r := start(t, nil)
	p := newPlatform(t)
	if err := r.svc.Remember(context.Background(), "demo", "ctx-6", p.profile()); err != nil {
		t.Fatal(err)
	}
	first := r.publishEvent(t, "demo", "ctx-6", "msg-1", 1, "order.created", "ord_6")
	p.waitHits(t, 1)
	// Acked before the stops: a stop while the POST is answered would give the event
	// back, and at least once would then be twice.
	r.waitConsumer(t, 0, 0)

	_, _, stop := r.run(t) // a second worker, stopped at once: the consumer is shared
	stop()
	// Stop the first one too; with nothing running, an event is stored.
	r.stopAll(t)
	second := r.publishEvent(t, "demo", "ctx-6", "msg-2", 0, "order.canceled", "ord_6")
	time.Sleep(100 * time.Millisecond)
	if n := len(p.received()); n != 1 {
		t.Fatalf("the platform got %d POSTs with no delivery running, want 1", n)
	}
	r.waitConsumer(t, 1, 0) // waiting in the stream, held by no one
	r.run(t)
	p.waitHits(t, 2)
	r.waitConsumer(t, 0, 0)
	hits := p.received()
	if len(hits) != 2 || decode(t, hits[0]).EventID != first || decode(t, hits[1]).EventID != second ||
		decode(t, hits[1]).EventType != "order_canceled" {
		t.Fatalf("after the restart the platform has %d POSTs, want %s then %s (order_canceled) once each", len(hits), first, second)
	}
}

// waitConsumer waits until the delivery's consumer of A2A_EVT has pending events not yet
// handed out and ackPending handed out and not yet acked.
func (r *rig) waitConsumer(t *testing.T, pending uint64, ackPending int) {
	t.Helper()
	c, err := r.js.Consumer(context.Background(), "A2A_EVT", webhooks.ConsumerName)
	if err != nil {
		t.Fatal(err)
	}
	var info *jetstream.ConsumerInfo
	waitFor(t, fmt.Sprintf("the consumer to have %d pending, %d unacked", pending, ackPending), func() bool {
		info, err = c.Info(context.Background())
		return err == nil && info.NumPending == pending && info.NumAckPending == ackPending
	})
}

// TestWorkersShareEvents: two deliveries on one NATS (two workers of a group) send each
// event once between them.
func TestWorkersShareEvents(t *testing.T) {
	r := start(t, nil)
	_, reg2, _ := r.run(t)
	p := newPlatform(t)
	if err := r.svc.Remember(context.Background(), "demo", "ctx-7", p.profile()); err != nil {
		t.Fatal(err)
	}
	const n = 20
	for i := range n {
		r.publishEvent(t, "demo", "ctx-7", fmt.Sprintf("msg-%d", i), 1, "order.created", fmt.Sprintf("ord_%d", i))
	}
	p.waitHits(t, n)
	time.Sleep(300 * time.Millisecond)
	seen := map[string]int{}
	for _, h := range p.received() {
		seen[h.header.Get("Webhook-Id")]++
	}
	if len(seen) != n || len(p.received()) != n {
		t.Fatalf("%d POSTs of %d events, want %d once each", len(p.received()), len(seen), n)
	}
	a := metric(t, r.reg, "cartwright_webhook_deliveries_total", nil)
	b := metric(t, reg2, "cartwright_webhook_deliveries_total", nil)
	if a+b != n {
		t.Errorf("deliveries counted %v + %v, want %d", a, b, n)
	}
	t.Logf("worker 1 delivered %v, worker 2 %v", a, b)
}

// TestRebindingRefused: under allow_hosts "*", a host name that resolves to loopback
// (localhost here; a rebinding DNS name in an attack) is refused when the connection is
// made: the profile is never fetched, nothing is POSTed, and the failure is counted.
func TestRebindingRefused(t *testing.T) {
	r := start(t, func(w *config.Webhooks) { w.AllowHosts = []string{"*"}; w.MaxRetries = 0 })
	p := newPlatform(t)
	profile := strings.Replace(p.profile(), "127.0.0.1", "localhost", 1)
	if err := r.svc.Remember(context.Background(), "demo", "ctx-8", profile); err != nil {
		t.Fatal(err)
	}
	r.publishEvent(t, "demo", "ctx-8", "msg-1", 1, "order.created", "ord_8")
	waitFor(t, "the failure to be counted", func() bool {
		return metric(t, r.reg, "cartwright_webhook_failures_total", map[string]string{"reason": "profile"}) == 1
	})
	if n := len(p.received()); n != 0 {
		t.Errorf("the platform got %d POSTs, want none", n)
	}

	// The same URL with its host allowed by name is delivered to: what refused it above
	// was the address check.
	named := start(t, func(w *config.Webhooks) { w.AllowHosts = []string{"localhost", "127.0.0.1"} }) // the webhook_url names 127.0.0.1
	p2 := newPlatform(t)
	profile = strings.Replace(p2.profile(), "127.0.0.1", "localhost", 1)
	if err := named.svc.Remember(context.Background(), "demo", "ctx-8", profile); err != nil {
		t.Fatal(err)
	}
	named.publishEvent(t, "demo", "ctx-8", "msg-1", 1, "order.created", "ord_8")
	p2.waitHits(t, 1)
}

// panicking is a transport that panics: the handler panics in the middle of a delivery.
type panicking struct{}

func (panicking) RoundTrip(*http.Request) (*http.Response, error) { panic("transport exploded") }

// TestPanicIsRecovered: a delivery that panics is recovered by the Recoverer, retried,
// and dead-lettered; the Router goes on delivering.
func TestPanicIsRecovered(t *testing.T) {
	r := start(t, func(w *config.Webhooks) { w.MaxRetries = 1 })
	r.stopAll(t)
	r.client = &http.Client{Transport: panicking{}}
	svc, reg, _ := r.run(t)
	if err := svc.Remember(context.Background(), "demo", "ctx-9", "http://127.0.0.1:9/profile.json"); err != nil {
		t.Fatal(err)
	}
	r.publishEvent(t, "demo", "ctx-9", "msg-1", 1, "order.created", "ord_9")
	waitFor(t, "the dead letter", func() bool {
		return metric(t, reg, "cartwright_webhook_dead_letters_total", nil) == 1
	})
	if got := metric(t, reg, "cartwright_webhook_failures_total", map[string]string{"reason": "internal"}); got != 2 {
		t.Errorf("failures{internal} = %v, want 2 (the try and its retry)", got)
	}
	q := dlq.New(r.js, bus.Topology{Prefix: "a2a"})
	letters, err := q.List(context.Background(), dlq.Filter{Code: webhooks.CodeWebhookFailed})
	if err != nil || len(letters) != 1 || !strings.Contains(letters[0].Error, "transport exploded") {
		t.Fatalf("dead letters %+v, %v; want one saying why", letters, err)
	}
}

// TestFailingPlatformDoesNotHoldOthers: while one platform's event is being retried,
// another platform's event, stored after it, is delivered.
func TestFailingPlatformDoesNotHoldOthers(t *testing.T) {
	r := start(t, func(w *config.Webhooks) {
		w.MaxRetries = 3
		w.InitialInterval, w.MaxInterval = 200*time.Millisecond, 200*time.Millisecond
	})
	down, up := newPlatform(t), newPlatform(t)
	down.failNext(500, 500, 500, 500)
	ctx := context.Background()
	if err := r.svc.Remember(ctx, "demo", "ctx-down", down.profile()); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.Remember(ctx, "demo", "ctx-up", up.profile()); err != nil {
		t.Fatal(err)
	}
	r.publishEvent(t, "demo", "ctx-down", "msg-1", 1, "order.created", "ord_d")
	down.waitHits(t, 1)
	r.publishEvent(t, "demo", "ctx-up", "msg-2", 1, "order.created", "ord_u")
	up.waitHits(t, 1)
	if got := metric(t, r.reg, "cartwright_webhook_dead_letters_total", nil); got != 0 {
		t.Fatalf("the other platform's event waited for the failing one's retries to end (dead letters %v)", got)
	}
	if n := len(down.received()); n >= 4 {
		t.Fatalf("the failing platform had all its %d tries before the other was served", n)
	}
	waitFor(t, "the failing event's dead letter", func() bool {
		return metric(t, r.reg, "cartwright_webhook_dead_letters_total", nil) == 1
	})
}
