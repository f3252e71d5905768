package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// restoreProcs puts GOMAXPROCS back after a test that sets it.
func restoreProcs(t *testing.T) {
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// parseConfig reads a configuration file's text (none: all defaults) and sets the
// defaults.
func parseConfig(t *testing.T, file string) *Config {
	t.Helper()
	c := &Config{}
	if file != "" {
		var err error
		if c, err = Parse([]byte(file)); err != nil {
			t.Fatal(err)
		}
	}
	c.SetDefaults()
	return c
}

// As many processors again as CPUs, up to MaxExtraProcs more, with no cgroup CPU limit;
// the runtime's default under one, or when that is not known.
func TestProcsFor(t *testing.T) {
	for _, tc := range []struct {
		procs, def, cpus int
		unlimited        bool
		want             int
	}{
		{0, 1, 1, true, 2},
		{0, 2, 2, true, 4},
		{0, 4, 4, true, 8},
		{0, 64, 64, true, 64 + MaxExtraProcs}, // a few spare processors, not as many again
		{0, 2, 2, false, 2},                   // a 1-CPU limit on 2 CPUs: the default is 2 all the same
		{0, 2, 8, false, 2},                   // a limit of 2 CPUs on an 8-CPU machine
		{0, 2, 8, true, 2},                    // an affinity or default below the CPUs
		{3, 2, 8, false, 3},                   // a number is taken as it is
		{-1, 8, 8, true, 8},                   // the runtime's default
		{-1, 2, 8, false, 2},
	} {
		if got := procsFor(tc.procs, tc.def, tc.cpus, tc.unlimited); got != tc.want {
			t.Errorf("procsFor(%d, default %d, %d CPUs, unlimited %v) = %d, want %d", tc.procs, tc.def, tc.cpus, tc.unlimited, got, tc.want)
		}
	}
}

// cpuLimited reads cgroup v1 and v2 as a machine or a container lays them out.
func TestCPULimited(t *testing.T) {
	type files map[string]string
	for _, tc := range []struct {
		name           string
		files          files
		limited, known bool
	}{
		{"v2, a container's own cgroup (namespaced)", files{
			"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "150000 100000\n"}, true, true},
		{"v2, no limit", files{
			"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cpu.max": "max 100000\n"}, false, true},
		{"v2, the root cgroup (no cpu.max)", files{
			"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/cgroup.procs": ""}, false, true},
		{"v2, a limit on a parent", files{
			"proc/self/cgroup":                        "0::/kubepods/pod1/ctr\n",
			"sys/fs/cgroup/kubepods/cpu.max":          "max 100000\n",
			"sys/fs/cgroup/kubepods/pod1/cpu.max":     "100000 100000\n",
			"sys/fs/cgroup/kubepods/pod1/ctr/cpu.max": "max 100000\n"}, true, true},
		{"v2, the cgroup is not where it says", files{
			"proc/self/cgroup": "0::/elsewhere\n", "sys/fs/cgroup/cpu.max": "max 100000\n"}, false, false},
		{"v1, no quota", files{
			"proc/self/cgroup":                             "4:memory:/x\n2:cpuacct:/\n1:cpu:/\n0::/\n",
			"sys/fs/cgroup/cpu/cpu.cfs_quota_us":           "-1\n",
			"sys/fs/cgroup/cpuacct/cpuacct.usage":          "0\n",
			"sys/fs/cgroup/memory/x/memory.limit_in_bytes": "1\n"}, false, true},
		{"v1, a quota, cpu and cpuacct mounted together", files{
			"proc/self/cgroup":                                      "3:cpu,cpuacct:/docker/abc\n",
			"sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us":            "-1\n",
			"sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us":     "-1\n",
			"sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n"}, true, true},
		{"no cgroup file system", files{"proc/self/cgroup": "0::/\n"}, false, false},
		{"no /proc", files{}, false, false},
	} {
		root := t.TempDir()
		for name, text := range tc.files {
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		limited, known := cpuLimited(root)
		if limited != tc.limited || known != tc.known {
			t.Errorf("%s: limited %v, known %v; want %v, %v", tc.name, limited, known, tc.limited, tc.known)
		}
	}
}

// Unset, procs is the runtime's default and as many again, at most MaxExtraProcs more
// (the default alone under a cgroup CPU limit, or when that is not known); a number is taken as it is; -1 is the runtime's
// default.
func TestProcs(t *testing.T) {
	restoreProcs(t)
	t.Setenv("GOMAXPROCS", "")
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)
	unset := def
	if limited, known := cpuLimited("/"); known && !limited && def >= runtime.NumCPU() {
		unset = def + min(def, MaxExtraProcs)
	}
	for _, tc := range []struct {
		file string
		want int
	}{
		{"", unset},
		{"procs: 3\n", 3},
		{"procs: -1\n", def},
	} {
		c := parseConfig(t, tc.file)
		if err := c.Validate(); err != nil {
			t.Fatalf("%q: %v", tc.file, err)
		}
		runtime.GOMAXPROCS(1) // what a run before may have left
		if got := c.ApplyProcs(); got != tc.want {
			t.Errorf("%q: ApplyProcs %d, want %d", tc.file, got, tc.want)
		}
		if got := runtime.GOMAXPROCS(0); got != tc.want {
			t.Errorf("%q: GOMAXPROCS %d, want %d", tc.file, got, tc.want)
		}
	}
}

// The GOMAXPROCS environment variable, read by the runtime at start, wins.
func TestProcsEnvironmentWins(t *testing.T) {
	restoreProcs(t)
	t.Setenv("GOMAXPROCS", "3")
	runtime.GOMAXPROCS(3) // what the runtime would have read at start
	c, err := Parse([]byte("procs: 8\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if got := c.ApplyProcs(); got != 3 {
		t.Errorf("ApplyProcs %d, want the environment's 3", got)
	}
}

func TestProcsInvalid(t *testing.T) {
	c, err := Parse([]byte("procs: -2\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "procs") {
		t.Errorf("procs -2: %v", err)
	}
}

// The store's settings: compactions run below the worker by default, -1 runs them at its
// priority, and a nice value outside 1-19 is refused; the filter of idempotency records
// is 2 MiB unless set, the cache of states 16 MiB; -1 turns either off, and a size below
// -1 or above 4 GiB is refused.
func TestStoreSettings(t *testing.T) {
	nice := func(c *Config) int { return c.Store.CompactionNice }
	filter := func(c *Config) int { return c.Store.RecordFilterMiB }
	states := func(c *Config) int { return c.Store.StateCacheMiB }
	for _, tc := range []struct {
		file, setting string
		get           func(*Config) int
		want          int
		bad           bool
	}{
		{"", "compaction_nice", nice, DefaultCompactionNice, false},
		{"store: {compaction_nice: 19}\n", "compaction_nice", nice, 19, false},
		{"store: {compaction_nice: -1}\n", "compaction_nice", nice, -1, false},
		{"store: {compaction_nice: 20}\n", "compaction_nice", nice, 20, true},
		{"store: {compaction_nice: -5}\n", "compaction_nice", nice, -5, true},
		{"", "record_filter_mib", filter, DefaultRecordFilterMiB, false},
		{"store: {record_filter_mib: 64}\n", "record_filter_mib", filter, 64, false},
		{"store: {record_filter_mib: -1}\n", "record_filter_mib", filter, -1, false},
		{"store: {record_filter_mib: -2}\n", "record_filter_mib", filter, -2, true},
		{"store: {record_filter_mib: 4097}\n", "record_filter_mib", filter, 4097, true},
		{"", "state_cache_mib", states, DefaultStateCacheMiB, false},
		{"store: {state_cache_mib: 64}\n", "state_cache_mib", states, 64, false},
		{"store: {state_cache_mib: -1}\n", "state_cache_mib", states, -1, false},
		{"store: {state_cache_mib: -2}\n", "state_cache_mib", states, -2, true},
		{"store: {state_cache_mib: 4097}\n", "state_cache_mib", states, 4097, true},
	} {
		c := parseConfig(t, tc.file)
		if got := tc.get(c); got != tc.want {
			t.Errorf("%q: %s %d, want %d", tc.file, tc.setting, got, tc.want)
		}
		err := c.Validate()
		if tc.bad != (err != nil && strings.Contains(err.Error(), tc.setting)) {
			t.Errorf("%q: Validate: %v", tc.file, err)
		}
	}
}

// The cache of states is split evenly between the partitions, and is none when off.
func TestStateCacheBytes(t *testing.T) {
	c := parseConfig(t, "store: {state_cache_mib: 16}\n")
	if got := c.StateCacheBytes(4); got != 4<<20 {
		t.Errorf("16 MiB over 4 partitions: %d bytes each, want %d", got, 4<<20)
	}
	if got := c.StateCacheBytes(0); got != 0 {
		t.Errorf("no partitions: %d bytes", got)
	}
	c = parseConfig(t, "store: {state_cache_mib: -1}\n")
	if got := c.StateCacheBytes(4); got != 0 {
		t.Errorf("cache off: %d bytes each, want 0", got)
	}
}
