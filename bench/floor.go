package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// The skeleton: the fastest worker the contract allows, the floor cartwright is judged
// against. It consumes like the worker (one durable pull consumer per partition, the
// worker's consumer configuration, fetching up to a batch), and per chunk: for each
// envelope it reads the context's state (of the worker's average stored size) from a real
// Pebble store and writes it back, with an idempotency record that carries the reply (what
// lets a redelivered envelope get the same reply, as the worker's outbox and record do;
// looked up first, but for a new messageId, which the store's filter of record keys knows
// to have none, as in the worker); commits the chunk with fsync; publishes each reply (the
// worker's average reply size, with a Nats-Msg-Id) asynchronously to a copy of the reply stream and waits for the
// acknowledgements; then acks the chunk's envelopes. No JSON, no domain, no metrics.
//
// Acks: explicit, one per envelope, as the worker's consumers. AckAll on the chunk's last
// delivery would need the consumers' ack policy changed to "all", which the worker's
// consumers do not use; the acks are fire-and-forget publishes on the same connection, so
// they cost a few µs each, not a round trip.
//
// In request/reply mode the replies go with core NATS to an _INBOX subject (not stored),
// as the worker does for envelopes that carry A2A-Reply-To: _INBOX.…; the chunk's acks
// follow them on the same connection.

// floorPrefix is the skeleton's subject space: the worker's inbound and reply streams'
// subjects with this in place of the worker's prefix.
func floorPrefix(prefix string) string { return prefix + "-floor" }

// floorFallbackReplyBytes is the reply size the skeleton publishes when the worker's
// replies could not be measured: about a checkout's reply.
const floorFallbackReplyBytes = 1500

// floorFallbackStateBytes is the state size when the worker's stored states could not be
// read: about a completed checkout's.
const floorFallbackStateBytes = 1200

// floorAckTimeout is how long the skeleton waits for the publish acknowledgements of one
// chunk.
const floorAckTimeout = 30 * time.Second

// floor publishes the same envelopes to a copy of the inbound stream in another subject
// space, with a copy of the reply stream beside it, and times the skeleton through them:
// first with stored replies, then (on new consumers of the same envelopes) with replies
// to an _INBOX.
func (r *benchRun) floor(ctx context.Context) error {
	size, source, replies := r.workerReplyBytes(ctx)
	stateSize, stateSource, states := r.workerStateBytes()
	fp := floorPrefix(r.cfg.Prefix)
	in, err := copyStream(ctx, r.js, r.topo, fp, bus.Topology.InStream, "skeleton, envelopes")
	if err != nil {
		return fmt.Errorf("skeleton: inbound stream: %w", err)
	}
	defer r.js.DeleteStream(context.WithoutCancel(ctx), in.CachedInfo().Config.Name)
	out, err := copyStream(ctx, r.js, r.topo, fp, bus.Topology.OutStream, "skeleton, replies")
	if err != nil {
		return fmt.Errorf("skeleton: reply stream: %w", err)
	}
	defer r.js.DeleteStream(context.WithoutCancel(ctx), out.CachedInfo().Config.Name)

	mix := newBenchMix(r.cfg.Prefix, r.tenant, 't', r.o.Contexts, r.items)
	n := mix.Len()
	prog := startProgress(r.errw, "skeleton: publishing", n)
	_, _, err = publishAll(ctx, r.pub, mix, fp, prog)
	prog.end()
	if err != nil {
		return fmt.Errorf("skeleton: publishing: %w", err)
	}
	so := app.StoreOptions(r.cfg.Store)
	db, err := openSkeletonStore(filepath.Join(r.cfg.DataDir, "skeleton"), so, r.tenant, mix, states)
	if err != nil {
		return fmt.Errorf("skeleton: store: %w", err)
	}
	defer db.Close()
	sk := skeleton{nc: r.nc, js: r.js, db: db, recs: store.NewRecordFilter(so.RecordFilterBytes), in: in, topo: bus.Topology{Prefix: fp, Partitions: r.cfg.Partitions},
		batch: r.cfg.Batch.Size, ackWait: r.cfg.Batch.AckWait, maxAckPending: max(4*r.cfg.Batch.Size, 10000), maxWait: r.cfg.Batch.MaxWait,
		replies: replies, states: states, tenant: r.tenant}
	for _, rr := range []bool{false, true} {
		name := "skeleton: consuming"
		if rr {
			name = "skeleton, request/reply: consuming"
		}
		prog = startProgress(r.errw, name, n)
		cpu0, busy0 := cpuTime(), machineBusy()
		var d time.Duration
		if rr {
			d, err = sk.consume(ctx, "", n, prog)
		} else {
			d, err = sk.consume(ctx, out.CachedInfo().Config.Name, n, prog)
		}
		cpu, busy := cpuTime()-cpu0, machineBusy()-busy0
		prog.end()
		if err != nil {
			return fmt.Errorf("%s: %w", strings.TrimSuffix(name, ": consuming"), err)
		}
		f := r.skeletonFigure(n, d, cpu, busy)
		f.ReplyBytes, f.ReplyBytesSource, f.StateBytes, f.StateBytesSource = size, source, stateSize, stateSource
		if rr {
			r.rep.SkeletonRequestReply = f
			if q := r.rep.RequestReply; q != nil {
				r.rep.RequestReplyOverSkeleton = q.PerSecond / f.PerSecond
			}
			r.say("skeleton, request/reply: %.0f envelopes/s", f.PerSecond)
			continue
		}
		r.rep.Skeleton = f
		r.rep.CartwrightOverSkeleton = r.rep.Throughput.PerSecond / f.PerSecond
		if t := r.rep.Throughput.CPUMicrosPer; t > 0 {
			r.rep.SkeletonCPURatio = f.CPUMicrosPer / t
		}
		if b := r.rep.Baseline; b != nil {
			r.rep.SkeletonOverBaseline = f.PerSecond / b.PerSecond
		}
		r.say("skeleton: %.0f envelopes/s; cartwright/skeleton %.3f", f.PerSecond, r.rep.CartwrightOverSkeleton)
	}
	if err := r.floorWithEvents(ctx, &sk, fp, out, mix); err != nil {
		return err
	}
	if l := r.rep.Latency; l != nil {
		lat, err := r.skeletonLatency(ctx, &sk, l.Rate)
		if err != nil {
			return err
		}
		r.rep.SkeletonLatency, r.rep.SkeletonP99MSHalfLoad = lat, lat.P99MS
	}
	return nil
}

// floorWithEvents times the skeleton once more, on a store of its own, publishing besides
// each reply the domain events the worker published, as many per envelope on average
// (a completion has four) and of the same sizes and subjects, into a copy of the event
// stream: what the contract has a worker do that the skeleton leaves out. Each event goes
// into the chunk's Pebble batch first, as an outbox entry that is deleted once published
// (CONTRACT.md: events are committed to the worker's store before they are published),
// and is published with the replies, its acknowledgement awaited before the envelopes
// are acked. It is skipped when the worker published no events. It runs after the
// skeleton's first run (r.rep.Skeleton), whose reply and state sizes it reports too.
func (r *benchRun) floorWithEvents(ctx context.Context, sk *skeleton, fp string, out jetstream.Stream, mix *benchMix) error {
	events := int(r.rep.Outcomes.Events)
	if events == 0 || r.rep.Throughput.Envelopes == 0 || r.rep.Skeleton == nil {
		return nil
	}
	n, so := mix.Len(), app.StoreOptions(r.cfg.Store)
	total, kept, err := sumData(ctx, r.js, r.topo.EventStream(), events, floorSamples)
	if err != nil || len(kept) == 0 {
		r.say("skeleton with events: could not read the worker's events (%v); not run", err)
		return nil
	}
	for _, m := range kept {
		m.Subject = fp + strings.TrimPrefix(m.Subject, r.cfg.Prefix)
	}
	evt, err := copyStream(ctx, r.js, r.topo, fp, bus.Topology.EventStream, "skeleton, events")
	if err != nil {
		return fmt.Errorf("skeleton with events: event stream: %w", err)
	}
	defer r.js.DeleteStream(context.WithoutCancel(ctx), evt.CachedInfo().Config.Name)
	// The replies of the runs before are in the reply stream: the run waits for its own
	// (their ids are its own too: partition's add).
	if err := out.Purge(ctx); err != nil {
		return fmt.Errorf("skeleton with events: emptying the reply stream: %w", err)
	}
	// A store of its own: in the first one every envelope's record is there already.
	db, err := openSkeletonStore(filepath.Join(r.cfg.DataDir, "skeleton-events"), so, r.tenant, mix, sk.states)
	if err != nil {
		return fmt.Errorf("skeleton with events: store: %w", err)
	}
	defer db.Close()
	db0, recs0 := sk.db, sk.recs
	defer func() { sk.db, sk.recs, sk.events, sk.eventsPer = db0, recs0, nil, 0 }()
	sk.db, sk.recs = db, store.NewRecordFilter(so.RecordFilterBytes)
	sk.events, sk.eventsPer = kept, float64(events)/float64(r.rep.Throughput.Envelopes)
	prog := startProgress(r.errw, "skeleton with events: consuming", n)
	cpu0, busy0 := cpuTime(), machineBusy()
	d, err := sk.consume(ctx, out.CachedInfo().Config.Name, n, prog)
	cpu, busy := cpuTime()-cpu0, machineBusy()-busy0
	prog.end()
	if err != nil {
		return fmt.Errorf("skeleton with events: %w", err)
	}
	info, err := evt.Info(ctx)
	if err != nil {
		return fmt.Errorf("skeleton with events: %w", err)
	}
	sk0 := r.rep.Skeleton
	f := r.skeletonFigure(n, d, cpu, busy)
	f.ReplyBytes, f.ReplyBytesSource, f.StateBytes, f.StateBytesSource = sk0.ReplyBytes, sk0.ReplyBytesSource, sk0.StateBytes, sk0.StateBytesSource
	f.Events, f.EventBytes = int(info.State.Msgs), (total+events/2)/events
	f.EventsSource = fmt.Sprintf("the worker's %d events in %s during the throughput phase", events, r.topo.EventStream())
	r.rep.SkeletonWithEvents = f
	r.rep.CartwrightOverSkeletonWithEvents = r.rep.Throughput.PerSecond / f.PerSecond
	r.rep.SkeletonWithEventsOverSkeleton = f.PerSecond / sk0.PerSecond
	if b := r.rep.Baseline; b != nil {
		r.rep.SkeletonWithEventsOverBaseline = f.PerSecond / b.PerSecond
	}
	r.say("skeleton with events: %.0f envelopes/s (%d events stored); cartwright/skeleton with events %.3f",
		f.PerSecond, f.Events, r.rep.CartwrightOverSkeletonWithEvents)
	return nil
}

// skeletonFigure is a skeleton run's rate and CPU: n envelopes in d, with cpu of the
// process's CPU time and busy of the machine's meanwhile.
func (r *benchRun) skeletonFigure(n int, d, cpu, busy time.Duration) *Skeleton {
	return &Skeleton{
		Rate: Rate{Envelopes: n, Seconds: secs(d), PerSecond: float64(n) / secs(d),
			Consumers: r.cfg.Partitions, FetchBatch: r.cfg.Batch.Size, CPUMicrosPer: float64(cpu.Microseconds()) / float64(n)},
		CPUCores: secs(cpu) / secs(d), OthersCores: max(0, secs(busy-cpu)/secs(d)),
	}
}

// workerStateBytes is the average size of the states the worker's store holds (up to the
// first skeletonStateSample of them in key order, preloaded ones included), with copies
// of the first floorSamples of them for the skeleton to write; or
// floorFallbackStateBytes when they cannot be read.
func (r *benchRun) workerStateBytes() (int, string, [][]byte) {
	const skeletonStateSample = 50000
	prefix := []byte(r.tenant + "\x00ctx-")
	want := len(benchContextID('t', 0))
	total, n := 0, 0
	var samples [][]byte
	errEnough := errors.New("enough")
	err := r.st.PartitionKeys(func(k, v []byte) error {
		// A state's key is a tag, the tenant, a zero byte and the context.
		if len(k) == 1+len(prefix)-4+want && bytes.HasPrefix(k[1:], prefix) {
			total += len(v)
			if len(samples) < floorSamples {
				samples = append(samples, bytes.Clone(v))
			}
			if n++; n >= skeletonStateSample {
				return errEnough
			}
		}
		return nil
	})
	if (err != nil && !errors.Is(err, errEnough)) || n == 0 {
		return floorFallbackStateBytes, fmt.Sprintf("fixed (the worker's states could not be read: %v, %d found)", err, n),
			[][]byte{bytes.Repeat([]byte{'s'}, floorFallbackStateBytes)}
	}
	return (total + n/2) / n, fmt.Sprintf("the average size of %d states in the worker's store", n), samples
}

// floorSamples is how many of the worker's states and replies the skeleton keeps to
// write and publish in turn: bytes as compressible as the worker's, not a filler that
// Pebble's compression would all but remove.
const floorSamples = 1024

// openSkeletonStore opens a Pebble store of its own for the skeleton, configured as the
// worker's (store.OpenPebble with the worker's options), and fills it with a state for
// each of mix's contexts (the worker's states in turn), so that every envelope reads a
// state that is there, as the worker's (after an envelope's first step) does.
func openSkeletonStore(dir string, o store.Options, tenant string, mix *benchMix, states [][]byte) (*pebble.DB, error) {
	db, err := store.OpenPebble(dir, o)
	if err != nil {
		return nil, err
	}
	b := db.NewBatch()
	for c := 0; c < mix.contexts; c++ {
		if err := b.Set(skeletonStateKey(nil, tenant, mix.contextID(c)), states[c%len(states)], nil); err != nil {
			db.Close()
			return nil, err
		}
		if b.Len() > 64<<20 {
			if err := b.Commit(pebble.NoSync); err != nil {
				db.Close()
				return nil, err
			}
			b = db.NewBatch()
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func skeletonStateKey(k []byte, tenant, context string) []byte {
	k = append(append(append(k, 's'), tenant...), 0)
	return append(k, context...)
}

// workerReplyBytes is the average size (the data, not the headers) of the replies the
// worker stored during the throughput phase: the first N messages of its reply stream,
// which was empty before. It says where the figure comes from; when the replies cannot
// be read it falls back to floorFallbackReplyBytes. It returns copies of the first
// floorSamples replies' data too, for the skeleton to publish.
func (r *benchRun) workerReplyBytes(ctx context.Context) (int, string, [][]byte) {
	n := r.rep.Throughput.Envelopes
	total, kept, err := sumData(ctx, r.js, r.topo.OutStream(), n, floorSamples)
	samples := make([][]byte, len(kept))
	for i, m := range kept {
		samples[i] = m.Data
	}
	if err != nil || len(samples) == 0 {
		r.say("reply floor: could not read the worker's replies (%v); replies of %d bytes", err, floorFallbackReplyBytes)
		return floorFallbackReplyBytes, fmt.Sprintf("fixed (the worker's replies could not be read: %v)", err),
			[][]byte{bytes.Repeat([]byte{'x'}, floorFallbackReplyBytes)}
	}
	return (total + n/2) / max(1, n), fmt.Sprintf("the average data size of the worker's %d replies in %s during the throughput phase", n, r.topo.OutStream()), samples
}

// sumData reads the first n messages of a stream with an ephemeral pull consumer that
// asks for no acks, adds up the sizes of their data, and deletes the consumer. It keeps
// copies of the first keep messages' subjects and data.
func sumData(ctx context.Context, js jetstream.JetStream, stream string, n, keep int) (int, []*nats.Msg, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, nil, err
	}
	cons, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Description: "cartwright bench: reply sizes", AckPolicy: jetstream.AckNonePolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy, InactiveThreshold: time.Minute,
	})
	if err != nil {
		return 0, nil, err
	}
	defer s.DeleteConsumer(context.WithoutCancel(ctx), cons.CachedInfo().Name)
	total, seen := 0, 0
	var kept []*nats.Msg
	for seen < n {
		b, err := cons.Fetch(min(1000, n-seen), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return 0, nil, err
		}
		got := 0
		for m := range b.Messages() {
			total += len(m.Data())
			if len(kept) < keep {
				kept = append(kept, &nats.Msg{Subject: m.Subject(), Data: bytes.Clone(m.Data())})
			}
			got++
		}
		seen += got
		if err := b.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return 0, nil, err
		}
		if got == 0 {
			return 0, nil, fmt.Errorf("%s: only %d of %d messages", stream, seen, n)
		}
	}
	return total, kept, nil
}

// skeleton is what the skeleton's phases share.
type skeleton struct {
	nc *nats.Conn
	js jetstream.JetStream
	db *pebble.DB
	// recs knows the records db holds, as the worker's store does (store.RecordFilter):
	// a new messageId's record is known to be absent without a read.
	recs          *store.RecordFilter
	in            jetstream.Stream
	topo          bus.Topology // its subject space
	batch         int
	ackWait       time.Duration
	maxAckPending int
	maxWait       time.Duration // the longest pull when serving (serve)
	// replies and states are the worker's (samples of them), published and written in
	// turn.
	replies, states [][]byte
	tenant          string
	runs            int // consumer sets created so far
	// events are the worker's events (samples of them, subjects in the skeleton's
	// space), published in turn, eventsPer of them per envelope on average; none
	// unless floorWithEvents sets them.
	events    []*nats.Msg
	eventsPer float64
}

// partition is the skeleton's loop for the partition cons consumes, publishing with js.
func (sk *skeleton) partition(cons jetstream.Consumer, js jetstream.JetStream, inbox string) floorPartition {
	return floorPartition{sk: sk, cons: cons, js: js,
		in: sk.topo.Prefix + ".in.", out: sk.topo.Prefix + ".out.", inbox: inbox,
		msgs: make([]jetstream.Msg, 0, sk.batch), replies: make([]*nats.Msg, 0, sk.batch),
		futures: make([]jetstream.PubAckFuture, 0, sk.batch)}
}

// consume drains the inbound stream with a new set of durable pull consumers, one per
// partition, configured as the worker's. With outStream it stores the replies there and
// times from the first fetch until the stream holds want replies and no consumer has
// anything pending or unacknowledged; without, it sends the replies to an _INBOX and
// times until want replies were received there and everything was acknowledged.
func (sk *skeleton) consume(ctx context.Context, outStream string, want int, progress *benchProgress) (time.Duration, error) {
	// The worker's JetStream context for publishing, on its connection.
	pjs, err := jetstream.New(sk.nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		return 0, err
	}
	sk.runs++
	var inbox string
	var received atomic.Int64
	allIn := make(chan struct{})
	if outStream == "" {
		inbox = sk.nc.NewInbox()
		sub, err := sk.nc.Subscribe(inbox+".>", func(*nats.Msg) {
			if received.Add(1) == int64(want) {
				close(allIn)
			}
		})
		if err != nil {
			return 0, err
		}
		defer sub.Unsubscribe()
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			return 0, err
		}
		if err := sk.nc.Flush(); err != nil {
			return 0, err
		}
	}
	parts := make([]floorPartition, sk.topo.Partitions)
	names := make([]string, sk.topo.Partitions)
	total := 0
	for p := range parts {
		cc := sk.topo.ConsumerConfig(p, sk.ackWait, sk.maxAckPending)
		cc.Durable = fmt.Sprintf("skeleton%d-p%03d", sk.runs, p)
		cc.Description = fmt.Sprintf("cartwright bench: skeleton, partition %d of %d", p, sk.topo.Partitions)
		cons, err := sk.in.CreateOrUpdateConsumer(ctx, cc)
		if err != nil {
			return 0, err
		}
		parts[p] = sk.partition(cons, pjs, inbox)
		parts[p].part = p
		parts[p].want = int(cons.CachedInfo().NumPending)
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
	var stored time.Time
	if outStream != "" {
		if _, stored, err = waitStored(ctx, sk.js, outStream, uint64(want), progress); err != nil {
			return 0, err
		}
	} else {
		select {
		case <-allIn:
			stored = time.Now()
		case <-time.After(benchStall):
			return 0, fmt.Errorf("%d of %d replies received on the _INBOX after %s", received.Load(), want, benchStall)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	for i := range names {
		defer sk.in.DeleteConsumer(context.WithoutCancel(ctx), names[i])
	}
	acked, err := waitAcked(ctx, sk.js, sk.in.CachedInfo().Config.Name, names)
	if err != nil {
		return 0, err
	}
	if acked.After(stored) {
		return acked.Sub(start), nil
	}
	return stored.Sub(start), nil
}

// floorPartition is one partition of the skeleton.
type floorPartition struct {
	sk      *skeleton
	cons    jetstream.Consumer
	want    int // messages in the partition
	js      jetstream.JetStream
	turn    int    // which of the worker's replies and states comes next
	in, out string // the subject prefixes of envelopes and replies
	inbox   string // where replies go instead, with core NATS; empty: the reply stream

	// The chunk under way (begin, add, finish), and buffers kept between chunks.
	wb      *pebble.Batch
	err     error // the chunk's first failure; the rest of it is only collected
	msgs    []jetstream.Msg
	replies []*nats.Msg
	futures []jetstream.PubAckFuture
	id, key []byte
	rec     []byte
	// The events' share owed so far, which event comes next, and the chunk's outbox
	// keys, deleted once published.
	evOwed  float64
	evTurn  int
	evSeq   uint64
	evID    []byte
	outKeys [][]byte
	part    int
}

// run drains the partition's want messages, a pull (of up to a batch) per chunk.
func (p *floorPartition) run(ctx context.Context, start time.Time, done *atomic.Int64, progress *benchProgress) error {
	sk := p.sk
	n := 0
	for n < p.want {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b, err := p.cons.Fetch(min(sk.batch, p.want-n), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		p.begin()
		for m := range b.Messages() {
			p.add(m)
		}
		if err := b.Error(); p.err == nil && err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			p.err = err
		}
		got := len(p.msgs)
		if err := p.finish(ctx); err != nil {
			return err
		}
		n += got
		progress.tick(int(done.Add(int64(got))))
		if time.Since(start) > benchStall+time.Duration(p.want/1000)*time.Second {
			return errors.New("skeleton: too slow, giving up")
		}
	}
	return nil
}

// begin starts a chunk.
func (p *floorPartition) begin() {
	p.wb = p.sk.db.NewBatch()
	p.err = nil
	p.msgs, p.replies, p.futures, p.outKeys = p.msgs[:0], p.replies[:0], p.futures[:0], p.outKeys[:0]
}

// add handles one envelope into the chunk: its context's state read and written back (a
// fresh one for a context not seen yet), its idempotency record with the reply, and the
// reply, which names the envelope's messageId as the worker's do.
func (p *floorPartition) add(m jetstream.Msg) {
	sk := p.sk
	p.msgs = append(p.msgs, m)
	if p.err != nil {
		return // let the pull finish
	}
	meta, err := m.Metadata()
	if err != nil {
		p.err = err
		return
	}
	// <prefix>.in.<partition>.<tenant>.<context>: the reply goes to
	// <prefix>.out.<tenant>.<context>, the state is the context's.
	_, rest, _ := strings.Cut(strings.TrimPrefix(m.Subject(), p.in), ".")
	_, ctxID, _ := strings.Cut(rest, ".")
	p.key = skeletonStateKey(p.key[:0], sk.tenant, ctxID)
	state, closer, err := sk.db.Get(p.key)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		state, closer, err = sk.states[p.turn%len(sk.states)], nil, nil
	case err != nil:
		p.err = fmt.Errorf("state of %s: %w", ctxID, err)
		return
	}
	if err := p.wb.Set(p.key, state, nil); err != nil {
		p.err = err
	}
	if closer != nil {
		closer.Close()
	}
	// The idempotency record, under the envelope's messageId (its stream sequence when it
	// has none), with the time and the reply. It is looked up first: an agent's retry is
	// another message of the stream with the same messageId, and gets the stored reply.
	msgID := envelopeMessageID(m.Data())
	p.key = append(append(append(p.key[:0], 'i'), sk.tenant...), 0)
	if msgID != "" {
		p.key = append(p.key, msgID...)
	} else {
		p.key = strconv.AppendUint(p.key, meta.Sequence.Stream, 10)
	}
	body := sk.replies[p.turn%len(sk.replies)]
	p.turn++
	rec, closer, err := []byte(nil), io.Closer(nil), pebble.ErrNotFound
	if sk.recs.MayHave(p.key) {
		rec, closer, err = sk.db.Get(p.key)
	}
	switch {
	case err == nil:
		body = bytes.Clone(rec[8:])
		closer.Close()
	case errors.Is(err, pebble.ErrNotFound):
		p.rec = append(binary.BigEndian.AppendUint64(p.rec[:0], uint64(time.Now().UnixNano())), body...)
		sk.recs.Add(p.key)
		if err := p.wb.Set(p.key, p.rec, nil); err != nil {
			p.err = err
		}
	default:
		p.err = fmt.Errorf("record of %s: %w", msgID, err)
		return
	}
	subject := p.out + rest
	if p.inbox != "" {
		subject = p.inbox + "." + ctxID
	}
	// The run's number makes each run's ids its own: the reply stream's duplicate window
	// would drop a second run's replies to the same envelopes.
	p.id = strconv.AppendInt(append(p.id[:0], "skeleton"...), int64(sk.runs), 10)
	p.id = strconv.AppendUint(append(p.id, ':'), meta.Sequence.Stream, 10)
	h := nats.Header{jetstream.MsgIDHeader: []string{string(p.id) + ":reply"}}
	if msgID != "" {
		h[handlers.HdrMessageID] = []string{msgID}
	}
	p.replies = append(p.replies, &nats.Msg{Subject: subject, Data: body, Header: h})
	for p.evOwed += sk.eventsPer; p.evOwed >= 1; p.evOwed-- {
		ev := sk.events[p.evTurn%len(sk.events)]
		p.evTurn++
		p.evSeq++
		k := binary.BigEndian.AppendUint64(binary.AppendUvarint([]byte{'o'}, uint64(p.part)), p.evSeq)
		if err := p.wb.Set(k, ev.Data, nil); err != nil {
			p.err = err
		}
		p.outKeys = append(p.outKeys, k)
		p.evID = strconv.AppendUint(append(append(p.evID[:0], p.id...), ":evt:"...), p.evSeq, 10)
		p.replies = append(p.replies, &nats.Msg{Subject: ev.Subject, Data: ev.Data,
			Header: nats.Header{jetstream.MsgIDHeader: []string{string(p.evID)}}})
	}
}

// finish ends the chunk: one fsync'd commit, the replies published (stored: their
// acknowledgements awaited), then the envelopes acked.
func (p *floorPartition) finish(ctx context.Context) error {
	if err := p.commit(); err != nil {
		return err
	}
	var err error
	p.futures, err = p.send(ctx, p.msgs, p.replies, p.outKeys, p.futures[:0])
	return err
}

// commit commits the chunk with fsync, or returns its first failure.
func (p *floorPartition) commit() error {
	err := p.err
	if err == nil {
		err = p.wb.Commit(pebble.Sync)
	}
	p.wb.Close()
	p.wb = nil
	return err
}

// send publishes a committed chunk's replies and events (stored ones: their
// acknowledgements awaited, appended to futures), then acks its envelopes and deletes its
// events' outbox entries (outKeys).
func (p *floorPartition) send(ctx context.Context, msgs []jetstream.Msg, replies []*nats.Msg, outKeys [][]byte, futures []jetstream.PubAckFuture) ([]jetstream.PubAckFuture, error) {
	for _, m := range replies {
		var err error
		if p.inbox != "" {
			err = p.sk.nc.PublishMsg(m)
		} else {
			var f jetstream.PubAckFuture
			if f, err = p.js.PublishMsgAsync(m, jetstream.WithStallWait(floorAckTimeout)); err == nil {
				futures = append(futures, f)
			}
		}
		if err != nil {
			return futures, fmt.Errorf("publishing a reply: %w", err)
		}
	}
	// Core NATS replies need no wait: the acks below go out on the same connection,
	// after them.
	if err := waitPubAcks(ctx, futures); err != nil {
		return futures, err
	}
	for _, m := range msgs {
		_ = m.Ack()
	}
	if len(outKeys) > 0 {
		// Published: out of the outbox, without an fsync, as the worker does.
		b := p.sk.db.NewBatch()
		defer b.Close()
		for _, k := range outKeys {
			_ = b.Delete(k, nil)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			return futures, fmt.Errorf("removing published events: %w", err)
		}
	}
	return futures, nil
}

// envelopeMessageID is the messageId of a bench envelope (benchMix.envelope writes it
// first of the message's fields that could hold one), or "" when there is none.
func envelopeMessageID(data []byte) string {
	const field = `"messageId":"`
	i := bytes.Index(data, []byte(field))
	if i < 0 {
		return ""
	}
	rest := data[i+len(field):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
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
