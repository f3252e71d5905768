package bus_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestNATSRestartLosesNothing restarts nats-server while the worker runs and envelopes
// keep coming: the worker says it is not ready while NATS is gone, reconnects by itself,
// and every envelope gets its one reply and its effect.
func TestNATSRestartLosesNothing(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	const contexts, adds = 10, 30
	for i := 0; i < contexts; i++ {
		c.Send("demo", fmt.Sprintf("nr%d", i), fmt.Sprintf("nr%d-0", i), map[string]any{"action": "create_checkout"})
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for j := 1; j <= adds; j++ {
			for i := 0; i < contexts; i++ {
				id := fmt.Sprintf("nr%d-%d", i, j)
				body := testenv.Envelope(id, "", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
				// An agent retries a publish that got no acknowledgement; the messageId
				// makes a retry of a publish that did get through harmless.
				for attempt := 0; ; attempt++ {
					if _, err := c.Publish("demo", fmt.Sprintf("nr%d", i), body, nil); err == nil {
						break
					}
					if attempt > 300 {
						t.Errorf("publish %s: NATS did not come back", id)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	time.Sleep(300 * time.Millisecond)
	w.NATS.Server.Shutdown()
	w.NATS.Server.WaitForShutdown()
	deadline := time.Now().Add(5 * time.Second)
	for w.Worker.Ready() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if w.Worker.Ready() == nil {
		t.Error("the worker says it is ready while NATS is down")
	}
	time.Sleep(time.Second)
	w.NATS.Restart(t)
	wg.Wait()

	deadline = time.Now().Add(20 * time.Second)
	for w.Worker.Ready() != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := w.Worker.Ready(); err != nil {
		t.Fatalf("not ready after NATS came back: %v", err)
	}
	replies := collectReplies(t, c.JetStream(), contexts*adds, 30*time.Second)
	for i := 0; i < contexts; i++ {
		for j := 1; j <= adds; j++ {
			if id := fmt.Sprintf("nr%d-%d", i, j); replies[id] != 1 {
				t.Errorf("%s: %d replies, want 1", id, replies[id])
			}
		}
		r := decode(t, c.Send("demo", fmt.Sprintf("nr%d", i), fmt.Sprintf("nr%d-check", i), map[string]any{"action": "get_checkout"}))
		if q := quantities(t, r)["sku_tee"]; q != adds {
			t.Errorf("nr%d: %d tees, want %d", i, q, adds)
		}
	}
}
