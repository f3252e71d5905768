package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
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
	o      *Options
	cfg    *config.Config
	tenant string
	items  [3]string
	topo   bus.Topology
	say    func(format string, args ...any)
	errw   io.Writer
	log    *slog.Logger
	rep    *Report

	st     *store.Store
	nc, ac *nats.Conn // the worker's connection; the agents'
	url    string     // the NATS's, the embedded server's included
	js     jetstream.JetStream
	pub    *benchPublisher

	wholePeak int64 // the peak RSS of the phases measured so far
}

// Run measures the worker as serve runs it and writes the report to stdout (JSON with
// o.JSON), its progress to stderr. Settings it refuses come back as a *UsageError.
func Run(parent context.Context, o Options, stdout, stderr io.Writer) (err error) {
	wall := time.Now()
	if err := o.check(); err != nil {
		return &UsageError{Err: err}
	}
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	r := &benchRun{o: &o, tenant: config.DemoTenant, errw: stderr,
		say: func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) },
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for i, it := range strings.Split(o.Items, ",") {
		r.items[i] = strings.TrimSpace(it)
	}
	// The configuration serve runs with, but for the bench's settings.
	r.cfg = &config.Config{Prefix: o.Prefix, Partitions: o.Partitions, Batch: config.Batch{Size: o.Batch}, NATS: o.NATS,
		ChangelogSetting: &o.Changelog, Store: config.Store{StateCacheMiB: o.StateCacheMiB}}
	r.cfg.SetDefaults()
	if err := r.cfg.Validate(); err != nil {
		return usageErr("configuration:\n%v", err)
	}
	r.topo = bus.Topology{Prefix: r.cfg.Prefix, Partitions: r.cfg.Partitions}
	memLimit := r.cfg.ApplyMemoryLimit()
	gcPercent := r.cfg.ApplyGCPercent()
	r.cfg.ApplyProcs() // as serve does; the report's machine row gives it

	dir := o.Data
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
	r.rep.Settings.GoGCPercent = gcPercent
	r.rep.Settings.StoreCompactionNice = max(r.cfg.Store.CompactionNice, 0)
	if memLimit != math.MaxInt64 {
		r.rep.Settings.GoMemoryLimitMiB = memLimit >> 20
	}
	if !r.cfg.NATS.Embedded() && !r.cfg.Changelog {
		r.rep.Notes = append(r.rep.Notes, changelogOffNote)
	}

	defer app.TuneMalloc()() // as serve does: the run measures serve's memory
	if r.st, err = openStore(filepath.Join(dir, "store"), r.cfg); err != nil {
		return err
	}
	defer func() {
		if r.st != nil { // preload reopens it
			r.st.Close()
		}
	}()
	if o.Preload > 0 {
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
	if o.Workers > 0 {
		if err := r.measureWorkers(ctx); err != nil {
			return err
		}
	} else if err := r.measureWorker(ctx); err != nil {
		return err
	}
	if !o.SkipBaseline {
		if err := r.baseline(ctx); err != nil {
			return err
		}
	}
	if !o.SkipFloor {
		if err := r.floor(ctx); err != nil {
			return err
		}
	}
	r.rep.Memory.WholeRunMiB = mib(max(r.wholePeak, peakRSS()))
	r.rep.Wall.Total = secs(time.Since(wall))
	r.rep.Machine.LoadAverage[1] = loadAverage()
	if o.JSON {
		return r.rep.writeJSON(stdout)
	}
	r.rep.writeTable(stdout)
	return nil
}

// changelogOffNote is the report's note for a run on a NATS of the caller's without
// --changelog, which serve would write there by default.
const changelogOffNote = "the worker wrote no changelog; serve writes it by default with nats.url " +
	"(--changelog measures it, docs/performance.md, \"The changelog at 2,000/s\")"

func (r *benchRun) newReport() *Report {
	vs := maps.Clone(r.o.Versions)
	if vs == nil {
		vs = map[string]string{}
	}
	for _, k := range []string{"a2a", "ucp", "ap2"} {
		delete(vs, k)
	}
	where := "embedded nats-server, JetStream file storage under --data"
	if !r.cfg.NATS.Embedded() {
		where = r.o.redact(r.cfg.NATS.URL)
	}
	data := r.cfg.DataDir
	if r.o.Data == "" {
		data += " (temporary)"
	}
	return &Report{
		Machine: Machine{
			LoadAverage: [2]float64{loadAverage(), 0}, Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
			OS: runtime.GOOS + "/" + runtime.GOARCH, CPU: cpuModel(),
		},
		Versions: vs,
		Settings: Settings{
			N: r.o.N, Contexts: r.o.Contexts, LatencyN: r.o.LatencyN, Partitions: r.cfg.Partitions,
			Batch: r.cfg.Batch.Size, MaxWaitMS: ms(r.cfg.Batch.MaxWait), Preload: r.o.Preload, Fsync: true, Changelog: r.cfg.Changelog,
			StoreCacheMiB: r.cfg.Store.CacheMiB, StoreMemTableMiB: r.cfg.Store.MemTableMiB, StoreStateCacheMiB: r.cfg.Store.StateCacheMiB,
			NATS: where, Items: r.items[:], Inventory: r.o.Inventory, Data: data,
			Mix: []string{"create_checkout", "add_item ×3", "set_buyer", "set_shipping_address (CA)",
				"select_shipping_option (std)", "complete_checkout (tok_visa)"},
		},
	}
}

// preload fills the store, reopens it and compacts it (unless --preload-unsettled), so
// that the worker starts on it as serve would on a store of that size, not on the
// preload's memtables, garbage and compactions left to do.
func (r *benchRun) preload(ctx context.Context, path string) error {
	start := time.Now()
	prog := startProgress(r.errw, "preloading stored checkouts", r.o.Preload)
	err := preloadStore(ctx, r.st, r.cfg, r.tenant, r.items, r.o.Preload, prog)
	prog.end()
	if err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	d := time.Since(start)
	p := &Preload{Checkouts: r.o.Preload, Seconds: secs(d), PerSecond: float64(r.o.Preload) / secs(d)}
	r.rep.Preload = p
	r.say("preloaded %d checkouts in %.1f s", r.o.Preload, secs(d))
	// The preload writes a hundred times faster than a worker, and leaves compactions
	// behind (about 135 MiB of them after a million checkouts) that a store grown at a
	// worker's pace never carries: measured on them, the phase would pay for the preload.
	// What it left is taken here, its last writes flushed, before opening the store again
	// reads every key of the tables the store keeps a filter of, which has Pebble compact
	// the files it read most.
	if err := r.st.Flush(); err != nil {
		return err
	}
	m := r.st.Metrics()
	p.DebtMiB, p.L0Files = float64(m.Compact.EstimatedDebt)/(1<<20), m.Levels[0].NumFiles
	err = r.st.Close()
	r.st = nil
	if err != nil {
		return err
	}
	if r.st, err = openStore(path, r.cfg); err != nil {
		return err
	}
	if !r.o.PreloadUnsettled {
		t := time.Now()
		if err := r.st.Compact(); err != nil {
			return err
		}
		p.SettleSeconds = secs(time.Since(t))
		r.say("compacted the preloaded store (%.0f MiB behind, %d files in L0) in %.1f s", p.DebtMiB, p.L0Files, p.SettleSeconds)
	}
	p.L0FilesAtStart = r.st.Metrics().Levels[0].NumFiles
	r.rep.Wall.Preload = secs(time.Since(start))
	return nil
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
	opts, err := r.o.natsOptions(r.cfg.NATS, "cartwright-bench-worker")
	if err != nil {
		return fail(usageErr("%v", err))
	}
	r.url = url
	r.nc, err = nats.Connect(url, append(opts, nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectBufSize(64<<20))...)
	if err != nil {
		return fail(fmt.Errorf("connect to NATS at %s: %w", r.o.redact(url), err))
	}
	aopts, _ := r.o.natsOptions(r.cfg.NATS, "cartwright-bench-agents")
	if r.ac, err = nats.Connect(url, aopts...); err != nil {
		return fail(fmt.Errorf("connect to NATS at %s: %w", r.o.redact(url), err))
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
