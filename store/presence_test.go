package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
)

// TestKeptKeysFoundWhereverTheyCameFrom: the states, stock reservations and mock payments
// a store holds are found, whether the worker committed them, the store was opened again
// or the changelog carried them to another store, though lookups of keys the store does
// not hold answer "none" from the filter without a read (presenceFilter).
func TestKeptKeysFoundWhereverTheyCameFrom(t *testing.T) {
	const n = 200
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fs := vfs.NewMem()
	s := open(t, fs)
	st, err := store.OpenStock(s, stockOf(10*n))
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	b.Partition = 1
	book := s.MockPayments("demo").In(b)
	for i := range n {
		b.PutState("demo", fmt.Sprintf("ctx-%d", i), openCheckout(fmt.Sprintf("chk_%d", i), at.Add(time.Hour)))
		if ok, short, err := b.Reserve(st, "demo", fmt.Sprintf("chk_%d", i), []commerce.Reservation{{ItemID: "cap", Quantity: 1}}); !ok || err != nil {
			t.Fatalf("reserve %d: %v %q %v", i, ok, short, err)
		}
		if err := book.PutPayment(providers.MockPayment{ID: fmt.Sprintf("pay_%d", i), At: at, Authorized: 100}); err != nil {
			t.Fatal(err)
		}
		b.Mark()
	}
	changes := b.Changes()
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	check := func(s *store.Store, st *store.Stock, where string) {
		t.Helper()
		b := s.NewBatch()
		b.Partition = 1
		defer b.Discard()
		for i := range n {
			state, err := b.State("demo", fmt.Sprintf("ctx-%d", i))
			if err != nil || state.Checkout == nil || state.Checkout.ID != fmt.Sprintf("chk_%d", i) {
				t.Fatalf("%s: the state of ctx-%d: %+v, %v", where, i, state.Checkout, err)
			}
			if p, ok, err := s.MockPayments("demo").Payment(fmt.Sprintf("pay_%d", i)); !ok || err != nil || p.Authorized != 100 {
				t.Fatalf("%s: payment %d: %+v %v %v", where, i, p, ok, err)
			}
		}
		// A checkout that holds its reservation already is not reserved again: the
		// stock counts no second unit.
		for i := range n {
			if ok, _, err := b.Reserve(st, "demo", fmt.Sprintf("chk_%d", i), []commerce.Reservation{{ItemID: "cap", Quantity: 1}}); !ok || err != nil {
				t.Fatalf("%s: reserve again %d: %v %v", where, i, ok, err)
			}
		}
		if held := st.Held("demo", "cap"); held != n {
			t.Fatalf("%s: %d units held after reserving %d checkouts again, want %d", where, held, n, n)
		}
		if state, err := b.State("demo", "ctx-absent"); err != nil || state.Checkout != nil {
			t.Fatalf("%s: a context never written has a state: %+v, %v", where, state.Checkout, err)
		}
		if _, ok, err := s.MockPayments("demo").Payment("pay_absent"); ok || err != nil {
			t.Fatalf("%s: a payment never made is found: %v, %v", where, ok, err)
		}
	}
	check(s, st, "after the commit")
	if added, capacity := s.PresenceFilterStats(); added != 3*n || capacity < 3*n {
		t.Fatalf("the filter took %d keys (sized for %d), want %d", added, capacity, 3*n)
	}

	// Opened again: the filter is built from the store's keys.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, fs)
	defer s.Close()
	if st, err = store.OpenStock(s, stockOf(10*n)); err != nil {
		t.Fatal(err)
	}
	check(s, st, "after opening the store again")

	// Carried by the changelog to another store.
	dst := open(t, vfs.NewMem())
	defer dst.Close()
	carry(t, dst, 1, changes)
	dstStock, err := store.OpenStock(dst, stockOf(10*n))
	if err != nil {
		t.Fatal(err)
	}
	check(dst, dstStock, "in the store the changelog carried them to")
}

// TestPresenceFilterCountsKeysNotWrites: the filter's count (its gauge) is of keys, so
// that it tells when the filter outgrew its size: a checkout written at every step, or a
// payment at its authorization and its capture, counts once.
func TestPresenceFilterCountsKeysNotWrites(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for step := range 8 {
		b := s.NewBatch()
		for i := range 50 {
			ctx := fmt.Sprintf("ctx-%d", i)
			if _, err := b.State("demo", ctx); err != nil {
				t.Fatal(err)
			}
			b.PutState("demo", ctx, openCheckout(fmt.Sprintf("chk_%d_%d", i, step), at.Add(time.Hour)))
			if err := s.MockPayments("demo").In(b).PutPayment(providers.MockPayment{ID: fmt.Sprintf("pay_%d", i), At: at, Authorized: int64(step)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	// A key counts as new only if it sets a bit no key set before: a few in a thousand
	// new keys find all theirs set and are not counted.
	if added, _ := s.PresenceFilterStats(); added < 95 || added > 100 {
		t.Fatalf("50 states and 50 payments written 8 times each: the filter counts %d keys, want 100", added)
	}
}
