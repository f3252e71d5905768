package config_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
)

// The default worker id is the same for a directory however it is named, differs for
// another directory, and is a valid id (a token of the group bucket's keys) whatever the
// host is called; a bad worker_id or replicas count is refused.
func TestWorkerIDAndReplicas(t *testing.T) {
	dir := t.TempDir()
	a := config.DefaultWorkerID(filepath.Join(dir, "data"))
	if b := config.DefaultWorkerID(filepath.Join(dir, "x", "..", "data") + "/"); a != b {
		t.Errorf("one directory, two ids: %q, %q", a, b)
	}
	if b := config.DefaultWorkerID(filepath.Join(dir, "data2")); a == b {
		t.Errorf("two directories, one id %q", a)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+-[0-9a-f]{8}$`).MatchString(a) {
		t.Errorf("default id %q: want <host>-<8 hex digits>", a)
	}
	c := &config.Config{DataDir: dir}
	c.SetDefaults()
	if c.WorkerID != config.DefaultWorkerID(dir) || c.Replicas != 1 {
		t.Errorf("defaults: worker_id %q, replicas %d", c.WorkerID, c.Replicas)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.WorkerID, c.Replicas = "a b.>", 7
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "worker_id") || !strings.Contains(err.Error(), "replicas") {
		t.Errorf("bad worker_id and replicas: %v", err)
	}
}
