package bus_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestCheckoutsExpireWithoutAnEnvelope moves the worker's clock past a checkout's
// expires_at: the checkout is canceled, its held stock released and checkout.expired
// published, with no envelope for it; a change afterwards is checkout_expired.
func TestCheckoutsExpireWithoutAnEnvelope(t *testing.T) {
	var skew atomic.Int64
	w := testenv.StartWorker(t, nil, handlers.Options{})
	w.Clock = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	w.Restart()
	c := testenv.NewClient(t, w.NATS.URL())
	events, err := c.Conn().SubscribeSync("a2a.evt.demo.checkout.expired")
	if err != nil {
		t.Fatal(err)
	}
	c.Send("demo", "exp", "exp-1", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_mug"}, "quantity": 1}}})
	c.Send("demo", "keep", "keep-1", map[string]any{"action": "create_checkout"})

	if m, err := events.NextMsg(2500 * time.Millisecond); err == nil {
		t.Fatalf("expired before its time: %s", m.Data)
	}
	skew.Store(int64(6*time.Hour + time.Minute)) // the demo's checkouts live 6 h
	m, err := events.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal("no checkout.expired event:", err)
	}
	if m.Header.Get("Nats-Msg-Id") == "" || m.Header.Get("A2A-Event-Type") != "checkout.expired" {
		t.Errorf("event headers: %v", m.Header)
	}
	second, err := events.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal("the second checkout did not expire:", err)
	}
	if string(second.Data) == string(m.Data) {
		t.Error("the same expiry was published twice")
	}
	if m, err := events.NextMsg(2500 * time.Millisecond); err == nil {
		t.Fatalf("a third expiry for two checkouts: %s", m.Data)
	}

	r := decode(t, c.Send("demo", "exp", "exp-2", map[string]any{"action": "get_checkout"}))
	if st := r.Result.Parts[0].Data.Checkout.Status; st != "canceled" {
		t.Errorf("status after expiry: %s, want canceled", st)
	}
	r = decode(t, c.Send("demo", "exp", "exp-3", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1}))
	if code := errCode(r); code != "checkout_expired" {
		t.Errorf("change after expiry: %q, want checkout_expired", code)
	}
	// The context can start over.
	r = decode(t, c.Send("demo", "exp", "exp-4", map[string]any{"action": "create_checkout"}))
	if r.Error != nil || r.Result.Parts[0].Data.Checkout.Status != "incomplete" {
		t.Errorf("new checkout after expiry: %+v", r.Error)
	}
}
