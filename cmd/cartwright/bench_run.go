package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/store"
)

// benchRun is one run of the bench: what it set up, and its report.
type benchRun struct {
	f      *benchFlags
	cfg    *config.Config
	tenant string
	items  [3]string
	topo   bus.Topology
	say    func(format string, args ...any)
	errw   io.Writer
	log    *slog.Logger
	rep    *benchReport

	st     *store.Store
	nc, ac *nats.Conn // the worker's connection; the agents'
	js     jetstream.JetStream
	pub    *benchPublisher

	wholePeak int64 // the peak RSS of the phases measured so far
}

func runBench(parent context.Context, f *benchFlags, stdout, stderr io.Writer) (err error) {
	wall := time.Now()
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	r := &benchRun{f: f, tenant: config.DemoTenant, errw: stderr,
		say: func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) },
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for i, it := range strings.Split(f.items, ",") {
		r.items[i] = strings.TrimSpace(it)
	}
	// The configuration serve runs with, but for the bench's settings.
	r.cfg = &config.Config{Prefix: f.prefix, Partitions: f.partitions, Batch: config.Batch{Size: f.batch}}
	f.conn.apply(&r.cfg.NATS)
	r.cfg.SetDefaults()
	if err := r.cfg.Validate(); err != nil {
		return usageErr("configuration:\n%v", err)
	}
	r.topo = bus.Topology{Prefix: r.cfg.Prefix, Partitions: r.cfg.Partitions}
	memLimit := r.cfg.ApplyMemoryLimit()

	dir := f.data
	if dir == "" {
		if dir, err = os.MkdirTemp("", "cartwright-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		return usageErr("--data %s is not empty: the bench starts from nothing", dir)
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	r.cfg.DataDir = dir
	r.rep = r.newReport()
	r.rep.Settings.GoMemoryLimitMiB = -1
	if memLimit != math.MaxInt64 {
		r.rep.Settings.GoMemoryLimitMiB = memLimit >> 20
	}

	defer app.TuneMalloc()() // as serve does: the run measures serve's memory
	if r.st, err = store.Open(filepath.Join(dir, "store"), app.StoreOptions(r.cfg.Store)); err != nil {
		return err
	}
	defer func() {
		if r.st != nil { // preload reopens it
			r.st.Close()
		}
	}()
	if f.preload > 0 {
		if err := r.preload(ctx, filepath.Join(dir, "store")); err != nil {
			return err
		}
	}

	ns, err := r.connect(filepath.Join(dir, "nats"))
	if err != nil {
		return err
	}
	if ns != nil {
		defer func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		}()
	}
	defer r.nc.Close()
	defer r.ac.Close()
	if !r.cfg.NATS.Embedded() {
		defer r.removeStreams()
	}
	if err := r.prepare(ctx); err != nil {
		return err
	}
	if err := r.measureWorker(ctx); err != nil {
		return err
	}
	if !f.skipBaseline {
		if err := r.baseline(ctx); err != nil {
			return err
		}
	}
	if !f.skipFloor {
		if err := r.floor(ctx); err != nil {
			return err
		}
	}
	r.rep.Memory.WholeRunMiB = mib(max(r.wholePeak, peakRSS()))
	r.rep.Wall.Total = secs(time.Since(wall))
	r.rep.Machine.LoadAverage[1] = loadAverage()
	if f.json {
		return r.rep.writeJSON(stdout)
	}
	r.rep.writeTable(stdout)
	return nil
}

func (r *benchRun) newReport() *benchReport {
	vs := versions()
	for _, k := range []string{"a2a", "ucp", "ap2"} {
		delete(vs, k)
	}
	where := "embedded nats-server, JetStream file storage under --data"
	if !r.cfg.NATS.Embedded() {
		where = redactURL(r.cfg.NATS.URL)
	}
	data := r.cfg.DataDir
	if r.f.data == "" {
		data += " (temporary)"
	}
	return &benchReport{
		Machine: benchMachine{
			LoadAverage: [2]float64{loadAverage(), 0}, Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
			OS: runtime.GOOS + "/" + runtime.GOARCH, CPU: cpuModel(),
		},
		Versions: vs,
		Settings: benchSettings{
			N: r.f.n, Contexts: r.f.contexts, LatencyN: r.f.latencyN, Partitions: r.cfg.Partitions,
			Batch: r.cfg.Batch.Size, MaxWaitMS: ms(r.cfg.Batch.MaxWait), Preload: r.f.preload, Fsync: true,
			StoreCacheMiB: r.cfg.Store.CacheMiB, StoreMemTableMiB: r.cfg.Store.MemTableMiB,
			NATS: where, Items: r.items[:], Inventory: r.f.inventory, Data: data,
			Mix: []string{"create_checkout", "add_item ×3", "set_buyer", "set_shipping_address (CA)",
				"select_shipping_option (std)", "complete_checkout (tok_visa)"},
		},
	}
}

// preload fills the store, then reopens it, so that the worker starts on it as serve
// would on a store of that size, not on the preload's memtables and garbage.
func (r *benchRun) preload(ctx context.Context, path string) error {
	start := time.Now()
	prog := startProgress(r.errw, "preloading stored checkouts", r.f.preload)
	err := preloadStore(ctx, r.st, r.cfg, r.tenant, r.items, r.f.preload, prog)
	prog.end()
	if err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	d := time.Since(start)
	r.rep.Preload = &benchPreload{Checkouts: r.f.preload, Seconds: secs(d), PerSecond: float64(r.f.preload) / secs(d)}
	r.rep.Wall.Preload = secs(d)
	r.say("preloaded %d checkouts in %.1f s", r.f.preload, secs(d))
	err = r.st.Close()
	r.st = nil
	if err != nil {
		return err
	}
	r.st, err = store.Open(path, app.StoreOptions(r.cfg.Store))
	return err
}

// connect starts the embedded NATS server (unless --nats-url) and opens two connections:
// the worker's, with serve's options, and the agents'. The caller shuts ns down.
func (r *benchRun) connect(natsDir string) (ns *server.Server, err error) {
	url := r.cfg.NATS.URL
	if r.cfg.NATS.Embedded() {
		if ns, err = bus.StartEmbedded(bus.EmbeddedOptions("127.0.0.1", -1, natsDir)); err != nil {
			return nil, err
		}
		url = ns.ClientURL()
	}
	fail := func(err error) (*server.Server, error) {
		if r.nc != nil {
			r.nc.Close()
		}
		if ns != nil {
			ns.Shutdown()
			ns.WaitForShutdown()
		}
		return nil, err
	}
	opts, err := natsOptions(r.cfg.NATS, "cartwright-bench-worker")
	if err != nil {
		return fail(usageErr("%v", err))
	}
	r.nc, err = nats.Connect(url, append(opts, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectBufSize(64<<20))...)
	if err != nil {
		return fail(fmt.Errorf("connect to NATS at %s: %w", redactURL(url), err))
	}
	aopts, _ := natsOptions(r.cfg.NATS, "cartwright-bench-agents")
	if r.ac, err = nats.Connect(url, aopts...); err != nil {
		return fail(fmt.Errorf("connect to NATS at %s: %w", redactURL(url), err))
	}
	r.rep.Versions["nats-server"] = r.nc.ConnectedServerVersion()
	if r.js, err = jetstream.New(r.nc); err != nil {
		return fail(err)
	}
	if r.pub, err = newBenchPublisher(r.ac); err != nil {
		return fail(err)
	}
	return ns, nil
}
