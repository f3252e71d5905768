package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus/group"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// Worker consumes the inbound stream and applies it.
type Worker struct {
	cfg     *config.Config
	topo    Topology
	nc      *nats.Conn
	js      jetstream.JetStream
	st      *store.Store
	h       *handlers.Handler
	metrics *Metrics
	log     *slog.Logger
	pub     *publisher

	running atomic.Int32
	started atomic.Bool
	// Clock tells the time for expiring checkouts (default time.Now); tests move it.
	// Envelopes take their time from the stream instead.
	Clock func() time.Time

	// gen counts connections to NATS: each partition rewinds its consumer when it sees a
	// new one (see partition.rewind).
	gen atomic.Int64

	// partitions is how many partitions Run started (the stream's count, which may not
	// be the configured one); Ready reads it from other goroutines.
	partitions atomic.Int32
	stream     jetstream.Stream
	// lost flags the partitions whose durable consumer has vanished and is not back yet.
	lost []atomic.Bool
	// health is what Ready knows of each partition's progress (health.go).
	health []partHealth
	// stopping: Run's context has ended and the partition loops are finishing.
	stopping atomic.Bool
	// cl is the partitions' changelog, nil when it is off (see changelog.go).
	cl *Changelog

	// member is this worker in its group (CONTRACT.md section 10, docs/workers.md).
	member atomic.Pointer[group.Member]
	// owned holds, per partition, the epoch of the lease its running loop holds (0: no
	// loop here), and acquired when it was acquired (Unix nanoseconds).
	owned    []atomic.Uint64
	acquired []atomic.Int64
	// taken holds, per partition, the epoch under which its loop took the partition's
	// changelog (Changelog.Take; 0: not taken): with the changelog on, the outbox pump
	// publishes a partition's messages only while it is taken under a valid lease.
	taken []atomic.Uint64
	// fencedOut holds, with the changelog off, the messages of chunks fenced out before
	// their publish, until this worker takes their partition again (settleFenced).
	fencedOut fencedOut
	// OwnsServer says the NATS server is this process's own (embedded): no other worker
	// can be in the group, so a member key left by this worker's previous run (a crash)
	// is removed rather than waited for. Set before Run.
	OwnsServer bool
}

// New builds a worker; Run starts it.
func New(cfg *config.Config, nc *nats.Conn, st *store.Store, h *handlers.Handler, m *Metrics, log *slog.Logger) (*Worker, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	w := &Worker{
		cfg: cfg, topo: Topology{Prefix: cfg.Prefix, Partitions: cfg.Partitions, MaxEnvelopeBytes: cfg.Limits.MaxEnvelopeBytes,
			Retention: cfg.Retention, Streams: cfg.Streams, Replicas: cfg.Replicas},
		nc: nc, js: js, st: st, h: h, metrics: m, log: log,
	}
	w.pub = newPublisher(nc, st, log)
	w.pub.setAsideTotal = m.OutboxSetAside
	m.NATSConnected.Set(b2f(nc.IsConnected()))
	w.Clock = time.Now
	return w, nil
}

// Running is the number of partition loops running in this worker.
func (w *Worker) Running() int { return int(w.running.Load()) }

// Owned lists the partitions this worker's loops serve.
func (w *Worker) Owned() []int {
	var out []int
	for p := range w.owned {
		if w.owned[p].Load() != 0 {
			out = append(out, p)
		}
	}
	return out
}

// JetStream is the worker's JetStream context.
func (w *Worker) JetStream() jetstream.JetStream { return w.js }

// Topology is the worker's stream layout.
func (w *Worker) Topology() Topology { return w.topo }

// Member is the worker's membership in its group, nil until Run has joined it.
func (w *Worker) Member() *group.Member { return w.member.Load() }

// Run provisions the streams, publishes what the outbox still holds, joins the group and
// runs a loop for each partition the group gives this worker, until ctx is canceled. It
// then lets each loop finish the chunk it holds (commit, publish, ack), hands every
// partition over (group.Member.Leave) and returns.
func (w *Worker) Run(ctx context.Context) error {
	if w.cfg.PartitionsDefaulted {
		// No count configured: an existing stream keeps the one it was created with. The
		// count is the worker's own from here on: the caller's configuration is left as
		// it was given.
		n, err := ExistingPartitions(ctx, w.js, w.topo)
		if err != nil {
			return err
		}
		if n > 0 && n != w.topo.Partitions {
			w.log.Info("the inbound stream exists: keeping its partition count", "partitions", n)
			w.topo.Partitions = n
		}
	}
	if err := Provision(ctx, w.js, w.topo); err != nil {
		return err
	}
	if !w.cfg.Changelog {
		// Chunks a run with the changelog on left pending: the store alone is the state
		// now, and their messages may go.
		if k, err := w.st.ReleasePending(); err != nil {
			return fmt.Errorf("bus: releasing the changelog's pending chunks: %w", err)
		} else if k > 0 {
			w.log.Warn("the changelog is off: publishing the chunks a run with it on left unwritten", "chunks", k)
		}
	}
	if w.cfg.Changelog {
		// A chunk whose changes are in the changelog and whose messages are not published
		// yet is the partition's owner's to publish: from the start on, only those of the
		// partitions this worker took go.
		w.pub.owns = w.ownsTaken
	}
	n, err := w.pub.flushOutbox(ctx)
	if err != nil {
		return fmt.Errorf("bus: publishing the outbox: %w", err)
	}
	if n > 0 {
		w.log.Info("published what the last run had committed but not published", "messages", n)
		w.metrics.OutboxRetry.Add(float64(n))
	}
	if k, err := w.st.SetAsideCount(); err == nil && k > 0 {
		// Kept until an operator reads them: say so at every start, not only when it happens.
		w.log.Warn("outbox messages that can never be published are set aside; list them with `cartwright outbox set-aside`",
			"messages", k)
	}
	if w.cfg.Changelog {
		// Only the stream: each partition is restored by its loop, once owned.
		if err := w.startChangelog(ctx); err != nil {
			return err
		}
	}
	stream, err := w.js.Stream(ctx, w.topo.InStream())
	if err != nil {
		return err
	}
	w.stream = stream
	n = w.topo.Partitions
	w.lost = make([]atomic.Bool, n)
	w.health = make([]partHealth, n)
	w.owned = make([]atomic.Uint64, n)
	w.taken = make([]atomic.Uint64, n)
	w.acquired = make([]atomic.Int64, n)
	for i := range w.health {
		w.progressed(i)
	}
	w.partitions.Store(int32(n))
	if w.OwnsServer {
		// The embedded server is ours alone: whatever the group bucket holds is the
		// previous run's, which is not coming back, and Join would wait a lease TTL for
		// its member key to expire.
		_ = w.js.DeleteKeyValue(ctx, group.BucketFor(w.cfg.Prefix))
	}
	m, err := group.Join(ctx, w.js, group.Config{
		Bucket: group.BucketFor(w.cfg.Prefix), WorkerID: w.cfg.WorkerID, Partitions: n,
		Replicas: w.cfg.Replicas, MaxBytes: groupBucketBytes, Logger: w.log,
	})
	if err != nil {
		return fmt.Errorf("bus: joining the group: %w", err)
	}
	w.member.Store(m)

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var bgwg sync.WaitGroup
	bgwg.Add(3)
	go func() { defer bgwg.Done(); w.pump(bg) }()
	go func() { defer bgwg.Done(); w.sweep(bg) }()
	go func() { defer bgwg.Done(); w.sample(bg) }()
	w.started.Store(true)
	w.log.Info("worker running", "worker_id", w.cfg.WorkerID, "partitions", n, "batch", w.cfg.Batch.Size,
		"changelog", w.cl != nil)

	runErr := w.own(ctx, m)
	w.stopping.Store(true)
	// The loops have flushed what they committed: hand every partition over now, so
	// that the others take them at once rather than after a lease TTL.
	lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	go func() {
		for e := range m.Events() {
			e.Done() // no loop runs any more
		}
	}()
	if err := m.Leave(lctx); err != nil {
		w.log.Warn("leaving the group; the others take over when the leases expire", "err", err)
	}
	cancel()
	w.metrics.PartitionsOwned.Set(0)
	stopBG()
	bgwg.Wait()
	// A last try for anything that failed to publish; what is left stays for the next run.
	if _, err := w.pub.flushOutbox(context.Background()); err != nil {
		w.log.Warn("outbox not empty at shutdown; it is published at the next start", "err", err)
	}
	return runErr
}

// groupBucketBytes bounds the group bucket: it holds one key per live worker and per
// partition (history 1, a few hundred bytes each) and the delete markers of the last
// lease TTL, well under this for 1024 partitions. A size is needed anyway on an account
// whose JetStream limits require one on every stream.
const groupBucketBytes = 4 << 20

// loop is a running partition loop.
type loop struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// own runs a partition loop for each lease the member holds, until ctx ends (it then
// lets every loop finish the chunk it holds and returns nil) or the member stops by
// itself (an error).
//
// INVARIANT: at most one loop per partition at a time in this worker: a loop for a new
// lease starts only once the one for the previous lease of the partition has ended.
func (w *Worker) own(ctx context.Context, m *group.Member) error {
	loops := map[int]*loop{}  // by partition, the loops of leases held
	ending := map[int]*loop{} // by partition, the last loop started, until the next starts
	var wg sync.WaitGroup
	defer func() {
		for _, l := range loops {
			l.cancel()
		}
		wg.Wait()
	}()
	events := m.Events()
	for {
		var e group.Event
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return errors.New("bus: the group member stopped")
			}
			e = ev
		}
		p := e.Partition
		if p < 0 || p >= len(w.owned) {
			continue
		}
		switch e.Kind {
		case group.Acquired:
			// The loop of an earlier lease may still be ending (a Lost does not wait for
			// it): two loops of one partition would reset and fetch its consumer under
			// each other.
			if old := ending[p]; old != nil {
				old.cancel()
				<-old.done
			}
			delete(ending, p)
			lctx, cancel := context.WithCancel(ctx)
			l := &loop{cancel: cancel, done: make(chan struct{})}
			loops[p], ending[p] = l, l
			w.owned[p].Store(e.Epoch)
			w.acquired[p].Store(time.Now().UnixNano())
			w.metrics.Takeovers.Inc()
			w.log.Info("partition acquired", "partition", p, "epoch", e.Epoch)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(l.done)
				w.serve(lctx, p, e.Epoch)
			}()
		case group.Releasing:
			l := loops[p]
			delete(loops, p)
			w.disown(p, e.Epoch)
			if l == nil {
				e.Done()
				continue
			}
			l.cancel()
			go func() {
				// The loop finishes and flushes the chunk it holds; the lease stays valid
				// until Done, so that flush is not fenced out.
				<-l.done
				e.Done()
				w.log.Info("partition handed over", "partition", p, "epoch", e.Epoch)
			}()
		case group.Lost:
			if l := loops[p]; l != nil {
				// Its fence fails already: the loop publishes and acknowledges nothing more.
				l.cancel()
				delete(loops, p)
			}
			w.disown(p, e.Epoch)
			w.log.Warn("partition lost without a hand-over: nothing more is published or acknowledged for it",
				"partition", p, "epoch", e.Epoch)
		}
		w.metrics.PartitionsOwned.Set(float64(len(loops)))
	}
}

// ownsTaken reports whether this worker took partition p's changelog under a lease that
// still holds (false before Run has started the partitions).
func (w *Worker) ownsTaken(p int) bool {
	if !w.started.Load() || p >= len(w.taken) {
		return false
	}
	e := w.taken[p].Load()
	m := w.member.Load()
	return e != 0 && w.owned[p].Load() == e && m != nil && m.Valid(p, e)
}

func (w *Worker) disown(p int, epoch uint64) {
	w.taken[p].CompareAndSwap(epoch, 0)
	w.owned[p].CompareAndSwap(epoch, 0)
	w.metrics.LeaseAge.DeleteLabelValues(strconv.Itoa(p))
}

// serve runs partition p's loop under the lease of epoch until ctx ends or the lease
// turns invalid. A loop stopped by a changelog write that failed for another reason than
// a fence (NATS unavailable, the stream full) starts again, after a new take of the
// partition, which settles the chunk left pending (Changelog.settle); a fenced one does
// not: the partition is another worker's.
func (w *Worker) serve(ctx context.Context, p int, epoch uint64) {
	m := w.member.Load()
	valid := func() bool { return m.Valid(p, epoch) }
	for {
		w.serveOnce(ctx, p, epoch, valid)
		err := w.cl.Err(p)
		if err == nil || errors.Is(err, ErrFenced) || ctx.Err() != nil || !valid() {
			return
		}
		w.log.Warn("the partition stopped on a changelog write; taking it again", "partition", p, "epoch", epoch, "err", err)
		sleep(ctx, time.Second)
	}
}

func (w *Worker) serveOnce(ctx context.Context, p int, epoch uint64, valid func() bool) {
	if w.cl != nil && !w.restore(ctx, p, epoch, valid) {
		return
	}
	var cons jetstream.Consumer
	for ctx.Err() == nil && valid() {
		committed, err := w.st.Committed(p)
		if err == nil {
			cons, err = w.consumer(ctx, p, committed)
		}
		if err == nil || ctx.Err() != nil {
			break
		}
		w.log.Warn("opening the partition's consumer; retrying", "partition", p, "err", err)
		sleep(ctx, time.Second)
	}
	if cons == nil || ctx.Err() != nil {
		return
	}
	committed, err := w.st.Committed(p)
	if err != nil {
		w.log.Error("reading the partition's watermark", "partition", p, "err", err)
		return
	}
	if w.cl == nil && !w.settleFenced(ctx, p, cons.CachedInfo().AckFloor.Stream, valid) {
		return
	}
	w.running.Add(1)
	defer w.running.Add(-1)
	w.progressed(p)
	pt := &partition{w: w, n: p, cons: cons, blocked: map[string]*block{}, gen: -1,
		cache: w.st.NewStateCache(w.cfg.StateCacheBytes(w.topo.Partitions)), mark: mark{at: committed},
		epoch: epoch, valid: valid, floor: cons.CachedInfo().AckFloor.Stream}
	pt.run(ctx)
}

// Ready reports why the worker cannot serve, or nil: not connected to NATS, starting (not
// yet in the group), a partition without its consumer, or a partition stuck (work pending
// and no progress for longer than the ack wait: see stuck). It does not ask for any
// partition: a worker of a group may own none of them (CONTRACT.md section 10).
func (w *Worker) Ready() error {
	switch {
	case !w.nc.IsConnected():
		return errors.New("not connected to NATS")
	case !w.started.Load():
		return errors.New("starting") // not yet in the group
	}
	if n := w.consumersLost(); n > 0 {
		return fmt.Errorf("%d of %d partitions without their consumer", n, w.partitions.Load())
	}
	if s := w.stuck(time.Now()); s != "" {
		return errors.New(s)
	}
	return nil
}

// Reconnected tells the worker that NATS is back: the outbox pump publishes what failed.
func (w *Worker) Reconnected() {
	w.gen.Add(1)
	w.pub.mu.Lock()
	w.pub.dirty = true
	w.pub.mu.Unlock()
}

// pump publishes what the partition loops could not, once NATS takes it again.
func (w *Worker) pump(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !w.pub.isDirty() || !w.nc.IsConnected() {
			continue
		}
		n, err := w.pub.flushOutbox(ctx)
		w.metrics.OutboxRetry.Add(float64(n))
		if err != nil {
			w.log.Warn("outbox pump", "published", n, "err", err)
		} else if n > 0 {
			w.log.Info("outbox pump published what had failed", "messages", n)
		}
	}
}

// sweep removes expired idempotency records in the background, at start-up and then
// every minute. It sweeps only below sweepCutoff: never a record whose envelope JetStream
// may still deliver.
func (w *Worker) sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if cutoff, err := w.sweepCutoff(ctx); err != nil {
			if errors.Is(err, jetstream.ErrConsumerNotFound) {
				// A partition nobody has served yet (its owner creates the consumer when
				// it takes it, which at a start may be after this first sweep).
				w.log.Debug("not sweeping idempotency records this time", "err", err)
			} else if ctx.Err() == nil {
				w.log.Warn("not sweeping idempotency records this time: the ack floors are unknown", "err", err)
			}
		} else {
			for {
				n, err := w.st.Sweep(cutoff, 5000)
				if err != nil {
					w.log.Warn("sweeping idempotency records", "err", err)
				}
				if err != nil || n < 5000 {
					break
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// envelope turns a JetStream message into what the handler takes, in e (a chunk's
// envelopes are allocated together). meta is m's metadata when already parsed, or nil.
func (w *Worker) envelope(e *handlers.Envelope, m jetstream.Msg, meta *jetstream.MsgMetadata) *handlers.Envelope {
	tenant, context, usable := handlers.ParseSubject(w.cfg.Prefix, m.Subject())
	*e = handlers.Envelope{
		Subject: w.cfg.Prefix + ".in." + tenant + "." + context,
		Tenant:  tenant, Context: context, Usable: usable,
		Data: m.Data(), Header: m.Headers(),
		Delivered: 1, Time: time.Now(),
	}
	if meta == nil {
		meta, _ = m.Metadata()
	}
	if meta != nil {
		e.Seq = meta.Sequence.Stream
		e.Delivered = int(meta.NumDelivered)
		e.Time = meta.Timestamp
	}
	return e
}
