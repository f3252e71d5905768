package commerce_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// benchEnv is the demo tenant with stock enough for any number of completions, as
// `cartwright bench` restocks it.
func benchEnv() commerce.Env {
	b := providers.Demo()
	for i := range b.Items {
		if b.Items[i].Stock != nil {
			n := int64(1 << 40)
			b.Items[i].Stock = &n
		}
	}
	return b.Wire(commerce.Env{
		Tenant: "demo", Context: "ctx-bench", Now: time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC),
		Seed: "bench", Policy: providers.DemoPolicy(), Payments: providers.NewMockPayments(),
	})
}

// benchState drives the bench's purchase (a tee, a mug and a gift card to California,
// standard shipping) through its first steps and returns the state after them.
func benchState(b *testing.B, env commerce.Env, steps int) commerce.State {
	b.Helper()
	cmds := []commerce.Command{
		commerce.CreateCheckout{},
		commerce.AddItem{ItemID: "sku_tee", Quantity: 1},
		commerce.AddItem{ItemID: "sku_mug", Quantity: 1},
		commerce.AddItem{ItemID: "sku_gift", Quantity: 1},
		commerce.SetBuyer{Buyer: commerce.Buyer{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}},
		commerce.SetShippingAddress{Address: commerce.Address{StreetAddress: "1 Market St", AddressLocality: "San Francisco",
			AddressRegion: "CA", PostalCode: "94105", AddressCountry: "US"}},
		commerce.SelectShippingOption{OptionID: "std"},
	}
	var st commerce.State
	for i, cmd := range cmds[:steps] {
		env.Seed = "bench-" + strconv.Itoa(i)
		res, err := commerce.Apply(context.Background(), env, st, cmd)
		if err != nil {
			b.Fatalf("%s: %v", cmd.Action(), err)
		}
		st = res.State
	}
	return st
}

// BenchmarkApplyAddItem adds the third item to a checkout holding two.
func BenchmarkApplyAddItem(b *testing.B) {
	env := benchEnv()
	st := benchState(b, env, 3)
	cmd := commerce.AddItem{ItemID: "sku_gift", Quantity: 1}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := commerce.Apply(ctx, env, st, cmd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyCompleteCheckout completes a ready checkout with tok_visa: reserve the
// stock (the in-process count), authorize and capture (the mock handler), place the
// order. Each iteration completes a checkout of its own id, so that neither the stock
// nor the payment handler answers from what an earlier iteration did.
func BenchmarkApplyCompleteCheckout(b *testing.B) {
	env := benchEnv()
	st := benchState(b, env, 7)
	if st.Checkout.Status != commerce.StatusReadyForComplete {
		b.Fatalf("status %s, want ready_for_complete", st.Checkout.Status)
	}
	cmd := commerce.CompleteCheckout{Instruments: []commerce.PaymentInstrument{{ID: "pi_1", HandlerID: "mock",
		Type: "card", Selected: true, Credential: commerce.Credential{Type: "token", Token: "tok_visa"}}}}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := *st.Checkout
		c.ID = "chk_bench_" + strconv.Itoa(i)
		i++
		res, err := commerce.Apply(ctx, env, commerce.State{Checkout: &c}, cmd)
		if err != nil || res.Checkout.Status != commerce.StatusCompleted {
			b.Fatalf("complete: %v (%+v)", err, res.Checkout)
		}
	}
}
