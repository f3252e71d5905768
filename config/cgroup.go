package config

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// cpuLimited reports whether a cgroup CPU limit applies to the process, from the files
// under root ("/" but in tests): cgroup v2's cpu.max, or v1's cpu.cfs_quota_us in the
// cpu controller, in the process's cgroup or any above it. known is false when it cannot
// tell (not Linux, no cgroup file system, a cgroup path that is not where it says).
//
// The runtime's default GOMAXPROCS already follows such a limit, but rounds a limit
// below 2 CPUs up to 2 and a fraction up to the next CPU: on a 2-CPU machine a 1-CPU
// limit gives the same default as none, so the default alone cannot tell.
func cpuLimited(root string) (limited, known bool) {
	b, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return false, false
	}
	var v2 string
	haveV2 := false
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2, haveV2 = parts[2], true
			continue
		}
		if slices.Contains(strings.Split(parts[1], ","), "cpu") {
			return v1Limited(root, parts[2])
		}
	}
	if !haveV2 {
		return false, false
	}
	return walkCgroup(filepath.Join(root, "sys/fs/cgroup"), v2, "cpu.max", func(v string) bool {
		f := strings.Fields(v)
		return len(f) > 0 && f[0] != "max"
	})
}

// v1Limited is cpuLimited for cgroup v1: the cpu controller's quota, mounted alone or
// with cpuacct.
func v1Limited(root, path string) (limited, known bool) {
	for _, mount := range []string{"cpu", "cpu,cpuacct", "cpuacct,cpu"} {
		dir := filepath.Join(root, "sys/fs/cgroup", mount)
		if _, err := os.Stat(filepath.Join(dir, "cpu.cfs_quota_us")); err == nil {
			return walkCgroup(dir, path, "cpu.cfs_quota_us", func(v string) bool {
				n, err := strconv.ParseInt(v, 10, 64)
				return err == nil && n > 0
			})
		}
	}
	return false, false
}

// walkCgroup reads file in the cgroup at path under mount and in each one above it, up
// to mount, and reports whether any of them limits (limits says from the file's text).
// A cgroup whose directory is not there makes it unknown; a level without the file (the
// root cgroup has none) limits nothing.
func walkCgroup(mount, path, file string, limits func(string) bool) (limited, known bool) {
	dir := filepath.Join(mount, filepath.FromSlash(path))
	if _, err := os.Stat(dir); err != nil {
		return false, false
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil && limits(strings.TrimSpace(string(b))) {
			return true, true
		}
		if dir == mount || !strings.HasPrefix(dir, mount) {
			return false, true
		}
		dir = filepath.Dir(dir)
	}
}
