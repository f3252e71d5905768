package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
)

// baselineFetch is how many messages the bare consumer fetches at once.
const baselineFetch = 500

// baselinePrefix is the baseline's subject space: the inbound stream's subjects with this
// in place of the worker's prefix.
func baselinePrefix(prefix string) string { return prefix + "-baseline" }

// baselineStream creates a stream identical to the worker's inbound stream (storage,
// retention, limits, de-duplication window, partition transform) over the baseline's
// subject space.
func baselineStream(ctx context.Context, js jetstream.JetStream, topo bus.Topology) (jetstream.Stream, error) {
	return copyStream(ctx, js, topo, baselinePrefix(topo.Prefix), bus.Topology.InStream, "baseline")
}

// copyStream creates a stream configured as the worker's stream that name picks out of a
// topology (storage, retention, limits, de-duplication window, partition transform, all
// copied from the stream as it is), under prefix instead of the worker's prefix: its
// name, its subjects and its transform.
func copyStream(ctx context.Context, js jetstream.JetStream, topo bus.Topology, prefix string,
	name func(bus.Topology) string, what string) (jetstream.Stream, error) {
	src, err := js.Stream(ctx, name(topo))
	if err != nil {
		return nil, err
	}
	cfg := src.CachedInfo().Config
	swap := func(s string) string { return prefix + strings.TrimPrefix(s, topo.Prefix) }
	cfg.Name = name(bus.Topology{Prefix: prefix, Partitions: topo.Partitions})
	cfg.Description = "cartwright bench: " + what
	for i, s := range cfg.Subjects {
		cfg.Subjects[i] = swap(s)
	}
	if t := cfg.SubjectTransform; t != nil {
		cfg.SubjectTransform = &jetstream.SubjectTransformConfig{Source: swap(t.Source), Destination: swap(t.Destination)}
	}
	return js.CreateStream(ctx, cfg)
}

// consumeBaseline drains the stream with one durable pull consumer configured as a
// worker partition's (explicit acks, the same ack wait and ack window) that fetches
// baselineFetch messages at a time (the last fetch only what is left, so that it does not
// wait out its expiry) and acknowledges each, doing nothing else. It times from the first
// fetch until the consumer has no message pending or unacknowledged.
func consumeBaseline(ctx context.Context, js jetstream.JetStream, s jetstream.Stream, topo bus.Topology, ackWait time.Duration, maxAckPending int, want int, progress *benchProgress) (time.Duration, error) {
	cc := topo.ConsumerConfig(0, ackWait, maxAckPending)
	cc.Durable = "baseline"
	cc.Description = "cartwright bench: baseline"
	cc.FilterSubject = ""
	cons, err := s.CreateOrUpdateConsumer(ctx, cc)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	n := 0
	for n < want {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		batch, err := cons.Fetch(min(baselineFetch, want-n), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return 0, err
		}
		for m := range batch.Messages() {
			_ = m.Ack()
			n++
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return 0, err
		}
		progress.tick(n)
		if time.Since(start) > benchStall+time.Duration(want/1000)*time.Second {
			return 0, errors.New("baseline consumer: too slow, giving up")
		}
	}
	end, err := waitAcked(ctx, js, s.CachedInfo().Config.Name, []string{cc.Durable})
	if err != nil {
		return 0, err
	}
	return end.Sub(start), nil
}

// baseline publishes the same envelopes to an identical stream in another subject space
// and times a bare consumer through them.
func (r *benchRun) baseline(ctx context.Context) error {
	s, err := baselineStream(ctx, r.js, r.topo)
	if err != nil {
		return fmt.Errorf("baseline stream: %w", err)
	}
	defer r.js.DeleteStream(context.WithoutCancel(ctx), s.CachedInfo().Config.Name)
	mix := newBenchMix(r.cfg.Prefix, r.tenant, 't', r.o.Contexts, r.items)
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
	b := &Rate{Envelopes: n, Seconds: secs(d), PerSecond: float64(n) / secs(d), Consumers: 1, FetchBatch: baselineFetch,
		CPUMicrosPer: float64(cpu.Microseconds()) / float64(n)}
	r.rep.Baseline = b
	r.rep.Ratio = r.rep.Throughput.PerSecond / b.PerSecond
	r.rep.CartwrightOverBare = r.rep.Ratio
	if t := r.rep.Throughput.CPUMicrosPer; t > 0 {
		r.rep.CPURatio = b.CPUMicrosPer / t
	}
	r.say("baseline: %.0f messages/s; cartwright/baseline %.3f", b.PerSecond, r.rep.Ratio)
	return nil
}
