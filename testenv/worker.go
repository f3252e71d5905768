package testenv

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// Worker is a cartwright worker running in the test process against a real NATS server
// and a real Pebble store in a temporary directory.
type Worker struct {
	t       testing.TB
	NATS    *NATS
	Config  *config.Config
	Options handlers.Options
	Dir     string
	// Clock, when set before Start, is the worker's clock for expiring checkouts.
	Clock func() time.Time

	Store *store.Store
	// Stock is the built-in inventory's counts in Store (nil with stock: bucket, or
	// when Options gives an inventory).
	Stock   *store.Stock
	Worker  *bus.Worker
	Conn    *nats.Conn
	cancel  context.CancelFunc
	done    chan error
	process *app.Process

	// Registry holds the worker's metrics (a new one at every Start).
	Registry *prometheus.Registry
	// Shared: the worker is one of a group (StartGroupWorker), and Start does not wait
	// for it to run every partition.
	Shared bool
}

// StartWorker starts NATS and a worker. cfg may be nil (the demo tenant); its DataDir is
// replaced by a temporary one. The worker is stopped when the test ends.
func StartWorker(t testing.TB, cfg *config.Config, o handlers.Options) *Worker {
	t.Helper()
	if cfg == nil {
		cfg = &config.Config{}
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = 4
	}
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w := &Worker{t: t, NATS: StartTestNATS(t), Config: cfg, Options: o, Dir: cfg.DataDir}
	if o.Logger == nil {
		w.Options.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	w.Start()
	t.Cleanup(w.Stop)
	return w
}

// Start (re)starts the worker on the same data directory, assembled as `serve` assembles
// it (app.Process).
func (w *Worker) Start() {
	w.t.Helper()
	w.launch()
	w.waitRunning()
}

// launch assembles the worker and starts its Run.
func (w *Worker) launch() {
	t := w.t
	t.Helper()
	reg := prometheus.NewRegistry()
	p, err := app.Open(w.Config, app.Options{Logger: w.Options.Logger, Registerer: reg, Handler: w.Options, Clock: w.Clock})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(w.NATS.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond),
		nats.ReconnectHandler(func(*nats.Conn) { p.Reconnected() }))
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Connect(ctx, nc); err != nil {
		cancel()
		nc.Close()
		p.Close()
		t.Fatal(err)
	}
	w.Store, w.Stock, w.Worker, w.Conn, w.cancel, w.done = p.Store, p.Stock, p.Worker, nc, cancel, make(chan error, 1)
	w.process = p
	w.Registry = reg
	go func() { w.done <- p.Run(ctx) }()
}

// waitRunning waits until the worker is ready and, alone in its group, runs every
// partition, which tests expect of a started worker.
func (w *Worker) waitRunning() {
	t := w.t
	t.Helper()
	bw := w.Worker
	deadline := time.Now().Add(10 * time.Second)
	for bw.Ready() != nil {
		select {
		case err := <-w.done:
			t.Fatalf("worker stopped while starting: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker not ready: %v", bw.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for n := bw.Topology().Partitions; !w.Shared && (bw.Running() != n || len(bw.Owned()) != n); {
		if time.Now().After(deadline) {
			t.Fatalf("worker runs %d partitions of %d", bw.Running(), bw.Topology().Partitions)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// StartGroupWorker starts a worker named id against n, with a data directory of its own,
// as one of a group: several of them on one NATS share its partitions. cfg may be nil
// (the demo tenant); it is copied. The worker is stopped cleanly when the test ends.
func StartGroupWorker(t testing.TB, n *NATS, id string, cfg *config.Config) *Worker {
	t.Helper()
	return StartGroupWorkers(t, n, cfg, id)[0]
}

// StartGroupWorkers starts a worker for each of ids as StartGroupWorker does, all at
// the same moment: their Runs provision the streams and join the group concurrently.
func StartGroupWorkers(t testing.TB, n *NATS, cfg *config.Config, ids ...string) []*Worker {
	t.Helper()
	out := LaunchGroupWorkers(t, n, cfg, ids...)
	for _, w := range out {
		w.waitRunning()
	}
	return out
}

// LaunchGroupWorkers starts the workers as StartGroupWorkers does and returns at once,
// before they are ready: a test can watch them join. WaitRunning waits for each.
func LaunchGroupWorkers(t testing.TB, n *NATS, cfg *config.Config, ids ...string) []*Worker {
	t.Helper()
	var out []*Worker
	for _, id := range ids {
		c := config.Config{}
		if cfg != nil {
			c = *cfg
		}
		if c.Partitions == 0 {
			c.Partitions = 4
		}
		c.WorkerID = id
		c.DataDir = filepath.Join(t.TempDir(), "data-"+id)
		c.SetDefaults()
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		w := &Worker{t: t, NATS: n, Config: &c, Dir: c.DataDir, Shared: true}
		w.Options.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		out = append(out, w)
	}
	for _, w := range out {
		w.launch()
		t.Cleanup(w.Stop)
	}
	return out
}

// WaitRunning waits until a launched worker is ready (LaunchGroupWorkers).
func (w *Worker) WaitRunning() {
	w.t.Helper()
	w.waitRunning()
}

// Crash stops the worker as if its process died: its group member stops without handing
// anything over (the others wait for its leases to expire), then the worker, its
// connection and its store.
func (w *Worker) Crash() {
	if w.cancel == nil {
		return
	}
	w.Worker.Member().Stop()
	<-w.done // the member stopped under it: an error, expected
	w.cancel()
	w.Conn.Close()
	w.process.Close()
	w.cancel = nil
}

// Stop stops the worker cleanly (as SIGTERM would) and closes its store.
func (w *Worker) Stop() {
	if w.cancel == nil {
		return
	}
	w.cancel()
	if err := <-w.done; err != nil {
		w.t.Errorf("worker: %v", err)
	}
	w.Conn.Close()
	w.process.Close()
	w.cancel = nil
}

// Restart stops the worker and starts it again on the same data.
func (w *Worker) Restart() {
	w.Stop()
	w.Start()
}
