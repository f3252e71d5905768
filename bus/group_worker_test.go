package bus_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/testenv"
)

// owners waits until the workers own every partition of n between them, each exactly
// once, with the counts in want (in the workers' order), and returns who owns what.
func owners(t *testing.T, within time.Duration, n int, want []int, ws ...*testenv.Worker) map[int]string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := map[int]string{}
		counts := make([]int, len(ws))
		dup := false
		for i, w := range ws {
			for _, p := range w.Worker.Owned() {
				if _, ok := got[p]; ok {
					dup = true
				}
				got[p] = w.Config.WorkerID
				counts[i]++
			}
			if w.Worker.Running() != counts[i] {
				dup = true // a loop still ending or starting
			}
		}
		if !dup && len(got) == n && slices.Equal(counts, want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("partitions owned %v (%v per worker), want %v per worker within %s", got, counts, want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publishFresh publishes create_checkout in k new contexts and returns their message ids.
// Its reply depends on no earlier state, so whichever worker serves the partition
// answers it the same way (the state of older contexts moves with the changelog).
func publishFresh(t *testing.T, c *testenv.Client, tag string, k int) []string {
	t.Helper()
	var ids []string
	for i := range k {
		ctx := fmt.Sprintf("%s-%d", tag, i)
		id := ctx + "-create"
		if _, err := c.Publish("demo", ctx, testenv.Envelope(id, "", map[string]any{"action": "create_checkout"}), nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// Two workers on one NATS split four partitions two and two and answer every envelope
// once; one that stops cleanly hands its partitions to the other at once, and nothing is
// lost or answered twice.
func TestGroupSplitAndHandOver(t *testing.T) {
	n := testenv.StartTestNATS(t)
	ws := testenv.StartGroupWorkers(t, n, nil, "w-a", "w-b")
	a, b := ws[0], ws[1]
	owners(t, 20*time.Second, 4, []int{2, 2}, a, b)
	for _, w := range ws {
		if got := groupMetric(t, w, "cartwright_partitions_owned"); got != 2 {
			t.Errorf("%s: cartwright_partitions_owned %v, want 2", w.Config.WorkerID, got)
		}
	}
	c := testenv.NewClient(t, n.URL())
	ids := publishFresh(t, c, "before", 40)
	collectReplies(t, c.JetStream(), len(ids), 30*time.Second)

	taken := groupMetric(t, b, "cartwright_partition_takeovers_total")
	stopped := time.Now()
	a.Stop()
	owners(t, 5*time.Second, 4, []int{4}, b)
	t.Logf("the other worker runs every partition %s after the clean stop", time.Since(stopped).Round(time.Millisecond))
	ids = append(ids, publishFresh(t, c, "after", 40)...)
	replies := collectReplies(t, c.JetStream(), len(ids), 30*time.Second)
	for _, id := range ids {
		if replies[id] != 1 {
			t.Errorf("%s: %d replies, want 1", id, replies[id])
		}
	}
	if len(replies) != len(ids) {
		t.Errorf("%d distinct replies, want %d", len(replies), len(ids))
	}
	if got := groupMetric(t, b, "cartwright_partition_takeovers_total") - taken; got != 2 {
		t.Errorf("the remaining worker took over %v partitions at the hand-over, want 2", got)
	}
}

// A worker that dies (its member stops without a hand-over) loses its partitions to the
// other within 10 s, and the other serves them.
func TestGroupDeadWorkerLosesPartitions(t *testing.T) {
	n := testenv.StartTestNATS(t)
	ws := testenv.StartGroupWorkers(t, n, nil, "w-a", "w-b")
	a, b := ws[0], ws[1]
	owners(t, 20*time.Second, 4, []int{2, 2}, a, b)
	died := time.Now()
	a.Crash()
	owners(t, 10*time.Second, 4, []int{4}, b)
	t.Logf("taken over %s after the death", time.Since(died).Round(time.Millisecond))
	c := testenv.NewClient(t, n.URL())
	ids := publishFresh(t, c, "after", 20)
	replies := collectReplies(t, c.JetStream(), len(ids), 30*time.Second)
	for _, id := range ids {
		if replies[id] != 1 {
			t.Errorf("%s: %d replies, want 1", id, replies[id])
		}
	}
}

// Three workers started at the same moment on an empty NATS all come up (the streams
// and the group bucket created concurrently), and each partition has one owner.
func TestGroupSimultaneousStart(t *testing.T) {
	n := testenv.StartTestNATS(t)
	ws := testenv.StartGroupWorkers(t, n, nil, "w-a", "w-b", "w-c")
	// 4 over 3: one gets two; who depends only on the ids.
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := map[int]int{}
		running := 0
		for _, w := range ws {
			for _, p := range w.Worker.Owned() {
				got[p]++
			}
			running += w.Worker.Running()
		}
		ok := len(got) == 4 && running == 4
		for _, k := range got {
			ok = ok && k == 1
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("owners per partition %v, loops running %d: want one each", got, running)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, w := range ws {
		if err := w.Worker.Ready(); err != nil {
			t.Errorf("%s not ready: %v", w.Config.WorkerID, err)
		}
	}
}

// groupMetric reads a gauge or counter without labels from the worker's registry.
func groupMetric(t *testing.T, w *testenv.Worker, name string) float64 {
	t.Helper()
	mfs, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// --replicas 3 on a clustered NATS gives every stream and bucket the worker creates three
// replicas: the four streams, the changelog (on by default with --nats-url), the stock
// bucket and the group bucket.
func TestGroupReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a three-node cluster and the real binary")
	}
	cl := testenv.StartTestCluster(t)
	conf := filepath.Join(t.TempDir(), "merchant.yaml")
	if err := os.WriteFile(conf, []byte("stock: bucket\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testenv.StartServe(t, "--config", conf, "--nats-url", cl.URLs(), "--data", filepath.Join(t.TempDir(), "data"),
		"--http-listen", "127.0.0.1:0", "--partitions", "2", "--replicas", "3")
	js := testenv.NewClient(t, cl.URL(1)).JetStream()
	ctx := context.Background()
	for _, name := range []string{"A2A_IN", "A2A_OUT", "A2A_DLQ", "A2A_EVT", "A2A_CL", "KV_A2A_STOCK", "KV_A2A_GROUP"} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if r := s.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("%s: %d replicas, want 3", name, r)
		}
	}
	if err := p.Terminate(); err != nil {
		t.Error(err)
	}
}
