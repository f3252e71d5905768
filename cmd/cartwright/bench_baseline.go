package main

import (
	"context"
	"errors"
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
	in, err := js.Stream(ctx, topo.InStream())
	if err != nil {
		return nil, err
	}
	cfg := in.CachedInfo().Config
	bp := baselinePrefix(topo.Prefix)
	swap := func(s string) string { return bp + strings.TrimPrefix(s, topo.Prefix) }
	cfg.Name = strings.ToUpper(bp) + "_IN"
	cfg.Description = "cartwright bench: baseline"
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
// baselineFetch messages at a time and acknowledges each, doing nothing else. It times
// from the first fetch until the consumer has no message pending or unacknowledged.
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
		batch, err := cons.Fetch(baselineFetch, jetstream.FetchMaxWait(time.Second))
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
