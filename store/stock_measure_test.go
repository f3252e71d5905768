package store_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

var measureStock = flag.Bool("stock.measure", false, "run TestStockMeasure (docs/workers.md, Stock across workers)")

// TestStockMeasure times one reservation of two counted items, one partition, nothing
// else running: a compare-and-set per reservation in the bucket (providers.KVInventory),
// and the shared stock's allotments with chunks and without (every reservation exact).
//
//	go test ./store -run TestStockMeasure -stock.measure -v
func TestStockMeasure(t *testing.T) {
	if !*measureStock {
		t.Skip("-stock.measure")
	}
	const n = 500
	lines := func(chk string) []commerce.Reservation {
		return []commerce.Reservation{{CheckoutID: chk, ItemID: "cap", Quantity: 1}, {CheckoutID: chk, ItemID: "mug", Quantity: 1}}
	}
	report := func(name string, d []time.Duration) {
		slices.Sort(d)
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		t.Logf("%-36s n=%d mean %s, median %s, p99 %s", name, len(d), (sum / time.Duration(len(d))).Round(time.Microsecond),
			d[len(d)/2].Round(time.Microsecond), d[len(d)*99/100].Round(time.Microsecond))
	}
	big := int64(1 << 40)
	limits := map[string]*int64{"cap": &big, "mug": &big}

	kv := stockBucket(t)
	inv, err := providers.NewKVInventory(context.Background(), kv, "demo", limits)
	if err != nil {
		t.Fatal(err)
	}
	var d []time.Duration
	for i := range n {
		t0 := time.Now()
		if ok, _, err := inv.Reserve(context.Background(), fmt.Sprintf("chk_%d", i), lines(fmt.Sprintf("chk_%d", i))); !ok || err != nil {
			t.Fatal(ok, err)
		}
		d = append(d, time.Since(t0))
	}
	report("bucket, per reservation", d)

	for _, mode := range []struct {
		name string
		low  int64
	}{{"bucket, allotments (chunks of 1024)", 512}, {"bucket, allotments, exact", 1 << 50}} {
		kv := stockBucket(t)
		s2, st := sharedStockItems(t, kv, limits, 1024, mode.low)
		if err := s2.PartitionTaken(0, 1); err != nil {
			t.Fatal(err)
		}
		d = d[:0]
		for i := range n {
			b := s2.NewBatch()
			chk := fmt.Sprintf("chk_%d", i)
			t0 := time.Now()
			ok, _, err := b.Reserve(st, "demo", chk, lines(chk))
			d = append(d, time.Since(t0))
			if !ok || err != nil {
				t.Fatal(ok, err)
			}
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		report(mode.name, d)
	}
}
