package handlers_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
)

// Only the tenants whose payments are the mock get the mock over the store, and a payment
// provider the caller chose wins over it.
func TestWithMockPayments(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := &config.Config{Tenants: map[string]*config.Tenant{
		"demo": config.Demo(),
		"acme": {Builtin: providers.Demo(), Providers: config.Providers{
			Payments: config.Provider{HTTP: &config.HTTPProvider{BaseURL: "http://127.0.0.1:9090"}}}},
		"mine": config.Demo(),
	}}
	cfg.SetDefaults()

	mine := providers.NewMockPayments()
	given := map[string]handlers.Providers{"mine": {Payments: mine}}
	o := handlers.WithMockPayments(st, cfg, handlers.Options{Tenants: given})
	if _, ok := o.Tenants["demo"].Payments.(*providers.MockPayments); !ok {
		t.Errorf("demo's payments: %T, want the mock", o.Tenants["demo"].Payments)
	}
	if p := o.Tenants["acme"].Payments; p != nil {
		t.Errorf("acme pays over http, got %T", p)
	}
	if o.Tenants["mine"].Payments != mine {
		t.Error("a tenant's own payment provider was replaced")
	}
	if len(given) != 1 {
		t.Errorf("the caller's map was changed: %v", given)
	}

	// The demo tenant's mock is the store's: a payment it takes is there.
	pay := o.Tenants["demo"].Payments.(*providers.MockPayments)
	r, err := pay.Authorize(context.Background(), commerce.PaymentRequest{IdempotencyKey: "k", Amount: 100,
		Instrument: commerce.PaymentInstrument{Credential: commerce.Credential{Token: providers.TokenApproved}}})
	if err != nil || !r.Approved {
		t.Fatalf("authorize: %+v, %v", r, err)
	}
	if _, ok, err := st.MockPayments("demo").Payment(r.PaymentID); !ok || err != nil {
		t.Fatalf("the payment is not in the store: %v, %v", ok, err)
	}

	all := handlers.WithMockPayments(st, cfg, handlers.Options{Providers: handlers.Providers{Payments: mine}})
	for name, p := range all.Tenants {
		if p.Payments != nil {
			t.Errorf("%s: %T in place of the payments given for every tenant", name, p.Payments)
		}
	}
}
