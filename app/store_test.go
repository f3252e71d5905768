package app_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

// The store's gauges, registered by Open, read Pebble at each scrape: level 0 fills as
// memtables are flushed and empties when it is compacted.
func TestStoreMetricsFollowTheStore(t *testing.T) {
	cfg := &config.Config{DataDir: t.TempDir(), Store: config.Store{CacheMiB: 1, MemTableMiB: 1, CompactionNice: -1}}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	p, err := app.Open(cfg, app.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
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
	testenv.FillStates(t, p.Store, 0, 20000)
	if want := float64(p.Store.Metrics().Levels[0].Sublevels); want == 0 || gauge("cartwright_store_l0_sublevels") != want {
		t.Fatalf("cartwright_store_l0_sublevels %v, the store has %v (it must have some to prove anything)",
			gauge("cartwright_store_l0_sublevels"), want)
	}
	if err := p.Store.Compact(); err != nil {
		t.Fatal(err)
	}
	if got := gauge("cartwright_store_l0_sublevels"); got != 0 {
		t.Errorf("cartwright_store_l0_sublevels %v after a full compaction, want 0", got)
	}
	if got := gauge("cartwright_store_compaction_debt_bytes"); got != 0 {
		t.Errorf("cartwright_store_compaction_debt_bytes %v after a full compaction, want 0", got)
	}
}
