package app

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/store"
)

// The store's gauges read Pebble at each scrape: level 0 fills as memtables are flushed
// and empties when it is compacted.
func TestStoreMetricsFollowTheStore(t *testing.T) {
	st, err := store.Open(t.TempDir(), StoreOptions(config.Store{CacheMiB: 1, MemTableMiB: 1, CompactionNice: -1}))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	if err := registerStoreMetrics(reg, st); err != nil {
		t.Fatal(err)
	}
	gauge := func(name string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatalf("no %s", name)
		return 0
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 2 {
		t.Fatalf("%d metrics (%v), want 2", len(mfs), err)
	}
	for i := 0; i < 20000; i += 2000 {
		b := st.NewBatch()
		for j := i; j < i+2000; j++ {
			b.PutState("demo", fmt.Sprintf("c%06d", j), commerce.State{Checkout: &commerce.Checkout{ID: fmt.Sprintf("chk_%06d", j), Currency: "USD"}})
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if want := float64(st.Metrics().Levels[0].Sublevels); want == 0 || gauge("cartwright_store_l0_sublevels") != want {
		t.Fatalf("cartwright_store_l0_sublevels %v, the store has %v (it must have some to prove anything)",
			gauge("cartwright_store_l0_sublevels"), want)
	}
	if err := st.Compact(); err != nil {
		t.Fatal(err)
	}
	if got := gauge("cartwright_store_l0_sublevels"); got != 0 {
		t.Errorf("cartwright_store_l0_sublevels %v after a full compaction, want 0", got)
	}
	if got := gauge("cartwright_store_compaction_debt_bytes"); got != 0 {
		t.Errorf("cartwright_store_compaction_debt_bytes %v after a full compaction, want 0", got)
	}
}
