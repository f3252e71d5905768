package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/store"
)

// StoreOptions sizes the store as the configuration says.
func StoreOptions(c config.Store) store.Options {
	return store.Options{CacheBytes: int64(c.CacheMiB) << 20, MemTableBytes: int64(c.MemTableMiB) << 20,
		CompactionNice: max(c.CompactionNice, 0), RecordFilterBytes: int64(c.RecordFilterMiB) << 20}
}

// registerStoreMetrics exports what shows whether the store's compactions keep up with
// its writes, read from Pebble at each scrape. They run at a lower priority by default
// (store.compaction_nice): on a machine kept busy by other work, these grow.
func registerStoreMetrics(reg prometheus.Registerer, st *store.Store) error {
	for _, g := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cartwright_store_l0_sublevels",
			Help: "Sublevels in the store's level 0, which every read of an absent key may look through; it grows while compactions fall behind the writes (Pebble stops writes at 12).",
		}, func() float64 { return float64(st.Metrics().Levels[0].Sublevels) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cartwright_store_compaction_debt_bytes",
			Help: "Bytes the store estimates it must compact to bring its levels in shape.",
		}, func() float64 { return float64(st.Metrics().Compact.EstimatedDebt) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cartwright_store_presence_filter_keys",
			Help: "Keys of states, stock reservations and mock payments the in-memory filter has taken since the start, which answers without a read that a new checkout has none; past cartwright_store_presence_filter_capacity more of those lookups read the store, until the next start sizes it again.",
		}, func() float64 { n, _ := st.PresenceFilterStats(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cartwright_store_presence_filter_capacity",
			Help: "Keys the filter of states, reservations and mock payments was sized for at the start: twice those the store held, at least about a million.",
		}, func() float64 { _, c := st.PresenceFilterStats(); return float64(c) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cartwright_store_state_cache_hits_total",
			Help: "Reads of a checkout's state that the partitions' cache of recent states answered, without reading Pebble (store.state_cache_mib).",
		}, func() float64 { h, _ := st.StateCacheStats(); return float64(h) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "cartwright_store_state_cache_misses_total",
			Help: "Reads of a checkout's state that the partitions' cache of recent states did not hold, and that went to Pebble: many against the hits mean a cache smaller than the checkouts in progress.",
		}, func() float64 { _, m := st.StateCacheStats(); return float64(m) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cartwright_store_record_filter_records",
			Help: "Idempotency records the in-memory filter holds, which answers without a read that a new messageId has none (store.record_filter_mib: a byte each).",
		}, func() float64 { n, _ := st.RecordFilterStats(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "cartwright_store_record_filter_full",
			Help: "1 when the filter of idempotency records outgrew its size: until the next start, every envelope reads the store for its record.",
		}, func() float64 {
			if _, full := st.RecordFilterStats(); full {
				return 1
			}
			return 0
		}),
	} {
		if err := reg.Register(g); err != nil {
			return err
		}
	}
	return nil
}
