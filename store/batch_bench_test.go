package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
)

// benchStates is how many states one benchmark batch holds: a full batch of the worker.
const benchStates = 500

// completedState is a checkout the real domain completed: a tee, a mug and a gift card
// to California with standard shipping, paid with tok_visa, with its order.
func completedState(b *testing.B) commerce.State {
	b.Helper()
	env := providers.Demo().Wire(commerce.Env{
		Tenant: "demo", Context: "ctx-bench", Now: time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC),
		Policy: providers.DemoPolicy(), Payments: providers.NewMockPayments(),
	})
	var st commerce.State
	for i, cmd := range []commerce.Command{
		commerce.CreateCheckout{},
		commerce.AddItem{ItemID: "sku_tee", Quantity: 1},
		commerce.AddItem{ItemID: "sku_mug", Quantity: 1},
		commerce.AddItem{ItemID: "sku_gift", Quantity: 1},
		commerce.SetBuyer{Buyer: commerce.Buyer{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}},
		commerce.SetShippingAddress{Address: commerce.Address{StreetAddress: "1 Market St", AddressLocality: "San Francisco",
			AddressRegion: "CA", PostalCode: "94105", AddressCountry: "US"}},
		commerce.SelectShippingOption{OptionID: "std"},
		commerce.CompleteCheckout{Instruments: []commerce.PaymentInstrument{{ID: "pi_1", HandlerID: "mock",
			Type: "card", Selected: true, Credential: commerce.Credential{Type: "token", Token: "tok_visa"}}}},
	} {
		env.Seed = "bench-" + strconv.Itoa(i)
		res, err := commerce.Apply(context.Background(), env, st, cmd)
		if err != nil {
			b.Fatalf("%s: %v", cmd.Action(), err)
		}
		st = res.State
	}
	if st.Checkout.Status != commerce.StatusCompleted {
		b.Fatalf("status %s", st.Checkout.Status)
	}
	return st
}

// BenchmarkBatch500 writes 500 completed checkouts of new contexts into one batch, on real
// Pebble in a temporary directory; one op is one batch. "put" discards the batch: what
// encoding and batching the 500 states cost. "commit" commits it with its fsync.
func BenchmarkBatch500(b *testing.B) {
	st := completedState(b)
	for _, commit := range []bool{false, true} {
		name := "put"
		if commit {
			name = "commit"
		}
		b.Run(name, func(b *testing.B) {
			s, err := store.Open(b.TempDir(), store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				batch := s.NewBatch()
				for range benchStates {
					batch.PutState("demo", "ctx-"+strconv.Itoa(n), st)
					n++
				}
				if commit {
					if err := batch.Commit(); err != nil {
						b.Fatal(err)
					}
				} else {
					_ = batch.Size() // the states are encoded into the Pebble batch when it is sized
					batch.Discard()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/state")
		})
	}
}

// BenchmarkReadState reads a committed completed checkout through a batch, from Pebble
// (no state cache), and decodes it: one op is one read.
func BenchmarkReadState(b *testing.B) {
	st := completedState(b)
	s, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	w := s.NewBatch()
	for i := range benchStates {
		w.PutState("demo", "ctx-"+strconv.Itoa(i), st)
	}
	if err := w.Commit(); err != nil {
		b.Fatal(err)
	}
	keys := make([]string, benchStates)
	for i := range keys {
		keys[i] = "ctx-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%benchStates == 0 {
			w.Discard()
			w = s.NewBatch()
		}
		got, err := w.State("demo", keys[i%benchStates])
		if err != nil || got.Checkout == nil {
			b.Fatal(err, got.Checkout)
		}
		i++
	}
	w.Discard()
}
