package bus_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus/group"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

// A worker alone in its group whose lease renewals come late (a process starved of CPU)
// loses its partitions while envelopes flow: chunks committed after the lease ran out
// are fenced, neither published nor acknowledged. It then acquires the partitions again
// and rewinds; the fenced chunks' envelopes come again, find their idempotency records,
// and each of them must still get its reply. Every envelope ends with exactly one reply
// in A2A_OUT, and every checkout is completed and charged once.
func TestGroupRelostRepliesEveryEnvelope(t *testing.T) {
	for _, changelog := range []bool{false, true} {
		t.Run(fmt.Sprintf("changelog=%v", changelog), func(t *testing.T) {
			testRelost(t, changelog)
		})
	}
}

func testRelost(t *testing.T, changelog bool) {
	n := testenv.StartTestNATS(t)
	w := testenv.StartGroupWorker(t, n, "w-a", &config.Config{ChangelogSetting: &changelog})
	owners(t, 20*time.Second, 4, []int{4}, w)
	c := testenv.NewClient(t, n.URL())

	// The next round of renewals waits past the leases' local validity (TTL − margin,
	// 5 s with the defaults), once.
	var stalled atomic.Bool
	stallFor := group.DefaultLeaseTTL + 500*time.Millisecond
	group.SetRenewHook(func() {
		if stalled.CompareAndSwap(false, true) {
			time.Sleep(stallFor)
		}
	})
	t.Cleanup(func() { group.SetRenewHook(nil) })

	// Envelopes flow before, during and after the stall: each context creates a checkout
	// with an item and completes it, a charge.
	const contexts = 400
	var ids []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		complete := map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{
			map[string]any{"id": "pi", "handler_id": "mock", "type": "card", "credential": map[string]any{"type": "token", "token": "tok_visa"}}}}}
		for i := range contexts {
			ctx := fmt.Sprintf("rl-%03d", i)
			create := testenv.Envelope(ctx+"-create", "", map[string]any{"action": "create_checkout",
				"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_gift"}, "quantity": 1}},
				"buyer":      map[string]any{"email": "a@example.com"}})
			if _, err := c.Publish("demo", ctx, create, nil); err != nil {
				t.Errorf("publish: %v", err)
				return
			}
			if _, err := c.Publish("demo", ctx, testenv.Envelope(ctx+"-complete", "", complete), nil); err != nil {
				t.Errorf("publish: %v", err)
				return
			}
			time.Sleep(25 * time.Millisecond) // about 10 s in all
		}
	}()
	for i := range contexts {
		ctx := fmt.Sprintf("rl-%03d", i)
		ids = append(ids, ctx+"-create", ctx+"-complete")
	}
	wg.Wait()
	if !stalled.Load() {
		t.Fatal("the renewals were never stalled")
	}
	if f := groupMetric(t, w, "cartwright_partition_fenced_total"); f == 0 {
		t.Fatal("no chunk was fenced: the lease did not run out while envelopes flowed")
	} else {
		t.Logf("%v partition loops fenced", f)
	}

	replies := collectReplies(t, c.JetStream(), len(ids), 60*time.Second)
	missing := 0
	for _, id := range ids {
		if k := replies[id]; k != 1 {
			if k == 0 {
				missing++
			}
			t.Errorf("%s: %d replies, want 1", id, k)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d envelopes without a reply", missing, len(ids))
	}
	owners(t, 20*time.Second, 4, []int{4}, w)
	waitAllAcked(t, c, 4, 30*time.Second)

	// Charged once per checkout: one payment.captured event each, and every checkout
	// completed.
	ctx := context.Background()
	s, err := c.JetStream().Stream(ctx, "A2A_EVT")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter("a2a.evt.demo.>"))
	if err != nil {
		t.Fatal(err)
	}
	if k := info.State.Subjects["a2a.evt.demo.payment.captured"]; k != contexts {
		t.Errorf("%d payment.captured events, want %d", k, contexts)
	}
	for i := 0; i < contexts; i += 37 {
		ctx := fmt.Sprintf("rl-%03d", i)
		r := decode(t, c.Send("demo", ctx, ctx+"-check", map[string]any{"action": "get_checkout"}))
		if r.Result == nil || r.Result.Parts[0].Data.Checkout.Status != "completed" {
			t.Errorf("%s: not completed: %+v", ctx, r)
		}
	}
}
