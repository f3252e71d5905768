package bus_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

// subjectCounter counts, with a core subscription, every message published on a subject
// filter, by subject: JetStream's duplicate window drops nothing here, so a second
// publish of a message shows whenever it happens.
type subjectCounter struct {
	mu   sync.Mutex
	n    map[string]int
	msgs map[string][]*nats.Msg
}

func countSubjects(t *testing.T, nc *nats.Conn, filter string) *subjectCounter {
	t.Helper()
	sc := &subjectCounter{n: map[string]int{}, msgs: map[string][]*nats.Msg{}}
	sub, err := nc.Subscribe(filter, func(m *nats.Msg) {
		sc.mu.Lock()
		sc.n[m.Subject]++
		sc.msgs[m.Subject] = append(sc.msgs[m.Subject], m)
		sc.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return sc
}

func (sc *subjectCounter) get(subject string) int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.n[subject]
}

var completionEvents = []string{"checkout.completed", "order.created", "payment.authorized", "payment.captured"}

// A worker killed after a chunk's changelog write and before its publish leaves the
// chunk's reply, domain events and dead letter only in its own outbox. The worker that
// takes the partition from the changelog publishes them, once each; the first worker,
// started again on its old data, publishes none of them, neither while another worker
// owns the partition nor once it takes it back.
func TestChangelogOutboxMovesWithPartition(t *testing.T) {
	n := testenv.StartTestNATS(t)
	a := testenv.StartGroupWorkers(t, n, &config.Config{Changelog: true}, "w-a")[0]
	owners(t, 30*time.Second, 4, []int{4}, a)
	c := testenv.NewClient(t, n.URL())
	c.Send("demo", "mv", "mv-create", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_gift"}, "quantity": 1}},
		"buyer":      map[string]any{"email": "a@example.com"}})

	evt := countSubjects(t, c.Conn(), "a2a.evt.demo.>")
	dead := countSubjects(t, c.Conn(), "a2a.dlq.demo.>")
	inbox := c.Conn().NewRespInbox()
	replies := countSubjects(t, c.Conn(), inbox)

	var envelopes atomic.Int64
	bus.SetPublishFault(func(_, k int) bool { envelopes.Add(int64(k)); return true })
	t.Cleanup(func() { bus.SetPublishFault(nil) })
	hdr := nats.Header{}
	hdr.Set("A2A-Reply-To", inbox)
	complete := testenv.Envelope("mv-complete", "", map[string]any{"action": "complete_checkout",
		"payment": map[string]any{"instruments": []any{map[string]any{"id": "pi", "handler_id": "mock", "type": "card",
			"credential": map[string]any{"type": "token", "token": "tok_visa"}}}}})
	if _, err := c.Publish("demo", "mv", complete, hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish("demo", "mv", []byte("not json"), nil); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); envelopes.Load() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d envelopes reached the publish after their changelog write, want 2", envelopes.Load())
		}
	}
	a.Crash() // in the changelog, not published, not acknowledged
	bus.SetPublishFault(nil)
	dlqSubject := "a2a.dlq.demo.mv"
	check := func(when string, want int) {
		t.Helper()
		if k := replies.get(inbox); k != want {
			t.Errorf("%s: %d replies to mv-complete, want %d", when, k, want)
		}
		for _, typ := range completionEvents {
			if k := evt.get("a2a.evt.demo." + typ); k != want {
				t.Errorf("%s: %d %s events published, want %d", when, k, typ, want)
			}
		}
		if k := dead.get(dlqSubject); k != want {
			t.Errorf("%s: %d dead letters published on %s, want %d (%v)", when, k, dlqSubject, want, dead.n)
		}
	}
	check("after the crash", 0)

	// Another worker, on another store, takes every partition from the changelog.
	b := testenv.StartGroupWorker(t, n, "w-b", &config.Config{Changelog: true})
	owners(t, 30*time.Second, 4, []int{4}, b)
	for deadline := time.Now().Add(15 * time.Second); replies.get(inbox) == 0 || dead.get(dlqSubject) == 0 ||
		evt.get("a2a.evt.demo.payment.captured") == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(2 * time.Second) // the redeliveries, acknowledged, and the pump's tick
	check("on the new owner", 1)
	if k := replies.get(inbox); k > 0 {
		replies.mu.Lock()
		m := replies.msgs[inbox][0]
		replies.mu.Unlock()
		r := decode(t, m)
		got := decode(t, c.Send("demo", "mv", "mv-get", map[string]any{"action": "get_checkout"}))
		if r.Result == nil || got.Result == nil {
			t.Fatalf("reply %+v, state %+v", r, got)
		}
		rc, gc := r.Result.Parts[0].Data.Checkout, got.Result.Parts[0].Data.Checkout
		if rc.Status != "completed" || rc.Order == nil || gc.Status != rc.Status || gc.Order == nil || gc.Order.ID != rc.Order.ID {
			t.Errorf("the reply to mv-complete says %s, order %+v; the new owner's state says %s, order %+v",
				rc.Status, rc.Order, gc.Status, gc.Order)
		}
	}

	// The first worker starts again on its old data: the chunk is still in its outbox,
	// and the partition is not its own.
	a.Start()
	time.Sleep(3 * time.Second) // the start's flush and the pump's ticks
	check("with w-a started again", 1)
	b.Stop()
	owners(t, 30*time.Second, 4, []int{4}, a)
	time.Sleep(3 * time.Second)
	check("with w-a owning the partition again", 1)
	if k := outboxLen(t, a.Store); k != 0 {
		t.Errorf("w-a's outbox holds %d messages once it took the partitions back, want 0", k)
	}
	info, err := mustStream(t, c.JetStream(), "A2A_EVT").Info(context.Background(), jetstream.WithSubjectFilter("a2a.evt.demo.>"))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range completionEvents {
		if k := info.State.Subjects["a2a.evt.demo."+typ]; k != 1 {
			t.Errorf("A2A_EVT holds %d %s events, want 1", k, typ)
		}
	}
}

// A worker killed after a chunk's changelog write and before its publish, started again
// on its data while nobody took the partition meanwhile, publishes the chunk's reply
// itself when it takes the partition back, once: the envelope, delivered again, is only
// acknowledged.
func TestChangelogOutboxRestartPublishes(t *testing.T) {
	n := testenv.StartTestNATS(t)
	a := testenv.StartGroupWorkers(t, n, &config.Config{Changelog: true}, "w-a")[0]
	owners(t, 30*time.Second, 4, []int{4}, a)
	c := testenv.NewClient(t, n.URL())
	c.Send("demo", "gap", "gap-create", map[string]any{"action": "create_checkout"})
	inbox := c.Conn().NewRespInbox()
	replies := countSubjects(t, c.Conn(), inbox)

	var fired atomic.Bool
	bus.SetPublishFault(func(int, int) bool { fired.Store(true); return true })
	t.Cleanup(func() { bus.SetPublishFault(nil) })
	hdr := nats.Header{}
	hdr.Set("A2A-Reply-To", inbox)
	add := testenv.Envelope("gap-add", "", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 2})
	if _, err := c.Publish("demo", "gap", add, hdr); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !fired.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the chunk of gap-add never reached its publish")
		}
	}
	a.Crash()
	bus.SetPublishFault(nil)
	if k := replies.get(inbox); k != 0 {
		t.Fatalf("%d replies before the restart, want 0", k)
	}
	a.Start()
	owners(t, 30*time.Second, 4, []int{4}, a)
	for deadline := time.Now().Add(15 * time.Second); replies.get(inbox) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no reply to gap-add after the restart")
		}
	}
	time.Sleep(2 * time.Second) // the redelivery, acknowledged, and the pump's tick
	if k := replies.get(inbox); k != 1 {
		t.Errorf("%d replies to gap-add, want 1", k)
	}
	replies.mu.Lock()
	m := replies.msgs[inbox][0]
	replies.mu.Unlock()
	if q, got := quantities(t, decode(t, m))["sku_tee"], gapQuantity(t, c); q != 2 || got != 2 {
		t.Errorf("the reply to gap-add says sku_tee %d, the state %d; want 2", q, got)
	}
}
