package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/store"
)

// Group is the throughput phase of --workers N: N worker processes, each `serve` of
// Options.WorkerBinary with a data directory of its own, in one group on the bench's
// NATS.
type Group struct {
	Workers int `json:"workers"`
	// SettleSeconds is how long from starting the processes until every partition was
	// owned and the counts were even.
	SettleSeconds float64 `json:"settle_seconds"`
	// PerSecond is the group's throughput (as Throughput.PerSecond).
	PerSecond float64 `json:"per_second"`
	// WorkersCPUSeconds is the workers' CPU over the phase, all of them; BenchCPUSeconds
	// the bench process's (the nats-server when it is embedded, the publisher, the polls).
	WorkersCPUSeconds float64        `json:"workers_cpu_seconds"`
	BenchCPUSeconds   float64        `json:"bench_cpu_seconds"`
	PerWorker         []GroupWorker  `json:"per_worker"`
	Note              string         `json:"note"`
	ByOutcome         map[string]int `json:"envelopes_by_outcome"`
}

// GroupWorker is what one worker's /metrics said at the end of the phase.
type GroupWorker struct {
	ID string `json:"id"`
	// PartitionsOwned is cartwright_partitions_owned; Takeovers
	// cartwright_partition_takeovers_total.
	PartitionsOwned int `json:"partitions_owned"`
	Takeovers       int `json:"takeovers"`
	// Envelopes is what it handled (cartwright_envelopes_total, every outcome).
	Envelopes  int     `json:"envelopes"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// PeakRSSMiB is the process's VmHWM over its whole life (0 where /proc is not there).
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	BatchStats
}

// groupWorker is one worker process of the group.
type groupWorker struct {
	id, data, http string
	cmd            *exec.Cmd
	log            *os.File
	exited         chan struct{}
	cpu0           float64
}

// measureWorkers is the throughput phase with o.Workers worker processes: it starts them,
// waits until they share the partitions, then publishes the throughput mix and times it
// until every reply is stored and every envelope acknowledged.
func (r *benchRun) measureWorkers(ctx context.Context) (err error) {
	conf, err := r.groupConfig()
	if err != nil {
		return err
	}
	t0 := time.Now()
	ws := make([]*groupWorker, r.o.Workers)
	defer func() {
		for _, w := range ws {
			if w != nil {
				if serr := w.stop(); serr != nil && err == nil {
					err = serr
				}
			}
		}
	}()
	for i := range ws {
		if ws[i], err = r.startGroupWorker(ctx, i+1, conf); err != nil {
			return err
		}
	}
	if err := r.settle(ctx, ws); err != nil {
		return err
	}
	g := &Group{Workers: len(ws), SettleSeconds: secs(time.Since(t0)), ByOutcome: map[string]int{}}
	r.rep.Group, r.rep.Workers = g, len(ws)
	r.rep.Notes = append(r.rep.Notes, "--workers: the latency and request/reply phases, which measure the worker in the bench's process, are not run")
	r.say("%d workers share the %d partitions after %.1f s", len(ws), r.cfg.Partitions, g.SettleSeconds)
	for _, w := range ws {
		m, err := w.metrics(ctx)
		if err != nil {
			return err
		}
		w.cpu0 = m.value("process_cpu_seconds_total")
	}

	// The workers run already: the envelopes are handled while they are published.
	mix := newBenchMix(r.cfg.Prefix, r.tenant, 't', r.o.Contexts, r.items)
	n := mix.Len()
	cpu0, busy0 := cpuTime(), machineBusy()
	meter, before := startPeak()
	r.wholePeak = max(r.wholePeak, before)
	start := time.Now()
	prog := startProgress(r.errw, "publishing, the workers running", n)
	d, avg, err := publishAll(ctx, r.pub, mix, r.cfg.Prefix, prog)
	prog.end()
	if err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	r.rep.Publish = Rate{Envelopes: n, Seconds: secs(d), PerSecond: float64(n) / secs(d), AvgBytes: avg}
	prog = startProgress(r.errw, "throughput (replies stored)", n)
	first, end, err := r.waitDone(ctx, n, prog)
	prog.end()
	cpu, busy := cpuTime()-cpu0, machineBusy()-busy0
	peak := meter.stop()
	if err != nil {
		return fmt.Errorf("throughput phase: %w", err)
	}
	r.wholePeak = max(r.wholePeak, peak)
	elapsed := end.Sub(start)

	var all workerStats
	for _, w := range ws {
		m, err := w.metrics(ctx)
		if err != nil {
			return err
		}
		s := m.stats()
		gw := GroupWorker{ID: w.id, PartitionsOwned: int(m.value("cartwright_partitions_owned")),
			Takeovers: int(m.value("cartwright_partition_takeovers_total")), Envelopes: int(s.envelopesByOutcome()),
			CPUSeconds: m.value("process_cpu_seconds_total") - w.cpu0, PeakRSSMiB: mib(processPeakRSS(w.cmd.Process.Pid)),
			BatchStats: perBatch(workerStats{}, s)}
		g.PerWorker = append(g.PerWorker, gw)
		g.WorkersCPUSeconds += gw.CPUSeconds
		for k, v := range s.outcomes {
			g.ByOutcome[k] += v
		}
		all.add(s)
	}
	g.BenchCPUSeconds = secs(cpu)
	g.PerSecond = float64(n) / secs(elapsed)
	r.rep.GroupPerSecond = g.PerSecond
	g.Note = fmt.Sprintf("%d worker processes, the nats-server and the bench share %d cores: the figure shows that the group "+
		"serves the workload, not how it scales with more machines", len(ws), r.rep.Machine.Cores)

	t := &r.rep.Throughput
	t.Envelopes, t.Seconds, t.PerSecond = n, secs(elapsed), g.PerSecond
	t.FirstReplySeconds = secs(first.Sub(start))
	// CPU is the workers' and the bench process's together: with one in-process worker it
	// is the one process's, the nats-server and the publisher included there too.
	t.CPUSeconds = g.WorkersCPUSeconds + g.BenchCPUSeconds
	t.CPUCores = t.CPUSeconds / secs(elapsed)
	t.OthersCores = max(0, (secs(busy)-t.CPUSeconds)/secs(elapsed))
	t.CPUMicrosPer = 1e6 * t.CPUSeconds / float64(n)
	t.BatchStats = perBatch(workerStats{}, all)
	r.rep.Outcomes.ByOutcome = g.ByOutcome
	m := &r.rep.Memory
	m.PeakRSSMiB, m.PeakRSSSource = mib(peak), meter.source()
	r.rep.RSSMiB = m.PeakRSSMiB
	m.RSSOf = "the bench's process: the embedded nats-server and the bench's client; each worker's is under group.per_worker"
	if !r.cfg.NATS.Embedded() {
		m.RSSOf = "the bench's process: its client only (the nats-server at --nats-url is another process); each worker's is under group.per_worker"
	}
	if err := r.streamCounts(ctx); err != nil {
		return err
	}
	r.say("throughput of the group: %.0f envelopes/s (%d in %.2f s)", g.PerSecond, n, t.Seconds)

	// The checkouts' states are in the workers' stores: stopped, they can be opened.
	var stores []*store.Store
	defer func() {
		for _, st := range stores {
			st.Close()
		}
	}()
	for i, w := range ws {
		if err := w.stop(); err != nil {
			return err
		}
		ws[i] = nil
		st, err := openStore(filepath.Join(w.data, "store"), r.cfg)
		if err != nil {
			return err
		}
		stores = append(stores, st)
	}
	return r.outcomesIn(mix, stores)
}

// groupConfig writes the workers' configuration file: the bench's settings (partitions,
// batch, changelog, where stock is kept, the NATS credentials but for the URL, which
// goes in the environment) and the demo tenant with the stock restock set.
func (r *benchRun) groupConfig() (string, error) {
	demo := config.Demo()
	demo.Builtin.Items = r.cfg.Tenants[r.tenant].Builtin.Items
	n := r.cfg.NATS
	n.URL = ""
	c := map[string]any{
		"prefix": r.cfg.Prefix, "partitions": r.cfg.Partitions, "batch": map[string]any{"size": r.cfg.Batch.Size},
		"changelog": r.cfg.Changelog, "stock": r.o.Inventory, "nats": n,
		"tenants": map[string]any{r.tenant: demo},
	}
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", err
	}
	if _, err := config.Parse(b); err != nil {
		return "", fmt.Errorf("the workers' configuration: %w", err)
	}
	path := filepath.Join(r.cfg.DataDir, "workers.yaml")
	return path, os.WriteFile(path, b, 0o600)
}

// startGroupWorker starts worker i (w<i>), its log in <data>/w<i>.log, and waits until
// its /readyz answers 200 (it has joined the group).
func (r *benchRun) startGroupWorker(ctx context.Context, i int, conf string) (*groupWorker, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	id := "w" + strconv.Itoa(i)
	w := &groupWorker{id: id, data: filepath.Join(r.cfg.DataDir, id), http: addr, exited: make(chan struct{})}
	if w.log, err = os.Create(filepath.Join(r.cfg.DataDir, id+".log")); err != nil {
		return nil, err
	}
	w.cmd = exec.Command(r.o.WorkerBinary, "serve", "--config", conf, "--data", w.data, "--worker-id", id,
		"--http-listen", addr, "--log-level", "warn", "--log-format", "json")
	// The URL in the environment, not on the command line (ps shows that).
	w.cmd.Env = append(os.Environ(), "CARTWRIGHT_NATS_URL="+r.url)
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	if err := w.cmd.Start(); err != nil {
		w.log.Close()
		return nil, fmt.Errorf("starting worker %s: %w", id, err)
	}
	go func() { w.cmd.Wait(); close(w.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-w.exited:
			return nil, fmt.Errorf("worker %s exited while starting: %s\n%s", id, w.cmd.ProcessState, w.logTail())
		case <-ctx.Done():
			w.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if code, _ := w.get(ctx, "/readyz"); code == http.StatusOK {
			return w, nil
		}
		if time.Now().After(deadline) {
			w.stop()
			return nil, fmt.Errorf("worker %s not ready after 30 s:\n%s", id, w.logTail())
		}
	}
}

// settle waits until the workers own every partition between them, as evenly as they
// can (counts differing by at most one), twice in a row 100 ms apart.
func (r *benchRun) settle(ctx context.Context, ws []*groupWorker) error {
	deadline := time.Now().Add(60 * time.Second)
	steady := 0
	for {
		sum, lo, hi := 0, r.cfg.Partitions, 0
		for _, w := range ws {
			m, err := w.metrics(ctx)
			if err != nil {
				return err
			}
			k := int(m.value("cartwright_partitions_owned"))
			sum, lo, hi = sum+k, min(lo, k), max(hi, k)
		}
		if sum == r.cfg.Partitions && hi-lo <= 1 {
			if steady++; steady == 2 {
				return nil
			}
		} else {
			steady = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the workers own %d of %d partitions (%d to %d each) after 60 s", sum, r.cfg.Partitions, lo, hi)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (w *groupWorker) get(ctx context.Context, path string) (int, []byte) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+w.http+path, nil)
	if err != nil {
		return 0, nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// metrics reads the worker's /metrics.
func (w *groupWorker) metrics(ctx context.Context) (scraped, error) {
	code, b := w.get(ctx, "/metrics")
	if code != http.StatusOK {
		return scraped{}, fmt.Errorf("worker %s: GET /metrics: %d", w.id, code)
	}
	return parseMetrics(string(b)), nil
}

// stop ends the worker as an operator does (SIGTERM: it hands its partitions over),
// killing it after 30 s.
func (w *groupWorker) stop() error {
	defer w.log.Close()
	select {
	case <-w.exited:
		return nil
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.exited
		return fmt.Errorf("worker %s did not stop within 30 s of SIGTERM", w.id)
	}
	if !w.cmd.ProcessState.Success() {
		return fmt.Errorf("worker %s exited with %s:\n%s", w.id, w.cmd.ProcessState, w.logTail())
	}
	return nil
}

// logTail is the end of the worker's log, for an error.
func (w *groupWorker) logTail() string {
	b, _ := os.ReadFile(w.log.Name())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// freeAddr is a loopback address with a port free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// scraped is a worker's /metrics: each sample's value by its name, and the
// envelopes by outcome.
type scraped struct {
	values   map[string]float64 // summed over the labels
	outcomes map[string]int
}

// parseMetrics reads the Prometheus text format, as far as the bench needs it.
func parseMetrics(text string) scraped {
	s := scraped{values: map[string]float64{}, outcomes: map[string]int{}}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		name, labels, _ := strings.Cut(line[:i], "{")
		s.values[name] += v
		if name == "cartwright_envelopes_total" {
			if _, rest, ok := strings.Cut(labels, `outcome="`); ok {
				outcome, _, _ := strings.Cut(rest, `"`)
				s.outcomes[outcome] += int(v)
			}
		}
	}
	return s
}

func (s scraped) value(name string) float64 { return s.values[name] }

// stats are the worker's batch figures and envelope counts since it started.
func (s scraped) stats() workerStats {
	return workerStats{
		batches: s.values["cartwright_batch_envelopes_count"], envelopes: s.values["cartwright_batch_envelopes_sum"],
		handle: s.values["cartwright_handle_seconds_sum"], commit: s.values["cartwright_commit_seconds_sum"],
		publish: s.values["cartwright_publish_seconds_sum"], outcomes: s.outcomes,
	}
}

// processPeakRSS is pid's VmHWM in bytes (0 where /proc is not there).
func processPeakRSS(pid int) int64 {
	return procStatusKBOf("/proc/"+strconv.Itoa(pid)+"/status", "VmHWM") << 10
}
