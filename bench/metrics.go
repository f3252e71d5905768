package bench

import (
	"cmp"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/cockroachdb/pebble"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/store"
)

// workerStats are sums of the worker's own metrics at one moment.
type workerStats struct {
	batches, envelopes, handle, commit, publish float64
	outcomes                                    map[string]int
}

// workerMetrics reads the worker's per-batch histograms and envelope counts.
func workerMetrics(reg *prometheus.Registry) workerStats {
	ws := workerStats{outcomes: map[string]int{}}
	fams, err := reg.Gather()
	if err != nil {
		return ws
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			h := m.GetHistogram()
			switch f.GetName() {
			case "cartwright_batch_envelopes":
				ws.batches, ws.envelopes = float64(h.GetSampleCount()), h.GetSampleSum()
			case "cartwright_handle_seconds":
				ws.handle = h.GetSampleSum()
			case "cartwright_commit_seconds":
				ws.commit = h.GetSampleSum()
			case "cartwright_publish_seconds":
				ws.publish = h.GetSampleSum()
			case "cartwright_envelopes_total":
				for _, l := range m.GetLabel() {
					if l.GetName() == "outcome" {
						ws.outcomes[l.GetValue()] += int(m.GetCounter().GetValue())
					}
				}
			}
		}
	}
	return ws
}

// envelopesByOutcome is how many envelopes the worker handled, every outcome.
func (s workerStats) envelopesByOutcome() int {
	n := 0
	for _, v := range s.outcomes {
		n += v
	}
	return n
}

// add adds o's figures to s's: the group's, from its workers'.
func (s *workerStats) add(o workerStats) {
	s.batches += o.batches
	s.envelopes += o.envelopes
	s.handle += o.handle
	s.commit += o.commit
	s.publish += o.publish
	if s.outcomes == nil {
		s.outcomes = map[string]int{}
	}
	for k, v := range o.outcomes {
		s.outcomes[k] += v
	}
}

// perBatch is what the worker did per committed batch between two moments.
func perBatch(from, to workerStats) BatchStats {
	n := to.batches - from.batches
	if n == 0 {
		return BatchStats{}
	}
	return BatchStats{
		Batches:       int(n),
		MeanBatch:     (to.envelopes - from.envelopes) / n,
		MeanHandleMS:  1000 * (to.handle - from.handle) / n,
		MeanCommitMS:  1000 * (to.commit - from.commit) / n,
		MeanPublishMS: 1000 * (to.publish - from.publish) / n,
	}
}

// storeActivity is what the store did between two readings of its metrics.
func storeActivity(from, to *pebble.Metrics) StoreActivity {
	return StoreActivity{
		Flushes:           to.Flush.Count - from.Flush.Count,
		Compactions:       to.Compact.Count - from.Compact.Count,
		CompactionSeconds: (to.Compact.Duration - from.Compact.Duration).Seconds(),
	}
}

// memoryNow records the Go heap and Pebble's memory at the end of the throughput phase,
// and what the store did over it (pm0 is Pebble's metrics at its start).
func (r *benchRun) memoryNow(pm0 *pebble.Metrics, envelopes int) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := &r.rep.Memory
	m.GoHeapInuseMiB, m.GoSysMiB = mib(int64(ms.HeapInuse)), mib(int64(ms.Sys))
	pm := r.st.Metrics()
	m.PebbleCacheMiB = mib(pm.BlockCache.Size)
	m.PebbleMemMiB = mib(int64(pm.MemTable.Size))
	m.StoreOnDiskMiB = mib(int64(pm.DiskSpaceUsage()))
	m.StoreL0Files = pm.Levels[0].NumFiles
	m.StoreCompaction = pm.Compact.Count - pm0.Compact.Count
	m.WALBytesPerEnvelope = int((pm.WAL.BytesIn - pm0.WAL.BytesIn) / uint64(max(1, envelopes)))
	hits, misses := pm.BlockCache.Hits-pm0.BlockCache.Hits, pm.BlockCache.Misses-pm0.BlockCache.Misses
	if hits+misses > 0 {
		m.BlockCacheHitRate = float64(hits) / float64(hits+misses)
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// outcomes checks what the throughput phase did: every context's checkout should be
// completed.
func (r *benchRun) outcomes(mix *benchMix) error {
	return r.outcomesIn(mix, []*store.Store{r.st})
}

// outcomesIn is outcomes over the stores of several workers: a context's state is in
// the store of the worker that served its partition.
func (r *benchRun) outcomesIn(mix *benchMix, stores []*store.Store) error {
	o := &r.rep.Outcomes
	o.Contexts = mix.contexts
	o.ByStatus = map[string]int{}
	statuses := make([]string, mix.contexts)
	for _, s := range stores {
		b := s.NewBatch()
		for c := 0; c < mix.contexts; c++ {
			if c%10000 == 9999 {
				b.Discard()
				b = s.NewBatch()
			}
			st, err := b.State(r.tenant, mix.contextID(c))
			if err != nil {
				b.Discard()
				return err
			}
			if st.Checkout != nil && (statuses[c] == "" || st.Checkout.Status == "completed") {
				statuses[c] = string(st.Checkout.Status)
			}
		}
		b.Discard()
	}
	for _, status := range statuses {
		o.ByStatus[cmp.Or(status, "none")]++
	}
	o.Completed = o.ByStatus["completed"]
	if o.Completed != o.Contexts {
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("only %d of %d checkouts completed: %v", o.Completed, o.Contexts, o.ByStatus))
	}
	return nil
}
