package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/testenv"
)

// A binary built from this checkout says which revision it was built from.
func TestVersionNamesTheRevision(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): the toolchain stamps no revision", err)
	}
	top, _ := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		t.Skip("a git worktree (.git is a file): the toolchain stamps no revision there")
	}
	out, err := exec.Command(testenv.Binary(t), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	// A build from a checkout reports the toolchain's pseudo-version (v0.0.0-<time>-<rev>).
	if rev := strings.TrimSuffix(v["revision"], "+modified"); rev != strings.TrimSpace(string(head)) || v["cartwright"] == "" {
		t.Fatalf("version printed %s; want revision %s", out, head)
	}
}
