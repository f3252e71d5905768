package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/handlers"
)

// streamNames are the streams a run creates: the worker's four, the stock bucket's and
// the baseline's.
func (r *benchRun) streamNames() []string {
	t := r.topo
	return []string{t.InStream(), t.OutStream(), t.DLQStream(), t.EventStream(),
		"KV_" + strings.ToUpper(t.Prefix) + "_STOCK", strings.ToUpper(baselinePrefix(t.Prefix)) + "_IN"}
}

// prepare provisions the streams as the worker does at start-up, so that the envelopes
// can be published before it starts, and restocks the basket's counted items.
func (r *benchRun) prepare(ctx context.Context) error {
	if !r.cfg.NATS.Embedded() {
		for _, name := range r.streamNames() {
			if _, err := r.js.Stream(ctx, name); err == nil {
				return usageErr("stream %s exists on %s: the bench measures on streams of its own; "+
					"use another --prefix or a server without them", name, r.cfg.NATS.URL)
			} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
				return err
			}
		}
	}
	if err := bus.Provision(ctx, r.js, r.topo); err != nil {
		return err
	}
	return r.restock(ctx)
}

// restock sets the stock of the basket's counted items far above what the run buys, as
// an operator restocks: in the bucket the worker keeps stock in (`nats kv put`), or, with
// --inventory memory, in the tenant's configuration. Otherwise the demo's 1000 tees sell
// out after 1000 checkouts and the rest of the run measures out_of_stock replies instead
// of purchases.
func (r *benchRun) restock(ctx context.Context) error {
	const plenty = 1 << 40
	stock := bus.BuiltinStock(r.cfg)[r.tenant]
	var counted []string
	for _, it := range r.items {
		if s, ok := stock[it]; ok && s != nil && !slices.Contains(counted, it) && benchToken.MatchString(it) {
			counted = append(counted, it)
		}
	}
	if len(counted) == 0 {
		return nil
	}
	where := "the stock bucket"
	if r.f.inventory == "memory" {
		where = "the tenant's configuration (in-process stock)"
		items := r.cfg.Tenants[r.tenant].Builtin.Items
		for i := range items {
			if slices.Contains(counted, items[i].ID) {
				n := int64(plenty)
				items[i].Stock = &n
			}
		}
	} else {
		kv, err := bus.StockBucket(ctx, r.js, r.topo)
		if err != nil {
			return err
		}
		for _, it := range counted {
			if _, err := kv.Put(ctx, r.tenant+".item."+it, []byte(`{"remaining":`+strconv.Itoa(plenty)+`}`)); err != nil {
				return fmt.Errorf("restocking %s: %w", it, err)
			}
		}
	}
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("stock of %s set to 2^40 in %s before the run, "+
		"so that every checkout completes (the demo has 1000 of each)", strings.Join(counted, ", "), where))
	return nil
}

var benchToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// removeStreams deletes what prepare created on a server the bench does not own.
func (r *benchRun) removeStreams() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range r.streamNames() {
		if err := r.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			r.say("removing stream %s: %v", name, err)
		}
	}
}

// measureWorker publishes the throughput phase's envelopes, then runs the worker wired as
// serve wires it through the throughput and latency phases.
func (r *benchRun) measureWorker(ctx context.Context) (err error) {
	mix := newBenchMix(r.cfg.Prefix, r.tenant, 't', r.f.contexts, r.items)
	n := mix.Len()
	prog := startProgress(r.errw, "publishing", n)
	d, avg, err := publishAll(ctx, r.pub, mix, r.cfg.Prefix, prog)
	prog.end()
	if err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	r.rep.Publish = benchRate{Envelopes: n, Seconds: secs(d), PerSecond: float64(n) / secs(d), AvgBytes: avg}
	r.say("published %d envelopes in %.1f s (%.0f/s); starting the worker", n, secs(d), float64(n)/secs(d))

	// The wiring of serve.
	reg := prometheus.NewRegistry()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hopts := handlers.Options{Logger: r.log}
	if r.f.inventory == "bucket" {
		if hopts, err = bus.WithInventories(wctx, r.js, r.cfg, hopts); err != nil {
			return err
		}
	}
	w, err := bus.New(r.cfg, r.nc, r.st, handlers.New(r.cfg, hopts), bus.NewMetrics(reg), r.log)
	if err != nil {
		return err
	}

	// The peak RSS of the worker's phases leaves out the garbage of publishing.
	runtime.GC()
	debug.FreeOSMemory()
	meter, before := startPeak()
	r.wholePeak = max(r.wholePeak, before)
	var prof *os.File
	if r.f.cpuProfile != "" {
		if prof, err = os.Create(r.f.cpuProfile); err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(prof); err != nil {
			prof.Close()
			return err
		}
	}
	pm0 := r.st.Metrics()
	cpu0, busy0 := cpuTime(), machineBusy()
	t0 := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(wctx) }()
	running := true
	stopWorker := func() error {
		if !running {
			return nil
		}
		running = false
		cancel()
		return <-runErr
	}
	defer func() {
		if werr := stopWorker(); werr != nil && err == nil {
			err = werr
		}
	}()

	prog = startProgress(r.errw, "throughput (replies stored)", n)
	first, last, err := waitStored(ctx, r.js, r.topo.OutStream(), uint64(n), prog)
	var acked time.Time
	if err == nil {
		names := make([]string, r.cfg.Partitions)
		for i := range names {
			names[i] = r.topo.ConsumerName(i)
		}
		acked, err = waitAcked(ctx, r.js, r.topo.InStream(), names)
	}
	prog.end()
	cpu, busy := cpuTime()-cpu0, machineBusy()-busy0
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	peak := meter.stop()
	if err != nil {
		return fmt.Errorf("throughput phase: %w", err)
	}
	r.wholePeak = max(r.wholePeak, peak)
	m := &r.rep.Memory
	m.PeakRSSMiB, m.PeakRSSSource = mib(peak), meter.source()
	end := last
	if acked.After(end) {
		end = acked
	}
	elapsed := end.Sub(t0)
	t := &r.rep.Throughput
	t.Envelopes, t.Seconds, t.PerSecond = n, secs(elapsed), float64(n)/secs(elapsed)
	t.FirstReplySeconds = secs(first.Sub(t0))
	t.CPUSeconds, t.CPUCores = secs(cpu), secs(cpu)/secs(elapsed)
	t.OthersCores = max(0, secs(busy-cpu)/secs(elapsed))
	t.CPUMicrosPer = float64(cpu.Microseconds()) / float64(n)
	ws := workerMetrics(reg)
	t.benchBatches = perBatch(workerStats{}, ws)
	r.rep.Outcomes.ByOutcome = ws.outcomes
	r.memoryNow(pm0, n)
	if r.f.memProfile != "" {
		if err := writeHeapProfile(r.f.memProfile); err != nil {
			return err
		}
	}
	r.say("throughput: %.0f envelopes/s (%d in %.2f s)", t.PerSecond, n, t.Seconds)

	if !r.f.skipLatency {
		lmix := newBenchMix(r.cfg.Prefix, r.tenant, 'l', r.f.latencyN/stepsPerContext, r.items)
		rate := t.PerSecond / 2
		r.say("latency: %d envelopes of fresh contexts at %.0f/s", lmix.Len(), rate)
		prog = startProgress(r.errw, "latency (replies received)", lmix.Len())
		meter, _ := startPeak()
		lat, err := measureLatency(ctx, r.ac, r.pub, lmix, r.cfg.Prefix, rate, prog)
		peak := meter.stop()
		r.wholePeak = max(r.wholePeak, peak)
		m.LatencyPeakRSSMiB = mib(peak)
		prog.end()
		if err != nil {
			return fmt.Errorf("latency phase: %w", err)
		}
		lat.benchBatches = perBatch(ws, workerMetrics(reg))
		r.rep.Latency = lat
		if lat.Received < lat.Envelopes {
			r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("latency: %d replies missing after %s", lat.Envelopes-lat.Received, benchStall))
		}
	}

	if err := stopWorker(); err != nil {
		return err
	}
	return r.outcomes(ctx, mix)
}

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
			case "cartwright_batch_size":
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

// perBatch is what the worker did per committed batch between two moments.
func perBatch(from, to workerStats) benchBatches {
	n := to.batches - from.batches
	if n == 0 {
		return benchBatches{}
	}
	return benchBatches{
		Batches:       int(n),
		MeanBatch:     (to.envelopes - from.envelopes) / n,
		MeanHandleMS:  1000 * (to.handle - from.handle) / n,
		MeanCommitMS:  1000 * (to.commit - from.commit) / n,
		MeanPublishMS: 1000 * (to.publish - from.publish) / n,
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
// completed, nothing dead-lettered.
func (r *benchRun) outcomes(ctx context.Context, mix *benchMix) error {
	o := &r.rep.Outcomes
	o.Contexts = mix.contexts
	o.ByStatus = map[string]int{}
	b := r.st.NewBatch()
	for c := 0; c < mix.contexts; c++ {
		if c%10000 == 9999 {
			b.Discard()
			b = r.st.NewBatch()
		}
		st, err := b.State(r.tenant, mix.contextID(c))
		if err != nil {
			b.Discard()
			return err
		}
		status := "none"
		if st.Checkout != nil {
			status = string(st.Checkout.Status)
		}
		o.ByStatus[status]++
	}
	b.Discard()
	o.Completed = o.ByStatus["completed"]
	for _, s := range []struct {
		name string
		n    *uint64
	}{{r.topo.DLQStream(), &o.DeadLetters}, {r.topo.EventStream(), &o.Events}} {
		st, err := r.js.Stream(ctx, s.name)
		if err != nil {
			return err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		*s.n = info.State.Msgs
	}
	if o.Completed != o.Contexts {
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("only %d of %d checkouts completed: %v", o.Completed, o.Contexts, o.ByStatus))
	}
	return nil
}

// baseline publishes the same envelopes to an identical stream in another subject space
// and times a bare consumer through them.
func (r *benchRun) baseline(ctx context.Context) error {
	s, err := baselineStream(ctx, r.js, r.topo)
	if err != nil {
		return fmt.Errorf("baseline stream: %w", err)
	}
	defer r.js.DeleteStream(context.WithoutCancel(ctx), s.CachedInfo().Config.Name)
	mix := newBenchMix(r.cfg.Prefix, r.tenant, 't', r.f.contexts, r.items)
	n := mix.Len()
	prog := startProgress(r.errw, "baseline: publishing", n)
	_, _, err = publishAll(ctx, r.pub, mix, baselinePrefix(r.cfg.Prefix), prog)
	prog.end()
	if err != nil {
		return fmt.Errorf("baseline: publishing: %w", err)
	}
	prog = startProgress(r.errw, "baseline: consuming", n)
	cpu0 := cpuTime()
	d, err := consumeBaseline(ctx, r.js, s, r.topo, r.cfg.Batch.AckWait, max(4*r.cfg.Batch.Size, 10000), n, prog)
	cpu := cpuTime() - cpu0
	prog.end()
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	b := &benchRate{Envelopes: n, Seconds: secs(d), PerSecond: float64(n) / secs(d), Consumers: 1, FetchBatch: baselineFetch,
		CPUMicrosPer: float64(cpu.Microseconds()) / float64(n)}
	r.rep.Baseline = b
	r.rep.Ratio = r.rep.Throughput.PerSecond / b.PerSecond
	if t := r.rep.Throughput.CPUMicrosPer; t > 0 {
		r.rep.CPURatio = b.CPUMicrosPer / t
	}
	r.say("baseline: %.0f messages/s; cartwright/baseline %.3f", b.PerSecond, r.rep.Ratio)
	return nil
}
