package config_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
)

// restoreProcs puts GOMAXPROCS back after a test that sets it.
func restoreProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// parse reads a configuration file's text (none: all defaults) and sets the defaults.
func parse(t *testing.T, file string) *config.Config {
	t.Helper()
	c := &config.Config{}
	if file != "" {
		var err error
		if c, err = config.Parse([]byte(file)); err != nil {
			t.Fatal(err)
		}
	}
	c.SetDefaults()
	return c
}

// The GOMAXPROCS environment variable, read by the runtime at start, wins.
func TestProcsEnvironmentWins(t *testing.T) {
	restoreProcs(t)
	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3) // what the runtime would have read at start
	c, err := config.Parse([]byte("procs: 8\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if got := c.ApplyProcs(); got != 3 {
		t.Errorf("ApplyProcs %d, want the environment's 3", got)
	}
}

func TestProcsInvalid(t *testing.T) {
	c, err := config.Parse([]byte("procs: -2\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "procs") {
		t.Errorf("procs -2: %v", err)
	}
}

// Compactions run below the worker by default; -1 runs them at its priority; a nice
// value outside 1-19 is refused.
func TestCompactionNice(t *testing.T) {
	for _, tc := range []struct {
		file string
		want int
		bad  bool
	}{
		{"", config.DefaultCompactionNice, false},
		{"store: {compaction_nice: 19}\n", 19, false},
		{"store: {compaction_nice: -1}\n", -1, false},
		{"store: {compaction_nice: 20}\n", 20, true},
		{"store: {compaction_nice: -5}\n", -5, true},
	} {
		c := parse(t, tc.file)
		if c.Store.CompactionNice != tc.want {
			t.Errorf("%q: compaction_nice %d, want %d", tc.file, c.Store.CompactionNice, tc.want)
		}
		err := c.Validate()
		if tc.bad != (err != nil && strings.Contains(err.Error(), "compaction_nice")) {
			t.Errorf("%q: Validate: %v", tc.file, err)
		}
	}
}
