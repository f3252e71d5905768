package config_test

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
)

// restoreMemoryLimit puts the process's Go memory limit and collector target back after
// a test that sets them.
func restoreMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	gc := debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	t.Cleanup(func() { debug.SetMemoryLimit(prev); debug.SetGCPercent(gc) })
}

// With NATS in its own process the worker gets a Go memory limit unless the file sets
// one or says none (-1); with the embedded server it gets none unless the file sets one.
// The collector's target is the runtime's with NATS apart and DefaultEmbeddedGCPercent
// with the embedded server, unless the file sets one.
func TestMemoryLimitDefault(t *testing.T) {
	restoreMemoryLimit(t)
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOGC", "")
	for _, tc := range []struct {
		url       string
		file      string
		wantMiB   int
		wantLimit int64
		wantGC    int
	}{
		{"", "", 0, math.MaxInt64, config.DefaultEmbeddedGCPercent},
		{"nats://nats-1:4222", "", config.DefaultMemoryLimitMiB, int64(config.DefaultMemoryLimitMiB) << 20, 100},
		{"nats://nats-1:4222", "memory_limit_mib: 300\n", 300, 300 << 20, 100},
		{"nats://nats-1:4222", "memory_limit_mib: -1\n", -1, math.MaxInt64, 100},
		{"", "memory_limit_mib: 512\n", 512, 512 << 20, config.DefaultEmbeddedGCPercent},
		{"", "gc_percent: 100\n", 0, math.MaxInt64, 100},
		{"nats://nats-1:4222", "gc_percent: 150\n", config.DefaultMemoryLimitMiB, int64(config.DefaultMemoryLimitMiB) << 20, 150},
		{"nats://nats-1:4222", "gc_percent: -1\n", config.DefaultMemoryLimitMiB, int64(config.DefaultMemoryLimitMiB) << 20, -1},
		{"", "gc_percent: 200\n", 0, math.MaxInt64, 200},
		// More partitions and larger batches hold more envelopes at once: a higher bound.
		{"nats://nats-1:4222", "partitions: 16\nbatch: {size: 500}\n", 548, 548 << 20, 100},
		// A larger filter of idempotency records is Go memory too: the bound grows by what
		// it adds; the default and a smaller one leave it.
		{"nats://nats-1:4222", "store: {record_filter_mib: 66}\n", config.DefaultMemoryLimitMiB + 64, int64(config.DefaultMemoryLimitMiB+64) << 20, 100},
		{"nats://nats-1:4222", "store: {record_filter_mib: 1}\n", config.DefaultMemoryLimitMiB, int64(config.DefaultMemoryLimitMiB) << 20, 100},
		// So is the cache of states.
		{"nats://nats-1:4222", "store: {state_cache_mib: 48}\n", config.DefaultMemoryLimitMiB + 32, int64(config.DefaultMemoryLimitMiB+32) << 20, 100},
		{"nats://nats-1:4222", "store: {state_cache_mib: -1}\n", config.DefaultMemoryLimitMiB, int64(config.DefaultMemoryLimitMiB) << 20, 100},
	} {
		c := &config.Config{}
		if tc.file != "" {
			var err error
			if c, err = config.Parse([]byte(tc.file)); err != nil {
				t.Fatal(err)
			}
		}
		c.NATS.URL = tc.url
		c.SetDefaults()
		if err := c.Validate(); err != nil {
			t.Errorf("nats.url %q, %q: %v", tc.url, tc.file, err)
		}
		if c.MemoryLimitMiB != tc.wantMiB {
			t.Errorf("nats.url %q, %q: memory_limit_mib %d, want %d", tc.url, tc.file, c.MemoryLimitMiB, tc.wantMiB)
		}
		debug.SetMemoryLimit(math.MaxInt64)
		if got := c.ApplyMemoryLimit(); got != tc.wantLimit {
			t.Errorf("nats.url %q, %q: applied %d, want %d", tc.url, tc.file, got, tc.wantLimit)
		}
		if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
			t.Errorf("nats.url %q, %q: the runtime's limit is %d, want %d", tc.url, tc.file, got, tc.wantLimit)
		}
		debug.SetGCPercent(100)
		if got := c.ApplyGCPercent(); got != tc.wantGC {
			t.Errorf("nats.url %q, %q: GC target applied %d, want %d", tc.url, tc.file, got, tc.wantGC)
		}
		if got := debug.SetGCPercent(100); got != tc.wantGC {
			t.Errorf("nats.url %q, %q: the runtime's GC target is %d, want %d", tc.url, tc.file, got, tc.wantGC)
		}
	}
}

// GOGC, read by the runtime at start, wins over the default and the file.
func TestGCPercentGOGCWins(t *testing.T) {
	restoreMemoryLimit(t)
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50) // what the runtime would have read at start
	c, err := config.Parse([]byte("gc_percent: 400\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.NATS.URL = "nats://nats-1:4222"
	c.SetDefaults()
	if got := c.ApplyGCPercent(); got != 50 {
		t.Errorf("applied %d, want GOGC's 50", got)
	}
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("the runtime's GC target is %d, want GOGC's 50", got)
	}
}

// Each ApplyGCPercent sets the target from its own configuration and GOGC: a worker with
// NATS apart after one with the embedded server in the same process gets the runtime's
// 100, not the 200 left behind; GOGC wins over both as the runtime reads it ("off": -1).
func TestGCPercentEachApplyItsOwn(t *testing.T) {
	restoreMemoryLimit(t)
	for _, tc := range []struct {
		gogc string
		want [2]int // embedded, then nats.url
	}{
		{"", [2]int{config.DefaultEmbeddedGCPercent, 100}},
		{"off", [2]int{-1, -1}},
		{"75", [2]int{75, 75}},
		{"lots", [2]int{100, 100}},
	} {
		t.Setenv("GOGC", tc.gogc)
		for i, url := range []string{"", "nats://nats-1:4222"} {
			c := &config.Config{}
			c.NATS.URL = url
			c.SetDefaults()
			if got := c.ApplyGCPercent(); got != tc.want[i] {
				t.Errorf("GOGC %q, nats.url %q: applied %d, want %d", tc.gogc, url, got, tc.want[i])
			}
			got := debug.SetGCPercent(-1) // read, and put back as it was
			debug.SetGCPercent(got)
			if got != tc.want[i] {
				t.Errorf("GOGC %q, nats.url %q: the runtime's target is %d, want %d", tc.gogc, url, got, tc.want[i])
			}
		}
	}
}

func TestMemoryLimitForDefaults(t *testing.T) {
	if got := config.MemoryLimitFor(config.DefaultPartitions, config.Default().Batch.Size); got != config.DefaultMemoryLimitMiB {
		t.Errorf("MemoryLimitFor the default partitions and batch: %d MiB, DefaultMemoryLimitMiB says %d", got, config.DefaultMemoryLimitMiB)
	}
}

// GOMEMLIMIT, read by the runtime at start, wins over the default and the file.
func TestMemoryLimitGOMEMLIMITWins(t *testing.T) {
	restoreMemoryLimit(t)
	t.Setenv("GOMEMLIMIT", "700MiB")
	const runtimes = 700 << 20 // what the runtime would have read at start
	debug.SetMemoryLimit(runtimes)
	c := &config.Config{}
	c.NATS.URL = "nats://nats-1:4222"
	c.SetDefaults()
	if got := c.ApplyMemoryLimit(); got != runtimes {
		t.Errorf("applied %d, want GOMEMLIMIT's %d", got, runtimes)
	}
	if got := debug.SetMemoryLimit(-1); got != runtimes {
		t.Errorf("the runtime's limit is %d, want GOMEMLIMIT's %d", got, runtimes)
	}
}

// A memory limit or a collector target below -1 is refused, naming the setting.
func TestMemorySettingsInvalid(t *testing.T) {
	for _, key := range []string{"memory_limit_mib", "gc_percent"} {
		c, err := config.Parse([]byte(key + ": -2\n"))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDefaults()
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s -2: %v", key, err)
		}
	}
}
