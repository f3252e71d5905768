package main_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestBenchTiny runs `cartwright bench` at a tiny size: the flags reach the bench and the
// report reaches stdout, as JSON and as the table. The bench package's tests check the
// report's figures; this one judges no speed either.
func TestBenchTiny(t *testing.T) {
	// --contexts alone sets --n to 8 × contexts.
	r := must(t, 0, "bench", "--contexts", "50", "--json", "--skip-latency", "--skip-baseline", "--skip-floor")
	var rep struct {
		Settings struct {
			N, Contexts int
			Inventory   string
		}
		Versions   map[string]string
		Throughput struct {
			Envelopes int `json:"envelopes"`
		}
		Latency, Baseline *struct{}
		Skeleton          *struct{} `json:"skeleton"`
		Outcomes          struct {
			Completed int `json:"completed_checkouts"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, r.stdout)
	}
	if s := rep.Settings; s.N != 400 || s.Contexts != 50 || s.Inventory != "store" {
		t.Errorf("settings: %+v", s)
	}
	for _, k := range []string{"go", "cartwright", "nats-server"} {
		if rep.Versions[k] == "" {
			t.Errorf("no %s version in %v", k, rep.Versions)
		}
	}
	if rep.Throughput.Envelopes != 400 || rep.Outcomes.Completed != 50 {
		t.Errorf("throughput %+v, outcomes %+v\n%s", rep.Throughput, rep.Outcomes, r.stderr)
	}
	if rep.Latency != nil || rep.Baseline != nil || rep.Skeleton != nil {
		t.Errorf("--skip-*: latency %v, baseline %v, skeleton %v", rep.Latency, rep.Baseline, rep.Skeleton)
	}
	if !strings.Contains(r.stderr, "bench: throughput:") {
		t.Errorf("no progress on stderr:\n%s", r.stderr)
	}

	r = must(t, 0, "bench", "--n", "400", "--skip-latency", "--skip-floor")
	for _, row := range []string{"throughput", "baseline (bare consumer)", "cartwright / baseline"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(row) + ` +\S`).MatchString(r.stdout) {
			t.Errorf("no %q row in the report:\n%s", row, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "floor") {
		t.Errorf("--skip-floor: the report:\n%s", r.stdout)
	}
}

// TestBenchUsage refuses a mix that is not whole, and settings the bench refuses, as
// usage errors.
func TestBenchUsage(t *testing.T) {
	must(t, 2, "bench", "--n", "2001")
	r := must(t, 2, "bench", "--n", "2000", "--contexts", "300")
	if !strings.Contains(r.stderr, "cartwright: --n 2000 over --contexts 300:") {
		t.Errorf("stderr: %s", r.stderr)
	}
	must(t, 2, "bench", "--n", "16", "--inventory", "shelf")
}

// TestBenchWorkers runs `cartwright bench --workers 2`: the binary starts two of itself
// as workers, and the report names them and the group's throughput.
func TestBenchWorkers(t *testing.T) {
	r := must(t, 0, "bench", "--workers", "2", "--n", "160", "--json", "--skip-baseline", "--skip-floor")
	var rep struct {
		Workers        int     `json:"workers"`
		GroupPerSecond float64 `json:"group_per_second"`
		Group          struct {
			PerWorker []struct {
				ID              string `json:"id"`
				PartitionsOwned int    `json:"partitions_owned"`
			} `json:"per_worker"`
		}
		Outcomes struct {
			Completed int `json:"completed_checkouts"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, r.stdout)
	}
	if rep.Workers != 2 || rep.GroupPerSecond <= 0 || len(rep.Group.PerWorker) != 2 || rep.Outcomes.Completed != 20 {
		t.Errorf("report: %+v\n%s", rep, r.stderr)
	}
	for _, w := range rep.Group.PerWorker {
		if w.PartitionsOwned < 1 {
			t.Errorf("worker %s owned no partition", w.ID)
		}
	}
	// Worker processes keep stock where serve can: not in the bench's memory.
	must(t, 2, "bench", "--workers", "2", "--n", "16", "--inventory", "memory")
}
