// Package config holds cartwright's configuration: defaults (the built-in demo tenant),
// loading from a YAML file, and validation. The zero Config is valid once SetDefaults has
// run: `cartwright serve` with no flags serves the demo tenant on an embedded NATS server.
package config

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cartwright-dev/cartwright/envelopes"
)

// Config is the whole configuration of a worker.
type Config struct {
	// DataDir holds the Pebble store and, in embedded mode, the NATS server's store.
	DataDir string `yaml:"data_dir"`
	NATS    NATS   `yaml:"nats"`
	// HTTPListen serves /healthz, /readyz, /metrics and the A2A bridge.
	HTTPListen string `yaml:"http_listen"`
	// Prefix is the first token of every subject (default "a2a").
	Prefix string `yaml:"prefix"`
	// Partitions splits the inbound stream by (tenant, context); fixed when the stream is
	// created. A restart with another number fails instead of reshuffling contexts.
	Partitions int   `yaml:"partitions"`
	Batch      Batch `yaml:"batch"`
	// PartitionsDefaulted records that Partitions was not configured: the worker then
	// keeps the count of an inbound stream that already exists.
	PartitionsDefaulted bool `yaml:"-"`
	// WorkerID names this worker in its group (CONTRACT.md section 10), in logs and
	// metrics. Default: the host name and a short hash of the absolute data directory,
	// stable across restarts and distinct for two workers on one host.
	WorkerID string `yaml:"worker_id"`
	// Replicas is the replica count of every stream and bucket cartwright creates
	// (default 1; 3 on a clustered NATS). Existing streams keep theirs.
	Replicas int `yaml:"replicas"`
	// IdempotencyRetention is how long idempotency records are kept (default 24 h).
	IdempotencyRetention time.Duration `yaml:"idempotency_retention"`
	// Stock says where the built-in inventory keeps its counts: "store" in the worker's
	// own store, reserved and released in the batch that completes or cancels a checkout;
	// "bucket" in a JetStream key-value bucket (<PREFIX>_STOCK) that every worker of a
	// group shares and other processes can read and restock with `nats kv`. Default:
	// "store" on the embedded NATS server (one process), "bucket" with nats.url, where
	// workers form a group and a count kept by each worker alone would sell the last
	// unit once per worker (docs/workers.md, "Stock across workers").
	Stock string `yaml:"stock"`
	// Store sizes the Pebble store's memory.
	Store Store `yaml:"store"`
	// Changelog writes every committed chunk's changes to the stream <PREFIX>_CL before
	// its replies are published, so that another worker can take the partition with its
	// state (docs/workers.md, "The changelog"). SetDefaults sets it from ChangelogSetting,
	// or, when that is unset, from the mode: on with nats.url (workers may form a group),
	// off with the embedded server (a group of one, which nothing would read it for).
	Changelog bool `yaml:"-"`
	// ChangelogSetting is the file's `changelog`; nil leaves it to the mode.
	ChangelogSetting *bool `yaml:"changelog"`
	// MemoryLimitMiB is a soft memory limit for the Go runtime (debug.SetMemoryLimit), in
	// MiB; -1 sets none. The garbage collector works harder as the Go memory nears it;
	// Pebble's cache and memtables (Store) are C memory, outside it. Unset (0), it is
	// MemoryLimitFor(partitions, batch.size) with nats.url (80 MiB with the defaults; a
	// store.record_filter_mib above its default adds the difference), and
	// none with the embedded server: the worker alone keeps a small live heap (10-40 MiB),
	// but an embedded NATS server keeps state for every message its streams hold, its live
	// heap grows with them, and near a limit the collector would take up to half the CPU
	// (docs/operations.md, "Memory"). The GOMEMLIMIT environment variable, when set, wins.
	MemoryLimitMiB int `yaml:"memory_limit_mib"`
	// GCPercent is the collector's target (debug.SetGCPercent): how far, in percent of
	// the live heap, the heap grows before the next collection; -1 collects only near the
	// memory limit. Unset (0), it is the runtime's (100) with nats.url and
	// DefaultEmbeddedGCPercent with the embedded server. Under a memory limit a higher
	// target buys CPU with memory (300: 9-14 % less CPU per envelope in the bench, about
	// 20 MiB more at the peak; docs/performance.md, "The collector's target"). The GOGC
	// environment variable, when set, wins.
	GCPercent int `yaml:"gc_percent"`
	// Procs is how many goroutines the Go scheduler runs at once (GOMAXPROCS). Unset (0),
	// it is the CPUs the process may use and as many again, at most MaxExtraProcs more,
	// or the runtime's default under a cgroup CPU limit (or when that is not known); -1
	// keeps the runtime's default. The GOMAXPROCS environment variable, when set, wins.
	// See ApplyProcs.
	Procs int `yaml:"procs"`
	// Limits bound what an envelope may hold.
	Limits  envelopes.Limits   `yaml:"limits"`
	Tenants map[string]*Tenant `yaml:"tenants"`
	// Bridge configures the A2A JSON-RPC bridge (POST /a2a/<tenant>) and the discovery
	// documents (/.well-known/ucp, /.well-known/agent-card.json) served on HTTPListen.
	Bridge Bridge `yaml:"bridge"`
	// HTTP bounds what the HTTP listener takes (docs/security.md, "The HTTP bridge").
	HTTP HTTP `yaml:"http"`

	// Retention is how long each stream keeps what it holds (docs/security.md);
	// IdempotencyRetention above is the same for idempotency records.
	Retention Retention `yaml:"retention"`
	// Streams sets each stream's limits: size, count, max age and what to discard when
	// full (config/streams.go).
	Streams Streams `yaml:"streams"`
	// Webhooks configures the order webhooks (config/webhooks.go, docs/webhooks.md).
	Webhooks Webhooks `yaml:"webhooks"`
}

// Retention is the max age of each stream cartwright creates, applied when the stream
// is created and at every start to a stream that exists (the configuration wins over a
// max age changed by hand). Zero fields take the defaults of CONTRACT.md section 2.
// streams.<stream>.max_age is the newer spelling, and wins (Streams.MaxAges).
//
//	retention:
//	  requests: 168h      # A2A_IN
//	  replies: 24h        # A2A_OUT
//	  dead_letters: 720h  # A2A_DLQ
//	  events: 168h        # A2A_EVT
type Retention struct {
	Requests    time.Duration `yaml:"requests"`     // A2A_IN (default 7 days)
	Replies     time.Duration `yaml:"replies"`      // A2A_OUT (default 24 h)
	DeadLetters time.Duration `yaml:"dead_letters"` // A2A_DLQ (default 30 days)
	Events      time.Duration `yaml:"events"`       // A2A_EVT (default 7 days)
}

// MinStreamRetention is the shortest max age a stream may have: JetStream refuses one
// shorter than the streams' duplicate window (2 min).
const MinStreamRetention = 2 * time.Minute

// WithDefaults returns r with every zero field set to its default.
func (r Retention) WithDefaults() Retention {
	const day = 24 * time.Hour
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&r.Requests, 7*day)
	def(&r.Replies, day)
	def(&r.DeadLetters, 30*day)
	def(&r.Events, 7*day)
	return r
}

func (r Retention) validate() []error {
	var errs []error
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"requests", r.Requests}, {"replies", r.Replies}, {"dead_letters", r.DeadLetters}, {"events", r.Events}} {
		if f.d < MinStreamRetention {
			errs = append(errs, fmt.Errorf("%s: %s is shorter than %s", f.name, f.d, MinStreamRetention))
		}
	}
	return errs
}

// DefaultMemoryLimitMiB is the Go memory limit of a worker whose NATS runs in its own
// process (nats.url) when memory_limit_mib is unset, with the default partitions and
// batch size: twice the worker's live heap at its largest (10-40 MiB in the bench), so
// that the collector is not driven hard, and still a bound. MemoryLimitFor scales it. It
// was 96 MiB: the Go memory held at the peak then reached 81-88 MiB in some runs, and the
// resident peak at 1,000,000 stored checkouts went over 200 MB once in three; with 80 it
// stayed at 175-179 MiB, as fast (docs/performance.md, "Memory").
const DefaultMemoryLimitMiB = 80

// DefaultEmbeddedGCPercent is the collector's target with the embedded NATS server when
// gc_percent is unset. The server's live heap (the streams' subject trees, their
// duplicate windows, cached blocks: 170-200 MiB in the bench) is in the worker's process,
// so at Go's 100 every collection marks it, every 2-3 s at 2,000 envelopes/s, and each
// mark (50-130 ms, with idle mark workers on the spare processors) holds up the
// envelopes in flight: in the bench, p99 at 2,000/s was 4.0-5.0 ms, the collections'
// bursts most of what was over 5 ms. At 200 collections come half as often, and p99
// was 2.7-4.1 ms, for 150-200 MiB more at the peak (docs/performance.md, "The embedded
// server's collections"). With nats.url the worker's own heap is small and the memory
// limit paces the collector, so it keeps the runtime's 100.
const DefaultEmbeddedGCPercent = 200

// MemoryLimitFor is the default Go memory limit with nats.url, in MiB: 48 MiB, and 64 KiB
// more for every envelope that the partitions' batches can hold at once (the envelopes,
// their states, replies and events are live together until the batch is acknowledged),
// so that more or larger batches do not bring the live heap near the limit.
func MemoryLimitFor(partitions, batch int) int {
	return 48 + partitions*batch/16
}

// DefaultCompactionNice is the nice value of the store's compactions when
// store.compaction_nice is unset: well below the worker's threads (0), so that the kernel
// runs a compaction in the time they leave, yet not starved when the machine is busy
// (docs/performance.md, "What the tail waits for, chunk by chunk").
const DefaultCompactionNice = 10

// DefaultRecordFilterMiB is store.record_filter_mib when unset (store.Options.RecordFilterBytes).
const DefaultRecordFilterMiB = 2

// DefaultStateCacheMiB is store.state_cache_mib when unset.
const DefaultStateCacheMiB = 16

// StateCacheBytes is what each partition's state cache may hold, of the given number of
// partitions: store.state_cache_mib split evenly (0 when it is off).
func (c *Config) StateCacheBytes(partitions int) int {
	if c.Store.StateCacheMiB <= 0 || partitions <= 0 {
		return 0
	}
	return (c.Store.StateCacheMiB << 20) / partitions
}

// DefaultPartitions is the partition count of a new inbound stream when none is
// configured. Each partition is a durable consumer with its own fetch, commit and
// publish loop; on small machines a few large batches cost less than many small ones
// (docs/performance.md has the measurements).
const DefaultPartitions = 4

// Where the built-in inventory keeps its counts (Config.Stock).
const (
	StockStore  = "store"
	StockBucket = "bucket"
)

// NATS says which NATS to use: an existing one (URL) or an embedded server (Listen).
//
// Secrets are never in the file: a token or a password comes from a file named here
// (token_file, password_file) or from the environment (CARTWRIGHT_NATS_TOKEN or
// NATS_TOKEN; CARTWRIGHT_NATS_PASSWORD or NATS_PASSWORD). Credentials returns them.
type NATS struct {
	// URL joins an existing NATS; empty starts an embedded server on Listen.
	URL    string `yaml:"url"`
	Listen string `yaml:"listen"`
	// Config is a nats-server configuration file for the embedded server: its
	// authentication, accounts and TLS. Listen, JetStream and the store directory stay
	// cartwright's.
	Config string `yaml:"config"`
	// Credentials the worker presents, as the nats CLI takes them.
	Creds        string `yaml:"creds"`
	NKey         string `yaml:"nkey"`
	TokenFile    string `yaml:"token_file"`
	User         string `yaml:"user"`
	PasswordFile string `yaml:"password_file"`
	// InboxPrefix replaces _INBOX in the connection's reply subjects, so that a NATS
	// user allowed only _INBOX.<tenant>.> can receive replies and acks.
	InboxPrefix string `yaml:"inbox_prefix"`
	TLSCert     string `yaml:"tls_cert"`
	TLSKey      string `yaml:"tls_key"`
	TLSCA       string `yaml:"tls_ca"`
}

// Credentials is what a connection presents, secrets included. Never log it.
type Credentials struct {
	Token, User, Password string
}

// Credentials reads the token and the password: each from its file when one is named,
// else from CARTWRIGHT_NATS_<X>, else from the nats CLI's NATS_<X>. The user is User,
// else CARTWRIGHT_NATS_USER, else NATS_USER.
func (n NATS) Credentials() (Credentials, error) {
	var c Credentials
	var errs []error
	secret := func(file, name string) string {
		if file == "" {
			return env(name)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			errs = append(errs, fmt.Errorf("nats %s file: %w", strings.ToLower(name), err))
			return ""
		}
		// Editors and secret mounts leave a trailing newline; no token or password ends
		// in white space on purpose.
		v := strings.TrimSpace(string(b))
		if v == "" {
			errs = append(errs, fmt.Errorf("nats %s file %s: empty", strings.ToLower(name), file))
		}
		return v
	}
	c.Token = secret(n.TokenFile, "TOKEN")
	c.Password = secret(n.PasswordFile, "PASSWORD")
	c.User = n.User
	if c.User == "" {
		c.User = env("USER")
	}
	if c.Password != "" && c.User == "" {
		errs = append(errs, errors.New("nats: a password but no user (--user, nats.user or NATS_USER)"))
	}
	return c, errors.Join(errs...)
}

// env reads CARTWRIGHT_NATS_<name>, CARTWRIGHT_<name> (the variable that set --token and
// --password before they were refused) or the nats CLI's NATS_<name>.
func env(name string) string {
	for _, k := range []string{"CARTWRIGHT_NATS_" + name, "CARTWRIGHT_" + name, "NATS_" + name} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// refuseSecrets reports a token or a password written into the file, where it would be
// checked in and copied around with the rest of the configuration.
func refuseSecrets(b []byte) error {
	var probe struct {
		NATS map[string]any `yaml:"nats"`
	}
	// Errors are the strict decode's to report.
	_ = yaml.Unmarshal(b, &probe)
	var errs []error
	for _, key := range []string{"token", "password"} {
		if _, ok := probe.NATS[key]; ok {
			up := strings.ToUpper(key)
			errs = append(errs, fmt.Errorf("nats.%s: secrets are not read from the configuration file; "+
				"set NATS_%s (or CARTWRIGHT_NATS_%s) in the environment, or name a file holding it "+
				"with --%s-file or nats.%s_file", key, up, up, key, key))
		}
	}
	if u, ok := probe.NATS["url"].(string); ok && strings.Contains(u, "@") {
		errs = append(errs, errors.New("nats.url: credentials (user@ or user:password@) are not read from the "+
			"configuration file; set nats.user and NATS_PASSWORD, NATS_TOKEN or a file, or the whole URL in "+
			"CARTWRIGHT_NATS_URL"))
	}
	return errors.Join(errs...)
}

// MaxExtraProcs bounds how many processors a worker runs beyond its CPUs by default:
// as many again as it has CPUs, up to this many. With one processor per CPU, a
// goroutine that becomes ready (a delivery, an acknowledgement, an fsync that returned)
// waits for a processor when every one runs something longer, a compaction or the
// garbage collector's marking, for up to the scheduler's 10 ms time slice. With more
// processors than CPUs it gets one at once, and the kernel shares the CPUs between the
// threads at a finer grain: on 2 CPUs (4 processors), p99 at a steady 2,000 envelopes/s
// fell from 4.2-6.5 ms to 3.7-5.0 ms with NATS apart, at the same throughput
// (docs/performance.md, "What the tail waits for, chunk by chunk"). The long-running
// goroutines are few (one compaction at a time, the collector's workers): on a large
// machine a few spare processors cover them, and more would only spin.
const MaxExtraProcs = 4

// ApplyProcs sets GOMAXPROCS from Procs, unless the GOMAXPROCS environment variable sets
// it (the runtime has read it) or Procs is -1 (the runtime's default, which also follows
// later changes of a container's CPU limit; a value set here does not). It returns
// GOMAXPROCS in force.
func (c *Config) ApplyProcs() int {
	if os.Getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0)
	}
	runtime.SetDefaultGOMAXPROCS()
	limited, known := cpuLimited("/")
	if n := procsFor(c.Procs, runtime.GOMAXPROCS(0), runtime.NumCPU(), known && !limited); n != runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(n)
	}
	return runtime.GOMAXPROCS(0)
}

// procsFor is GOMAXPROCS for the procs setting, given the runtime's default, the CPUs the
// process may run on, and whether it is known to run under no cgroup CPU limit
// (cpuLimited). Unset, it is the default and as many again, at most MaxExtraProcs more,
// but under a CPU limit, or when that is not known: more threads running at once than
// the limit would have the whole container throttled for the rest of each period, far
// longer than any wait they save.
func procsFor(procs, def, cpus int, unlimited bool) int {
	switch {
	case procs > 0:
		return procs
	case procs == 0 && unlimited && def >= cpus:
		return def + min(def, MaxExtraProcs)
	}
	return def
}

// ApplyMemoryLimit sets the Go runtime's soft memory limit to MemoryLimitMiB, unless the
// GOMEMLIMIT environment variable sets one (the runtime has read it) or it is 0 or -1
// (none). It returns the limit in force, in bytes (math.MaxInt64: none).
func (c *Config) ApplyMemoryLimit() int64 {
	if os.Getenv("GOMEMLIMIT") != "" || c.MemoryLimitMiB <= 0 {
		return debug.SetMemoryLimit(-1)
	}
	limit := int64(c.MemoryLimitMiB) << 20
	debug.SetMemoryLimit(limit)
	return limit
}

// ApplyGCPercent sets the collector's target to GCPercent, unless the GOGC environment
// variable sets one, which wins as it does at the runtime's start ("off": -1; a value
// the runtime cannot read: its 100); 0 is the runtime's 100. It returns the target in
// force (-1: collections only near the memory limit). Each call sets the target from
// these alone, whatever an earlier call in the process set (the bench runs a worker of
// each mode in one test process).
func (c *Config) ApplyGCPercent() int {
	p := c.GCPercent
	if env := os.Getenv("GOGC"); env != "" {
		p = 100
		if env == "off" {
			p = -1
		} else if n, err := strconv.Atoi(env); err == nil {
			p = n
		}
	} else if p == 0 {
		p = 100
	}
	debug.SetGCPercent(p)
	return p
}

// Embedded reports whether the worker runs its own NATS server.
func (n NATS) Embedded() bool { return n.URL == "" }

// Store sizes the Pebble store's memory, outside the Go heap.
type Store struct {
	// CacheMiB is the block cache (default 16: the states a worker reads again are mostly
	// its partitions' recent ones, which the state cache and the memtables serve).
	CacheMiB int `yaml:"cache_mib"`
	// MemTableMiB is the size of one memtable (default 16); up to two are in use at once
	// in steady state.
	MemTableMiB int `yaml:"memtable_mib"`
	// CompactionNice is the nice value Pebble's compactions run at, below the worker's
	// own threads (default 10; -1 runs them at the process's priority): a compaction
	// then takes the CPU the partition loops leave, rather than holding envelopes up
	// (store.Options.CompactionNice; Linux only).
	CompactionNice int `yaml:"compaction_nice"`
	// RecordFilterMiB sizes the filter that knows, without a read, that no idempotency
	// record is kept for a new messageId (default 2: a byte per record, about 1.9
	// million records kept within the retention; past that every envelope reads the store
	// until the next start; -1: no filter). Go memory, allocated at start.
	RecordFilterMiB int `yaml:"record_filter_mib"`
	// StateCacheMiB sizes the cache of the states the worker's partitions committed or
	// read most recently, kept encoded (default 16, split evenly between the
	// partitions; -1: none). An envelope whose checkout is in it reads nothing from
	// Pebble. It should hold every checkout in progress (a few hundred bytes each): a
	// cache smaller than those evicts each before its next step. Go memory.
	StateCacheMiB int `yaml:"state_cache_mib"`
}

// Batch tunes the fetch → commit → publish → ack loop.
type Batch struct {
	// Size is the most envelopes fetched and committed at once (default 128: a
	// batch's Pebble buffer then stays under a MiB and is reused).
	Size int `yaml:"size"`
	// MaxWait is how long one pull request stays open (default 500 ms). Envelopes are
	// handled as they arrive, not when it ends; it bounds how long an idle partition
	// waits before looking for expired checkouts and before a shutdown.
	MaxWait time.Duration `yaml:"max_wait"`
	// AckWait is the consumer's ack wait (default 30 s): a batch must be committed,
	// replied to and acked within it.
	AckWait time.Duration `yaml:"ack_wait"`
	// MaxDeliver is how often an envelope is delivered before it is dead-lettered with
	// temporarily_unavailable (default 5).
	MaxDeliver int `yaml:"max_deliver"`
}

// Default returns the configuration `cartwright serve` runs with when given nothing.
func Default() *Config {
	c := &Config{}
	c.SetDefaults()
	return c
}

// SetDefaults fills every zero field. With no tenants configured it adds the demo tenant.
func (c *Config) SetDefaults() {
	if c.DataDir == "" {
		c.DataDir = "./cartwright-data"
	}
	if c.NATS.Listen == "" {
		c.NATS.Listen = "127.0.0.1:4222"
	}
	if c.HTTPListen == "" {
		c.HTTPListen = "127.0.0.1:8080"
	}
	if c.Prefix == "" {
		c.Prefix = "a2a"
	}
	if c.WorkerID == "" {
		c.WorkerID = DefaultWorkerID(c.DataDir)
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.ChangelogSetting != nil {
		c.Changelog = *c.ChangelogSetting
	} else if c.NATS.URL != "" {
		c.Changelog = true
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
		c.PartitionsDefaulted = true
	}
	if c.Batch.Size == 0 {
		c.Batch.Size = 128
	}
	if c.Store.CacheMiB == 0 {
		c.Store.CacheMiB = 16
	}
	if c.Store.MemTableMiB == 0 {
		c.Store.MemTableMiB = 16
	}
	if c.Store.CompactionNice == 0 {
		c.Store.CompactionNice = DefaultCompactionNice
	}
	if c.Store.RecordFilterMiB == 0 {
		c.Store.RecordFilterMiB = DefaultRecordFilterMiB
	}
	if c.Store.StateCacheMiB == 0 {
		c.Store.StateCacheMiB = DefaultStateCacheMiB
	}
	if c.GCPercent == 0 && c.NATS.Embedded() {
		c.GCPercent = DefaultEmbeddedGCPercent
	}
	if c.MemoryLimitMiB == 0 && !c.NATS.Embedded() {
		// The filter of idempotency records and the cache of states are Go memory: their
		// default sizes are within the base; larger ones raise the limit by what they add.
		c.MemoryLimitMiB = MemoryLimitFor(c.Partitions, c.Batch.Size) + max(c.Store.RecordFilterMiB-DefaultRecordFilterMiB, 0) +
			max(c.Store.StateCacheMiB-DefaultStateCacheMiB, 0)
	}
	if c.Batch.MaxWait == 0 {
		c.Batch.MaxWait = 500 * time.Millisecond
	}
	if c.Batch.AckWait == 0 {
		c.Batch.AckWait = 30 * time.Second
	}
	if c.Batch.MaxDeliver == 0 {
		c.Batch.MaxDeliver = 5
	}
	if c.IdempotencyRetention == 0 {
		c.IdempotencyRetention = 24 * time.Hour
	}
	if c.Stock == "" {
		c.Stock = StockStore
		if !c.NATS.Embedded() {
			c.Stock = StockBucket
		}
	}
	c.Retention = c.Retention.WithDefaults()
	def := envelopes.DefaultLimits()
	if c.Limits.MaxEnvelopeBytes == 0 {
		c.Limits.MaxEnvelopeBytes = def.MaxEnvelopeBytes
	}
	if c.Limits.MaxParts == 0 {
		c.Limits.MaxParts = def.MaxParts
	}
	if c.Limits.MaxLineItems == 0 {
		c.Limits.MaxLineItems = def.MaxLineItems
	}
	if c.Limits.MaxQuantity == 0 {
		c.Limits.MaxQuantity = def.MaxQuantity
	}
	if c.Limits.MaxStringBytes == 0 {
		c.Limits.MaxStringBytes = def.MaxStringBytes
	}
	if len(c.Tenants) == 0 {
		c.Tenants = map[string]*Tenant{DemoTenant: Demo()}
	}
	for _, t := range c.Tenants {
		if t != nil {
			t.setDefaults(c)
		}
	}
	c.Bridge.setDefaults(c)
	c.HTTP.setDefaults(c)
	c.Webhooks.setDefaults()
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !workerIDRE.MatchString(c.WorkerID) {
		bad("worker_id: %q: want letters, digits, '-', '_', '=' in dot-separated tokens", c.WorkerID)
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		bad("replicas: %d is not between 1 and 5", c.Replicas)
	}
	if c.Partitions < 1 || c.Partitions > 1024 {
		bad("partitions: %d is not between 1 and 1024", c.Partitions)
	}
	if !tokenRE.MatchString(c.Prefix) {
		bad("prefix: %q is not a NATS token of [A-Za-z0-9_-]", c.Prefix)
	}
	if c.Batch.Size < 1 || c.Batch.Size > 10000 {
		bad("batch.size: %d is not between 1 and 10000", c.Batch.Size)
	}
	if c.Batch.AckWait < time.Second {
		bad("batch.ack_wait: %s is shorter than 1s", c.Batch.AckWait)
	}
	if c.Batch.MaxDeliver < 1 {
		bad("batch.max_deliver: %d is less than 1", c.Batch.MaxDeliver)
	}
	if c.IdempotencyRetention < time.Minute {
		bad("idempotency_retention: %s is shorter than 1m", c.IdempotencyRetention)
	}
	if c.Store.CacheMiB < 1 || c.Store.MemTableMiB < 1 || c.Store.MemTableMiB > 1024 {
		bad("store: cache_mib %d and memtable_mib %d must be at least 1 (memtable_mib at most 1024)",
			c.Store.CacheMiB, c.Store.MemTableMiB)
	}
	if n := c.Store.CompactionNice; n != -1 && (n < 1 || n > 19) {
		bad("store: compaction_nice %d: want a nice value from 1 to 19, or -1 to run compactions at the worker's priority", n)
	}
	if n := c.Store.RecordFilterMiB; n < -1 || n > 4096 {
		bad("store: record_filter_mib %d: want a size from 1 to 4096 MiB, or -1 for no filter", n)
	}
	if n := c.Store.StateCacheMiB; n < -1 || n > 4096 {
		bad("store: state_cache_mib %d: want a size from 1 to 4096 MiB, or -1 for no cache", n)
	}
	if c.Procs < -1 {
		bad("procs: %d: want a number of processors, 0 for the default or -1 for the runtime's", c.Procs)
	}
	if c.GCPercent < -1 {
		bad("gc_percent: %d: want a percentage of the live heap, or -1 to collect only near the memory limit", c.GCPercent)
	}
	if c.MemoryLimitMiB < -1 {
		bad("memory_limit_mib: %d: want a number of MiB, or -1 for none", c.MemoryLimitMiB)
	}
	if c.Stock != StockStore && c.Stock != StockBucket {
		bad("stock: %q is neither %q nor %q", c.Stock, StockStore, StockBucket)
	}
	if c.Limits.MaxEnvelopeBytes < 1024 {
		bad("limits.max_envelope_bytes: %d is less than 1024", c.Limits.MaxEnvelopeBytes)
	}
	if len(c.Tenants) == 0 {
		bad("tenants: none configured")
	}
	for name, t := range c.Tenants {
		if !tokenRE.MatchString(name) {
			bad("tenants: %q is not a NATS token of [A-Za-z0-9_-]{1,64}", name)
		}
		if t == nil {
			bad("tenants.%s: empty", name)
			continue
		}
		for _, err := range t.validate() {
			bad("tenants.%s.%w", name, err)
		}
	}
	for _, err := range c.Bridge.validate(c) {
		bad("bridge.%w", err)
	}
	for _, err := range c.HTTP.validate(c) {
		bad("http.%w", err)
	}
	for _, err := range c.Webhooks.validate() {
		bad("webhooks.%w", err)
	}
	for _, err := range c.Retention.validate() {
		bad("retention.%w", err)
	}
	for _, err := range c.Streams.validate(c.Limits.MaxEnvelopeBytes) {
		bad("streams.%w", err)
	}
	if err := c.Streams.Changelog.validateChangelog(); err != nil {
		bad("streams.changelog.%w", err)
	}
	return errors.Join(errs...)
}

// Load reads a YAML configuration file. Unknown keys are an error, so that a typo does
// not silently fall back to a default.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a YAML configuration. Unknown keys are an error.
func Parse(b []byte) (*Config, error) {
	if err := refuseSecrets(b); err != nil {
		return nil, err
	}
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return nil, err
	}
	if err := c.Streams.conflicts(c.Retention); err != nil {
		return nil, err
	}
	return c, nil
}

// Bridge configures the A2A JSON-RPC bridge on HTTPListen (POST /a2a/<tenant>) and the
// discovery documents served next to it. The zero Bridge is valid: a 10 s timeout, URLs
// derived from HTTPListen, and every tenant open to loopback callers only.
//
//	bridge:
//	  public_url: https://shop.example.com   # what agents reach the listener at
//	  timeout: 10s
//	  default_tenant: acme                   # what the root /.well-known documents describe
//	  tokens:                                # per tenant; each token read from the environment
//	    acme:
//	      - env: ACME_BRIDGE_TOKEN
//	      - env: ACME_BRIDGE_TOKEN_NEXT      # a second one, to rotate without downtime
type Bridge struct {
	// PublicURL is the absolute http(s) URL at which agents reach the HTTP listener: the
	// discovery documents build their URLs from it. Default: http://<http_listen>, or,
	// when http_listen binds every interface (0.0.0.0, ::), the Host the request named.
	PublicURL string `yaml:"public_url"`
	// Timeout is how long the bridge waits for the reply to one request, publish
	// included, before it answers temporarily_unavailable (default 10 s).
	Timeout time.Duration `yaml:"timeout"`
	// DefaultTenant is the tenant that /.well-known/ucp and /.well-known/agent-card.json
	// describe. Default: the only tenant; else the demo tenant when it is configured;
	// else none, and those two documents answer 404 (the per-tenant ones still work).
	DefaultTenant string `yaml:"default_tenant"`
	// Tokens lists, per tenant, the bearer tokens the bridge accepts. Tokens never appear
	// in the file: each entry names the environment variable that holds one. A tenant
	// without tokens is open to loopback callers only.
	Tokens map[string][]TokenRef `yaml:"tokens"`
}

// TokenRef names where a bearer token is kept.
type TokenRef struct {
	// Env is the environment variable holding the token.
	Env string `yaml:"env"`
}

// MinTokenBytes is the shortest bearer token the bridge accepts: shorter ones are guessable.
const MinTokenBytes = 16

var tokenEnvRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (b *Bridge) setDefaults(c *Config) {
	if b.Timeout == 0 {
		b.Timeout = 10 * time.Second
	}
	if b.DefaultTenant == "" {
		switch {
		case len(c.Tenants) == 1:
			for name := range c.Tenants {
				b.DefaultTenant = name
			}
		case c.Tenants[DemoTenant] != nil:
			b.DefaultTenant = DemoTenant
		}
	}
}

func (b *Bridge) validate(c *Config) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if b.Timeout < 100*time.Millisecond {
		bad("timeout: %s is shorter than 100ms", b.Timeout)
	}
	if b.PublicURL != "" {
		u, err := url.Parse(b.PublicURL)
		switch {
		case err != nil:
			bad("public_url: %v", err)
		case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			bad("public_url: %q is not an absolute http or https URL", b.PublicURL)
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			bad("public_url: %q must have no user, query or fragment", b.PublicURL)
		}
	}
	if b.DefaultTenant != "" && c.Tenants[b.DefaultTenant] == nil {
		bad("default_tenant: %q is not a configured tenant", b.DefaultTenant)
	}
	for tenant, refs := range b.Tokens {
		if c.Tenants[tenant] == nil {
			bad("tokens.%s: not a configured tenant", tenant)
		}
		if len(refs) == 0 {
			bad("tokens.%s: empty; list at least one token, or remove the tenant to leave it open to loopback callers", tenant)
		}
		for i, r := range refs {
			if !tokenEnvRE.MatchString(r.Env) {
				bad("tokens.%s[%d].env: %q is not an environment variable name", tenant, i, r.Env)
				continue
			}
			v, ok := os.LookupEnv(r.Env)
			switch {
			case !ok:
				bad("tokens.%s[%d].env: %s is not set", tenant, i, r.Env)
			case len(v) < MinTokenBytes:
				bad("tokens.%s[%d].env: the token in %s is shorter than %d bytes", tenant, i, r.Env, MinTokenBytes)
			}
		}
	}
	return errs
}

// Secrets reads the bearer tokens of every tenant that has some from the environment, as
// Validate checked them. A tenant absent from the result has no tokens.
func (b *Bridge) Secrets() (map[string][]string, error) {
	out := map[string][]string{}
	for tenant, refs := range b.Tokens {
		for i, r := range refs {
			v, ok := os.LookupEnv(r.Env)
			if !ok || len(v) < MinTokenBytes {
				return nil, fmt.Errorf("bridge.tokens.%s[%d].env: %s is not set to a token of at least %d bytes",
					tenant, i, r.Env, MinTokenBytes)
			}
			out[tenant] = append(out[tenant], v)
		}
	}
	return out, nil
}

// Protected reports whether the bridge asks tenant's callers for a bearer token.
func (b *Bridge) Protected(tenant string) bool { return len(b.Tokens[tenant]) > 0 }

// HTTP bounds what the HTTP listener takes. The zero HTTP is valid: no browser origin
// allowed, 1024 bridge requests in flight, /metrics on HTTPListen, and timeouts that end
// a slow or idle connection.
//
//	http:
//	  allowed_origins: [https://shop.example.com]  # web pages that may call the bridge
//	  max_in_flight: 1024
//	  metrics_listen: 127.0.0.1:9090               # /metrics here, not on http_listen
//	  read_timeout: 30s
//	  write_timeout: 40s                           # longer than bridge.timeout
//	  idle_timeout: 2m
type HTTP struct {
	// AllowedOrigins are the browser origins (scheme://host[:port]) whose requests the
	// bridge takes; a request with any other Origin header is refused. Default: none, so
	// that no web page can drive a checkout with the browser's loopback address.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxInFlight caps the bridge requests being served at once; past it a request is
	// answered 503 with Retry-After (default 1024).
	MaxInFlight int `yaml:"max_in_flight"`
	// MetricsListen, when set, serves /metrics on this address only, so that the main
	// listener can face agents while metrics stay private. Default: on HTTPListen.
	MetricsListen string `yaml:"metrics_listen"`
	// ReadTimeout bounds reading one request, body included (default 30 s).
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds a request from its headers to the end of its response; it must
	// exceed bridge.timeout, which a bridge request may spend waiting for its reply
	// (default bridge.timeout + 10 s).
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes a kept-alive connection idle for this long (default 2 min).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// DefaultMaxInFlight is HTTP.MaxInFlight's default.
const DefaultMaxInFlight = 1024

// REQUIRES: c.Bridge's defaults are set (WriteTimeout follows its timeout).
func (h *HTTP) setDefaults(c *Config) {
	if h.MaxInFlight == 0 {
		h.MaxInFlight = DefaultMaxInFlight
	}
	if h.ReadTimeout == 0 {
		h.ReadTimeout = 30 * time.Second
	}
	if h.WriteTimeout == 0 {
		h.WriteTimeout = c.Bridge.Timeout + 10*time.Second
	}
	if h.IdleTimeout == 0 {
		h.IdleTimeout = 2 * time.Minute
	}
}

func (h *HTTP) validate(c *Config) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, o := range h.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			bad("allowed_origins[%d]: %q is not an origin (scheme://host[:port])", i, o)
		}
	}
	if h.MaxInFlight < 1 {
		bad("max_in_flight: %d is less than 1", h.MaxInFlight)
	}
	if h.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(h.MetricsListen); err != nil {
			bad("metrics_listen: %v", err)
		} else if h.MetricsListen == c.HTTPListen {
			bad("metrics_listen: %s is http_listen itself; leave it empty to serve /metrics there", h.MetricsListen)
		}
	}
	if h.ReadTimeout < 100*time.Millisecond || h.IdleTimeout < 100*time.Millisecond {
		bad("read_timeout %s and idle_timeout %s must be at least 100ms", h.ReadTimeout, h.IdleTimeout)
	}
	if h.WriteTimeout <= c.Bridge.Timeout {
		bad("write_timeout: %s is not longer than bridge.timeout %s: a bridge request waiting for its reply would be cut off",
			h.WriteTimeout, c.Bridge.Timeout)
	}
	return errs
}

// workerIDRE is what a worker id may be: it is a token of the group bucket's keys.
var workerIDRE = regexp.MustCompile(`^[A-Za-z0-9_=-]+(\.[A-Za-z0-9_=-]+)*$`)

// DefaultWorkerID is the worker id of a worker on this host with data directory dir:
// the host name made token-safe, a dash, and 8 hex digits of a hash of dir's absolute
// path. A restart on the same directory keeps it; a second worker on the host, with its
// own directory, gets another.
func DefaultWorkerID(dir string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "worker"
	}
	host = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, host)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	sum := sha256.Sum256([]byte(filepath.Clean(dir)))
	return fmt.Sprintf("%s-%x", host, sum[:4])
}
