package store_test

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/store"
)

// TestSeqRecordsFoundWhereverTheyCameFrom: a record kept under a stream sequence is found
// from the batch that put it, after its commit, after the store is opened again, and in
// another store the changelog carried it to; a sequence without one has none; a sweep
// takes it away. The store answers most of these questions from its set of such
// sequences, which each of these paths must keep up: a sequence it missed would let a
// refused or dead-lettered delivery be applied again (handlers'
// TestDeadLetteredDeliveryIsNotAppliedAgain).
func TestSeqRecordsFoundWhereverTheyCameFrom(t *testing.T) {
	fs := vfs.NewMem()
	s := open(t, fs)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seqRecord := func(s *store.Store, seq uint64) *store.Record {
		t.Helper()
		b := s.NewBatch()
		defer b.Discard()
		r, err := b.SeqRecord(seq)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	b := s.NewBatch()
	b.Partition = 2
	b.PutSeqRecord(7, &store.Record{Seq: 7, At: at, Code: "invalid_params"})
	if r, err := b.SeqRecord(7); err != nil || r == nil || r.Code != "invalid_params" {
		t.Fatalf("in its own batch: %+v, %v", r, err)
	}
	changes := b.Changes()
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if r := seqRecord(s, 7); r == nil || r.Seq != 7 {
		t.Fatalf("after the commit: %+v", r)
	}
	if r := seqRecord(s, 8); r != nil {
		t.Fatalf("a sequence without a record has one: %+v", r)
	}

	// Opened again: the set is built from the store's keys.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, fs)
	defer s.Close()
	if r := seqRecord(s, 7); r == nil || r.Code != "invalid_params" {
		t.Fatalf("after opening the store again: %+v", r)
	}

	// Carried by the changelog to another store.
	dst := open(t, vfs.NewMem())
	defer dst.Close()
	carry(t, dst, 2, changes)
	if r := seqRecord(dst, 7); r == nil || r.Code != "invalid_params" {
		t.Fatalf("in the store the changelog carried it to: %+v", r)
	}

	// A rolled-back one is not there (the set may still name it: a read says no).
	b = s.NewBatch()
	m := b.Mark()
	b.PutSeqRecord(9, &store.Record{Seq: 9, At: at})
	b.Rollback(m)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if r := seqRecord(s, 9); r != nil {
		t.Fatalf("a rolled-back record: %+v", r)
	}

	// Swept.
	if n, err := s.Sweep(at.Add(time.Hour), 100); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if r := seqRecord(s, 7); r != nil {
		t.Fatalf("after the sweep: %+v", r)
	}
}
