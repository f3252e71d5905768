package handlers_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/app"
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

	// The demo tenant's mock is the store's: a payment it takes within a batch is there once
	// the batch commits. Outside a batch it writes nothing, and says so.
	pay := o.Tenants["demo"].Payments.(*providers.MockPayments)
	req := commerce.PaymentRequest{IdempotencyKey: "k", Amount: 100,
		Instrument: commerce.PaymentInstrument{Credential: commerce.Credential{Token: providers.TokenApproved}}}
	if _, err := pay.Authorize(context.Background(), req); commerce.KindOf(err) != commerce.KindTransient {
		t.Fatalf("authorize outside a batch: %v, want a transient failure", err)
	}
	b := st.NewBatch()
	r, err := pay.In(st.MockPayments("demo").In(b)).Authorize(context.Background(), req)
	if err != nil || !r.Approved {
		t.Fatalf("authorize: %+v, %v", r, err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
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

// The mock's payments over the store are committed with the envelope's batch, by its one
// fsync, not by a write of their own: a completion whose batch is lost in a crash leaves
// no payment behind, and its redelivery authorizes afresh, with the same key and so the
// same payment id, once. A payment whose batch committed survives the next crash.
func TestMockPaymentsCommittedWithTheBatch(t *testing.T) {
	fs := vfs.NewStrictMem()
	// The store's directory must outlive the crash as it would on disk.
	if err := fs.MkdirAll("db", 0o755); err != nil {
		t.Fatal(err)
	}
	if root, err := fs.OpenDir(""); err != nil || root.Sync() != nil {
		t.Fatalf("sync the root: %v", err)
	}
	cfg := config.Default()
	r := &atomicRig{t: t, now: time.Now().UTC()}
	var pay *providers.MockPayments
	start := func() { // a worker starting on the store, with a mock that knows nothing in memory
		st, err := store.Open("db", store.Options{FS: fs})
		if err != nil {
			t.Fatal(err)
		}
		o := handlers.WithMockPayments(st, cfg, handlers.Options{Logger: slog.New(slog.DiscardHandler)})
		pay = o.Tenants["demo"].Payments.(*providers.MockPayments)
		r.st, r.h = st, handlers.New(cfg, app.WithEnvs(cfg, o))
	}
	crash := func() {
		fs.SetIgnoreSyncs(true)
		if err := r.st.Close(); err != nil {
			t.Fatal(err)
		}
		fs.ResetToSyncedState()
		fs.SetIgnoreSyncs(false)
		start()
	}
	start()
	defer func() { r.st.Close() }()

	r.ready("c1")
	key := r.state("c1").Checkout.ID + ":demo:c1-pay:authorize" // commerce's complete
	payID := commerce.NewID("pay", key, 0)
	complete := &handlers.Envelope{Subject: "a2a.in.demo.c1", Tenant: "demo", Context: "c1", Usable: true,
		Data: benchRPC("c1-pay", completeMug), Header: map[string][]string{}, Seq: r.seq + 1, Delivered: 1, Time: r.now}
	b := r.st.NewBatch()
	if out := r.h.Handle(context.Background(), b, complete); out.Kind != handlers.Replied || out.Code != "" {
		t.Fatalf("complete: %+v", out)
	}
	if _, ok, err := r.st.MockPayments("demo").Payment(payID); ok || err != nil {
		t.Fatalf("the payment is in the store before its batch committed (%v, %v): it was written on its own", ok, err)
	}
	b.Discard()
	crash()

	if _, ok, _ := r.st.MockPayments("demo").Payment(payID); ok {
		t.Fatal("the payment outlived the crash that lost its batch: it was fsync'd on its own")
	}
	complete.Delivered = 2
	b = r.st.NewBatch()
	if out := r.h.Handle(context.Background(), b, complete); out.Kind != handlers.Replied || out.Code != "" {
		t.Fatalf("complete redelivered: %+v", out)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := pay.Stats(); s.Authorizations != 1 || s.Captures != 1 {
		t.Fatalf("the redelivery after the crash: %+v, want one authorization and capture", s)
	}
	crash()
	p, ok, err := r.st.MockPayments("demo").Payment(payID)
	if !ok || err != nil || p.Captured == 0 || p.Captured != p.Authorized {
		t.Fatalf("the committed payment after a crash: %+v, %v, %v", p, ok, err)
	}
	if c := r.state("c1").Checkout; c == nil || c.Status != commerce.StatusCompleted {
		t.Fatalf("the committed completion after a crash: %+v", c)
	}
}
