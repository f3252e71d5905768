package config_test

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
)

// restoreMemoryLimit puts the process's Go memory limit back after a test that sets it.
func restoreMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
}

// With NATS in its own process the worker gets a Go memory limit unless the file sets
// one or says none (-1); with the embedded server it gets none unless the file sets one.
func TestMemoryLimitDefault(t *testing.T) {
	restoreMemoryLimit(t)
	t.Setenv("GOMEMLIMIT", "")
	for _, tc := range []struct {
		url       string
		file      string
		wantMiB   int
		wantLimit int64
	}{
		{"", "", 0, math.MaxInt64},
		{"nats://nats-1:4222", "", config.DefaultMemoryLimitMiB, int64(config.DefaultMemoryLimitMiB) << 20},
		{"nats://nats-1:4222", "memory_limit_mib: 300\n", 300, 300 << 20},
		{"nats://nats-1:4222", "memory_limit_mib: -1\n", -1, math.MaxInt64},
		{"", "memory_limit_mib: 512\n", 512, 512 << 20},
		// More partitions and larger batches hold more envelopes at once: a higher bound.
		{"nats://nats-1:4222", "partitions: 16\nbatch: {size: 500}\n", 564, 564 << 20},
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

func TestMemoryLimitInvalid(t *testing.T) {
	c, err := config.Parse([]byte("memory_limit_mib: -2\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "memory_limit_mib") {
		t.Errorf("memory_limit_mib -2: %v", err)
	}
}
