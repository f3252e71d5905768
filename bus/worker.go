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
		cfg: cfg, topo: Topology{Prefix: cfg.Prefix, Partitions: cfg.Partitions},
		nc: nc, js: js, st: st, h: h, metrics: m, log: log,
	}
	w.pub = newPublisher(nc, js, st, log)
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
		// No count configured: an existing stream keeps the one it was created with.
		n, err := ExistingPartitions(ctx, w.js, w.topo)
		if err != nil {
			return err
		}
		if n > 0 && n != w.cfg.Partitions {
			w.log.Info("the inbound stream exists: keeping its partition count", "partitions", n)
			w.cfg.Partitions, w.topo.Partitions = n, n
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
	stream, err := w.js.Stream(ctx, w.topo.InStream())
	if err != nil {
		return err
	}
	parts := make([]*partition, w.cfg.Partitions)
	for i := range parts {
		cc := w.topo.ConsumerConfig(i, w.cfg.Batch.AckWait, max(4*w.cfg.Batch.Size, 10000))
		cons, err := stream.CreateOrUpdateConsumer(ctx, cc)
		if err != nil {
			return fmt.Errorf("bus: consumer %s: %w", cc.Durable, err)
		}
		parts[i] = &partition{w: w, n: i, cons: cons, blocked: map[string]*block{}, gen: -1,
			cache: store.NewStateCache(statesCachedPerPartition)}
	}

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
	bgwg.Add(2)
	go func() { defer bgwg.Done(); w.pump(bg) }()
	go func() { defer bgwg.Done(); w.sweep(bg) }()
	w.started.Store(true)
	w.log.Info("worker running", "partitions", w.cfg.Partitions, "batch", w.cfg.Batch.Size)

	<-ctx.Done()
	wg.Wait()
	stopBG()
	bgwg.Wait()
	// A last try for anything that failed to publish; what is left stays for the next run.
	if _, err := w.pub.flushOutbox(context.Background()); err != nil {
		w.log.Warn("outbox not empty at shutdown; it is published at the next start", "err", err)
	}
	return nil
}

// Ready reports why the worker cannot serve, or nil.
func (w *Worker) Ready() error {
	switch {
	case !w.nc.IsConnected():
		return errors.New("not connected to NATS")
	case !w.started.Load():
		return errors.New("starting")
	case int(w.running.Load()) != w.cfg.Partitions:
		return fmt.Errorf("%d of %d partitions running", w.running.Load(), w.cfg.Partitions)
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

// sweep removes expired idempotency records in the background.
func (w *Worker) sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		for {
			n, err := w.st.Sweep(time.Now().Add(-w.cfg.IdempotencyRetention), 5000)
			if err != nil {
				w.log.Warn("sweeping idempotency records", "err", err)
			}
			if n < 5000 {
				break
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
