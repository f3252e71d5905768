package handlers_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/bus/dlq"
	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// brokenPayments panics in Authorize while broken is set: by then the completion has
// reserved its stock in the batch, so a recover that keeps what the envelope staged
// would commit a hold (or worse) for an envelope that is dead-lettered.
type brokenPayments struct {
	*providers.MockPayments
	broken atomic.Bool
}

func (p *brokenPayments) Authorize(ctx context.Context, r commerce.PaymentRequest) (commerce.PaymentResult, error) {
	if p.broken.Load() {
		var items []commerce.Item
		_ = items[len(r.IdempotencyKey)] // an index out of range: a bug, as a provider would have it
	}
	return p.MockPayments.Authorize(ctx, r)
}

// atomicRig is a Handler over a real store with the built-in stock, fed envelopes batch
// by batch as a partition would.
type atomicRig struct {
	t     *testing.T
	st    *store.Store
	stock *store.Stock
	h     *handlers.Handler
	pay   *brokenPayments
	seq   uint64
	now   time.Time
}

func newAtomicRig(t *testing.T) *atomicRig {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stock, err := store.OpenStock(st, map[string]map[string]*int64{"demo": {"sku_mug": new(int64(10))}})
	if err != nil {
		t.Fatal(err)
	}
	pay := &brokenPayments{MockPayments: providers.NewMockPayments()}
	cfg := config.Default()
	h := handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{Stock: stock, Logger: slog.New(slog.DiscardHandler),
		Providers: handlers.Providers{Payments: pay}}))
	return &atomicRig{t: t, st: st, stock: stock, h: h, pay: pay, now: time.Now().UTC()}
}

type sent struct {
	ctx, msgID, data string
	seq              uint64 // 0: the next one
}

// batch handles envs in one batch, commits it, and returns the outcomes and what the
// batch queued.
func (r *atomicRig) batch(envs ...sent) ([]handlers.Outcome, []store.Outgoing) {
	r.t.Helper()
	b := r.st.NewBatch()
	var outs []handlers.Outcome
	for _, e := range envs {
		seq, delivered := e.seq, 2
		if seq == 0 {
			r.seq++
			seq, delivered = r.seq, 1
		}
		outs = append(outs, r.h.Handle(context.Background(), b, &handlers.Envelope{
			Subject: "a2a.in.demo." + e.ctx, Tenant: "demo", Context: e.ctx, Usable: true,
			Data: benchRPC(e.msgID, e.data), Header: map[string][]string{}, Seq: seq, Delivered: delivered, Time: r.now,
		}))
	}
	queued := append([]store.Outgoing(nil), b.Outgoing()...)
	if err := b.Commit(); err != nil {
		r.t.Fatal(err)
	}
	return outs, queued
}

func (r *atomicRig) state(ctx string) commerce.State {
	r.t.Helper()
	b := r.st.NewBatch()
	defer b.Discard()
	s, err := b.State("demo", ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// ready commits a checkout of ctx that is ready to complete, with 3 mugs.
func (r *atomicRig) ready(ctx string) {
	r.t.Helper()
	for i, data := range []string{
		`{"action":"create_checkout","line_items":[{"item":{"id":"sku_mug"},"quantity":3}],"buyer":{"email":"a@example.com"}}`,
		`{"action":"set_shipping_address","address":{"street_address":"1 A St","address_locality":"Austin","address_region":"TX","postal_code":"73301","address_country":"US"}}`,
		`{"action":"select_shipping_option","option_id":"std"}`,
	} {
		outs, _ := r.batch(sent{ctx: ctx, msgID: ctx + "-" + strconv.Itoa(i), data: data})
		if outs[0].Kind != handlers.Replied || outs[0].Code != "" {
			r.t.Fatalf("%s step %d: %+v", ctx, i, outs[0])
		}
	}
}

const completeMug = `{"action":"complete_checkout","payment":{"instruments":[{"id":"pi","handler_id":"mock","type":"card",` +
	`"credential":{"type":"token","token":"tok_visa"}}],"selected_instrument_id":"pi"}}`

// messagesOf returns what was queued for the envelope with messageId id (its events and
// reply carry A2A-Message-Id; its dead letter too).
func messagesOf(out []store.Outgoing, id string) []store.Outgoing {
	var got []store.Outgoing
	for _, m := range out {
		if v := m.Header[handlers.HdrMessageID]; len(v) == 1 && v[0] == id {
			got = append(got, m)
		}
	}
	return got
}

// TestPanicRollsBackTheEnvelopeOnly: a provider panics in the middle of a completion that
// shares its batch with envelopes of other contexts and an earlier envelope of its own
// context. The panicking envelope leaves nothing behind (no state change, no event, no
// stock held) but one internal_error dead letter and its error reply; the others keep
// their effects. A redelivery of the same stream message does not dead-letter it again;
// a redrive once the provider is fixed completes it, exactly once.
func TestPanicRollsBackTheEnvelopeOnly(t *testing.T) {
	r := newAtomicRig(t)
	r.ready("boom")
	r.ready("calm")
	r.pay.broken.Store(true)

	outs, queued := r.batch(
		sent{ctx: "calm", msgID: "calm-buyer", data: `{"action":"set_buyer","buyer":{"email":"calm@example.com"}}`},
		sent{ctx: "boom", msgID: "boom-buyer", data: `{"action":"set_buyer","buyer":{"email":"before@example.com"}}`},
		sent{ctx: "boom", msgID: "boom-pay", data: completeMug},
		sent{ctx: "calm", msgID: "calm-pay", data: `{"action":"get_checkout"}`},
	)
	paySeq := r.seq - 1
	for i, want := range []handlers.OutcomeKind{handlers.Replied, handlers.Replied, handlers.DeadLettered, handlers.Replied} {
		if outs[i].Kind != want {
			t.Fatalf("envelope %d: %+v, want %s", i, outs[i], want)
		}
	}
	if outs[2].Code != commerce.CodeInternalError {
		t.Errorf("panicking envelope: code %q, want %s", outs[2].Code, commerce.CodeInternalError)
	}

	if n := r.stock.Held("demo", "sku_mug"); n != 0 {
		t.Errorf("held after the panic: %d, want 0", n)
	}
	// What is committed, not only what is counted in memory: a store opened afresh.
	if again, err := store.OpenStock(r.st, map[string]map[string]*int64{"demo": {"sku_mug": new(int64(10))}}); err != nil {
		t.Fatal(err)
	} else if n := again.Held("demo", "sku_mug"); n != 0 {
		t.Errorf("held in the store after the panic: %d, want 0", n)
	}
	boom := r.state("boom")
	if boom.Checkout.Status != commerce.StatusReadyForComplete || len(boom.Orders) != 0 || boom.Checkout.Order != nil {
		t.Errorf("after the panic the checkout is %s with %d orders, want ready_for_complete and none",
			boom.Checkout.Status, len(boom.Orders))
	}
	if boom.Checkout.Buyer == nil || boom.Checkout.Buyer.Email != "before@example.com" {
		t.Errorf("the envelope before the panic, same context, lost its effect: buyer %+v", boom.Checkout.Buyer)
	}
	if calm := r.state("calm"); calm.Checkout.Buyer == nil || calm.Checkout.Buyer.Email != "calm@example.com" {
		t.Errorf("another context's envelope lost its effect: buyer %+v", calm.Checkout.Buyer)
	}
	var dls, replies int
	for _, m := range messagesOf(queued, "boom-pay") {
		switch {
		case strings.HasPrefix(m.Subject, "a2a.dlq.demo.boom"):
			dls++
			if c := m.Header[handlers.HdrErrorCode]; len(c) != 1 || c[0] != commerce.CodeInternalError {
				t.Errorf("dead letter code %v", c)
			}
		case strings.HasPrefix(m.Subject, "a2a.out."):
			replies++
			if !strings.Contains(string(m.Data), commerce.CodeInternalError) {
				t.Errorf("reply to the panicking envelope: %s", m.Data)
			}
		default:
			t.Errorf("the panicking envelope published %s (%v)", m.Subject, m.Header[handlers.HdrEventType])
		}
	}
	if dls != 1 || replies != 1 {
		t.Errorf("panicking envelope: %d dead letters and %d replies, want 1 and 1", dls, replies)
	}
	if len(messagesOf(queued, "boom-buyer")) == 0 || len(messagesOf(queued, "calm-buyer")) == 0 || len(messagesOf(queued, "calm-pay")) == 0 {
		t.Error("a good envelope of the batch got no reply")
	}

	// The same stream message again (its ack was lost), the provider still broken: it
	// panics again, and is not dead-lettered a second time.
	outs, queued = r.batch(sent{ctx: "boom", msgID: "boom-pay", data: completeMug, seq: paySeq})
	if outs[0].Kind != handlers.Redelivered || len(queued) != 0 {
		t.Errorf("redelivery: %+v with %d messages queued, want redelivered and none", outs[0], len(queued))
	}
	if n := r.stock.Held("demo", "sku_mug"); n != 0 {
		t.Errorf("held after the redelivery: %d, want 0", n)
	}

	// Redriven (a new stream message) once the provider is fixed: applied once.
	r.pay.broken.Store(false)
	outs, queued = r.batch(sent{ctx: "boom", msgID: "boom-pay", data: completeMug})
	if outs[0].Kind != handlers.Replied || outs[0].Code != "" {
		t.Fatalf("redrive: %+v", outs[0])
	}
	if boom := r.state("boom"); boom.Checkout.Status != commerce.StatusCompleted || len(boom.Orders) != 1 {
		t.Errorf("after the redrive: %s with %d orders, want completed with 1", boom.Checkout.Status, len(boom.Orders))
	}
	if n := r.stock.Held("demo", "sku_mug"); n != 3 {
		t.Errorf("held after the redrive: %d, want 3", n)
	}
	if len(messagesOf(queued, "boom-pay")) < 2 {
		t.Errorf("the redrive queued %d messages, want its events and reply", len(messagesOf(queued, "boom-pay")))
	}
	outs, _ = r.batch(sent{ctx: "boom", msgID: "boom-pay", data: completeMug})
	if outs[0].Kind != handlers.Replayed {
		t.Errorf("a second redrive: %+v, want replayed", outs[0])
	}
	if s := r.pay.Stats(); s.Authorizations != 1 || s.Captures != 1 {
		t.Errorf("payments: %+v, want one authorization and one capture", s)
	}
	if n := r.stock.Held("demo", "sku_mug"); n != 3 {
		t.Errorf("held after a second redrive: %d, want 3", n)
	}
}

// TestPanicThroughTheWorker: the same through the real worker, NATS and the dead-letter
// stream: a completion whose provider panics, fetched in one chunk with an earlier
// envelope of its context and one of another context, is dead-lettered once as
// internal_error with nothing of it committed or published. Once the provider is fixed,
// its replay from the dead letters (credential redacted) asks for it again, and sent again
// it completes the checkout once.
func TestPanicThroughTheWorker(t *testing.T) {
	pay := &brokenPayments{MockPayments: providers.NewMockPayments()}
	cfg := &config.Config{Partitions: 1}
	w := testenv.StartWorker(t, cfg, handlers.Options{Providers: handlers.Providers{Payments: pay}})
	c := testenv.NewClient(t, w.NATS.URL())
	for i, data := range []map[string]any{
		{"action": "create_checkout", "line_items": []any{map[string]any{"item": map[string]any{"id": "sku_mug"}, "quantity": 2}},
			"buyer": map[string]any{"email": "a@example.com"}},
		{"action": "set_shipping_address", "address": map[string]any{"street_address": "1 A St", "address_locality": "Austin",
			"address_region": "TX", "postal_code": "73301", "address_country": "US"}},
		{"action": "select_shipping_option", "option_id": "std"},
	} {
		c.Send("demo", "boom", "boom-"+strconv.Itoa(i), data)
	}
	c.Send("demo", "calm", "calm-0", map[string]any{"action": "create_checkout"})
	held := func() int64 { return w.Stock.Held("demo", "sku_mug") }

	events, err := c.Conn().SubscribeSync("a2a.evt.demo.>")
	if err != nil {
		t.Fatal(err)
	}
	replies, err := c.Conn().SubscribeSync("a2a.out.demo.*")
	if err != nil {
		t.Fatal(err)
	}
	// Published while the worker is stopped, so that they are fetched together.
	pay.broken.Store(true)
	w.Stop()
	for _, e := range []struct {
		ctx, id string
		data    map[string]any
	}{
		{"boom", "boom-buyer", map[string]any{"action": "set_buyer", "buyer": map[string]any{"email": "before@example.com"}}},
		{"boom", "boom-pay", map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{
			map[string]any{"id": "pi", "handler_id": "mock", "type": "card", "credential": map[string]any{"type": "token", "token": "tok_visa"}}}}}},
		{"calm", "calm-add", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1}},
	} {
		if _, err := c.Publish("demo", e.ctx, testenv.Envelope(e.id, "", e.data), nil); err != nil {
			t.Fatal(err)
		}
	}
	w.Start()

	got := map[string]string{} // messageId → error code ("" for a result)
	for len(got) < 3 {
		m, err := replies.NextMsg(15 * time.Second)
		if err != nil {
			t.Fatalf("replies so far %v: %v", got, err)
		}
		got[m.Header.Get(handlers.HdrMessageID)] = m.Header.Get(handlers.HdrErrorCode)
	}
	if got["boom-buyer"] != "" || got["calm-add"] != "" || got["boom-pay"] != commerce.CodeInternalError {
		t.Fatalf("reply codes %v, want boom-pay internal_error and the others fine", got)
	}
	if n := held(); n != 0 {
		t.Errorf("held after the panic: %d, want 0", n)
	}
	q := dlq.New(c.JetStream(), bus.Topology{Prefix: "a2a", Partitions: cfg.Partitions})
	ctx := context.Background()
	dls, err := q.List(ctx, dlq.Filter{Tenant: "demo"})
	if err != nil || len(dls) != 1 || dls[0].Code != commerce.CodeInternalError || dls[0].MessageID != "boom-pay" {
		t.Fatalf("dead letters: %+v, %v; want boom-pay's internal_error alone", dls, err)
	}
	co := checkoutOf(t, c.Send("demo", "boom", "boom-get", map[string]any{"action": "get_checkout"}))
	if co.Status != "ready_for_complete" || co.Order != nil || co.Buyer.Email != "before@example.com" {
		t.Errorf("after the panic: %+v, want ready_for_complete with the earlier envelope's buyer", co)
	}
	if co := checkoutOf(t, c.Send("demo", "calm", "calm-get", map[string]any{"action": "get_checkout"})); len(co.LineItems) != 1 {
		t.Errorf("the other context's envelope lost its effect: %+v", co)
	}

	pay.broken.Store(false)
	// The dead letter lost its credential to redaction: its replay asks for the request
	// again, which then completes once.
	if _, err := q.Replay(ctx, &dls[0]); err != nil {
		t.Fatal(err)
	}
	next := func() *nats.Msg {
		t.Helper()
		for {
			m, err := replies.NextMsg(15 * time.Second)
			if err != nil {
				t.Fatal("no reply for boom-pay:", err)
			}
			if m.Header.Get(handlers.HdrMessageID) == "boom-pay" {
				return m
			}
		}
	}
	if m := next(); m.Header.Get(handlers.HdrErrorCode) != commerce.CodeInvalidParams {
		t.Fatalf("the replay of a redacted completion: %s", m.Data)
	}
	if _, err := c.Publish("demo", "boom", testenv.Envelope("boom-pay", "", map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{
		map[string]any{"id": "pi", "handler_id": "mock", "type": "card", "credential": map[string]any{"type": "token", "token": "tok_visa"}}}}}), nil); err != nil {
		t.Fatal(err)
	}
	if co := checkoutOf(t, next()); co.Status != "completed" || co.Order == nil {
		t.Fatalf("after sending it again: %+v", co)
	}
	if n := held(); n != 2 {
		t.Errorf("held after the replay: %d, want 2", n)
	}
	if s := pay.Stats(); s.Authorizations != 1 || s.Captures != 1 {
		t.Errorf("payments: %+v, want one authorization and one capture", s)
	}
	// The events of boom-pay: those of the replay, once (none from the panic).
	orders := 0
	for {
		m, err := events.NextMsg(time.Second)
		if err != nil {
			break
		}
		if m.Header.Get(handlers.HdrMessageID) == "boom-pay" && m.Header.Get(handlers.HdrEventType) == "order.created" {
			orders++
		}
	}
	if orders != 1 {
		t.Errorf("order.created events of boom-pay: %d, want 1", orders)
	}
}

type checkoutReply struct {
	Status    string
	Order     *struct{ ID string }
	Buyer     struct{ Email string }
	LineItems []json.RawMessage `json:"line_items"`
}

func checkoutOf(t *testing.T, m *nats.Msg) checkoutReply {
	t.Helper()
	var r struct {
		Result *struct {
			Parts []struct {
				Data struct {
					Checkout *checkoutReply `json:"a2a.ucp.checkout"`
				}
			}
		}
	}
	if err := json.Unmarshal(m.Data, &r); err != nil || r.Result == nil || len(r.Result.Parts) == 0 || r.Result.Parts[0].Data.Checkout == nil {
		t.Fatalf("not a checkout reply (%v): %s", err, m.Data)
	}
	return *r.Result.Parts[0].Data.Checkout
}
