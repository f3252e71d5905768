package bus_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

// With the changelog on, a worker that takes a partition from another restores it
// before it fetches: the contexts the other served answer from their state, and their
// envelopes resent are replays, on a worker that never saw them.
func TestGroupChangelogRestoreOnTakeover(t *testing.T) {
	n := testenv.StartTestNATS(t)
	ws := testenv.StartGroupWorkers(t, n, &config.Config{Changelog: true}, "w-a", "w-b")
	a, b := ws[0], ws[1]
	owned := owners(t, 30*time.Second, 4, []int{2, 2}, a, b)

	c := testenv.NewClient(t, n.URL())
	add := map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1}
	var names []string
	for i := range 12 {
		name := fmt.Sprintf("rt%d", i)
		c.Send("demo", name, name+"-create", map[string]any{"action": "create_checkout"})
		if q := quantities(t, decode(t, c.Send("demo", name, name+"-add", add))); q["sku_tee"] != 1 {
			t.Fatalf("%s on its first owner: sku_tee %d, want 1", name, q["sku_tee"])
		}
		names = append(names, name)
	}
	// Which contexts only A ever served: the server maps a context to its partition.
	ctx := context.Background()
	in := mustStream(t, c.JetStream(), a.Worker.Topology().InStream())
	var fromA []string
	for _, name := range names {
		m, err := in.GetLastMsgForSubject(ctx, "a2a.in.*.demo."+name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := strconv.Atoi(strings.Split(m.Subject, ".")[2])
		if err != nil {
			t.Fatal(err)
		}
		if owned[p] == "w-a" {
			fromA = append(fromA, name)
		}
	}
	if len(fromA) == 0 {
		t.Fatalf("none of %d contexts mapped to w-a's partitions %v", len(names), owned)
	}

	taken, restored := groupMetric(t, b, "cartwright_partition_takeovers_total"), restores(t, b)
	a.Stop() // a clean stop: w-a hands its partitions over
	owners(t, 30*time.Second, 4, []int{4}, b)
	// Each partition w-b took over was taken (restored, its epoch marker written) before
	// its loop ran, and each take is timed.
	if got, want := restores(t, b)-restored, groupMetric(t, b, "cartwright_partition_takeovers_total")-taken; got != uint64(want) || got == 0 {
		t.Errorf("cartwright_partition_restore_seconds: %d takes timed since the stop, want one per takeover (%v)", got, want)
	}

	for _, name := range fromA {
		r := decode(t, c.Send("demo", name, name+"-get", map[string]any{"action": "get_checkout"}))
		if errCode(r) != "" {
			t.Errorf("%s on the new owner: get_checkout error %s: the state did not move", name, errCode(r))
			continue
		}
		if q := quantities(t, r); q["sku_tee"] != 1 {
			t.Errorf("%s on the new owner: sku_tee %d, want 1", name, q["sku_tee"])
		}
		m := c.Send("demo", name, name+"-add", add)
		if m.Header.Get("A2A-Replayed") != "true" {
			t.Errorf("%s-add resent to the new owner: not a replay: %s", name, m.Data)
		}
		if q := quantities(t, decode(t, m)); q["sku_tee"] != 1 {
			t.Errorf("%s-add resent to the new owner: sku_tee %d, want 1", name, q["sku_tee"])
		}
	}
}

// restores is how many partition takes w's restore histogram has timed.
func restores(t *testing.T, w *testenv.Worker) uint64 {
	t.Helper()
	mfs, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "cartwright_partition_restore_seconds" {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatal("no metric cartwright_partition_restore_seconds")
	return 0
}
