package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/handlers"
)

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
	if r.f.inventory != "memory" {
		r.cfg.Stock = r.f.inventory
		if hopts, err = app.WithStock(wctx, r.js, r.st, r.cfg, hopts); err != nil {
			return err
		}
	}
	hopts = handlers.WithMockPayments(r.st, r.cfg, hopts)
	w, err := bus.New(r.cfg, r.nc, r.st, handlers.New(r.cfg, app.WithEnvs(r.cfg, hopts)), bus.NewMetrics(reg), r.log)
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
		if r.f.cpuProfile != "" {
			// The latency phase gets a profile of its own, next to the throughput one.
			r.f.cpuProfile += ".latency"
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
	return r.outcomes(mix)
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

// latency runs the latency phase against the running worker; ws is the worker's metrics
// at its start.
func (r *benchRun) latency(ctx context.Context, reg *prometheus.Registry, ws workerStats) error {
	lmix := newBenchMix(r.cfg.Prefix, r.tenant, 'l', r.f.latencyN/stepsPerContext, r.items)
	rate := r.rep.Throughput.PerSecond / 2
	if r.f.latencyRate > 0 {
		rate = r.f.latencyRate
	}
	r.say("latency: %d envelopes of fresh contexts at %.0f/s", lmix.Len(), rate)
	prog := startProgress(r.errw, "latency (replies received)", lmix.Len())
	meter, _ := startPeak()
	lat, err := measureLatency(ctx, r.ac, r.pub, lmix, r.cfg.Prefix, rate, prog)
	peak := meter.stop()
	prog.end()
	if err != nil {
		return fmt.Errorf("latency phase: %w", err)
	}
	r.wholePeak = max(r.wholePeak, peak)
	r.rep.Memory.LatencyPeakRSSMiB = mib(peak)
	lat.benchBatches = perBatch(ws, workerMetrics(reg))
	r.rep.Latency = lat
	if lat.Received < lat.Envelopes {
		r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("latency: %d replies missing after %s", lat.Envelopes-lat.Received, benchStall))
	}
	return nil
}

// startCPUProfile starts the --cpuprofile, if asked for; the function it returns stops it.
func (r *benchRun) startCPUProfile() (func(), error) {
	if r.f.cpuProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(r.f.cpuProfile)
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
