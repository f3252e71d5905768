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
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestAP2MandatesOnComplete drives a tenant that requires AP2 mandates through a purchase:
// no mandate, a mandate for another total, a declined payment under a valid mandate, that
// same mandate presented again, and at last a fresh mandate that completes. Each refusal
// must change nothing and charge nothing.
func TestAP2MandatesOnComplete(t *testing.T) {
	issuer := testenv.NewMandateIssuer("platform-2026")
	cfg := config.Default()
	acme := config.Demo()
	acme.AP2 = config.AP2{Required: true, Merchant: "acme-shop",
		Issuers: []config.AP2Issuer{{Kid: issuer.Kid, JWK: issuer.JWK()}}}
	cfg.Tenants["acme"] = acme
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{Logger: slog.New(slog.DiscardHandler)}))

	now := time.Now().UTC().Truncate(time.Second)
	seq := uint64(0)
	send := func(msgID, data string) handlers.Outcome {
		seq++
		b := st.NewBatch()
		out := h.Handle(context.Background(), b, &handlers.Envelope{
			Subject: "a2a.in.acme.c1", Tenant: "acme", Context: "c1", Usable: true,
			Data: benchRPC(msgID, data), Header: map[string][]string{}, Seq: seq, Delivered: 1, Time: now,
		})
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	state := func() commerce.State {
		s, err := st.NewBatch().State("acme", "c1")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for i, data := range []string{
		`{"action":"create_checkout","line_items":[{"item":{"id":"sku_mug"},"quantity":1}],"buyer":{"email":"a@example.com"}}`,
		`{"action":"set_shipping_address","address":{"street_address":"1 A St","address_locality":"Austin","address_region":"TX","postal_code":"73301","address_country":"US"}}`,
		`{"action":"select_shipping_option","option_id":"std"}`,
	} {
		if out := send("step"+string(rune('0'+i)), data); out.Code != "" {
			t.Fatalf("step %d: %+v", i, out)
		}
	}
	c := state().Checkout
	total, _ := commerce.TotalOf(c.Totals, commerce.TotalTotal)
	mandate := func(jti string, amount int64) string {
		return issuer.Sign(map[string]any{
			"aud": "acme-shop", "jti": jti, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"checkout": map[string]any{"id": c.ID, "currency": "USD",
				"totals": []any{map[string]any{"type": "total", "amount": amount}}},
		}, testenv.MandateOptions{Disclose: []string{"checkout"}})
	}
	complete := func(token, m string) string {
		ap2 := ""
		if m != "" {
			ap2 = `,"ap2":{"checkout_mandate":"` + m + `"}`
		}
		return `{"action":"complete_checkout","payment":{"instruments":[{"id":"pi","handler_id":"mock","type":"card",` +
			`"credential":{"type":"token","token":"` + token + `"}}]}` + ap2 + `}`
	}
	unchanged := func(step string) {
		t.Helper()
		if got := state().Checkout; got.Status != commerce.StatusReadyForComplete || len(state().Orders) != 0 {
			t.Fatalf("%s: status %s, %d orders; want it untouched", step, got.Status, len(state().Orders))
		}
	}

	if out := send("pay-none", complete("tok_visa", "")); out.Code != commerce.CodeMandateRequired {
		t.Fatalf("without a mandate: %+v", out)
	}
	unchanged("without a mandate")
	if out := send("pay-less", complete("tok_visa", mandate("m-1", total-100))); out.Code != commerce.CodeMandateScopeMismatch {
		t.Fatalf("a mandate for another total: %+v", out)
	}
	unchanged("a mandate for another total")

	first := mandate("m-2", total)
	if out := send("pay-declined", complete("tok_decline", first)); out.Code != "" {
		t.Fatalf("declined under a valid mandate: %+v", out)
	}
	if c := state().Checkout; len(c.Messages) == 0 || c.Messages[0].Code != "payment_failed" {
		t.Fatalf("declined: messages %+v", c.Messages)
	}
	if out := send("pay-replayed", complete("tok_visa", first)); out.Code != commerce.CodeMandateExpired {
		t.Fatalf("the same mandate presented again: %+v", out)
	}
	if n := len(state().Orders); n != 0 {
		t.Fatalf("a replayed mandate placed %d orders", n)
	}

	if out := send("pay-ok", complete("tok_visa", mandate("m-3", total))); out.Code != "" {
		t.Fatalf("a fresh mandate: %+v", out)
	}
	if s := state(); s.Checkout.Status != commerce.StatusCompleted || len(s.Orders) != 1 || s.Orders[0].Payment.Captured != total {
		t.Fatalf("after a fresh mandate: %s, orders %+v", s.Checkout.Status, s.Orders)
	}
}
