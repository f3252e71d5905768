package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type rpcReply struct {
	ID     json.RawMessage `json:"id"`
	Result *struct {
		MessageID string `json:"messageId"`
		ContextID string `json:"contextId"`
		Parts     []struct {
			Data struct {
				Checkout *struct {
					ID        string `json:"id"`
					Status    string `json:"status"`
					LineItems []struct {
						Item     struct{ ID string } `json:"item"`
						Quantity int                 `json:"quantity"`
					} `json:"line_items"`
					Order *struct{ ID string } `json:"order"`
				} `json:"a2a.ucp.checkout"`
			} `json:"data"`
		} `json:"parts"`
	} `json:"result"`
	Error *struct {
		Code int `json:"code"`
		Data struct {
			Code string `json:"code"`
			Path string `json:"path"`
		} `json:"data"`
	} `json:"error"`
}

func decode(t *testing.T, m *nats.Msg) rpcReply {
	t.Helper()
	var r rpcReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatalf("reply %s: %v", m.Data, err)
	}
	return r
}

func errCode(r rpcReply) string {
	if r.Error == nil {
		return ""
	}
	return r.Error.Data.Code
}

func quantities(t *testing.T, r rpcReply) map[string]int {
	t.Helper()
	if r.Result == nil || len(r.Result.Parts) == 0 || r.Result.Parts[0].Data.Checkout == nil {
		t.Fatalf("not a checkout reply: %+v", r)
	}
	q := map[string]int{}
	for _, l := range r.Result.Parts[0].Data.Checkout.LineItems {
		q[l.Item.ID] += l.Quantity
	}
	return q
}

func TestReplayAfterRestart(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "r1", "r1-create", map[string]any{"action": "create_checkout"})
	first := c.Send("demo", "r1", "r1-add", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	if got := quantities(t, decode(t, first))["sku_tee"]; got != 1 {
		t.Fatalf("quantity after add_item = %d, want 1", got)
	}

	w.Restart()

	// The same messageId and content, in a new request: the first reply again, flagged,
	// with the new request's id; the state does not change.
	body := testenv.Envelope("r1-add", "", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	body = []byte(strings.Replace(string(body), `"id":"req-r1-add"`, `"id":"second-try"`, 1))
	again, err := c.Request("demo", "r1", body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Header.Get("A2A-Replayed") != "true" {
		t.Errorf("A2A-Replayed = %q, want true", again.Header.Get("A2A-Replayed"))
	}
	want := strings.Replace(string(first.Data), `"id":"req-r1-add"`, `"id":"second-try"`, 1)
	if string(again.Data) != want {
		t.Errorf("replayed reply differs beyond its id:\nfirst  %s\nreplay %s", first.Data, again.Data)
	}
	got := c.Send("demo", "r1", "r1-get", map[string]any{"action": "get_checkout"})
	if q := quantities(t, decode(t, got))["sku_tee"]; q != 1 {
		t.Errorf("quantity after the replay = %d, want 1 (applied twice?)", q)
	}

	// Same messageId, other content: refused, and nothing changes.
	conflict := c.Send("demo", "r1", "r1-add", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 7})
	if code := errCode(decode(t, conflict)); code != "idempotency_conflict" {
		t.Errorf("different content under the same messageId: %q, want idempotency_conflict", code)
	}
	got = c.Send("demo", "r1", "r1-get2", map[string]any{"action": "get_checkout"})
	if q := quantities(t, decode(t, got))["sku_tee"]; q != 1 {
		t.Errorf("quantity after the conflict = %d, want 1", q)
	}
}

func TestCanonicalFingerprint(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "fp", "fp-create", map[string]any{"action": "create_checkout"})
	a := `{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","role":"user","messageId":"fp-add","parts":[{"kind":"data","data":{"action":"add_item","item_id":"sku_mug","quantity":2}}]}}}`
	// The same content with keys in another order, other white space, and bare.
	b := `{ "messageId":"fp-add", "role":"user", "kind":"message",
	        "parts":[{"data":{"quantity":2,"item_id":"sku_mug","action":"add_item"},"kind":"data"}] }`
	ra, err := c.Request("demo", "fp", []byte(a), nil)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := c.Request("demo", "fp", []byte(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Header.Get("A2A-Replayed") != "" || rb.Header.Get("A2A-Replayed") != "true" {
		t.Fatalf("replayed headers: first %q, second %q", ra.Header.Get("A2A-Replayed"), rb.Header.Get("A2A-Replayed"))
	}
	if q := quantities(t, decode(t, rb))["sku_mug"]; q != 2 {
		t.Errorf("quantity = %d, want 2", q)
	}
	if id := string(decode(t, rb).ID); id != "null" {
		t.Errorf("a bare message's reply id = %s, want null", id)
	}
}

// TestReplyHeaders checks the headers of CONTRACT.md section 2 on a reply that goes to
// the default subject (and so into the A2A_OUT stream).
func TestReplyHeaders(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	sub, err := c.Conn().SubscribeSync("a2a.out.demo.hdr")
	if err != nil {
		t.Fatal(err)
	}
	hdr := nats.Header{}
	hdr.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	hdr.Set("tracestate", "vendor=1")
	if _, err := c.Publish("demo", "hdr", testenv.Envelope("hdr-1", "", map[string]any{"action": "create_checkout"}), hdr); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Nats-Msg-Id":    "demo:hdr-1:reply",
		"A2A-Message-Id": "hdr-1",
		"A2A-Tenant":     "demo",
		"A2A-Status":     "ok",
		"traceparent":    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"tracestate":     "vendor=1",
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if r := decode(t, m); r.Result == nil || r.Result.MessageID != "hdr-1:reply" || r.Result.ContextID != "hdr" {
		t.Errorf("reply message = %+v", r.Result)
	}
	// An error reply says so in its headers.
	if _, err := c.Publish("demo", "hdr", testenv.Envelope("hdr-2", "", map[string]any{"action": "create_checkout"}), nil); err != nil {
		t.Fatal(err)
	}
	m, err = sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("A2A-Status") != "error" || m.Header.Get("A2A-Error-Code") != "checkout_exists" {
		t.Errorf("error reply headers: %v", m.Header)
	}
}

func TestEnvelopeTooLarge(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	dlq, err := c.Conn().SubscribeSync("a2a.dlq.demo.big")
	if err != nil {
		t.Fatal(err)
	}
	big := testenv.Envelope("big-1", "", map[string]any{"action": "create_checkout", "pad": strings.Repeat("x", 300<<10)})
	m, err := c.Request("demo", "big", big, nil)
	if err != nil {
		t.Fatal(err)
	}
	if code := errCode(decode(t, m)); code != "envelope_too_large" {
		t.Fatalf("code = %q, want envelope_too_large", code)
	}
	d, err := dlq.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal("no dead letter:", err)
	}
	if string(d.Data) != string(big) {
		t.Error("the dead letter does not carry the original bytes")
	}
	for _, h := range []string{"A2A-Error-Code", "A2A-Error", "A2A-Original-Subject", "A2A-Original-Seq", "A2A-Attempts", "A2A-Failed-At"} {
		if d.Header.Get(h) == "" {
			t.Errorf("dead letter lacks %s", h)
		}
	}
	if got := d.Header.Get("A2A-Original-Subject"); got != "a2a.in.demo.big" {
		t.Errorf("A2A-Original-Subject = %q", got)
	}
	if _, err := time.Parse(time.RFC3339, d.Header.Get("A2A-Failed-At")); err != nil {
		t.Errorf("A2A-Failed-At: %v", err)
	}
}

// boomCatalog panics on one item: a bug in a provider.
type boomCatalog struct{ commerce.Catalog }

func (b boomCatalog) Item(ctx context.Context, id string) (commerce.Item, bool, error) {
	if id == "sku_boom" {
		panic("boom")
	}
	return b.Catalog.Item(ctx, id)
}

func TestPanicIsDeadLetteredAndTheWorkerGoesOn(t *testing.T) {
	cat := providers.NewCatalog(providers.Demo().Items)
	w := testenv.StartWorker(t, nil, handlers.Options{Providers: handlers.Providers{Catalog: boomCatalog{cat}}})
	c := testenv.NewClient(t, w.NATS.URL())
	dlq, err := c.Conn().SubscribeSync("a2a.dlq.demo.p1")
	if err != nil {
		t.Fatal(err)
	}
	c.Send("demo", "p1", "p1-create", map[string]any{"action": "create_checkout"})
	m := c.Send("demo", "p1", "p1-boom", map[string]any{"action": "add_item", "item_id": "sku_boom", "quantity": 1})
	if code := errCode(decode(t, m)); code != "internal_error" {
		t.Fatalf("code = %q, want internal_error", code)
	}
	d, err := dlq.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal("no dead letter:", err)
	}
	if d.Header.Get("A2A-Error-Code") != "internal_error" || d.Header.Get("A2A-Message-Id") != "p1-boom" {
		t.Errorf("dead letter headers: %v", d.Header)
	}
	m = c.Send("demo", "p1", "p1-tee", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	if q := quantities(t, decode(t, m)); q["sku_tee"] != 1 || len(q) != 1 {
		t.Errorf("after the panic: %v, want only sku_tee x1", q)
	}
}

func TestTenantIsolation(t *testing.T) {
	cfg := &config.Config{Tenants: map[string]*config.Tenant{"demo": config.Demo(), "acme": config.Demo()}}
	w := testenv.StartWorker(t, cfg, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "shared", "iso-1", map[string]any{"action": "create_checkout"})
	c.Send("demo", "shared", "iso-2", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 3})
	// The same context and even the same messageId in another tenant: nothing is shared.
	m := c.Send("acme", "shared", "iso-2", map[string]any{"action": "get_checkout"})
	if code := errCode(decode(t, m)); code != "not_found" {
		t.Errorf("acme sees demo's checkout: %q, want not_found", code)
	}
	// acme may not send its replies into demo's subjects.
	hdr := nats.Header{}
	hdr.Set("A2A-Reply-To", "a2a.out.demo.shared")
	sub, _ := c.Conn().SubscribeSync("a2a.out.acme.shared")
	spy, _ := c.Conn().SubscribeSync("a2a.out.demo.>")
	if _, err := c.Publish("acme", "shared", testenv.Envelope("iso-3", "", map[string]any{"action": "get_checkout"}), hdr); err != nil {
		t.Fatal(err)
	}
	r, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code := errCode(decode(t, r)); code != "reply_subject_forbidden" {
		t.Errorf("code = %q, want reply_subject_forbidden", code)
	}
	if m, err := spy.NextMsg(300 * time.Millisecond); err == nil {
		t.Errorf("a reply reached demo's subjects: %s %s", m.Subject, m.Data)
	}
}

// TestEventsOnce completes a checkout, then replays the completion: the domain events
// are in A2A_EVT once each, with deterministic ids.
func TestEventsOnce(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "ev", "ev-1", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_gift"}, "quantity": 1}},
		"buyer":      map[string]any{"email": "a@example.com"}})
	complete := map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{
		map[string]any{"id": "pi", "handler_id": "mock", "type": "card", "credential": map[string]any{"type": "token", "token": "tok_visa"}}}}}
	r := decode(t, c.Send("demo", "ev", "ev-2", complete))
	if r.Result == nil || r.Result.Parts[0].Data.Checkout.Status != "completed" {
		t.Fatalf("not completed: %+v", r)
	}
	if m := c.Send("demo", "ev", "ev-2", complete); m.Header.Get("A2A-Replayed") != "true" {
		t.Fatal("the second completion was not a replay")
	}
	w.Restart()
	if m := c.Send("demo", "ev", "ev-2", complete); m.Header.Get("A2A-Replayed") != "true" {
		t.Fatal("the completion after a restart was not a replay")
	}
	js := c.JetStream()
	ctx := context.Background()
	s, err := js.Stream(ctx, "A2A_EVT")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter("a2a.evt.demo.>"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"checkout.completed", "order.created", "payment.authorized", "payment.captured"}
	for _, typ := range want {
		if n := info.State.Subjects["a2a.evt.demo."+typ]; n != 1 {
			t.Errorf("%s events: %d, want 1", typ, n)
		}
	}
	if int(info.State.Msgs) != len(want) {
		t.Errorf("events stored: %d, want %d (%v)", info.State.Msgs, len(want), info.State.Subjects)
	}
}

// TestContextOrder publishes many changes to one context without waiting for replies:
// they are applied in the order the stream stored them.
func TestContextOrder(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "ord", "ord-0", map[string]any{"action": "create_checkout"})
	c.Send("demo", "ord", "ord-1", map[string]any{"action": "add_item", "item_id": "sku_mug", "quantity": 1})
	for i := 2; i <= 200; i++ {
		q := i % 37
		if q == 0 {
			q = 1
		}
		body := testenv.Envelope("ord-"+strconv.Itoa(i), "", map[string]any{"action": "update_item", "line_item_id": "li_1", "quantity": q})
		if _, err := c.Publish("demo", "ord", body, nil); err != nil {
			t.Fatal(err)
		}
	}
	m := c.Send("demo", "ord", "ord-last", map[string]any{"action": "get_checkout"})
	if q := quantities(t, decode(t, m))["sku_mug"]; q != 200%37 {
		t.Errorf("final quantity %d, want %d (the last update)", q, 200%37)
	}
}

func TestProvisionIsIdempotentAndKeepsPartitions(t *testing.T) {
	n := testenv.StartTestNATS(t)
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	topo := bus.Topology{Prefix: "a2a", Partitions: 8}
	if err := bus.Provision(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	s, _ := js.Stream(ctx, "A2A_IN")
	before := s.CachedInfo().Created
	if _, err := js.Publish(ctx, "a2a.in.demo.keep", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := bus.Provision(ctx, js, topo); err != nil {
		t.Fatal("second provision:", err)
	}
	s, _ = js.Stream(ctx, "A2A_IN")
	info, _ := s.Info(ctx)
	if !info.Created.Equal(before) || info.State.Msgs != 1 {
		t.Errorf("provisioning again recreated or emptied the stream: created %v→%v, msgs %d", before, info.Created, info.State.Msgs)
	}
	for _, name := range []string{"A2A_OUT", "A2A_DLQ", "A2A_EVT"} {
		if _, err := js.Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	err = bus.Provision(ctx, js, bus.Topology{Prefix: "a2a", Partitions: 16})
	if !errors.Is(err, bus.ErrPartitionsChanged) {
		t.Errorf("another partition count: %v, want ErrPartitionsChanged", err)
	}

	// A worker given no partition count keeps the stream's 8; one given 4 refuses to run.
	run := func(cfg *config.Config) (*bus.Worker, error) {
		cfg.DataDir = t.TempDir()
		cfg.SetDefaults()
		st, err := store.Open(cfg.DataDir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		w, err := bus.New(cfg, nc, st, handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{})), bus.NewMetrics(prometheus.NewRegistry()), nil)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(rctx) }()
		defer cancel()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			select {
			case err := <-done:
				return w, err
			default:
			}
			if w.Ready() == nil {
				cancel()
				return w, <-done
			}
		}
		return w, errors.New("not ready")
	}
	w, err := run(&config.Config{})
	if err != nil || w.Topology().Partitions != 8 {
		t.Errorf("a worker with the default partition count on an 8-partition stream: %d partitions, %v", w.Topology().Partitions, err)
	}
	if _, err := run(&config.Config{Partitions: 4}); !errors.Is(err, bus.ErrPartitionsChanged) {
		t.Errorf("a worker configured for 4 on an 8-partition stream: %v, want ErrPartitionsChanged", err)
	}
}
