package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
)

// The reply floor: what a consumer that does nothing but what the contract forces on every
// envelope reaches. Each envelope's reply must be stored in JetStream, and acknowledged
// by it, before the envelope is acknowledged; so the floor consumes like the worker (one
// durable pull consumer per partition, fetching up to a batch), publishes one reply of
// the worker's average reply size per message, asynchronously and with a Nats-Msg-Id,
// waits for the fetched batch's publish acknowledgements, then acknowledges each message.
// No store, no JSON.

// floorPrefix is the reply floor's subject space: the worker's inbound and reply streams'
// subjects with this in place of the worker's prefix.
func floorPrefix(prefix string) string { return prefix + "-floor" }

// floorFallbackReplyBytes is the reply size the floor publishes when the worker's replies
// could not be measured: about a checkout's reply.
const floorFallbackReplyBytes = 1500

// floorAckTimeout is how long the floor waits for the publish acknowledgements of one
// batch.
const floorAckTimeout = 30 * time.Second

// floor publishes the same envelopes to a copy of the inbound stream in another subject
// space, with a copy of the reply stream beside it, and times the reply floor through them.
func (r *benchRun) floor(ctx context.Context) error {
	size, source := r.workerReplyBytes(ctx)
	fp := floorPrefix(r.cfg.Prefix)
	in, err := copyStream(ctx, r.js, r.topo, fp, bus.Topology.InStream, "reply floor, envelopes")
	if err != nil {
		return fmt.Errorf("reply floor: inbound stream: %w", err)
	}
	defer r.js.DeleteStream(context.WithoutCancel(ctx), in.CachedInfo().Config.Name)
	out, err := copyStream(ctx, r.js, r.topo, fp, bus.Topology.OutStream, "reply floor, replies")
	if err != nil {
		return fmt.Errorf("reply floor: reply stream: %w", err)
	}
	defer r.js.DeleteStream(context.WithoutCancel(ctx), out.CachedInfo().Config.Name)

	mix := newBenchMix(r.cfg.Prefix, r.tenant, 't', r.o.Contexts, r.items)
	n := mix.Len()
	prog := startProgress(r.errw, "reply floor: publishing", n)
	_, _, err = publishAll(ctx, r.pub, mix, fp, prog)
	prog.end()
	if err != nil {
		return fmt.Errorf("reply floor: publishing: %w", err)
	}
	prog = startProgress(r.errw, "reply floor: consuming", n)
	cpu0, busy0 := cpuTime(), machineBusy()
	d, err := consumeFloor(ctx, r.nc, r.js, in, out.CachedInfo().Config.Name, bus.Topology{Prefix: fp, Partitions: r.cfg.Partitions},
		r.cfg.Batch.Size, r.cfg.Batch.AckWait, max(4*r.cfg.Batch.Size, 10000), size, n, prog)
	cpu, busy := cpuTime()-cpu0, machineBusy()-busy0
	prog.end()
	if err != nil {
		return fmt.Errorf("reply floor: %w", err)
	}
	f := &Floor{
		Rate: Rate{Envelopes: n, Seconds: secs(d), PerSecond: float64(n) / secs(d),
			Consumers: r.cfg.Partitions, FetchBatch: r.cfg.Batch.Size, CPUMicrosPer: float64(cpu.Microseconds()) / float64(n)},
		CPUCores: secs(cpu) / secs(d), OthersCores: max(0, secs(busy-cpu)/secs(d)),
		ReplyBytes: size, ReplyBytesSource: source,
	}
	r.rep.Floor = f
	r.rep.OverFloor = r.rep.Throughput.PerSecond / f.PerSecond
	if t := r.rep.Throughput.CPUMicrosPer; t > 0 {
		r.rep.FloorCPURatio = f.CPUMicrosPer / t
	}
	if b := r.rep.Baseline; b != nil {
		r.rep.FloorOverBaseline = f.PerSecond / b.PerSecond
	}
	r.say("reply floor: %.0f messages/s; cartwright/floor %.3f", f.PerSecond, r.rep.OverFloor)
	return nil
}

// workerReplyBytes is the average size (the data, not the headers) of the replies the
// worker stored during the throughput phase: the first N messages of its reply stream,
// which was empty before. It says where the figure comes from; when the replies cannot
// be read it falls back to floorFallbackReplyBytes.
func (r *benchRun) workerReplyBytes(ctx context.Context) (int, string) {
	n := r.rep.Throughput.Envelopes
	total, err := sumData(ctx, r.js, r.topo.OutStream(), n)
	if err != nil {
		r.say("reply floor: could not read the worker's replies (%v); replies of %d bytes", err, floorFallbackReplyBytes)
		return floorFallbackReplyBytes, fmt.Sprintf("fixed (the worker's replies could not be read: %v)", err)
	}
	return (total + n/2) / max(1, n), fmt.Sprintf("the average data size of the worker's %d replies in %s during the throughput phase", n, r.topo.OutStream())
}

// sumData reads the first n messages of a stream with an ephemeral pull consumer that
// asks for no acks, adds up the sizes of their data, and deletes the consumer.
func sumData(ctx context.Context, js jetstream.JetStream, stream string, n int) (int, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	cons, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Description: "cartwright bench: reply sizes", AckPolicy: jetstream.AckNonePolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: time.Minute,
	})
	if err != nil {
		return 0, err
	}
	defer s.DeleteConsumer(context.WithoutCancel(ctx), cons.CachedInfo().Name)
	total, seen := 0, 0
	for seen < n {
		b, err := cons.Fetch(min(1000, n-seen), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return 0, err
		}
		got := 0
		for m := range b.Messages() {
			total += len(m.Data())
			got++
		}
		seen += got
		if err := b.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return 0, err
		}
		if got == 0 {
			return 0, fmt.Errorf("%s: only %d of %d messages", stream, seen, n)
		}
	}
	return total, nil
}

// consumeFloor drains the inbound stream in with one durable pull consumer per partition,
// configured as the worker's (and the baseline's): explicit acks, the same ack wait and
// ack window. Each partition fetches up to batch messages (the last fetch only what is
// left, so that it does not wait out its expiry), publishes a reply of replyBytes bytes per
// message to the reply stream's subject for it, asynchronously with a Nats-Msg-Id, waits
// for the batch's publish acknowledgements, then acknowledges each message. It times from
// the first fetch until the reply stream holds want replies and no consumer has anything
// pending or unacknowledged.
func consumeFloor(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, in jetstream.Stream, outStream string, topo bus.Topology,
	batch int, ackWait time.Duration, maxAckPending, replyBytes, want int, progress *benchProgress) (time.Duration, error) {
	// The worker's JetStream context for publishing, on its connection.
	pjs, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		return 0, err
	}
	body := make([]byte, replyBytes)
	for i := range body {
		body[i] = 'x'
	}
	parts := make([]floorPartition, topo.Partitions)
	names := make([]string, topo.Partitions)
	total := 0
	for p := range parts {
		cc := topo.ConsumerConfig(p, ackWait, maxAckPending)
		cc.Durable = fmt.Sprintf("floor-p%03d", p)
		cc.Description = fmt.Sprintf("cartwright bench: reply floor, partition %d of %d", p, topo.Partitions)
		cons, err := in.CreateOrUpdateConsumer(ctx, cc)
		if err != nil {
			return 0, err
		}
		parts[p] = floorPartition{cons: cons, want: int(cons.CachedInfo().NumPending), js: pjs, body: body,
			in: topo.Prefix + ".in.", out: topo.Prefix + ".out.", batch: batch}
		names[p] = cc.Durable
		total += parts[p].want
	}
	if total != want {
		return 0, fmt.Errorf("the partitions' consumers have %d messages pending, want %d", total, want)
	}

	var done atomic.Int64
	errs := make([]error, len(parts))
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = parts[i].run(pctx, start, &done, progress); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	_, stored, err := waitStored(ctx, js, outStream, uint64(want), progress)
	if err != nil {
		return 0, err
	}
	acked, err := waitAcked(ctx, js, in.CachedInfo().Config.Name, names)
	if err != nil {
		return 0, err
	}
	if acked.After(stored) {
		return acked.Sub(start), nil
	}
	return stored.Sub(start), nil
}

// floorPartition is one partition of the reply floor.
type floorPartition struct {
	cons    jetstream.Consumer
	want    int // messages in the partition
	js      jetstream.JetStream
	body    []byte
	in, out string // the subject prefixes of envelopes and replies
	batch   int
}

func (p *floorPartition) run(ctx context.Context, start time.Time, done *atomic.Int64, progress *benchProgress) error {
	msgs := make([]jetstream.Msg, 0, p.batch)
	futures := make([]jetstream.PubAckFuture, 0, p.batch)
	id := make([]byte, 0, 64)
	n := 0
	for n < p.want {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := p.cons.Fetch(min(p.batch, p.want-n), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		msgs, futures = msgs[:0], futures[:0]
		var perr error
		for m := range b.Messages() {
			msgs = append(msgs, m)
			if perr != nil {
				continue // let the pull finish
			}
			meta, err := m.Metadata()
			if err != nil {
				perr = err
				continue
			}
			// The reply's subject: <prefix>.out.<tenant>.<context> for the envelope's
			// <prefix>.in.<partition>.<tenant>.<context>.
			_, rest, _ := strings.Cut(strings.TrimPrefix(m.Subject(), p.in), ".")
			id = strconv.AppendUint(append(id[:0], "floor:"...), meta.Sequence.Stream, 10)
			id = append(id, ":reply"...)
			f, err := p.js.PublishMsgAsync(&nats.Msg{Subject: p.out + rest, Data: p.body,
				Header: nats.Header{jetstream.MsgIDHeader: []string{string(id)}}}, jetstream.WithStallWait(floorAckTimeout))
			if err != nil {
				perr = err
				continue
			}
			futures = append(futures, f)
		}
		if perr != nil {
			return fmt.Errorf("publishing a reply: %w", perr)
		}
		if err := b.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if err := waitPubAcks(ctx, futures); err != nil {
			return err
		}
		for _, m := range msgs {
			_ = m.Ack()
		}
		n += len(msgs)
		progress.tick(int(done.Add(int64(len(msgs)))))
		if time.Since(start) > benchStall+time.Duration(p.want/1000)*time.Second {
			return errors.New("reply floor: too slow, giving up")
		}
	}
	return nil
}

// waitPubAcks waits until JetStream has acknowledged every publish.
func waitPubAcks(ctx context.Context, futures []jetstream.PubAckFuture) error {
	timer := time.NewTimer(floorAckTimeout)
	defer timer.Stop()
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish %s: %w", f.Msg().Subject, err)
		case <-timer.C:
			return fmt.Errorf("publish: no acknowledgement within %s", floorAckTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
