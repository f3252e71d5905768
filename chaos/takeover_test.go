package chaos

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/testenv"
)

var takeovers = flag.Int("chaos.takeover", 0,
	"measure this many takeovers after SIGKILL and as many after SIGTERM of a worker of three (0: one of each, the CI run)")

// TestGroupTakeover times takeovers in a group of three workers of the real binary
// (changelog on, stock in its bucket), one NATS server: a worker that owns partitions is
// sent SIGKILL (or SIGTERM), and the time is taken from the signal until every partition
// it owned is leased to another worker and has answered an envelope sent to one of its
// contexts after that. The victim is then started again and the group rebalanced before
// the next. With -chaos.takeover N it does N of each and prints median and max; without,
// one of each, bounded loosely (a dead worker's partitions move within 10 s, CONTRACT.md
// section 10; a clean stop hands them over at once).
func TestGroupTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three worker processes and waits out a lease")
	}
	n := max(*takeovers, 1)
	const partitions = 6
	ns := testenv.StartTestNATS(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "takeover.yaml")
	if err := os.WriteFile(cfgFile, []byte("changelog: true\nstock: bucket\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ids := []string{"t0", "t1", "t2"}
	var procs []*testenv.Proc
	for _, id := range ids {
		procs = append(procs, testenv.StartServe(t, "--config", cfgFile, "--nats-url", ns.URL(), "--data", filepath.Join(dir, id),
			"--worker-id", id, "--http-listen", "127.0.0.1:0", "--partitions", fmt.Sprint(partitions)))
	}
	c := testenv.NewClient(t, ns.URL())
	c.Timeout = 30 * time.Second
	js := c.JetStream()

	// A context of each partition, with a checkout, learnt from where A2A_IN stored it.
	ctxOf := map[int]string{}
	for i := 0; len(ctxOf) < partitions; i++ {
		if i > 200 {
			t.Fatalf("200 contexts fall in %d partitions of %d", len(ctxOf), partitions)
		}
		ctx := fmt.Sprintf("k%03d", i)
		c.Send("demo", ctx, ctx+"-create", map[string]any{"action": "create_checkout"})
		in := collect(t, js, "A2A_IN", 0)
		toks := strings.Split(in[len(in)-1].Subject, ".") // a2a.in.<p>.demo.<ctx>
		var p int
		fmt.Sscan(toks[2], &p)
		if _, ok := ctxOf[p]; !ok && toks[4] == ctx {
			ctxOf[p] = ctx
		}
	}

	balanced := func() map[int]string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			l, err := testenv.Leases(context.Background(), js, "a2a")
			counts := map[string]int{}
			for _, w := range l {
				counts[w]++
			}
			if err == nil && len(l) == partitions && len(counts) == len(ids) && slices.Max(mapValues(counts)) == partitions/len(ids) {
				return l
			}
			if time.Now().After(deadline) {
				t.Fatalf("not balanced after 30s: leases %v (%v)", l, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	var kills, terms []time.Duration
	for round := range 2 * n {
		kill := round%2 == 0
		leases := balanced()
		v := round % len(ids)
		victim := ids[v]
		var owned []int
		for p, w := range leases {
			if w == victim {
				owned = append(owned, p)
			}
		}
		slices.Sort(owned)
		signaled := time.Now()
		stopped := make(chan error, 1)
		go func() {
			if kill {
				procs[v].Kill()
				stopped <- nil
				return
			}
			stopped <- procs[v].Terminate()
		}()
		// Each of the victim's partitions: leased to another worker, then an envelope to
		// its context answered.
		took := make([]time.Duration, len(owned))
		var wg sync.WaitGroup
		for i, p := range owned {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					w, err := testenv.Lease(context.Background(), js, "a2a", p)
					if err == nil && w != "" && w != victim {
						break
					}
					if time.Since(signaled) > time.Minute {
						t.Errorf("partition %d: still leased to %q a minute after the signal", p, w)
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
				id := fmt.Sprintf("%s-probe-%d-%d", ctxOf[p], round, p)
				m, err := c.Request("demo", ctxOf[p], testenv.Envelope(id, "", map[string]any{"action": "get_checkout"}), nil)
				if err != nil {
					t.Errorf("partition %d: %v", p, err)
					return
				}
				if m.Header.Get("A2A-Status") == "error" {
					t.Errorf("partition %d: %s", p, m.Data)
				}
				took[i] = time.Since(signaled)
			}()
		}
		wg.Wait()
		if err := <-stopped; err != nil {
			t.Error(err)
		}
		d := slices.Max(took)
		what := "SIGTERM"
		if kill {
			what = "SIGKILL"
			kills = append(kills, d)
		} else {
			terms = append(terms, d)
		}
		t.Logf("%s %s (partitions %v): taken over and served in %s", what, victim, owned, d.Round(time.Millisecond))
		procs[v].Restart()
	}
	t.Logf("after SIGKILL: %s", durations(kills))
	t.Logf("after SIGTERM: %s", durations(terms))
	if m := slices.Max(kills); m > 15*time.Second {
		t.Errorf("a dead worker's partitions took %s to move, more than 10 s (and a margin)", m)
	}
	if m := slices.Max(terms); m > 5*time.Second {
		t.Errorf("a stopped worker's partitions took %s to move; a clean stop hands them over at once", m)
	}
}

func mapValues(m map[string]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// durations says n, median and max.
func durations(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return "none"
	}
	return fmt.Sprintf("n=%d, median %s, max %s", len(s), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}
