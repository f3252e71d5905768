package main_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestBenchTiny runs `cartwright bench` at a tiny size and checks that its report holds
// every figure, in JSON and in the table. It judges no speed: a benchmark is not a timed
// test.
func TestBenchTiny(t *testing.T) {
	r := must(t, 0, "bench", "--n", "2000", "--contexts", "250", "--json")
	var rep struct {
		Settings struct {
			N, Contexts, Partitions, Batch int
			Fsync                          bool
		}
		Machine    struct{ Cores int }
		Versions   map[string]string
		Throughput struct {
			Envelopes int     `json:"envelopes"`
			PerSecond float64 `json:"per_second"`
		}
		Latency *struct {
			Received int     `json:"received"`
			P50      float64 `json:"p50_ms"`
			P99      float64 `json:"p99_ms"`
			P999     float64 `json:"p99_9_ms"`
		}
		Memory struct {
			PeakRSS float64 `json:"peak_rss_mib"`
		}
		Baseline *struct {
			PerSecond float64 `json:"per_second"`
		}
		Ratio float64
		Floor *struct {
			Envelopes    int     `json:"envelopes"`
			PerSecond    float64 `json:"per_second"`
			CPUMicrosPer float64 `json:"cpu_us_per_message"`
			Consumers    int     `json:"consumers"`
			ReplyBytes   int     `json:"reply_bytes"`
		}
		FloorOverBaseline float64 `json:"floor_over_baseline"`
		OverFloor         float64 `json:"cartwright_over_floor"`
		Outcomes          struct {
			Completed   int    `json:"completed_checkouts"`
			DeadLetters uint64 `json:"dead_letters"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, r.stdout)
	}
	s := rep.Settings
	if s.N != 2000 || s.Contexts != 250 || s.Partitions < 1 || s.Batch < 1 || !s.Fsync || rep.Machine.Cores < 1 {
		t.Errorf("settings: %+v, machine %+v", s, rep.Machine)
	}
	for _, k := range []string{"go", "cartwright", "nats-server"} {
		if rep.Versions[k] == "" {
			t.Errorf("no %s version in %v", k, rep.Versions)
		}
	}
	if rep.Throughput.Envelopes != 2000 || rep.Throughput.PerSecond <= 0 {
		t.Errorf("throughput: %+v", rep.Throughput)
	}
	if rep.Baseline == nil || rep.Baseline.PerSecond <= 0 || rep.Ratio <= 0 {
		t.Errorf("baseline: %+v, ratio %v", rep.Baseline, rep.Ratio)
	}
	if f := rep.Floor; f == nil || f.Envelopes != 2000 || f.PerSecond <= 0 || f.CPUMicrosPer <= 0 ||
		f.Consumers != s.Partitions || f.ReplyBytes <= 0 || rep.FloorOverBaseline <= 0 || rep.OverFloor <= 0 {
		t.Errorf("reply floor: %+v, floor/baseline %v, cartwright/floor %v", f, rep.FloorOverBaseline, rep.OverFloor)
	}
	if l := rep.Latency; l == nil || l.Received == 0 || l.P50 <= 0 || l.P99 < l.P50 || l.P999 < l.P99 {
		t.Errorf("latency: %+v", l)
	}
	if rep.Memory.PeakRSS <= 0 {
		t.Errorf("peak RSS: %v", rep.Memory.PeakRSS)
	}
	if rep.Outcomes.Completed != 250 || rep.Outcomes.DeadLetters != 0 {
		t.Errorf("outcomes: %+v (every checkout should complete)\n%s", rep.Outcomes, r.stderr)
	}
	// The table form prints the reference figures' rows: the baseline's, the reply
	// floor's and the ratios.
	r = must(t, 0, "bench", "--n", "400", "--skip-latency")
	for _, row := range []string{"baseline (bare consumer)", "cartwright / baseline", "reply floor", "floor / baseline", "cartwright / floor"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(row) + ` +\S`).MatchString(r.stdout) {
			t.Errorf("no %q row in the report:\n%s", row, r.stdout)
		}
	}
}

// TestBenchSkipFloor leaves the reply floor out, and only it.
func TestBenchSkipFloor(t *testing.T) {
	r := must(t, 0, "bench", "--n", "400", "--skip-latency", "--skip-floor")
	if strings.Contains(r.stdout, "floor") || !strings.Contains(r.stdout, "cartwright / baseline") {
		t.Errorf("--skip-floor: the report:\n%s", r.stdout)
	}
}

// TestBenchUsage refuses a mix that is not whole.
func TestBenchUsage(t *testing.T) {
	must(t, 2, "bench", "--n", "2001")
	must(t, 2, "bench", "--n", "2000", "--contexts", "300")
}
