package store_test

import (
	"testing"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/store"
)

func stockOf(n int64) map[string]map[string]*int64 {
	return map[string]map[string]*int64{"demo": {"cap": &n, "ebook": nil}}
}

func reserve(t *testing.T, b *store.Batch, st *store.Stock, checkout string, q int64) bool {
	t.Helper()
	ok, short, err := b.Reserve(st, "demo", checkout, []commerce.Reservation{
		{CheckoutID: checkout, ItemID: "cap", Quantity: q}, {CheckoutID: checkout, ItemID: "ebook", Quantity: 9}})
	if err != nil {
		t.Fatal(err)
	}
	if !ok && short != "cap" {
		t.Fatalf("short %q, want cap", short)
	}
	return ok
}

// TestStockAcrossPartitionsAndRestarts: reservations count at once across partitions,
// are undone when their batch is discarded, releases count once committed, a second
// reservation for a checkout takes nothing, and a reopened store reads back what is held.
func TestStockAcrossPartitionsAndRestarts(t *testing.T) {
	fs := vfs.NewMem()
	s := open(t, fs)
	st, err := store.OpenStock(s, stockOf(5))
	if err != nil {
		t.Fatal(err)
	}
	p0, p1 := s.NewBatch(), s.NewBatch()
	p0.Partition, p1.Partition = 0, 1
	if !reserve(t, p0, st, "chk_a", 3) {
		t.Fatal("reserving 3 of 5 failed")
	}
	// The same checkout asking again holds what it holds: no second 3 taken.
	if !reserve(t, p0, st, "chk_a", 3) {
		t.Fatal("asking again for the 3 held failed")
	}
	if n, _ := st.Available("demo", "cap"); n != 2 {
		t.Fatalf("available after reserving 3 (once, twice asked): %d, want 2", n)
	}
	if reserve(t, p1, st, "chk_b", 3) {
		t.Fatal("another partition took 3 of the 2 left")
	}
	if !reserve(t, p1, st, "chk_b", 2) {
		t.Fatal("another partition could not take the 2 left")
	}
	p1.Discard() // chk_b's batch never happened
	if n, _ := st.Available("demo", "cap"); n != 2 {
		t.Fatalf("available after a discarded batch: %d, want 2", n)
	}
	if err := p0.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, unlimited := st.Available("demo", "ebook"); !unlimited {
		t.Fatalf("ebook: %d, counted", n)
	}

	// A release counts once committed.
	b := s.NewBatch()
	if err := b.Release(st, "demo", "chk_a"); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Available("demo", "cap"); n != 2 {
		t.Fatalf("available before the release is committed: %d, want 2", n)
	}
	if err := b.Release(st, "demo", "chk_a"); err != nil { // nothing left to give back
		t.Fatal(err)
	}
	if !reserve(t, b, st, "chk_c", 1) {
		t.Fatal("reserve")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Available("demo", "cap"); n != 4 {
		t.Fatalf("available after releasing 3 and taking 1: %d, want 4", n)
	}

	// Reopened: what is held is read back.
	s.Close()
	s = open(t, fs)
	defer s.Close()
	st, err = store.OpenStock(s, stockOf(5))
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Held("demo", "cap"); n != 1 {
		t.Fatalf("held after reopening: %d, want 1", n)
	}
	b = s.NewBatch()
	if !reserve(t, b, st, "chk_c", 1) { // held already: takes nothing
		t.Fatal("reserve again")
	}
	if err := b.Release(st, "demo", "chk_c"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := st.Held("demo", "cap"); n != 0 {
		t.Fatalf("held after the last release: %d, want 0", n)
	}
}
