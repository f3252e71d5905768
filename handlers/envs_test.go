package handlers_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// TestTenantWithoutEnvIsMisconfigured: handlers builds no providers. A tenant that the
// caller gave none (Options.Envs) does not crash the handler and does not run without
// a catalog: its envelopes fail as internal errors that name the tenant, dead-lettered
// and redrivable once the process is wired right.
func TestTenantWithoutEnvIsMisconfigured(t *testing.T) {
	cfg := config.Default()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := handlers.New(cfg, handlers.Options{Logger: slog.New(slog.DiscardHandler), RetryBudget: time.Millisecond})
	b := st.NewBatch()
	out := h.Handle(context.Background(), b, &handlers.Envelope{
		Subject: "a2a.in.demo.c", Tenant: "demo", Context: "c", Usable: true,
		Data:   benchRPC("m1", `{"action":"create_checkout","line_items":[{"item":{"id":"sku_gift"},"quantity":1}]}`),
		Header: map[string][]string{}, Seq: 1, Delivered: 1, Time: time.Now().UTC(),
	})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if out.Kind != handlers.DeadLettered || out.Code != commerce.CodeInternalError {
		t.Fatalf("outcome: %+v, want dead-lettered as internal_error", out)
	}
}
