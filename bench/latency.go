package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/handlers"
)

// measureLatency publishes every envelope of mix at rate envelopes/s, as an open loop
// (the schedule does not wait for replies), and times each from just before its publish
// to the receipt of its reply on a core subscription to the tenant's reply subjects. The
// quantiles are over the envelopes of the mix's steady part only: the ramps at either end
// carry only the first or the last steps, whose costs differ. With trace, it also writes
// every envelope's times there (writeLatencyTrace).
func measureLatency(ctx context.Context, nc *nats.Conn, p *benchPublisher, mix *benchMix, prefix string, rate float64, progress *benchProgress, trace io.Writer) (*Latency, error) {
	n := mix.Len()
	base := time.Now()
	sent := make([]atomic.Int64, n) // ns since base, +1 so that 0 means not sent
	lat := make([]atomic.Int64, n)  // publish → reply in ns; 0 until the reply is in
	steady := make([]bool, n)
	var got atomic.Int64
	all := make(chan struct{})
	sub, err := nc.Subscribe(prefix+".out."+mix.tenant+".>", func(m *nats.Msg) {
		now := time.Since(base)
		i, ok := benchIndex(mix.phase, m.Header.Get(handlers.HdrMessageID))
		if !ok || i >= n || lat[i].Load() != 0 {
			return
		}
		s := sent[i].Load()
		if s == 0 {
			return
		}
		lat[i].Store(int64(max(now-time.Duration(s-1), 1)))
		if got.Add(1) == int64(n) {
			close(all)
		}
	})
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, err
	}
	if err := nc.Flush(); err != nil {
		return nil, err
	}

	cpu0, busy0 := cpuTime(), machineBusy()
	start := time.Now()
	interval := float64(time.Second) / rate
	for i, cs := range mix.all() {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		due := start.Add(time.Duration(float64(i) * interval))
		if d := time.Until(due); d > 500*time.Microsecond {
			time.Sleep(d)
		}
		steady[i] = mix.steady(cs[0], cs[1])
		data := mix.envelope(i, cs[0], cs[1])
		sent[i].Store(int64(time.Since(base)) + 1)
		if err := p.publish(mix.subject(prefix, cs[0]), data); err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		progress.tick(int(got.Load()))
	}
	published := time.Since(start)
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	select {
	case <-all:
	case <-time.After(benchStall):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := sub.Unsubscribe(); err != nil && err != nats.ErrBadSubscription {
		return nil, err
	}
	ds := make([]time.Duration, 0, n)
	received, measured := 0, 0
	for i := range lat {
		d := lat[i].Load()
		if d > 0 {
			received++
		}
		if !steady[i] {
			continue
		}
		measured++
		if d > 0 {
			ds = append(ds, time.Duration(d))
		} else {
			// A reply that never came counts as the slowest there is, not as none.
			ds = append(ds, benchStall)
		}
	}
	cpu, busy := cpuTime()-cpu0, machineBusy()-busy0
	elapsed := time.Since(start)
	r := &Latency{Envelopes: n, Received: received, Measured: measured, Rate: rate, Seconds: secs(published),
		CPUCores: secs(cpu) / secs(elapsed), CPUMicrosPer: float64(cpu.Microseconds()) / float64(n),
		OthersCores: max(0, secs(busy-cpu)/secs(elapsed))}
	if received == 0 || len(ds) == 0 {
		return r, fmt.Errorf("no reply in the latency phase (%d measured)", measured)
	}
	if trace != nil {
		if err := writeLatencyTrace(trace, sent, lat, steady); err != nil {
			return r, fmt.Errorf("latency trace: %w", err)
		}
	}
	slices.Sort(ds)
	q := func(p float64) float64 { return ms(ds[min(len(ds)-1, int(p*float64(len(ds))))]) }
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	r.P50MS, r.P90MS, r.P99MS, r.P999MS = q(0.50), q(0.90), q(0.99), q(0.999)
	r.MaxMS, r.MeanMS = ms(ds[len(ds)-1]), ms(sum/time.Duration(len(ds)))
	return r, nil
}

// writeLatencyTrace writes one CSV row per envelope of a latency phase, in publish order:
// its index, when it was published (ms since the phase began), how long its reply took
// (ms; empty when none came) and whether it counts in the quantiles (its steady part).
// Sorted by the second column, the slow ones show when the worker stalled, and how often:
// a burst every five seconds, say, or at every garbage collection.
func writeLatencyTrace(w io.Writer, sent, lat []atomic.Int64, steady []bool) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "index,sent_ms,latency_ms,steady")
	for i := range sent {
		s := sent[i].Load()
		if s == 0 {
			continue // never published
		}
		fmt.Fprintf(bw, "%d,%.3f,", i, float64(s-1)/1e6)
		if d := lat[i].Load(); d > 0 {
			fmt.Fprintf(bw, "%.3f", float64(d)/1e6)
		}
		fmt.Fprintf(bw, ",%t\n", steady[i])
	}
	return bw.Flush()
}
