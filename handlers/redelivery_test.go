package handlers_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// TestDeadLetteredDeliveryIsNotAppliedAgain: an envelope dead-lettered after its retries
// keeps that outcome. When the same delivery (same stream sequence) comes again (a
// rewind can overtake its acknowledgement), it is not applied, even once the provider
// works: only a redrive, a new delivery, applies it.
func TestDeadLetteredDeliveryIsNotAppliedAgain(t *testing.T) {
	cfg := config.Default()
	cfg.Batch.MaxDeliver = 2
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	down := handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{Logger: log, RetryBudget: time.Millisecond,
		Providers: handlers.Providers{Payments: outage{nil}}}))
	up := handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{Logger: log}))
	now := time.Now().UTC()
	send := func(h *handlers.Handler, seq uint64, delivered int, msgID, data string) handlers.Outcome {
		b := st.NewBatch()
		out := h.Handle(context.Background(), b, &handlers.Envelope{
			Subject: "a2a.in.demo.c", Tenant: "demo", Context: "c", Usable: true,
			Data: benchRPC(msgID, data), Header: map[string][]string{}, Seq: seq, Delivered: delivered, Time: now,
		})
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	// A gift card needs no shipping: the checkout is ready to complete.
	create := `{"action":"create_checkout","line_items":[{"item":{"id":"sku_gift"},"quantity":1}],"buyer":{"email":"a@example.com"}}`
	if out := send(up, 1, 1, "create", create); out.Code != "" {
		t.Fatalf("create: %+v", out)
	}
	pay := `{"action":"complete_checkout","payment":{"instruments":[{"id":"pi","handler_id":"mock","type":"card","credential":{"type":"token","token":"tok_visa"}}]}}`
	if out := send(down, 2, 2, "pay", pay); out.Kind != handlers.DeadLettered || out.Code != commerce.CodeTemporarilyUnavailable {
		t.Fatalf("the last try during the outage: %+v, want dead-lettered", out)
	}
	if out := send(up, 2, 1, "pay", pay); out.Kind != handlers.Redelivered {
		t.Fatalf("the same delivery again: %+v, want redelivered (not applied)", out)
	}
	s, err := st.NewBatch().State("demo", "c")
	if err != nil || s.Checkout.Status == commerce.StatusCompleted || len(s.Orders) != 0 {
		t.Fatalf("the dead-lettered delivery was applied: %s, %d orders, %v", s.Checkout.Status, len(s.Orders), err)
	}
	// A redrive is a new delivery, and it is applied.
	if out := send(up, 3, 1, "pay", pay); out.Code != "" || out.Kind != handlers.Replied {
		t.Fatalf("the redrive: %+v", out)
	}
}
