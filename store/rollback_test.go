package store_test

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/store"
)

func openCheckout(id string, expires time.Time) commerce.State {
	return commerce.State{Checkout: &commerce.Checkout{ID: id, Status: commerce.StatusIncomplete, ExpiresAt: expires}}
}

func expiresAt(t *testing.T, b *store.Batch, ctx string) time.Time {
	t.Helper()
	st, err := b.State("demo", ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Checkout == nil {
		return time.Time{}
	}
	return st.Checkout.ExpiresAt
}

// TestRollbackUndoesOneEnvelope: an envelope rolled back leaves nothing in its batch (its
// states, records, messages, open-checkout index entries, stock reserved and released),
// while the envelope before it, in the same batch and on the same context, keeps all of
// its own; both in what the batch reads and in what it commits.
func TestRollbackUndoesOneEnvelope(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	st, err := store.OpenStock(s, stockOf(10))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_000_000, 0)
	b := s.NewBatch()
	b.PutState("demo", "a", openCheckout("chk_a", t0))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}

	b = s.NewBatch()
	b.Mark() // the envelope that stays
	if _, err := b.State("demo", "a"); err != nil {
		t.Fatal(err)
	}
	b.PutState("demo", "a", openCheckout("chk_a", t0.Add(time.Hour)))
	b.PutRecord("demo", "keep", &store.Record{Seq: 1, At: t0, Body: []byte(`{}`)})
	b.Publish(store.Outgoing{Subject: "keep"})
	reserve(t, b, st, "chk_a", 2)

	m := b.Mark() // the envelope that is rolled back
	if _, err := b.State("demo", "a"); err != nil {
		t.Fatal(err)
	}
	b.PutState("demo", "a", openCheckout("chk_a", t0.Add(2*time.Hour)))
	b.PutState("demo", "b", openCheckout("chk_b", t0.Add(3*time.Hour)))
	rec := &store.Record{Seq: 2, At: t0, Body: []byte(`{}`)}
	b.PutRecord("demo", "drop", rec)
	b.PutSeqRecord(2, &store.Record{Seq: 2, At: t0})
	b.PublishReply(store.Outgoing{Subject: "drop"}, rec, nil, nil)
	b.Publish(store.Outgoing{Subject: "drop"})
	reserve(t, b, st, "chk_b", 3)
	if err := b.Release(st, "demo", "chk_a"); err != nil {
		t.Fatal(err)
	}
	if n := st.Held("demo", "cap"); n != 5 {
		t.Fatalf("held before the rollback: %d, want 5", n)
	}
	b.Rollback(m)

	if got := expiresAt(t, b, "a"); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("a after the rollback expires at %v, want the first envelope's %v", got, t0.Add(time.Hour))
	}
	if got := expiresAt(t, b, "b"); !got.IsZero() {
		t.Errorf("b after the rollback: a checkout expiring at %v, want none", got)
	}
	if r, _ := b.Record("demo", "drop"); r != nil {
		t.Error("the rolled-back record is still read")
	}
	if r, _ := b.SeqRecord(2); r != nil {
		t.Error("the rolled-back sequence record is still read")
	}
	if r, _ := b.Record("demo", "keep"); r == nil {
		t.Error("the first envelope's record is gone")
	}
	if out := b.Outgoing(); len(out) != 1 || out[0].Subject != "keep" {
		t.Errorf("outgoing after the rollback: %+v, want the first envelope's one", out)
	}
	if n := st.Held("demo", "cap"); n != 2 {
		t.Errorf("held after the rollback: %d, want 2", n)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}

	refs, err := s.ExpiredContexts(0, t0.Add(24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Context != "a" || !refs[0].ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("open-checkout index: %+v, want a at %v only", refs, t0.Add(time.Hour))
	}
	pending, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Subject != "keep" {
		t.Errorf("outbox: %+v, want the first envelope's message only", pending)
	}
	again, err := store.OpenStock(s, stockOf(10))
	if err != nil {
		t.Fatal(err)
	}
	if n := again.Held("demo", "cap"); n != 2 {
		t.Errorf("held as committed: %d, want 2", n)
	}
	// chk_a's reservation is committed (its release was rolled back), chk_b's is not.
	b = s.NewBatch()
	if err := b.Release(again, "demo", "chk_b"); err != nil {
		t.Fatal(err)
	}
	if err := b.Release(again, "demo", "chk_a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := again.Held("demo", "cap"); n != 0 {
		t.Errorf("held after releasing chk_a (and chk_b, which holds nothing): %d, want 0", n)
	}
}

// TestRollbackExceptStockKeepsTheHold: the stock an envelope reserved stays, and is
// committed, when the rest of the envelope is rolled back with RollbackExceptStock.
func TestRollbackExceptStockKeepsTheHold(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	st, err := store.OpenStock(s, stockOf(10))
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	m := b.Mark()
	b.PutState("demo", "a", openCheckout("chk_a", time.Unix(1_000_000, 0)))
	b.Publish(store.Outgoing{Subject: "drop"})
	reserve(t, b, st, "chk_a", 3)
	b.RollbackExceptStock(m)
	if got := expiresAt(t, b, "a"); !got.IsZero() {
		t.Error("the state stayed")
	}
	if len(b.Outgoing()) != 0 {
		t.Error("the message stayed")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	again, err := store.OpenStock(s, stockOf(10))
	if err != nil {
		t.Fatal(err)
	}
	if n := again.Held("demo", "cap"); n != 3 || st.Held("demo", "cap") != 3 {
		t.Errorf("held: %d committed, %d counted, want 3 and 3", n, st.Held("demo", "cap"))
	}
	if refs, _ := s.ExpiredContexts(0, time.Unix(2_000_000, 0), 10); len(refs) != 0 {
		t.Errorf("open-checkout index: %+v, want none", refs)
	}
}

// TestDiscardAfterRollback: a batch discarded after one of its envelopes was rolled back
// gives back, once, what its other envelopes reserved.
func TestDiscardAfterRollback(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	st, err := store.OpenStock(s, stockOf(10))
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	b.Mark()
	reserve(t, b, st, "chk_a", 2)
	m := b.Mark()
	reserve(t, b, st, "chk_b", 3)
	b.Rollback(m)
	b.Discard()
	if n := st.Held("demo", "cap"); n != 0 {
		t.Errorf("held after the discard: %d, want 0", n)
	}
}

func TestRollbackPastAFlushPanics(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	b := s.NewBatch()
	defer b.Discard()
	m := b.Mark()
	b.PutState("demo", "a", commerce.State{})
	_ = b.Size() // copies the staged writes into the Pebble batch
	defer func() {
		if recover() == nil {
			t.Error("rolling back writes already in the Pebble batch did not panic")
		}
	}()
	b.Rollback(m)
}
