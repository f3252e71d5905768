package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what `cartwright bench` prints; --json prints it as is.
type Report struct {
	// The figures scripts read (0 when the phase that gives one was skipped):
	// cartwright's throughput over the skeleton's and over the bare consumer's, the p99
	// of the steady mix at half load and at the fixed rate, and the throughput phase's
	// peak RSS (Memory.PeakRSSMiB).
	CartwrightOverSkeleton float64 `json:"cartwright_over_skeleton"`
	CartwrightOverBare     float64 `json:"cartwright_over_bare"`
	P99MSHalfLoad          float64 `json:"p99_ms_half_load"`
	P99MSFixedRate         float64 `json:"p99_ms_fixed_rate"`
	RSSMiB                 float64 `json:"rss_mib"`
	// CartwrightOverSkeletonWithEvents is cartwright's throughput over the skeleton's
	// when the skeleton also stores the events the worker published
	// (SkeletonWithEvents).
	CartwrightOverSkeletonWithEvents float64 `json:"cartwright_over_skeleton_with_events,omitempty"`
	// SkeletonP99MSHalfLoad is the skeleton's p99 at the rate of the half-load phase, in
	// the same run (SkeletonLatency): what any worker that does what the contract forces
	// reaches there on this machine.
	SkeletonP99MSHalfLoad float64 `json:"skeleton_p99_ms_half_load,omitempty"`
	// Workers is the number of worker processes of --workers (0: the worker ran in the
	// bench's process), GroupPerSecond their group's throughput, Group the details.
	Workers        int     `json:"workers"`
	GroupPerSecond float64 `json:"group_per_second,omitempty"`
	Group          *Group  `json:"group,omitempty"`

	Machine  Machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	Settings Settings          `json:"settings"`

	Preload    *Preload   `json:"preload,omitempty"`
	Publish    Rate       `json:"publish"`
	Throughput Throughput `json:"throughput"`
	// Latency is the steady mix at half the measured throughput; LatencyFixed the same
	// mix at a fixed rate (2,000 envelopes/s unless --fixed-rate says otherwise).
	Latency      *Latency `json:"latency,omitempty"`
	LatencyFixed *Latency `json:"latency_fixed_rate,omitempty"`
	Memory       Memory   `json:"memory"`
	Outcomes     Outcomes `json:"outcomes"`
	Baseline     *Rate    `json:"baseline,omitempty"`
	Ratio        float64  `json:"ratio,omitempty"` // throughput / baseline
	// CPURatio is the baseline's CPU per message over cartwright's per envelope.
	CPURatio float64 `json:"cpu_ratio,omitempty"`
	// Skeleton is the fair floor (bench/floor.go); SkeletonOverBaseline its throughput
	// over the baseline's (cartwright's over the skeleton's is at the top),
	// SkeletonCPURatio the skeleton's CPU per envelope over cartwright's.
	Skeleton             *Skeleton `json:"skeleton,omitempty"`
	SkeletonOverBaseline float64   `json:"skeleton_over_baseline,omitempty"`
	SkeletonCPURatio     float64   `json:"skeleton_cpu_ratio,omitempty"`
	// SkeletonWithEvents is the skeleton again, also storing the worker's events (as
	// many per envelope, of the same sizes), each committed to its store first.
	SkeletonWithEvents *Skeleton `json:"skeleton_with_events,omitempty"`
	// SkeletonWithEventsOverSkeleton and SkeletonWithEventsOverBaseline are its
	// throughput over the skeleton's and over the baseline's: how near to either any
	// worker that stores the contract's events can come.
	SkeletonWithEventsOverSkeleton float64 `json:"skeleton_with_events_over_skeleton,omitempty"`
	SkeletonWithEventsOverBaseline float64 `json:"skeleton_with_events_over_baseline,omitempty"`
	// SkeletonLatency is the skeleton served as the worker serves (a chunk of what has
	// arrived at a time) under the steady mix at the half-load phase's rate.
	SkeletonLatency *Latency `json:"skeleton_latency,omitempty"`
	// RequestReply is the worker's throughput when every envelope carries A2A-Reply-To:
	// _INBOX.… (replies sent with core NATS, not stored); SkeletonRequestReply the
	// skeleton's with its replies sent so, and RequestReplyOverSkeleton the first over
	// the second.
	RequestReply             *RequestReply `json:"request_reply,omitempty"`
	SkeletonRequestReply     *Skeleton     `json:"skeleton_request_reply,omitempty"`
	RequestReplyOverSkeleton float64       `json:"request_reply_over_skeleton,omitempty"`
	Notes                    []string      `json:"notes,omitempty"`
	Wall                     WallSeconds   `json:"wall_seconds"`
}

type Machine struct {
	// LoadAverage is the one-minute load average when the run began and ended.
	LoadAverage [2]float64 `json:"load_average"`
	Cores       int        `json:"cores"`
	GOMAXPROCS  int        `json:"gomaxprocs"`
	OS          string     `json:"os"`
	CPU         string     `json:"cpu"`
}

type Settings struct {
	N          int     `json:"n"`
	Contexts   int     `json:"contexts"`
	LatencyN   int     `json:"latency_n"`
	Partitions int     `json:"partitions"`
	Batch      int     `json:"batch"`
	MaxWaitMS  float64 `json:"batch_max_wait_ms"`
	Preload    int     `json:"preload"`
	Fsync      bool    `json:"fsync"`
	// Changelog is whether the worker wrote the changelog (--changelog; serve writes it
	// by default with nats.url).
	Changelog bool `json:"changelog"`
	// GoMemoryLimitMiB is the Go runtime's soft limit (-1: none); StoreCacheMiB and
	// StoreMemTableMiB size Pebble, as serve does.
	GoMemoryLimitMiB int64 `json:"go_memory_limit_mib"`
	// GoGCPercent is the collector's target in force (-1: only near the limit), as
	// serve's gc_percent.
	GoGCPercent      int `json:"go_gc_percent"`
	StoreCacheMiB    int `json:"store_cache_mib"`
	StoreMemTableMiB int `json:"store_memtable_mib"`
	// StoreStateCacheMiB is the worker's cache of recent states (-1: none), as serve's
	// store.state_cache_mib.
	StoreStateCacheMiB int `json:"store_state_cache_mib"`
	// StoreCompactionNice is the nice value Pebble's compactions run at (0: the
	// process's), as serve's store.compaction_nice.
	StoreCompactionNice int      `json:"store_compaction_nice"`
	NATS                string   `json:"nats"`
	Items               []string `json:"items"`
	Inventory           string   `json:"inventory"`
	Mix                 []string `json:"mix"`
	Data                string   `json:"data"`
}

type Preload struct {
	Checkouts int     `json:"checkouts"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// DebtMiB is the compaction debt the preload left (Pebble's estimate) and L0Files the
	// files it left in level 0, its last writes flushed, before the store was reopened.
	DebtMiB float64 `json:"compaction_debt_mib"`
	L0Files int64   `json:"l0_files"`
	// L0FilesAtStart is the files in level 0 when the worker started: none once compacted.
	L0FilesAtStart int64 `json:"l0_files_at_start"`
	// SettleSeconds is how long compacting the store took before the worker started;
	// 0 with --preload-unsettled, which measures on the preload's debt.
	SettleSeconds float64 `json:"settle_seconds"`
}

// Rate is a number of messages over a time.
type Rate struct {
	Envelopes int     `json:"envelopes"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// CPUMicrosPer is the process's CPU time per message (baseline only).
	CPUMicrosPer float64 `json:"cpu_us_per_message,omitempty"`
	AvgBytes     int     `json:"avg_bytes,omitempty"`
	Consumers    int     `json:"consumers,omitempty"`
	FetchBatch   int     `json:"fetch_batch,omitempty"`
}

// Skeleton is a run of the skeleton: one consumer per partition that, per chunk, reads and
// writes each envelope's state and an idempotency record in Pebble, commits with fsync,
// publishes the replies, waits for their acknowledgements, then acks the envelopes.
type Skeleton struct {
	Rate
	// CPUCores is the process's CPU time over the phase divided by its time;
	// OthersCores what other processes used meanwhile.
	CPUCores    float64 `json:"cpu_cores"`
	OthersCores float64 `json:"others_cores"`
	// ReplyBytes is the size of each reply's data; ReplyBytesSource where it comes from.
	ReplyBytes       int    `json:"reply_bytes"`
	ReplyBytesSource string `json:"reply_bytes_source"`
	// StateBytes is the size of the state read and written per envelope.
	StateBytes       int    `json:"state_bytes"`
	StateBytesSource string `json:"state_bytes_source"`
	// Events is how many events the skeleton with events stored, EventBytes the
	// average size of their data, EventsSource where they come from.
	Events       int    `json:"events,omitempty"`
	EventBytes   int    `json:"event_bytes,omitempty"`
	EventsSource string `json:"events_source,omitempty"`
}

// RequestReply is the worker's request/reply phase.
type RequestReply struct {
	Rate
	CPUCores    float64 `json:"cpu_cores"`
	OthersCores float64 `json:"others_cores"`
	BatchStats
}

type Throughput struct {
	Rate
	// FirstReplySeconds is how long after the worker's start the first reply was stored.
	FirstReplySeconds float64 `json:"first_reply_seconds"`
	// CPUSeconds is the CPU time of the whole process over the phase; CPUCores that
	// divided by the phase's time (at most the machine's cores).
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUCores   float64 `json:"cpu_cores"`
	// OthersCores is the CPU other processes of the machine used over the phase, in
	// cores: what the figures were measured beside.
	OthersCores float64 `json:"others_cores"`
	// CPUMicrosPer is the process's CPU time per envelope, a figure that other processes
	// disturb less than the rate.
	CPUMicrosPer float64 `json:"cpu_us_per_envelope"`
	BatchStats
}

// BatchStats is what the worker's own metrics say of a phase, per committed batch.
type BatchStats struct {
	Batches       int     `json:"batches"`
	MeanBatch     float64 `json:"mean_batch"`
	MeanHandleMS  float64 `json:"mean_handle_ms"`
	MeanCommitMS  float64 `json:"mean_commit_ms"`
	MeanPublishMS float64 `json:"mean_publish_ms"`
}

type Latency struct {
	Envelopes int `json:"envelopes"`
	Received  int `json:"received"`
	// Measured is how many envelopes the quantiles are over: those published while every
	// step of the mix was in the stream in equal shares (not the ramp at either end).
	Measured int     `json:"measured"`
	Rate     float64 `json:"offered_per_second"`
	Seconds  float64 `json:"seconds"`
	P50MS    float64 `json:"p50_ms"`
	P90MS    float64 `json:"p90_ms"`
	P99MS    float64 `json:"p99_ms"`
	P999MS   float64 `json:"p99_9_ms"`
	MaxMS    float64 `json:"max_ms"`
	MeanMS   float64 `json:"mean_ms"`
	// CPUCores is the process's CPU time over the phase divided by its time, and
	// CPUMicrosPer that CPU time per envelope: at low rates the batches are small and each
	// envelope costs more than in the throughput phase.
	CPUCores     float64 `json:"cpu_cores"`
	CPUMicrosPer float64 `json:"cpu_us_per_envelope"`
	OthersCores  float64 `json:"others_cores"`
	// BatchStats and Store are the worker's (none for the skeleton's latency): what its
	// metrics say per committed batch, and what its store did in the background over the
	// phase (the slow replies of a phase come in bursts with its compactions:
	// docs/performance.md, "What the tail waits for, chunk by chunk").
	*BatchStats
	Store *StoreActivity `json:"store,omitempty"`
}

// StoreActivity counts the store's memtable flushes and compactions over a phase, and the
// time the compactions took (those still running at its end up to then).
type StoreActivity struct {
	Flushes           int64   `json:"flushes"`
	Compactions       int64   `json:"compactions"`
	CompactionSeconds float64 `json:"compaction_seconds"`
}

type Memory struct {
	// PeakRSSMiB is the process's peak resident set over the throughput phase (the
	// worker, the embedded NATS server, the bench's client); LatencyPeakRSSMiB over the
	// latency phase; WholeRunMiB over the whole run, preload and publishing included.
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	PeakRSSSource string  `json:"peak_rss_source"`
	// RSSOf says whose memory the RSS figures are: with --nats-url the nats-server is
	// another process and not in them.
	RSSOf             string  `json:"rss_of"`
	LatencyPeakRSSMiB float64 `json:"latency_peak_rss_mib,omitempty"`
	WholeRunMiB       float64 `json:"peak_rss_whole_run_mib"`
	// At the throughput phase's highest RSS sample (VmRSS every 50 ms): mapped files (the
	// binary's code), anonymous memory, and of that what the Go runtime held; the rest
	// of the anonymous memory is C memory, Pebble's cache and memtables.
	PeakFileMiB     float64 `json:"peak_rss_file_mib,omitempty"`
	PeakAnonMiB     float64 `json:"peak_rss_anon_mib,omitempty"`
	PeakGoHeldMiB   float64 `json:"peak_go_held_mib,omitempty"`
	GoHeapInuseMiB  float64 `json:"go_heap_inuse_mib"`
	GoSysMiB        float64 `json:"go_sys_mib"`
	PebbleCacheMiB  float64 `json:"pebble_cache_mib"`
	PebbleMemMiB    float64 `json:"pebble_memtables_mib"`
	StoreOnDiskMiB  float64 `json:"store_on_disk_mib"`
	StoreL0Files    int64   `json:"store_l0_files"`
	StoreCompaction int64   `json:"store_compactions"`
	// Over the throughput phase: WAL bytes per envelope, block cache hit rate, and the
	// state reads the partitions' state caches answered and did not (store.state_cache_mib;
	// a state the batch holds already is read from neither).
	WALBytesPerEnvelope int     `json:"wal_bytes_per_envelope"`
	BlockCacheHitRate   float64 `json:"block_cache_hit_rate"`
	StateCacheHits      uint64  `json:"state_cache_hits"`
	StateCacheMisses    uint64  `json:"state_cache_misses"`
	StateCacheHitRate   float64 `json:"state_cache_hit_rate"`
}

type Outcomes struct {
	// Contexts whose checkout ended completed, of those the throughput phase drove.
	Completed   int            `json:"completed_checkouts"`
	Contexts    int            `json:"contexts"`
	ByStatus    map[string]int `json:"by_status,omitempty"`
	ByOutcome   map[string]int `json:"envelopes_by_outcome"`
	DeadLetters uint64         `json:"dead_letters"`
	Events      uint64         `json:"events"`
}

type WallSeconds struct {
	Total   float64 `json:"total"`
	Preload float64 `json:"preload,omitempty"`
}

func secs(d time.Duration) float64 { return d.Seconds() }
func ms(d time.Duration) float64   { return float64(d.Microseconds()) / 1000 }

func (r *Report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *Report) writeTable(out io.Writer) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	defer w.Flush()
	row := func(k, format string, args ...any) { fmt.Fprintf(w, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	s := r.Settings
	fmt.Fprintln(w, "MACHINE AND SETTINGS\t")
	row("machine", "%d cores (GOMAXPROCS %d), %s, %s; load average %.2f at the start, %.2f at the end",
		r.Machine.Cores, r.Machine.GOMAXPROCS, r.Machine.OS, r.Machine.CPU, r.Machine.LoadAverage[0], r.Machine.LoadAverage[1])
	keys := make([]string, 0, len(r.Versions))
	for k := range r.Versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var vs []string
	for _, k := range keys {
		vs = append(vs, k+" "+r.Versions[k])
	}
	row("versions", "%s", strings.Join(vs, ", "))
	row("envelopes", "%d over %d contexts (8 each: %s)", s.N, s.Contexts, strings.Join(s.Mix, ", "))
	row("items", "%s; stock kept in: %s", strings.Join(s.Items, ", "), s.Inventory)
	row("worker", "%d partitions, batch %d (max wait %.0f ms), fsync on every commit: %v, changelog: %v", s.Partitions, s.Batch, s.MaxWaitMS, s.Fsync, s.Changelog)
	mem := "none"
	if s.GoMemoryLimitMiB >= 0 {
		mem = fmt.Sprintf("%d MiB", s.GoMemoryLimitMiB)
	}
	row("memory", "Go soft limit %s (GOMEMLIMIT wins), GC target %d%% (GOGC wins); Pebble block cache %d MiB, memtables %d MiB; states cached %d MiB",
		mem, s.GoGCPercent, s.StoreCacheMiB, s.StoreMemTableMiB, s.StoreStateCacheMiB)
	row("compactions", "at nice %d (0: the process's priority)", s.StoreCompactionNice)
	row("stored checkouts", "%d preloaded", s.Preload)
	row("nats", "%s", s.NATS)
	row("data", "%s", s.Data)
	if p := r.Preload; p != nil {
		row("preload", "%d checkouts in %.1f s (%.0f/s)", p.Checkouts, p.Seconds, p.PerSecond)
		settled := "not compacted (--preload-unsettled)"
		if p.SettleSeconds > 0 {
			settled = fmt.Sprintf("compacted in %.1f s before the worker started", p.SettleSeconds)
		}
		row("preload's debt", "%.0f MiB of compactions, %d files in L0: %s", p.DebtMiB, p.L0Files, settled)
	}
	fmt.Fprintln(w, "\t")
	fmt.Fprintln(w, "RESULTS\t")
	publish := "publish (before the worker)"
	if r.Group != nil {
		publish = "publish (the workers running)"
	}
	row(publish, "%d envelopes in %.2f s: %.0f/s, %d bytes each on average",
		r.Publish.Envelopes, r.Publish.Seconds, r.Publish.PerSecond, r.Publish.AvgBytes)
	t := r.Throughput
	row("throughput", "%.0f envelopes/s (%d in %.2f s; first reply after %.3f s)", t.PerSecond, t.Envelopes, t.Seconds, t.FirstReplySeconds)
	row("  CPU", "%.1f s, %.2f of %d cores busy (other processes: %.2f cores); %.0f µs per envelope",
		t.CPUSeconds, t.CPUCores, r.Machine.Cores, t.OthersCores, t.CPUMicrosPer)
	t.BatchStats.row(row)
	if g := r.Group; g != nil {
		row("group", "%d worker processes (cartwright serve), one group: %.0f envelopes/s, published while they ran; partitions shared after %.1f s",
			g.Workers, g.PerSecond, g.SettleSeconds)
		row("  CPU", "workers %.1f s, the bench's process %.1f s (its client, and the nats-server when embedded)", g.WorkersCPUSeconds, g.BenchCPUSeconds)
		for _, w := range g.PerWorker {
			row("  "+w.ID, "%d partitions owned, %d envelopes handled, %d takeovers, %.1f s CPU, peak RSS %.0f MiB",
				w.PartitionsOwned, w.Envelopes, w.Takeovers, w.CPUSeconds, w.PeakRSSMiB)
		}
		row("  note", "%s", g.Note)
	}
	if b := r.Baseline; b != nil {
		row("baseline (bare consumer)", "%.0f messages/s (%d in %.2f s; %d consumer, fetch %d, ack each; %.1f µs CPU per message)",
			b.PerSecond, b.Envelopes, b.Seconds, b.Consumers, b.FetchBatch, b.CPUMicrosPer)
		row("cartwright / baseline", "%.3f (throughput); %.3f (CPU per message / CPU per envelope)", r.Ratio, r.CPURatio)
	}
	if f := r.Skeleton; f != nil {
		row("skeleton (fair floor)", "%.0f envelopes/s (%d in %.2f s; %d consumers, fetch %d; per envelope a %d-byte state read and written and a record, one fsync'd Pebble commit per chunk, a %d-byte reply stored, then ack each; %.1f µs CPU per envelope)",
			f.PerSecond, f.Envelopes, f.Seconds, f.Consumers, f.FetchBatch, f.StateBytes, f.ReplyBytes, f.CPUMicrosPer)
		row("  CPU", "%.2f of %d cores busy (other processes: %.2f cores)", f.CPUCores, r.Machine.Cores, f.OthersCores)
		row("  sizes", "reply: %s; state: %s", f.ReplyBytesSource, f.StateBytesSource)
		if r.Baseline != nil {
			row("skeleton / baseline", "%.3f (throughput)", r.SkeletonOverBaseline)
		}
		row("cartwright / skeleton", "%.3f (throughput); %.3f (CPU per envelope, skeleton / cartwright)", r.CartwrightOverSkeleton, r.SkeletonCPURatio)
	}
	if f := r.SkeletonWithEvents; f != nil {
		row("skeleton with events", "%.0f envelopes/s (%d in %.2f s; the skeleton, and %d events of %d bytes on average stored with the replies, %.2f per envelope, each committed to the store first; %.1f µs CPU per envelope)",
			f.PerSecond, f.Envelopes, f.Seconds, f.Events, f.EventBytes, float64(f.Events)/float64(max(1, f.Envelopes)), f.CPUMicrosPer)
		row("  CPU", "%.2f of %d cores busy (other processes: %.2f cores)", f.CPUCores, r.Machine.Cores, f.OthersCores)
		row("  events", "%s", f.EventsSource)
		row("skeleton with events / skeleton", "%.3f (throughput)", r.SkeletonWithEventsOverSkeleton)
		if r.Baseline != nil {
			row("skeleton with events / baseline", "%.3f (throughput)", r.SkeletonWithEventsOverBaseline)
		}
		row("cartwright / skeleton with events", "%.3f (throughput)", r.CartwrightOverSkeletonWithEvents)
	}
	if q := r.RequestReply; q != nil {
		row("request/reply", "%.0f envelopes/s (%d in %.2f s; every envelope with A2A-Reply-To: _INBOX.…, replies sent with core NATS, not stored; %.0f µs CPU per envelope; %.2f cores busy, others %.2f)",
			q.PerSecond, q.Envelopes, q.Seconds, q.CPUMicrosPer, q.CPUCores, q.OthersCores)
		q.BatchStats.row(row)
	}
	if f := r.SkeletonRequestReply; f != nil {
		row("request/reply (skeleton)", "%.0f envelopes/s (%d in %.2f s; as the skeleton, the replies to an _INBOX with core NATS, not stored; %.1f µs CPU per envelope)",
			f.PerSecond, f.Envelopes, f.Seconds, f.CPUMicrosPer)
		if r.RequestReply != nil {
			row("cartwright / skeleton, request/reply", "%.3f (throughput)", r.RequestReplyOverSkeleton)
		}
	}
	for _, p := range []struct {
		name     string
		l        *Latency
		skeleton bool
	}{{"latency at half load", r.Latency, false}, {"latency at a fixed rate", r.LatencyFixed, false},
		{"skeleton latency at half load", r.SkeletonLatency, true}} {
		l := p.l
		if l == nil {
			continue
		}
		row(p.name, "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms",
			l.P50MS, l.P90MS, l.P99MS, l.P999MS, l.MaxMS)
		row("", "(%d of %d replies; offered %.0f/s for %.1f s, a steady mix; measured over the %d envelopes of its steady part; publish → reply; %.2f cores busy, others %.2f; %.0f µs CPU per envelope)",
			l.Received, l.Envelopes, l.Rate, l.Seconds, l.Measured, l.CPUCores, l.OthersCores, l.CPUMicrosPer)
		if p.skeleton {
			row("", "(the skeleton served as the worker serves, a chunk of what has arrived at a time, at the half-load rate)")
			continue
		}
		if l.BatchStats != nil {
			l.BatchStats.row(row)
		}
		if st := l.Store; st != nil {
			row("  store", "%d memtable flushes, %d compactions (%.2f s of compaction)",
				st.Flushes, st.Compactions, st.CompactionSeconds)
		}
	}
	m := r.Memory
	row("peak RSS (throughput)", "%.0f MiB (%s; %s)", m.PeakRSSMiB, m.RSSOf, m.PeakRSSSource)
	if r.Latency != nil || r.LatencyFixed != nil {
		row("peak RSS (latency)", "%.0f MiB", m.LatencyPeakRSSMiB)
	}
	row("peak RSS (whole run)", "%.0f MiB", m.WholeRunMiB)
	if r.Group == nil {
		r.storeRows(row)
	}
	o := r.Outcomes
	row("outcomes", "%d of %d checkouts completed; %d dead letters; %d events", o.Completed, o.Contexts, o.DeadLetters, o.Events)
	var outs []string
	for k, v := range o.ByOutcome {
		outs = append(outs, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(outs)
	row("  envelopes", "%s", strings.Join(outs, ", "))
	for _, n := range r.Notes {
		row("note", "%s", n)
	}
	row("wall time", "%.1f s", r.Wall.Total)
}

func (b BatchStats) row(row func(k, format string, args ...any)) {
	row("  per batch", "%d batches, %.1f envelopes each; handle %.2f ms, commit %.2f ms, publish %.2f ms",
		b.Batches, b.MeanBatch, b.MeanHandleMS, b.MeanCommitMS, b.MeanPublishMS)
}

// storeRows are the memory and store figures of the worker in the bench's process.
func (r *Report) storeRows(row func(k, format string, args ...any)) {
	m := r.Memory
	if m.PeakAnonMiB > 0 {
		row("  at the peak", "files %.0f MiB, anonymous %.0f MiB: Go %.0f MiB, C (Pebble) %.0f MiB",
			m.PeakFileMiB, m.PeakAnonMiB, m.PeakGoHeldMiB, max(0, m.PeakAnonMiB-m.PeakGoHeldMiB))
	}
	row("  at the end of throughput", "Go heap in use %.0f MiB, Go sys %.0f MiB; Pebble cache %.0f MiB, memtables %.0f MiB",
		m.GoHeapInuseMiB, m.GoSysMiB, m.PebbleCacheMiB, m.PebbleMemMiB)
	row("store", "%.0f MiB on disk, %d L0 files; over the throughput phase: %d compactions, %d WAL bytes per envelope, block cache hit rate %.1f %%, state cache hit rate %.1f %%",
		m.StoreOnDiskMiB, m.StoreL0Files, m.StoreCompaction, m.WALBytesPerEnvelope, 100*m.BlockCacheHitRate, 100*m.StateCacheHitRate)
}
