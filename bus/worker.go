package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// statesCachedPerPartition bounds each partition's cache of decoded states (a few KiB
// each). It saves decoding the state of a context that sends several envelopes in a
// short while; under load, an agent's next step (seconds later) is thousands of envelopes
// away and comes from Pebble's block cache instead, so a larger cache only holds memory.
const statesCachedPerPartition = 256

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
}

// New builds a worker; Run starts it.
func New(cfg *config.Config, nc *nats.Conn, st *store.Store, h *handlers.Handler, m *Metrics, log *slog.Logger) (*Worker, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	w := &Worker{
		cfg: cfg, topo: Topology{Prefix: cfg.Prefix, Partitions: cfg.Partitions, MaxEnvelopeBytes: cfg.Limits.MaxEnvelopeBytes,
			Retention: cfg.Retention, Streams: cfg.Streams},
		nc: nc, js: js, st: st, h: h, metrics: m, log: log,
	}
	w.pub = newPublisher(nc, js, st, log)
	w.pub.setAsideTotal = m.OutboxSetAside
	m.NATSConnected.Set(b2f(nc.IsConnected()))
	w.Clock = time.Now
	return w, nil
}

// JetStream is the worker's JetStream context.
func (w *Worker) JetStream() jetstream.JetStream { return w.js }

// Topology is the worker's stream layout.
func (w *Worker) Topology() Topology { return w.topo }

// Run provisions the streams and consumers, publishes what the outbox still holds, and
// runs every partition until ctx is canceled. It then lets each partition finish the
// chunk it holds (commit, publish, ack) and returns.
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
		// Before the consumers: a restore may move the partitions' watermarks.
		if err := w.startChangelog(ctx); err != nil {
			return err
		}
	}
	stream, err := w.js.Stream(ctx, w.topo.InStream())
	if err != nil {
		return err
	}
	w.stream = stream
	parts := make([]*partition, w.topo.Partitions)
	w.lost = make([]atomic.Bool, len(parts))
	w.health = make([]partHealth, len(parts))
	for i := range w.health {
		w.progressed(i)
	}
	for i := range parts {
		committed, err := w.st.Committed(i)
		if err != nil {
			return err
		}
		cons, err := w.consumer(ctx, i, committed)
		if err != nil {
			return err
		}
		parts[i] = &partition{w: w, n: i, cons: cons, blocked: map[string]*block{}, gen: -1,
			cache: store.NewStateCache(statesCachedPerPartition), mark: mark{at: committed}}
	}
	w.partitions.Store(int32(len(parts)))

	var wg sync.WaitGroup
	for _, p := range parts {
		wg.Add(1)
		w.running.Add(1)
		go func() {
			defer wg.Done()
			defer w.running.Add(-1)
			p.run(ctx)
		}()
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var bgwg sync.WaitGroup
	bgwg.Add(3)
	go func() { defer bgwg.Done(); w.pump(bg) }()
	go func() { defer bgwg.Done(); w.sweep(bg) }()
	go func() { defer bgwg.Done(); w.sample(bg) }()
	w.started.Store(true)
	w.log.Info("worker running", "partitions", len(parts), "batch", w.cfg.Batch.Size)

	<-ctx.Done()
	w.stopping.Store(true)
	wg.Wait()
	stopBG()
	bgwg.Wait()
	// A last try for anything that failed to publish; what is left stays for the next run.
	if _, err := w.pub.flushOutbox(context.Background()); err != nil {
		w.log.Warn("outbox not empty at shutdown; it is published at the next start", "err", err)
	}
	return nil
}

// Ready reports why the worker cannot serve, or nil: not connected to NATS, starting, a
// partition without its consumer, or a partition stuck (work pending and no progress for
// longer than the ack wait: see stuck).
func (w *Worker) Ready() error {
	switch {
	case !w.nc.IsConnected():
		return errors.New("not connected to NATS")
	case !w.started.Load():
		return errors.New("starting")
	case w.running.Load() != w.partitions.Load():
		return fmt.Errorf("%d of %d partitions running", w.running.Load(), w.partitions.Load())
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
			if ctx.Err() == nil {
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

// envelope turns a JetStream message into what the handler takes.
func (w *Worker) envelope(m jetstream.Msg) *handlers.Envelope {
	tenant, context, usable := handlers.ParseSubject(w.cfg.Prefix, m.Subject())
	e := &handlers.Envelope{
		Subject: w.cfg.Prefix + ".in." + tenant + "." + context,
		Tenant:  tenant, Context: context, Usable: usable,
		Data: m.Data(), Header: m.Headers(),
		Delivered: 1, Time: time.Now(),
	}
	if meta, err := m.Metadata(); err == nil {
		e.Seq = meta.Sequence.Stream
		e.Delivered = int(meta.NumDelivered)
		e.Time = meta.Timestamp
	}
	return e
}
