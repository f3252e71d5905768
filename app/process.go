package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// Process is one cartwright worker as `serve` runs it: its store, the handler over the
// tenants' providers (stock and mock payments kept as the configuration says), the
// JetStream worker. Its HTTP face (package httpapi) is the caller's. testenv assembles its
// workers with it too, so that tests run what `serve` runs.
//
// The order is Open (the store), Connect (everything that needs NATS), Run, Close.
type Process struct {
	Config *config.Config
	Store  *store.Store
	// Stock is the built-in inventory's counts in Store (nil with stock: bucket, or when
	// Options.Handler gives an inventory).
	Stock   *store.Stock
	Handler *handlers.Handler
	Worker  *bus.Worker

	o       Options
	running atomic.Pointer[bus.Worker]
}

// Options tune a Process beyond its configuration.
type Options struct {
	Logger *slog.Logger
	// Registerer receives the worker's metrics (default: a registry of its own that
	// nobody reads).
	Registerer prometheus.Registerer
	// Handler is given to handlers.New after the process has added what it builds: the
	// tenants' providers, the stock and the mock payments, except where Handler gives
	// them already (tests). Its Logger and MaxPayload default to the process's.
	Handler handlers.Options
	// Clock, when set, is the worker's clock for expiring checkouts (tests).
	Clock func() time.Time
	// OwnsServer: the NATS server is this process's embedded one (bus.Worker.OwnsServer).
	OwnsServer bool
}

// Open opens the store in cfg.DataDir, sized as cfg.Store says. cfg must have had
// SetDefaults and Validate.
func Open(cfg *config.Config, o Options) (*Process, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, "store"), StoreOptions(cfg.Store))
	if err != nil {
		return nil, err
	}
	if err := registerStoreMetrics(o.Registerer, st); err != nil {
		st.Close()
		return nil, err
	}
	return &Process{Config: cfg, Store: st, o: o}, nil
}

// Connect builds the handler and the worker over nc. ctx bounds the watches
// of the stock bucket (stock: bucket): end it after Run.
//
// REQUIRES: Open succeeded; Connect is called once.
func (p *Process) Connect(ctx context.Context, nc *nats.Conn) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	hopts := p.o.Handler
	if hopts.Logger == nil {
		hopts.Logger = p.o.Logger
	}
	if hopts.MaxPayload == 0 {
		hopts.MaxPayload = int(nc.MaxPayload())
	}
	hopts, err = WithStock(ctx, js, p.Store, p.Config, hopts)
	if err != nil {
		return err
	}
	hopts, err = WithAddressBooks(ctx, js, p.Config, hopts, hopts.Logger, p.o.Registerer)
	if err != nil {
		return err
	}
	hopts = handlers.WithMockPayments(p.Store, p.Config, hopts)
	hopts = WithEnvs(p.Config, hopts)
	p.Stock = hopts.Stock
	p.Handler = handlers.New(p.Config, hopts)
	w, err := bus.New(p.Config, nc, p.Store, p.Handler, bus.NewMetrics(p.o.Registerer), p.o.Logger)
	if err != nil {
		return err
	}
	if p.o.Clock != nil {
		w.Clock = p.o.Clock
	}
	w.OwnsServer = p.o.OwnsServer
	p.Worker = w
	p.running.Store(w)
	return nil
}

// Reconnected tells the worker that NATS came back (bus.Worker.Reconnected). It is safe
// from NATS's own goroutine at any time: a reconnect before Connect has built the worker
// needs nothing of it, since Run rewinds every partition and publishes the outbox when it
// starts.
func (p *Process) Reconnected() {
	if w := p.running.Load(); w != nil {
		w.Reconnected()
	}
}

// Run runs the worker until ctx ends (bus.Worker.Run); it returns once the worker has
// committed, replied to and acknowledged what it held.
//
// REQUIRES: Connect succeeded.
func (p *Process) Run(ctx context.Context) error { return p.Worker.Run(ctx) }

// Close closes the store. The connection is the caller's.
func (p *Process) Close() error { return p.Store.Close() }
