package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/bench"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

// options are the settings `cartwright bench` passes when given only --n.
func options(n int) bench.Options {
	return bench.Options{
		N: n, Contexts: n / bench.StepsPerContext, Items: "sku_tee,sku_mug,sku_gift", Prefix: "a2a", Inventory: "store",
		Versions: map[string]string{"cartwright": "v9.9.9", "go": "go1.26", "a2a": "0.3", "ucp": "2026-04-08", "ap2": "0.2"},
	}
}

// run runs the bench and returns its report and its progress.
func run(t *testing.T, o bench.Options) (stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	if err := bench.Run(context.Background(), o, &out, &errw); err != nil {
		t.Fatalf("bench.Run: %v\n%s", err, errw.String())
	}
	return out.String(), errw.String()
}

// TestRunTiny runs the bench at a tiny size and checks that its report holds every
// figure under the names scripts read from --json. It judges no speed: a benchmark is not
// a timed test.
func TestRunTiny(t *testing.T) {
	o := options(2000)
	o.Contexts, o.JSON = 250, true
	o.LatencyN, o.LatencyTrace = 1000, filepath.Join(t.TempDir(), "lat")
	stdout, stderr := run(t, o)
	var rep struct {
		Settings struct {
			N, Contexts, Partitions, Batch int
			Fsync, Changelog               bool
			GoGCPercent                    int `json:"go_gc_percent"`
		}
		Machine    struct{ Cores int }
		Versions   map[string]string
		Throughput struct {
			Envelopes int     `json:"envelopes"`
			PerSecond float64 `json:"per_second"`
		}
		Latency *struct {
			Received int     `json:"received"`
			Rate     float64 `json:"offered_per_second"`
			P50      float64 `json:"p50_ms"`
			P99      float64 `json:"p99_ms"`
			P999     float64 `json:"p99_9_ms"`
			CPU      float64 `json:"cpu_us_per_envelope"`
			Store    *struct {
				Flushes           *int64   `json:"flushes"`
				Compactions       *int64   `json:"compactions"`
				CompactionSeconds *float64 `json:"compaction_seconds"`
			} `json:"store"`
		}
		Memory struct {
			PeakRSS           float64 `json:"peak_rss_mib"`
			StateCacheHits    int     `json:"state_cache_hits"`
			StateCacheMisses  int     `json:"state_cache_misses"`
			StateCacheHitRate float64 `json:"state_cache_hit_rate"`
		}
		Baseline *struct {
			PerSecond float64 `json:"per_second"`
		}
		Ratio    float64
		Skeleton *struct {
			Envelopes    int     `json:"envelopes"`
			PerSecond    float64 `json:"per_second"`
			CPUMicrosPer float64 `json:"cpu_us_per_message"`
			Consumers    int     `json:"consumers"`
			ReplyBytes   int     `json:"reply_bytes"`
			StateBytes   int     `json:"state_bytes"`
		}
		RequestReply *struct {
			Envelopes int     `json:"envelopes"`
			PerSecond float64 `json:"per_second"`
			Batches   int     `json:"batches"`
		} `json:"request_reply"`
		SkeletonRequestReply *struct {
			Envelopes int     `json:"envelopes"`
			PerSecond float64 `json:"per_second"`
		} `json:"skeleton_request_reply"`
		RequestReplyOverSkeleton float64 `json:"request_reply_over_skeleton"`
		SkeletonOverBaseline     float64 `json:"skeleton_over_baseline"`
		SkeletonWithEvents       *struct {
			Envelopes  int     `json:"envelopes"`
			PerSecond  float64 `json:"per_second"`
			Events     int     `json:"events"`
			EventBytes int     `json:"event_bytes"`
		} `json:"skeleton_with_events"`
		OverSkeletonWithEvents float64 `json:"cartwright_over_skeleton_with_events"`
		EventsOverSkeleton     float64 `json:"skeleton_with_events_over_skeleton"`
		EventsOverBaseline     float64 `json:"skeleton_with_events_over_baseline"`
		SkeletonLatency        *struct {
			Received int     `json:"received"`
			Measured int     `json:"measured"`
			Rate     float64 `json:"offered_per_second"`
			P50      float64 `json:"p50_ms"`
			P99      float64 `json:"p99_ms"`
			// The worker's own figures: none for the skeleton.
			Batches *int            `json:"batches"`
			Store   json.RawMessage `json:"store"`
		} `json:"skeleton_latency"`
		SkeletonP99HalfLoad *float64 `json:"skeleton_p99_ms_half_load"`
		LatencyFixed        *struct {
			Received int     `json:"received"`
			Measured int     `json:"measured"`
			Rate     float64 `json:"offered_per_second"`
			P50      float64 `json:"p50_ms"`
			P99      float64 `json:"p99_ms"`
		} `json:"latency_fixed_rate"`
		// The top-level figures scripts read.
		OverSkeleton *float64 `json:"cartwright_over_skeleton"`
		OverBare     *float64 `json:"cartwright_over_bare"`
		P99HalfLoad  *float64 `json:"p99_ms_half_load"`
		P99FixedRate *float64 `json:"p99_ms_fixed_rate"`
		RSSMiB       *float64 `json:"rss_mib"`
		Outcomes     struct {
			Completed   int    `json:"completed_checkouts"`
			DeadLetters uint64 `json:"dead_letters"`
			Events      int    `json:"events"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, stdout)
	}
	s := rep.Settings
	if s.N != 2000 || s.Contexts != 250 || s.Partitions < 1 || s.Batch < 1 || !s.Fsync || rep.Machine.Cores < 1 {
		t.Errorf("settings: %+v, machine %+v", s, rep.Machine)
	}
	// With the embedded server, serve writes no changelog, and neither does the bench
	// unless told; there is nothing to note about it.
	if s.Changelog || strings.Contains(stdout, "changelog;") {
		t.Errorf("changelog %v in an embedded run without --changelog, or a note about it", s.Changelog)
	}
	// The embedded server's heap is in the process: serve's collector target for it.
	if os.Getenv("GOGC") == "" && s.GoGCPercent != config.DefaultEmbeddedGCPercent {
		t.Errorf("GC target %d%%, want serve's default with the embedded server, %d", s.GoGCPercent, config.DefaultEmbeddedGCPercent)
	}
	// The versions given, but for the protocols', and the server's it ran on.
	if v := rep.Versions; v["cartwright"] != "v9.9.9" || v["go"] != "go1.26" || v["nats-server"] == "" ||
		v["a2a"] != "" || v["ucp"] != "" || v["ap2"] != "" {
		t.Errorf("versions: %v", v)
	}
	if o.Versions["a2a"] != "0.3" {
		t.Errorf("the caller's versions changed: %v", o.Versions)
	}
	if rep.Throughput.Envelopes != 2000 || rep.Throughput.PerSecond <= 0 {
		t.Errorf("throughput: %+v", rep.Throughput)
	}
	// Each context's first step finds no state, and its later steps find it in the
	// batch they ride in or in the cache of recent states, which holds all 250: one miss
	// per context.
	if m := rep.Memory; m.StateCacheMisses != 250 || m.StateCacheHits < 250 || m.StateCacheHits+m.StateCacheMisses > 2000 ||
		m.StateCacheHitRate != float64(m.StateCacheHits)/float64(m.StateCacheHits+m.StateCacheMisses) {
		t.Errorf("state cache: %d hits, %d misses, rate %.3f; want 250 misses", m.StateCacheHits, m.StateCacheMisses, m.StateCacheHitRate)
	}
	if rep.Baseline == nil || rep.Baseline.PerSecond <= 0 || rep.Ratio <= 0 {
		t.Errorf("baseline: %+v, ratio %v", rep.Baseline, rep.Ratio)
	}
	if f := rep.Skeleton; f == nil || f.Envelopes != 2000 || f.PerSecond <= 0 || f.CPUMicrosPer <= 0 ||
		f.Consumers != s.Partitions || f.ReplyBytes <= 0 || f.StateBytes <= 0 || rep.SkeletonOverBaseline <= 0 {
		t.Errorf("skeleton: %+v, skeleton/baseline %v", f, rep.SkeletonOverBaseline)
	}
	// The skeleton with events stored exactly as many events as the worker published
	// (each of its 250 completions has four), of a completion's events' size.
	if f := rep.SkeletonWithEvents; f == nil || f.Envelopes != 2000 || f.PerSecond <= 0 || rep.Outcomes.Events != 1000 ||
		f.Events != rep.Outcomes.Events || f.EventBytes < 500 || rep.OverSkeletonWithEvents != rep.Throughput.PerSecond/f.PerSecond {
		t.Errorf("skeleton with events: %+v, cartwright over it %v, the worker's events %d", f, rep.OverSkeletonWithEvents, rep.Outcomes.Events)
	}
	if f, sk, b := rep.SkeletonWithEvents, rep.Skeleton, rep.Baseline; f != nil && sk != nil && b != nil &&
		(rep.EventsOverSkeleton != f.PerSecond/sk.PerSecond || rep.EventsOverBaseline != f.PerSecond/b.PerSecond) {
		t.Errorf("skeleton with events over the skeleton %v, over the baseline %v", rep.EventsOverSkeleton, rep.EventsOverBaseline)
	}
	// Request/reply: the worker's (every reply received on the _INBOX) and the skeleton's.
	if rr := rep.RequestReply; rr == nil || rr.Envelopes != 2000 || rr.PerSecond <= 0 || rr.Batches == 0 {
		t.Errorf("request/reply: %+v", rr)
	}
	if rr := rep.SkeletonRequestReply; rr == nil || rr.Envelopes != 2000 || rr.PerSecond <= 0 || rep.RequestReplyOverSkeleton <= 0 {
		t.Errorf("skeleton, request/reply: %+v, cartwright/skeleton %v", rr, rep.RequestReplyOverSkeleton)
	}
	if l := rep.Latency; l == nil || l.Received == 0 || l.P50 <= 0 || l.P99 < l.P50 || l.P999 < l.P99 || l.CPU <= 0 {
		t.Errorf("latency: %+v", l)
	}
	// What the store did over the phase (TestStoreActivity checks the counting).
	if l := rep.Latency; l != nil && (l.Store == nil || l.Store.Flushes == nil || l.Store.Compactions == nil ||
		l.Store.CompactionSeconds == nil || *l.Store.Flushes < 0 || *l.Store.Compactions < 0 || *l.Store.CompactionSeconds < 0) {
		t.Errorf("latency: the store's activity: %+v", l.Store)
	}
	// The skeleton served at the half-load phase's rate: every reply came, named after its
	// envelope's messageId (the quantiles are over replies matched so).
	if l, h := rep.SkeletonLatency, rep.Latency; l == nil || h == nil || l.Received != o.LatencyN || l.Measured == 0 ||
		l.Rate <= 0 || l.Rate != h.Rate || l.P50 <= 0 || l.P99 < l.P50 ||
		rep.SkeletonP99HalfLoad == nil || *rep.SkeletonP99HalfLoad != l.P99 || l.Batches != nil || l.Store != nil {
		t.Errorf("skeleton latency: %+v (top-level p99 %v)", l, rep.SkeletonP99HalfLoad)
	}
	// The fixed rate's phase: 2,000/s by default, quantiles over its steady part only.
	if l := rep.LatencyFixed; l == nil || l.Received == 0 || l.Rate != 2000 || l.Measured == 0 || l.Measured >= l.Received ||
		l.P50 <= 0 || l.P99 < l.P50 {
		t.Errorf("latency at a fixed rate: %+v", l)
	}
	for name, v := range map[string]*float64{"cartwright_over_skeleton": rep.OverSkeleton, "cartwright_over_bare": rep.OverBare,
		"p99_ms_half_load": rep.P99HalfLoad, "p99_ms_fixed_rate": rep.P99FixedRate, "rss_mib": rep.RSSMiB} {
		if v == nil || *v <= 0 {
			t.Errorf("top-level %s: %v", name, v)
		}
	}
	if rep.OverBare != nil && *rep.OverBare != rep.Ratio || rep.RSSMiB != nil && *rep.RSSMiB != rep.Memory.PeakRSS ||
		rep.P99HalfLoad != nil && rep.Latency != nil && *rep.P99HalfLoad != rep.Latency.P99 {
		t.Errorf("top-level figures differ from the report's own")
	}
	if rep.Memory.PeakRSS <= 0 {
		t.Errorf("peak RSS: %v", rep.Memory.PeakRSS)
	}
	// --latency-trace: a row per envelope of each phase, its reply's time among them.
	for file, n := range map[string]int{"half-load": o.LatencyN, "fixed-rate": o.LatencyN} {
		checkLatencyTrace(t, o.LatencyTrace+"-"+file+".csv", n)
	}
	if rep.Outcomes.Completed != 250 || rep.Outcomes.DeadLetters != 0 {
		t.Errorf("outcomes: %+v (every checkout should complete)\n%s", rep.Outcomes, stderr)
	}
	// The JSON is the Report as it is: it decodes into it whole.
	var whole bench.Report
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&whole); err != nil || whole.Throughput.Envelopes != 2000 || whole.Throughput.Batches == 0 {
		t.Errorf("report into bench.Report: %v, %+v", err, whole.Throughput)
	}
}

// checkLatencyTrace checks a --latency-trace file: a header, then envelopes rows of
// index, publish time, reply time and whether it counts, in publish order, every reply in.
func checkLatencyTrace(t *testing.T, file string, envelopes int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("latency trace: %v", err)
	}
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")
	if rows[0] != "index,sent_ms,latency_ms,steady" || len(rows)-1 != envelopes {
		t.Fatalf("%s: header %q, %d rows, want %d", file, rows[0], len(rows)-1, envelopes)
	}
	last, steady := -1.0, 0
	for i, row := range rows[1:] {
		var idx int
		var sent, lat float64
		var st bool
		if _, err := fmt.Sscanf(strings.ReplaceAll(row, ",", " "), "%d %f %f %t", &idx, &sent, &lat, &st); err != nil ||
			idx != i || sent < last || lat <= 0 {
			t.Fatalf("%s row %d: %q (%v)", file, i, row, err)
		}
		last = sent
		if st {
			steady++
		}
	}
	if steady == 0 || steady == envelopes {
		t.Errorf("%s: %d of %d rows in the steady part", file, steady, envelopes)
	}
}

// TestRunTable prints the reference figures' rows: the baseline's, the skeleton's, the
// request/reply figure and the ratios; SkipFloor leaves the skeleton out, and only it.
func TestRunTable(t *testing.T) {
	o := options(400)
	o.SkipLatency = true
	stdout, _ := run(t, o)
	for _, row := range []string{"baseline (bare consumer)", "cartwright / baseline", "skeleton (fair floor)", "skeleton / baseline",
		"cartwright / skeleton", "skeleton with events", "skeleton with events / skeleton", "skeleton with events / baseline",
		"cartwright / skeleton with events",
		"request/reply", "request/reply (skeleton)", "cartwright / skeleton, request/reply"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(row) + ` +\S`).MatchString(stdout) {
			t.Errorf("no %q row in the report:\n%s", row, stdout)
		}
	}
	o.SkipFloor = true
	stdout, _ = run(t, o)
	if strings.Contains(stdout, "floor") || strings.Contains(stdout, "skeleton") || !strings.Contains(stdout, "cartwright / baseline") {
		t.Errorf("SkipFloor: the report:\n%s", stdout)
	}
}

// TestRunOnNATS runs on a NATS of the caller's: the URL reaches the report and the
// errors only through RedactURL, and streams that exist there are refused.
func TestRunOnNATS(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	ns := testenv.StartTestNATS(t)
	redact := func(u string) string { return "redacted(" + strings.TrimPrefix(u, "nats://") + ")" }
	shown := redact(ns.URL())
	o := options(80)
	o.SkipLatency, o.SkipBaseline, o.SkipFloor, o.JSON = true, true, true, true
	o.NATS, o.RedactURL = config.NATS{URL: ns.URL()}, redact
	named := ""
	o.NATSOptions = func(n config.NATS, name string) ([]nats.Option, error) {
		if n.URL != ns.URL() {
			t.Errorf("NATSOptions got %+v", n)
		}
		if name == "cartwright-bench-worker" {
			named = name
		}
		return []nats.Option{nats.Name(name)}, nil
	}
	stdout, _ := run(t, o)
	var rep bench.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Settings.NATS != shown || named == "" || strings.Contains(stdout, ns.URL()) {
		t.Errorf("nats %q (want %q), worker's connection named %q", rep.Settings.NATS, shown, named)
	}
	// The RSS is the bench process's alone, and says so: the server is another process.
	if m := rep.Memory; m.PeakRSSMiB <= 0 || rep.RSSMiB != m.PeakRSSMiB || !strings.Contains(m.RSSOf, "not counted") ||
		strings.Contains(m.RSSOf, "embedded") {
		t.Errorf("RSS with a NATS of the caller's: %v MiB, rss_mib %v, of %q", m.PeakRSSMiB, rep.RSSMiB, m.RSSOf)
	}
	// The worker runs under serve's Go memory limit for NATS apart, and the peak is split.
	if rep.Settings.GoMemoryLimitMiB != config.DefaultMemoryLimitMiB {
		t.Errorf("Go memory limit %d MiB, want serve's default with nats.url, %d", rep.Settings.GoMemoryLimitMiB, config.DefaultMemoryLimitMiB)
	}
	// Without --changelog, where serve would write it: said, in the settings and a note.
	if rep.Settings.Changelog || !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "--changelog measures it") }) {
		t.Errorf("changelog %v, notes %q: want off, and a note that serve writes it with nats.url", rep.Settings.Changelog, rep.Notes)
	}
	if os.Getenv("GOGC") == "" && rep.Settings.GoGCPercent != 100 {
		t.Errorf("GC target %d%%, want serve's default with nats.url, the runtime's 100", rep.Settings.GoGCPercent)
	}
	if m := rep.Memory; m.PeakFileMiB <= 0 || m.PeakAnonMiB <= 0 || m.PeakGoHeldMiB <= 0 || m.PeakFileMiB+m.PeakAnonMiB > m.PeakRSSMiB+1 {
		t.Errorf("peak %v MiB split into files %v, anonymous %v, Go %v", m.PeakRSSMiB, m.PeakFileMiB, m.PeakAnonMiB, m.PeakGoHeldMiB)
	}

	// The run removed its streams; one of the worker's left there is refused.
	nc := testenv.NewClient(t, ns.URL())
	if err := bus.Provision(context.Background(), nc.JetStream(), bus.Topology{Prefix: "a2a", Partitions: 4}); err != nil {
		t.Fatal(err)
	}
	var errw bytes.Buffer
	err := bench.Run(context.Background(), o, &bytes.Buffer{}, &errw)
	var ue *bench.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "exists on "+shown) || strings.Contains(err.Error(), ns.URL()) {
		t.Errorf("existing streams: %v", err)
	}
}

// TestRunRefuses refuses settings that cannot run, as a usage error, before it starts.
func TestRunRefuses(t *testing.T) {
	for name, edit := range map[string]func(*bench.Options){
		"n not 8 × contexts": func(o *bench.Options) { o.Contexts = 300 },
		"no context":         func(o *bench.Options) { o.N, o.Contexts = 0, 0 },
		"negative preload":   func(o *bench.Options) { o.Preload = -1 },
		"inventory":          func(o *bench.Options) { o.Inventory = "shelf" },
		"two items":          func(o *bench.Options) { o.Items = "sku_tee,sku_mug" },
		"URL unredacted":     func(o *bench.Options) { o.NATS.URL = "nats://u:secret@127.0.0.1:1" },
		"workers, no binary": func(o *bench.Options) { o.Workers = 2 },
		"workers, memory":    func(o *bench.Options) { o.Workers, o.WorkerBinary, o.Inventory = 2, "cartwright", "memory" },
		"workers, preload":   func(o *bench.Options) { o.Workers, o.WorkerBinary, o.Preload = 2, "cartwright", 10 },
		"negative workers":   func(o *bench.Options) { o.Workers = -1 },
		"data not empty": func(o *bench.Options) {
			o.Data = t.TempDir()
			if err := os.WriteFile(filepath.Join(o.Data, "kept"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			o := options(2000)
			edit(&o)
			var out bytes.Buffer
			err := bench.Run(context.Background(), o, &out, &bytes.Buffer{})
			var ue *bench.UsageError
			if !errors.As(err, &ue) || out.Len() > 0 || strings.Contains(err.Error(), "secret") {
				t.Errorf("got %v (%T), report %q", err, err, out.String())
			}
		})
	}
}

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestRunWorkers runs the throughput phase with two worker processes in one group, on a
// NATS of the caller's: every checkout completes, nothing is dead-lettered, both workers
// own partitions and handle envelopes, the report names the group's throughput at the
// top, and the run leaves no stream behind (the group's bucket and the changelog's
// included).
func TestRunWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ns := testenv.StartTestNATS(t)
	o := options(800)
	o.SkipBaseline, o.SkipFloor, o.JSON, o.Changelog = true, true, true, true
	o.NATS, o.RedactURL = config.NATS{URL: ns.URL()}, func(u string) string { return u }
	o.Workers, o.WorkerBinary = 2, testenv.Binary(t)
	stdout, stderr := run(t, o)
	names := testenv.NewClient(t, ns.URL()).JetStream().StreamNames(context.Background())
	for name := range names.Name() {
		t.Errorf("stream %s left behind", name)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, stdout)
	}
	g := rep.Group
	if rep.Workers != 2 || g == nil || g.Workers != 2 || len(g.PerWorker) != 2 {
		t.Fatalf("workers %d, group %+v\n%s", rep.Workers, g, stderr)
	}
	if rep.Throughput.Envelopes != 800 || rep.GroupPerSecond <= 0 || rep.GroupPerSecond != rep.Throughput.PerSecond ||
		rep.Throughput.CPUMicrosPer <= 0 || g.WorkersCPUSeconds <= 0 {
		t.Errorf("throughput %+v, group %v/s, workers' CPU %v s", rep.Throughput, rep.GroupPerSecond, g.WorkersCPUSeconds)
	}
	owned, handled := 0, 0
	for _, w := range g.PerWorker {
		if w.PartitionsOwned < 1 || w.Envelopes < 1 {
			t.Errorf("worker %s: %d partitions owned, %d envelopes handled", w.ID, w.PartitionsOwned, w.Envelopes)
		}
		owned += w.PartitionsOwned
		handled += w.Envelopes
	}
	if !rep.Settings.Changelog || slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "--changelog measures it") }) {
		t.Errorf("changelog %v, notes %q: want on, and no note that it is off", rep.Settings.Changelog, rep.Notes)
	}
	if owned != rep.Settings.Partitions || handled < 800 {
		t.Errorf("%d partitions owned of %d; %d envelopes handled of 800", owned, rep.Settings.Partitions, handled)
	}
	if rep.Outcomes.Completed != 100 || rep.Outcomes.Contexts != 100 || rep.Outcomes.DeadLetters != 0 {
		t.Errorf("outcomes: %+v (every checkout should complete)\n%s", rep.Outcomes, stderr)
	}
	if !strings.Contains(g.Note, "not how it scales") || rep.Latency != nil || rep.RequestReply != nil {
		t.Errorf("note %q; latency %v, request/reply %v", g.Note, rep.Latency, rep.RequestReply)
	}
}

// TestPreloadCompactedFirst: the preloaded store is compacted before the worker starts
// (the report says how long it took), unless --preload-unsettled asks to measure on the
// preload's compactions; the worker then handles every envelope on the stored checkouts.
func TestPreloadCompactedFirst(t *testing.T) {
	for _, unsettled := range []bool{false, true} {
		o := options(400)
		o.Preload, o.PreloadUnsettled, o.JSON = 20000, unsettled, true
		o.SkipLatency, o.SkipBaseline, o.SkipFloor, o.SkipRequestReply = true, true, true, true
		stdout, stderr := run(t, o)
		var rep struct {
			Preload *struct {
				Checkouts     int     `json:"checkouts"`
				DebtMiB       float64 `json:"compaction_debt_mib"`
				L0Files       *int64  `json:"l0_files"`
				L0AtStart     int64   `json:"l0_files_at_start"`
				SettleSeconds float64 `json:"settle_seconds"`
			}
			Throughput struct {
				Envelopes int `json:"envelopes"`
			}
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("report: %v\n%s", err, stdout)
		}
		p := rep.Preload
		switch {
		case p == nil || p.Checkouts != 20000 || p.L0Files == nil || p.DebtMiB < 0:
			t.Fatalf("unsettled=%v: preload report %+v", unsettled, p)
		case *p.L0Files == 0:
			t.Fatalf("unsettled=%v: the preload left no file in L0: the test proves nothing", unsettled)
		case !unsettled && (p.SettleSeconds <= 0 || p.L0AtStart != 0):
			t.Errorf("the preloaded store was not compacted: settle_seconds %v, %d files in L0 at the start\n%s",
				p.SettleSeconds, p.L0AtStart, stderr)
		case unsettled && p.SettleSeconds != 0:
			t.Errorf("--preload-unsettled compacted the store (settle_seconds %v)", p.SettleSeconds)
		}
		if rep.Throughput.Envelopes != 400 {
			t.Errorf("unsettled=%v: %d envelopes handled, want 400", unsettled, rep.Throughput.Envelopes)
		}
	}
}
