package handlers_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
)

// outage is a payment processor that is down.
type outage struct{ *providers.MockPayments }

func (outage) Authorize(context.Context, commerce.PaymentRequest) (commerce.PaymentResult, error) {
	return commerce.PaymentResult{}, commerce.Transient("payments", errors.New("503"))
}

// TestStockHeldThroughAnOutageIsReleasedOnExpiry: a completion reserves its stock in the
// store before charging. When the processor is down, the envelope goes back to JetStream
// and the hold stays (the retry finds it); a declined payment gives it back at once; a
// checkout that never completes gives it back when it expires.
func TestStockHeldThroughAnOutageIsReleasedOnExpiry(t *testing.T) {
	cfg := config.Default()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stock, err := store.OpenStock(st, map[string]map[string]*int64{"demo": {"sku_mug": new(int64(10))}})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	down := handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{Stock: stock, Logger: log, RetryBudget: time.Millisecond,
		Providers: handlers.Providers{Payments: outage{providers.NewMockPayments()}}}))
	up := handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{Stock: stock, Logger: log}))

	now := time.Now().UTC()
	seq := uint64(0)
	send := func(h *handlers.Handler, ctxID, msgID, data string) handlers.Outcome {
		seq++
		b := st.NewBatch()
		out := h.Handle(context.Background(), b, &handlers.Envelope{
			Subject: "a2a.in.demo." + ctxID, Tenant: "demo", Context: ctxID, Usable: true,
			Data: benchRPC(msgID, data), Header: map[string][]string{}, Seq: seq, Delivered: 1, Time: now,
		})
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	ready := func(ctxID string) {
		for i, data := range []string{
			`{"action":"create_checkout","line_items":[{"item":{"id":"sku_mug"},"quantity":3}],"buyer":{"email":"a@example.com"}}`,
			`{"action":"set_shipping_address","address":{"street_address":"1 A St","address_locality":"Austin","address_region":"TX","postal_code":"73301","address_country":"US"}}`,
			`{"action":"select_shipping_option","option_id":"std"}`,
		} {
			if out := send(up, ctxID, ctxID+"-"+strconv.Itoa(i), data); out.Kind != handlers.Replied || out.Code != "" {
				t.Fatalf("%s step %d: %+v", ctxID, i, out)
			}
		}
	}
	complete := func(token string) string {
		return `{"action":"complete_checkout","payment":{"instruments":[{"id":"pi","handler_id":"mock","type":"card",` +
			`"credential":{"type":"token","token":"` + token + `"}}],"selected_instrument_id":"pi"}}`
	}

	ready("held")
	if out := send(down, "held", "held-pay", complete("tok_visa")); out.Kind != handlers.Retry {
		t.Fatalf("completion during the outage: %+v, want Retry", out)
	}
	if n := stock.Held("demo", "sku_mug"); n != 3 {
		t.Fatalf("held after the outage: %d, want 3", n)
	}

	ready("declined")
	if out := send(up, "declined", "declined-pay", complete("tok_decline")); out.Kind != handlers.Replied {
		t.Fatalf("declined completion: %+v", out)
	}
	if n := stock.Held("demo", "sku_mug"); n != 3 {
		t.Fatalf("held after a decline: %d, want 3 (the decline gives its own back)", n)
	}

	// Past their expires_at both open checkouts expire; the held one gives its 3 back.
	later := now.Add(48 * time.Hour)
	refs, err := st.ExpiredContexts(0, later, 100)
	if err != nil || len(refs) != 2 {
		t.Fatalf("expired contexts: %+v, %v", refs, err)
	}
	b := st.NewBatch()
	for _, ref := range refs {
		if ok, err := up.Expire(context.Background(), b, ref, later); err != nil || !ok {
			t.Fatalf("expire %s: %v, %v", ref.Context, ok, err)
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := stock.Held("demo", "sku_mug"); n != 0 {
		t.Fatalf("held after expiry: %d, want 0", n)
	}
}
