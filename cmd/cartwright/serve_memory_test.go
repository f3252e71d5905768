package main_test

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

// gomemlimit is the Go memory limit a running serve reports on /metrics.
func gomemlimit(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_gc_gomemlimit_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no go_gc_gomemlimit_bytes on %s/metrics", base)
	return 0
}

// With --nats-url serve bounds the Go runtime's memory by default; with the embedded NATS
// server it does not (its live heap grows with its streams); GOMEMLIMIT wins over both.
func TestServeMemoryLimitByMode(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	const none = float64(1<<63 - 1)
	// StartServeHTTP runs 2 partitions of serve's default batch.
	defMiB := config.MemoryLimitFor(2, config.Default().Batch.Size)
	def := float64(defMiB << 20)

	external := testenv.StartServeHTTP(t)
	if got := gomemlimit(t, external); got != def {
		t.Errorf("--nats-url: go_gc_gomemlimit_bytes %v, want %v (%d MiB)", got, def, defMiB)
	}

	addr := testenv.FreeAddr(t)
	testenv.StartServe(t, "--data", t.TempDir(), "--nats-listen", testenv.FreeAddr(t), "--http-listen", addr)
	if got := gomemlimit(t, "http://"+addr); got != none {
		t.Errorf("embedded: go_gc_gomemlimit_bytes %v, want none (%v)", got, none)
	}

	addr = testenv.FreeAddr(t)
	ns := testenv.StartTestNATS(t)
	testenv.StartServeEnv(t, []string{"GOMEMLIMIT=300MiB"}, "--nats-url", ns.URL(), "--data", t.TempDir(),
		"--http-listen", addr, "--partitions", "2")
	if got := gomemlimit(t, "http://"+addr); got != 300<<20 {
		t.Errorf("--nats-url with GOMEMLIMIT=300MiB: go_gc_gomemlimit_bytes %v, want %v", got, 300<<20)
	}
}
