package chaos

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

// Two workers started at the same moment on an empty NATS (no stream, no bucket yet)
// while envelopes arrive: both join, the partitions split evenly, no partition is ever
// owned by both (as each worker itself counts its partitions, sampled throughout), and
// every envelope is answered exactly once. Three rounds, each on a fresh server.
func TestGroupStartTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two workers three times")
	}
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) { startTogether(t) })
	}
}

func startTogether(t *testing.T) {
	const partitions, contexts = 8, 200
	n := testenv.StartTestNATS(t)
	c := testenv.NewClient(t, n.URL())
	c.Timeout = 2 * time.Second
	var main []envelope
	for i := range contexts {
		ctx := fmt.Sprintf("s%03d", i)
		id := ctx + "-create"
		main = append(main, envelope{ctx: ctx, messageID: id, body: testenv.Envelope(id, "", map[string]any{"action": "create_checkout"})})
	}
	// The envelopes go out while the workers start: the first are refused until one of
	// them has made A2A_IN, and are published again.
	published := make(chan struct{})
	go func() {
		defer close(published)
		for _, e := range main {
			publishRetrying(t, c, e)
		}
	}()
	cfg := &config.Config{Partitions: partitions, Changelog: true, Stock: config.StockBucket}
	ws := testenv.LaunchGroupWorkers(t, n, cfg, "w-a", "w-b")
	a, b := ws[0].Worker, ws[1].Worker

	// Sample both workers' partitions until the test ends. A worker clears a partition
	// before it lets its lease go, and takes one only with the lease: reading one worker
	// and then the other, a partition both show is owned twice at once.
	var samples, doubles atomic.Int64
	var mu sync.Mutex
	var seen []string
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Owned may be read once the worker has joined (it sets its partitions up
			// before it joins, and takes none before).
			if a.Member() == nil || b.Member() == nil {
				time.Sleep(200 * time.Microsecond)
				continue
			}
			b0 := b.Owned()
			oa := a.Owned()
			b1 := b.Owned()
			samples.Add(1)
			for _, p := range oa {
				if slices.Contains(b0, p) || slices.Contains(b1, p) {
					doubles.Add(1)
					mu.Lock()
					seen = append(seen, fmt.Sprintf("partition %d: a %v, b %v then %v", p, oa, b0, b1))
					mu.Unlock()
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	for _, w := range ws {
		w.WaitRunning()
	}
	<-published
	waitReplies(t, c.JetStream(), main, time.Minute)

	// Evenly: four each, every loop running.
	deadline := time.Now().Add(20 * time.Second)
	for {
		oa, ob := a.Owned(), b.Owned()
		if len(oa) == partitions/2 && len(ob) == partitions/2 && a.Running() == partitions/2 && b.Running() == partitions/2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: w-a owns %v (%d loops), w-b %v (%d loops); want %d each", oa, a.Running(), ob, b.Running(), partitions/2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	<-sampled
	if d := doubles.Load(); d > 0 {
		t.Errorf("%d of %d samples showed a partition owned by both workers:\n%v", d, samples.Load(), seen)
	}

	// Every envelope answered exactly once.
	perID := map[string]int{}
	for _, r := range collect(t, c.JetStream(), "A2A_OUT", 0) {
		perID[r.Header.Get("A2A-Message-Id")]++
	}
	for _, e := range main {
		if perID[e.messageID] != 1 {
			t.Errorf("%s: %d replies, want 1", e.messageID, perID[e.messageID])
		}
	}
	for _, w := range ws {
		if err := w.Worker.Ready(); err != nil {
			t.Errorf("%s not ready: %v", w.Config.WorkerID, err)
		}
	}
	// More acquisitions than partitions: some moved while the two joined (one took them
	// before the other was seen), the hand-over the sampling watched.
	acquired := 0.0
	for _, w := range ws {
		mfs, err := w.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "cartwright_partition_takeovers_total" {
				acquired += mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
	}
	t.Logf("w-a owns %v, w-b %v; %.0f acquisitions of %d partitions; %d samples, no partition owned twice",
		a.Owned(), b.Owned(), acquired, partitions, samples.Load())
}
