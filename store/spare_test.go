package store_test

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/store"
)

// TestBatchesReuseNothingButBuffers: Batches take over the Pebble batches of those before
// them (committed, discarded, empty), and carry nothing of theirs over: what a discarded
// batch wrote never shows, what a committed one wrote is committed once, and each commit
// holds its own writes only.
func TestBatchesReuseNothingButBuffers(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	put := func(b *store.Batch, ctx string, n int) {
		for i := range n {
			b.PutState("demo", ctx+strconv.Itoa(i), commerce.State{Checkout: &commerce.Checkout{ID: "chk_" + ctx}})
		}
	}
	for round := range 3 {
		r := strconv.Itoa(round)
		committed := s.NewBatchSized(1 << 16)
		put(committed, "kept"+r+"-", 50)
		if got := committed.Len(); got != 50 {
			t.Fatalf("round %d: a new batch holds %d writes, want its own 50", round, got)
		}
		if err := committed.Commit(); err != nil {
			t.Fatal(err)
		}
		dropped := s.NewBatchSized(1 << 16)
		if got := dropped.Len(); got != 0 {
			t.Fatalf("round %d: a batch after a commit starts with %d writes", round, got)
		}
		put(dropped, "dropped"+r+"-", 50)
		dropped.Discard()
		empty := s.NewBatch()
		if err := empty.Commit(); err != nil {
			t.Fatal(err)
		}
		after := s.NewBatchSized(1 << 16)
		if got := after.Len(); got != 0 {
			t.Fatalf("round %d: a batch after a discarded one starts with %d writes", round, got)
		}
		put(after, "after"+r+"-", 1)
		if err := after.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	read := s.NewBatch()
	defer read.Discard()
	for round := range 3 {
		r := strconv.Itoa(round)
		for ctx, want := range map[string]string{"kept" + r + "-49": "chk_kept" + r + "-", "after" + r + "-0": "chk_after" + r + "-", "dropped" + r + "-0": ""} {
			st, err := read.State("demo", ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if st.Checkout != nil {
				got = st.Checkout.ID
			}
			if got != want {
				t.Errorf("%s: checkout %q, want %q", ctx, got, want)
			}
		}
	}
}

// TestBatchesKeepLargeBuffers: a batch of over 1 MiB (Pebble lets go of such buffers when
// it resets a batch) leaves its buffer to the next, which writes as much again without
// growing one anew, and without any of the first one's writes.
func TestBatchesKeepLargeBuffers(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	big := commerce.State{Checkout: &commerce.Checkout{ID: string(make([]byte, 1500))}}
	ctxs := make([]string, 1000)
	for i := range ctxs {
		ctxs[i] = "big-" + strconv.Itoa(i)
	}
	fill := func() *store.Batch {
		b := s.NewBatchSized(0)
		for _, ctx := range ctxs {
			b.PutState("demo", ctx, big)
		}
		if n := b.Len(); n != len(ctxs) {
			t.Fatalf("the batch holds %d writes, want %d", n, len(ctxs))
		}
		return b
	}
	first := fill()
	if size := first.Size(); size < 1<<20+1<<18 {
		t.Fatalf("the batch writes %d bytes: not over 1 MiB", size)
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fill().Discard()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("the second batch allocated %d bytes: its buffer was not kept", got)
	}
	empty := s.NewBatch()
	if n := empty.Len(); n != 0 {
		t.Fatalf("a batch after the large ones starts with %d writes", n)
	}
	empty.Discard()
}
