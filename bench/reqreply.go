package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/handlers"
)

// requestReply measures the request/reply path with the worker itself: the throughput
// phase's mix again, for fresh contexts, every envelope carrying A2A-Reply-To: an
// _INBOX subject of the agents' connection, so that the worker sends its replies with
// core NATS instead of storing them. As in the throughput phase, everything is published
// before a worker starts (on the same store), and the phase is timed from its start until
// every reply has been received and every partition's consumer has acknowledged
// everything. REQUIRES: no worker is running.
func (r *benchRun) requestReply(ctx context.Context) error {
	mix := newBenchMix(r.cfg.Prefix, r.tenant, 'q', r.o.Contexts, r.items)
	n := mix.Len()
	inbox := r.ac.NewInbox()
	var got atomic.Int64
	seen := make([]atomic.Bool, n)
	all := make(chan struct{})
	sub, err := r.ac.Subscribe(inbox+".>", func(m *nats.Msg) {
		i, ok := benchIndex(mix.phase, m.Header.Get(handlers.HdrMessageID))
		if !ok || i >= n || seen[i].Swap(true) {
			return
		}
		if got.Add(1) == int64(n) {
			close(all)
		}
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return err
	}
	if err := r.ac.Flush(); err != nil {
		return err
	}

	prog := startProgress(r.errw, "request/reply: publishing", n)
	for i, cs := range mix.all() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		h := nats.Header{handlers.HdrReplyTo: []string{inbox + "." + strconv.Itoa(i)}}
		if err := r.pub.publishHeader(mix.subject(r.cfg.Prefix, cs[0]), mix.envelope(i, cs[0], cs[1]), h); err != nil {
			prog.end()
			return fmt.Errorf("request/reply: publish: %w", err)
		}
		prog.tick(i + 1)
	}
	err = r.pub.wait(ctx)
	prog.end()
	if err != nil {
		return fmt.Errorf("request/reply: publishing: %w", err)
	}

	reg := prometheus.NewRegistry()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := r.newWorker(wctx, reg)
	if err != nil {
		return err
	}
	prog = startProgress(r.errw, "request/reply (replies received)", n)
	cpu0, busy0 := cpuTime(), machineBusy()
	t0 := time.Now()
	runErr := make(chan error, 1)
	go func() { runErr <- w.Run(wctx) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	moved, last := time.Now(), int64(0)
wait:
	for {
		select {
		case <-all:
			break wait
		case err := <-runErr:
			prog.end()
			return fmt.Errorf("request/reply: the worker stopped: %v", err)
		case <-ctx.Done():
			prog.end()
			cancel()
			<-runErr
			return ctx.Err()
		case <-tick.C:
			g := got.Load()
			prog.tick(int(g))
			if g != last {
				last, moved = g, time.Now()
			} else if time.Since(moved) > benchStall {
				prog.end()
				cancel()
				<-runErr
				return fmt.Errorf("request/reply: %d of %d replies received, none for %s", g, n, benchStall)
			}
		}
	}
	received := time.Now()
	prog.end()
	names := make([]string, r.cfg.Partitions)
	for i := range names {
		names[i] = r.topo.ConsumerName(i)
	}
	acked, err := waitAcked(ctx, r.js, r.topo.InStream(), names)
	cpu, busy := cpuTime()-cpu0, machineBusy()-busy0
	cancel()
	if werr := <-runErr; err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("request/reply: %w", err)
	}
	end := received
	if acked.After(end) {
		end = acked
	}
	d := end.Sub(t0)
	rr := &RequestReply{Rate: Rate{Envelopes: n, Seconds: secs(d), PerSecond: float64(n) / secs(d),
		CPUMicrosPer: float64(cpu.Microseconds()) / float64(n)},
		CPUCores: secs(cpu) / secs(d), OthersCores: max(0, secs(busy-cpu)/secs(d)),
		BatchStats: perBatch(workerStats{}, workerMetrics(reg))}
	r.rep.RequestReply = rr
	r.say("request/reply: %.0f envelopes/s (%d in %.2f s)", rr.PerSecond, n, rr.Seconds)
	return nil
}
