package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// measureWorker publishes the throughput phase's envelopes, then runs the worker wired as
// serve wires it through the throughput and latency phases.
func (r *benchRun) measureWorker(ctx context.Context) (err error) {
	mix := newBenchMix(r.cfg.Prefix, r.tenant, 't', r.o.Contexts, r.items)
	n := mix.Len()
	prog := startProgress(r.errw, "publishing", n)
	d, avg, err := publishAll(ctx, r.pub, mix, r.cfg.Prefix, prog)
	prog.end()
	if err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	r.rep.Publish = Rate{Envelopes: n, Seconds: secs(d), PerSecond: float64(n) / secs(d), AvgBytes: avg}
	r.say("published %d envelopes in %.1f s (%.0f/s); starting the worker", n, secs(d), float64(n)/secs(d))

	// The wiring of serve.
	reg := prometheus.NewRegistry()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := r.newWorker(wctx, reg)
	if err != nil {
		return err
	}

	// The peak RSS of the worker's phases leaves out the garbage of publishing.
	runtime.GC()
	debug.FreeOSMemory()
	meter, before := startPeak()
	r.wholePeak = max(r.wholePeak, before)
	stopProfile, err := r.startCPUProfile()
	if err != nil {
		return err
	}
	pm0 := r.st.Metrics()
	sh0, sm0 := r.st.StateCacheStats()
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
	first, end, err := r.waitDone(ctx, n, prog)
	prog.end()
	cpu, busy := cpuTime()-cpu0, machineBusy()-busy0
	stopProfile()
	peak := meter.stop()
	if err != nil {
		return fmt.Errorf("throughput phase: %w", err)
	}
	r.wholePeak = max(r.wholePeak, peak)
	m := &r.rep.Memory
	m.PeakRSSMiB, m.PeakRSSSource = mib(peak), meter.source()
	at := meter.parts()
	m.PeakFileMiB, m.PeakAnonMiB, m.PeakGoHeldMiB = mib(at.file), mib(at.anon), mib(at.goHeld)
	r.rep.RSSMiB = m.PeakRSSMiB
	m.RSSOf = "the bench's process: the worker, the embedded nats-server and the bench's client"
	if !r.cfg.NATS.Embedded() {
		m.RSSOf = "the bench's process: the worker and the bench's client (the nats-server at --nats-url is another process, not counted)"
	}
	elapsed := end.Sub(t0)
	t := &r.rep.Throughput
	t.Envelopes, t.Seconds, t.PerSecond = n, secs(elapsed), float64(n)/secs(elapsed)
	t.FirstReplySeconds = secs(first.Sub(t0))
	t.CPUSeconds, t.CPUCores = secs(cpu), secs(cpu)/secs(elapsed)
	t.OthersCores = max(0, secs(busy-cpu)/secs(elapsed))
	t.CPUMicrosPer = float64(cpu.Microseconds()) / float64(n)
	if err := r.streamCounts(ctx); err != nil {
		return err
	}
	ws := workerMetrics(reg)
	t.BatchStats = perBatch(workerStats{}, ws)
	r.rep.Outcomes.ByOutcome = ws.outcomes
	r.memoryNow(pm0, n)
	if sh, sm := r.st.StateCacheStats(); sh+sm > sh0+sm0 {
		m := &r.rep.Memory
		m.StateCacheHits, m.StateCacheMisses = sh-sh0, sm-sm0
		m.StateCacheHitRate = float64(m.StateCacheHits) / float64(m.StateCacheHits+m.StateCacheMisses)
	}
	if r.o.MemProfile != "" {
		if err := writeHeapProfile(r.o.MemProfile); err != nil {
			return err
		}
	}
	r.say("throughput: %.0f envelopes/s (%d in %.2f s)", t.PerSecond, n, t.Seconds)

	if !r.o.SkipLatency {
		if r.o.CPUProfile != "" {
			// The latency phase gets a profile of its own, next to the throughput one.
			r.o.CPUProfile += ".latency"
			if stopProfile, err = r.startCPUProfile(); err != nil {
				return err
			}
		}
		err := r.latency(ctx, reg, ws)
		stopProfile()
		if err != nil {
			return err
		}
	}
	if err := stopWorker(); err != nil {
		return err
	}
	if err := r.outcomes(mix); err != nil {
		return err
	}
	if r.o.SkipRequestReply {
		return nil
	}
	return r.requestReply(ctx)
}

// waitDone waits until every envelope's reply is stored and every partition's consumer
// has acknowledged everything; it returns when the first reply was seen and when it was
// all done.
func (r *benchRun) waitDone(ctx context.Context, n int, prog *benchProgress) (first, end time.Time, err error) {
	first, last, err := waitStored(ctx, r.js, r.topo.OutStream(), uint64(n), prog)
	if err != nil {
		return first, end, err
	}
	names := make([]string, r.cfg.Partitions)
	for i := range names {
		names[i] = r.topo.ConsumerName(i)
	}
	acked, err := waitAcked(ctx, r.js, r.topo.InStream(), names)
	if acked.After(last) {
		return first, acked, err
	}
	return first, last, err
}

// latency runs the latency phases against the running worker: the steady mix at half the
// measured throughput (or --latency-rate), then at the fixed rate. ws is the worker's
// metrics at its start.
func (r *benchRun) latency(ctx context.Context, reg *prometheus.Registry, ws workerStats) error {
	rate := r.rep.Throughput.PerSecond / 2
	if r.o.LatencyRate > 0 {
		rate = r.o.LatencyRate
	}
	fixedN := min(r.o.LatencyN, max(StepsPerContext, int(latencyFixedSeconds*r.o.FixedRate)))
	for _, p := range []struct {
		name  string
		file  string // the --latency-trace file's suffix
		phase byte
		n     int
		rate  float64
		into  **Latency
		p99   *float64
	}{
		{"latency at half load", "half-load", 'l', r.o.LatencyN, rate, &r.rep.Latency, &r.rep.P99MSHalfLoad},
		{"latency at a fixed rate", "fixed-rate", 'r', fixedN, r.o.FixedRate, &r.rep.LatencyFixed, &r.rep.P99MSFixedRate},
	} {
		lmix := newSteadyMix(r.cfg.Prefix, r.tenant, p.phase, p.n/StepsPerContext, r.items, p.rate)
		r.say("%s: %d envelopes of fresh contexts at %.0f/s", p.name, lmix.Len(), p.rate)
		prog := startProgress(r.errw, p.name+" (replies received)", lmix.Len())
		meter, _ := startPeak()
		var trace *os.File
		if r.o.LatencyTrace != "" {
			var err error
			if trace, err = os.Create(r.o.LatencyTrace + "-" + p.file + ".csv"); err != nil {
				prog.end()
				return fmt.Errorf("--latency-trace: %w", err)
			}
		}
		pm0 := r.st.Metrics()
		lat, err := measureLatency(ctx, r.ac, r.pub, lmix, r.cfg.Prefix, p.rate, prog, traceWriter(trace))
		if trace != nil {
			if cerr := trace.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("--latency-trace: %w", cerr)
			}
		}
		peak := meter.stop()
		prog.end()
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		r.wholePeak = max(r.wholePeak, peak)
		r.rep.Memory.LatencyPeakRSSMiB = max(r.rep.Memory.LatencyPeakRSSMiB, mib(peak))
		now := workerMetrics(reg)
		batches, activity := perBatch(ws, now), storeActivity(pm0, r.st.Metrics())
		lat.BatchStats, lat.Store = &batches, &activity
		ws = now
		*p.into, *p.p99 = lat, lat.P99MS
		if lat.Received < lat.Envelopes {
			r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("%s: %d replies missing after %s", p.name, lat.Envelopes-lat.Received, benchStall))
		}
	}
	return nil
}

// traceWriter is f as an io.Writer, or nil: a nil *os.File in an io.Writer is not nil.
func traceWriter(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}

// latencyFixedSeconds is about how long the fixed-rate phase lasts at most.
const latencyFixedSeconds = 30

// startCPUProfile starts the --cpuprofile, if asked for; the function it returns stops it.
func (r *benchRun) startCPUProfile() (func(), error) {
	if r.o.CPUProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(r.o.CPUProfile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
