package providers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestLastUnitsUnderConcurrency: 20 contexts, spread over the partitions, try to buy the
// Canvas Cap (stock 5) at the same moment. Exactly 5 complete; 15 get out_of_stock; the
// count ends at 0. Canceling one order gives its unit back to the next buyer.
//
// It runs with the stock in the store (the default) and in the JetStream bucket.
func TestLastUnitsUnderConcurrency(t *testing.T) {
	for _, where := range []string{config.StockStore, config.StockBucket} {
		t.Run(where, func(t *testing.T) { testLastUnits(t, where) })
	}
}

func testLastUnits(t *testing.T, where string) {
	w := testenv.StartWorker(t, &config.Config{Stock: where}, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	remaining := func(t *testing.T, c *testenv.Client, item string) int64 {
		t.Helper()
		if where == config.StockBucket {
			return bucketRemaining(t, c, item)
		}
		n, _ := w.Stock.Available("demo", item)
		return n
	}
	const buyers = 20
	for i := 0; i < buyers; i++ {
		ctx := fmt.Sprintf("cap%02d", i)
		for j, data := range []map[string]any{
			{"action": "create_checkout", "line_items": []any{map[string]any{"item": map[string]any{"id": "sku_cap"}, "quantity": 1}},
				"buyer": map[string]any{"email": "b@example.com"}},
			{"action": "set_shipping_address", "address": map[string]any{"street_address": "1 A St", "address_locality": "Austin",
				"address_region": "TX", "postal_code": "73301", "address_country": "US"}},
			{"action": "select_shipping_option", "option_id": "std"},
		} {
			r := decodeReply(t, c.Send("demo", ctx, fmt.Sprintf("%s-%d", ctx, j), data))
			if r.Error != nil {
				t.Fatalf("%s step %d: %+v", ctx, j, r.Error)
			}
		}
	}
	type outcome struct {
		ctx, status string
		outOfStock  bool
		order       string
	}
	results := make([]outcome, buyers)
	var wg sync.WaitGroup
	for i := 0; i < buyers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := fmt.Sprintf("cap%02d", i)
			m, err := c.Request("demo", ctx, testenv.Envelope(ctx+"-pay", "", completeData("tok_visa")), nil)
			if err != nil {
				t.Errorf("%s: %v", ctx, err)
				return
			}
			var r struct {
				Result struct {
					Parts []struct {
						Data map[string]json.RawMessage `json:"data"`
					} `json:"parts"`
				} `json:"result"`
			}
			json.Unmarshal(m.Data, &r)
			var co struct {
				Status   string `json:"status"`
				Messages []struct {
					Code string `json:"code"`
				} `json:"messages"`
				Order *struct {
					ID string `json:"id"`
				} `json:"order"`
			}
			if len(r.Result.Parts) == 0 {
				t.Errorf("%s: %s", ctx, m.Data)
				return
			}
			json.Unmarshal(r.Result.Parts[0].Data["a2a.ucp.checkout"], &co)
			o := outcome{ctx: ctx, status: co.Status}
			for _, msg := range co.Messages {
				o.outOfStock = o.outOfStock || msg.Code == "out_of_stock"
			}
			if co.Order != nil {
				o.order = co.Order.ID
			}
			results[i] = o
		}()
	}
	wg.Wait()
	completed, short := 0, 0
	var first outcome
	for _, o := range results {
		switch {
		case o.status == "completed":
			completed++
			first = o
		case o.outOfStock:
			short++
		default:
			t.Errorf("%s: status %s without out_of_stock", o.ctx, o.status)
		}
	}
	if completed != 5 || short != 15 {
		t.Fatalf("completed %d, out of stock %d; want 5 and 15", completed, short)
	}
	if n := remaining(t, c, "sku_cap"); n != 0 {
		t.Errorf("stock left: %d, want 0", n)
	}

	// One buyer cancels: the unit goes back, and a waiting buyer gets it.
	r := decodeReply(t, c.Send("demo", first.ctx, first.ctx+"-cancel", map[string]any{"action": "cancel_order", "order_id": first.order}))
	if r.Error != nil {
		t.Fatalf("cancel_order: %+v", r.Error)
	}
	if n := remaining(t, c, "sku_cap"); n != 1 {
		t.Errorf("stock after the cancel: %d, want 1", n)
	}
	for _, o := range results {
		if o.status != "completed" {
			m := decodeReply(t, c.Send("demo", o.ctx, o.ctx+"-pay2", completeData("tok_visa")))
			if st := m.Result.Parts[0].Data.Checkout.Status; st != "completed" {
				t.Errorf("%s after the cancel: %s, want completed", o.ctx, st)
			}
			break
		}
	}
	if n := remaining(t, c, "sku_cap"); n != 0 {
		t.Errorf("stock at the end: %d, want 0", n)
	}

	// What is held survives a restart: it is read back from where it is kept.
	w.Restart()
	if where == config.StockStore {
		if n := remaining(t, c, "sku_cap"); n != 0 {
			t.Errorf("stock after a restart: %d, want 0", n)
		}
	}
	// ... and the next buyer finds the cap sold out.
	m, err := c.Request("demo", "caplate", testenv.Envelope("caplate-0", "", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_cap"}, "quantity": 1}}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Data), "out_of_stock") {
		t.Fatalf("after a restart, a buyer of a sold-out item got %s", m.Data)
	}
}

func bucketRemaining(t *testing.T, c *testenv.Client, item string) int64 {
	t.Helper()
	kv, err := c.JetStream().KeyValue(context.Background(), "A2A_STOCK")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(context.Background(), "demo.item."+item)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Remaining int64 `json:"remaining"`
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		t.Fatal(err)
	}
	return v.Remaining
}

// stockReply is what the test reads of a reply.
type stockReply struct {
	Result *struct {
		Parts []struct {
			Data struct {
				Checkout *struct {
					Status string `json:"status"`
				} `json:"a2a.ucp.checkout"`
			} `json:"data"`
		} `json:"parts"`
	} `json:"result"`
	Error *struct {
		Code int `json:"code"`
		Data struct {
			Code string `json:"code"`
		} `json:"data"`
	} `json:"error"`
}

func decodeReply(t *testing.T, m *nats.Msg) stockReply {
	t.Helper()
	var r stockReply
	if err := json.Unmarshal(m.Data, &r); err != nil {
		t.Fatalf("reply %s: %v", m.Data, err)
	}
	return r
}

func completeData(token string) map[string]any {
	return map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{
		map[string]any{"id": "pi", "handler_id": "mock", "type": "card", "credential": map[string]any{"type": "token", "token": token}}}}}
}

// A reservation interrupted half-way (its worker killed after it took the unit, before
// it marked its intent held) leaves the unit in the item's holds. The redelivered
// completion must find it: Available counts it (commerce checks Available before it
// reserves), and Reserve finishes the reservation instead of refusing the last unit.
func TestKVHalfWayReservationIsFound(t *testing.T) {
	n := testenv.StartTestNATS(t)
	c := testenv.NewClient(t, n.URL())
	ctx := context.Background()
	kv, err := providers.StockBucket(ctx, c.JetStream(), "a2a")
	if err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	if _, err := kv.Put(ctx, "demo.item.sku_cap", []byte(`{"remaining":0,"holds":{"chk_x":1}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "demo.res.chk_x", []byte(`{"lines":[{"ItemID":"sku_cap","Quantity":1}],"held":false}`)); err != nil {
		t.Fatal(err)
	}
	inv, err := providers.NewKVInventory(ctx, kv, "demo", map[string]*int64{"sku_cap": &one})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := inv.Available(ctx, "sku_cap"); got != 1 {
		t.Fatalf("available %d with a hold in flight, want 1", got)
	}
	ok, short, err := inv.Reserve(ctx, "chk_x", []commerce.Reservation{{CheckoutID: "chk_x", ItemID: "sku_cap", Quantity: 1}})
	if err != nil || !ok {
		t.Fatalf("the redelivered reservation: ok %v short %q err %v", ok, short, err)
	}
	if got := bucketRemaining(t, c, "sku_cap"); got != 0 {
		t.Fatalf("remaining %d, want 0", got)
	}
	if got, _, _ := inv.Available(ctx, "sku_cap"); got != 0 {
		t.Fatalf("available %d once the reservation is held, want 0", got)
	}
	ok, _, err = inv.Reserve(ctx, "chk_y", []commerce.Reservation{{CheckoutID: "chk_y", ItemID: "sku_cap", Quantity: 1}})
	if err != nil || ok {
		t.Fatalf("another checkout got the unit: ok %v err %v", ok, err)
	}
}
