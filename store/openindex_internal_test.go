package store

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/commerce"
)

// TestOpenIndexWrittenOnlyWhenItMoves: a checkout's open-checkout index entry is written
// when the checkout opens, left as it is by the writes that keep its expiry (they write
// nothing of it), and removed when it closes; ExpiredContexts finds it once throughout.
func TestOpenIndexWrittenOnlyWhenItMoves(t *testing.T) {
	s, err := Open("db", Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Unix(1_000_000, 0)
	exp := t0.Add(time.Hour)
	chk := func(status commerce.Status, lines int) commerce.State {
		return commerce.State{Checkout: &commerce.Checkout{ID: "chk_1", Status: status, ExpiresAt: exp,
			LineItems: make([]commerce.LineItem, lines)}}
	}
	// write commits the state and returns how many writes of the index its batch made.
	write := func(st commerce.State) int {
		t.Helper()
		b := s.NewBatch()
		if _, err := b.State("demo", "ctx"); err != nil {
			t.Fatal(err)
		}
		b.PutState("demo", "ctx", st)
		b.flush()
		n := 0
		r := b.b.Reader()
		for {
			kind, k, _, ok, err := r.Next()
			if !ok || err != nil {
				break
			}
			if k[0] == tagOpen && (kind == pebble.InternalKeyKindSet || kind == pebble.InternalKeyKindDelete) {
				n++
			}
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	expired := func() int {
		t.Helper()
		refs, err := s.ExpiredContexts(0, exp.Add(time.Second), 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(refs)
	}
	if n := write(chk(commerce.StatusIncomplete, 0)); n != 1 || expired() != 1 {
		t.Fatalf("opened: %d writes of the index, %d expired found; want 1 and 1", n, expired())
	}
	for i := 1; i <= 3; i++ {
		if n := write(chk(commerce.StatusIncomplete, i)); n != 0 || expired() != 1 {
			t.Fatalf("changed, expiry kept: %d writes of the index, %d expired found; want 0 and 1", n, expired())
		}
	}
	if n := write(chk(commerce.StatusCompleted, 3)); n != 1 || expired() != 0 {
		t.Fatalf("closed: %d writes of the index, %d expired found; want 1 and 0", n, expired())
	}
}
