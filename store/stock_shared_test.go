package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// sharedStock opens a store of its own (a worker's) with its stock in kv's bucket.
func sharedStock(t *testing.T, kv jetstream.KeyValue, n int64, chunk, low int64) (*store.Store, *store.Stock) {
	t.Helper()
	return sharedStockItems(t, kv, map[string]*int64{"cap": &n}, chunk, low)
}

// sharedStockItems is sharedStock for the demo tenant's items.
func sharedStockItems(t *testing.T, kv jetstream.KeyValue, items map[string]*int64, chunk, low int64) (*store.Store, *store.Stock) {
	t.Helper()
	s := open(t, vfs.NewMem())
	t.Cleanup(func() { s.Close() })
	limits := map[string]map[string]*int64{"demo": items}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	inv, err := providers.NewKVInventory(ctx, kv, "demo", limits["demo"])
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSharedStock(s, limits, map[string]*providers.KVInventory{"demo": inv}, chunk, low)
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

// bucketCap reads the cap's remaining stock and the allotment of each partition.
func bucketCap(t *testing.T, kv jetstream.KeyValue) (remaining int64, allot map[string]int64, rev uint64) {
	t.Helper()
	e, err := kv.Get(context.Background(), "demo.item.cap")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Remaining int64                        `json:"remaining"`
		Allot     map[string]struct{ N int64 } `json:"allot"`
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		t.Fatal(err)
	}
	allot = map[string]int64{}
	for p, a := range v.Allot {
		allot[p] = a.N
	}
	return v.Remaining, allot, e.Revision()
}

func reserveIn(t *testing.T, s *store.Store, st *store.Stock, p int, checkout string, q int64, commit bool) (bool, error) {
	t.Helper()
	b := s.NewBatch()
	b.Partition = p
	ok, _, err := b.Reserve(st, "demo", checkout, []commerce.Reservation{{CheckoutID: checkout, ItemID: "cap", Quantity: q}})
	if err != nil || !commit {
		b.Discard()
		return ok, err
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	return ok, nil
}

func releaseIn(t *testing.T, s *store.Store, st *store.Stock, p int, checkout string) {
	t.Helper()
	b := s.NewBatch()
	b.Partition = p
	if err := b.Release(st, "demo", checkout); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

func stockBucket(t *testing.T) jetstream.KeyValue {
	t.Helper()
	n := testenv.StartTestNATS(t)
	c := testenv.NewClient(t, n.URL())
	kv, err := providers.StockBucket(context.Background(), c.JetStream(), "a2a")
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// While plenty remains, a partition takes a chunk beyond what it reserves, and the next
// reservations it covers cost no write to the bucket; a discarded batch's reservation
// leaves its units in the partition's allotment, spare, not lost.
func TestSharedStockChunks(t *testing.T) {
	kv := stockBucket(t)
	s, st := sharedStock(t, kv, 1000, 10, 100)
	if err := s.PartitionTaken(0, 1); err != nil {
		t.Fatal(err)
	}
	if ok, err := reserveIn(t, s, st, 0, "chk_1", 1, true); !ok || err != nil {
		t.Fatalf("reserve: %v %v", ok, err)
	}
	rem, allot, rev := bucketCap(t, kv)
	if rem != 989 || allot["0"] != 11 {
		t.Fatalf("after the first reservation: remaining %d, allotment %v; want 989 and 11 for partition 0", rem, allot)
	}
	for i := range 12 {
		ok, err := reserveIn(t, s, st, 0, "chk_x"+string(rune('a'+i)), 1, i != 3) // the 4th batch is discarded
		if !ok || err != nil {
			t.Fatalf("reserve %d: %v %v", i, ok, err)
		}
	}
	rem2, allot2, rev2 := bucketCap(t, kv)
	if rev2 != rev+1 || rem2 != 978 || allot2["0"] != 22 {
		t.Fatalf("after 12 more (11 committed): remaining %d, allotment %v, %d writes; want 978, 22, one write",
			rem2, allot2, rev2-rev)
	}
	if got := st.Held("demo", "cap"); got != 12 {
		t.Fatalf("held %d, want 12", got)
	}
}

// Once little remains, partitions take exactly what they reserve and give back what they
// hold spare after a commit: the last units go to whichever partition asks, once each.
func TestSharedStockLastUnits(t *testing.T) {
	kv := stockBucket(t)
	s, st := sharedStock(t, kv, 3, 10, 100)
	for p := range 2 {
		if err := s.PartitionTaken(p, 1); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := reserveIn(t, s, st, 0, "chk_a", 1, true); !ok {
		t.Fatal("partition 0: the first of 3 refused")
	}
	if ok, _ := reserveIn(t, s, st, 1, "chk_b", 2, true); !ok {
		t.Fatal("partition 1: 2 of the 2 left refused")
	}
	if ok, _ := reserveIn(t, s, st, 1, "chk_c", 1, true); ok {
		t.Fatal("partition 1 sold a fourth unit of 3")
	}
	if ok, _ := reserveIn(t, s, st, 0, "chk_d", 1, true); ok {
		t.Fatal("partition 0 sold a fourth unit of 3")
	}
	if rem, allot, _ := bucketCap(t, kv); rem != 0 || allot["0"] != 1 || allot["1"] != 2 {
		t.Fatalf("remaining %d, allotments %v; want 0, 1 and 2", rem, allot)
	}
	releaseIn(t, s, st, 0, "chk_a") // partition 0 gives its unit back at the commit
	if rem, allot, _ := bucketCap(t, kv); rem != 1 || allot["0"] != 0 {
		t.Fatalf("after partition 0's release: remaining %d, allotments %v; want 1 and 0", rem, allot)
	}
	if ok, _ := reserveIn(t, s, st, 1, "chk_c", 1, true); !ok {
		t.Fatal("partition 1 did not get the unit partition 0 gave back")
	}
}

// A worker that takes a partition over claims its allotment under its newer epoch: the
// worker that served it before can neither take for it nor give its units back.
func TestSharedStockFencedByEpoch(t *testing.T) {
	kv := stockBucket(t)
	sa, a := sharedStock(t, kv, 1000, 10, 100)
	sb, b := sharedStock(t, kv, 1000, 10, 100)
	if err := sa.PartitionTaken(0, 1); err != nil {
		t.Fatal(err)
	}
	if ok, err := reserveIn(t, sa, a, 0, "chk_a", 1, true); !ok || err != nil {
		t.Fatalf("reserve on the first owner: %v %v", ok, err)
	}
	if err := sb.PartitionTaken(0, 2); err != nil {
		t.Fatal(err)
	}
	if ok, err := reserveIn(t, sb, b, 0, "chk_b", 1, true); !ok || err != nil {
		t.Fatalf("reserve on the new owner: %v %v", ok, err)
	}
	_, allot, _ := bucketCap(t, kv)
	// The old owner's reservations beyond what it knew of the allotment must take from
	// the bucket, and it may not.
	_, err := reserveIn(t, sa, a, 0, "chk_c", 20, true)
	if !errors.Is(err, providers.ErrAllotFenced) {
		t.Fatalf("the old owner took for a partition claimed under a newer epoch: %v", err)
	}
	releaseIn(t, sa, a, 0, "chk_a") // its settle may not give back the new owner's units
	if _, after, _ := bucketCap(t, kv); after["0"] != allot["0"] {
		t.Fatalf("allotment of partition 0 changed from %d to %d by the fenced worker", allot["0"], after["0"])
	}
}

// When the bucket runs low, a partition that sees no more reservations of the item gives
// its spare back all the same (the worker watches the bucket): no unit waits there
// while other partitions' buyers are refused.
func TestSharedStockIdleSpareComesBack(t *testing.T) {
	kv := stockBucket(t)
	s, st := sharedStock(t, kv, 300, 10, 100)
	for p := range 2 {
		if err := s.PartitionTaken(p, 1); err != nil {
			t.Fatal(err)
		}
	}
	if ok, _ := reserveIn(t, s, st, 0, "chk_a", 1, true); !ok {
		t.Fatal("partition 0: refused")
	}
	if rem, allot, _ := bucketCap(t, kv); rem != 289 || allot["0"] != 11 {
		t.Fatalf("remaining %d, allotments %v; want 289 and 11 for partition 0 (a chunk)", rem, allot)
	}
	if ok, _ := reserveIn(t, s, st, 1, "chk_b", 190, true); !ok {
		t.Fatal("partition 1: refused")
	}
	// 99 remain, under the low mark: partition 0, idle, gives back its 10 spare.
	deadline := time.Now().Add(5 * time.Second)
	for {
		rem, allot, _ := bucketCap(t, kv)
		if rem == 109 && allot["0"] == 1 && allot["1"] == 190 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("remaining %d, allotments %v; want 109, 1 for partition 0 and 190 for partition 1", rem, allot)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
