package bus_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// purchase completes a checkout in ctx and refunds 3000 of its order, and returns the
// order's id: a run that applies any of it twice shows in the refund or the events.
func purchase(t *testing.T, c *testenv.Client, ctx string) string {
	t.Helper()
	c.Send("demo", ctx, ctx+"-create", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_gift"}, "quantity": 1}},
		"buyer":      map[string]any{"email": "a@example.com"}})
	m := c.Send("demo", ctx, ctx+"-complete", map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{
		map[string]any{"id": "pi", "handler_id": "mock", "type": "card", "credential": map[string]any{"type": "token", "token": "tok_visa"}}}}})
	order := orderID(m)
	if order == "" {
		t.Fatalf("%s: no order: %s", ctx, m.Data)
	}
	if r := refunded(t, c.Send("demo", ctx, ctx+"-refund", map[string]any{"action": "refund_payment", "order_id": order, "amount": 3000})); r != 3000 {
		t.Fatalf("%s: refunded %d after the refund, want 3000", ctx, r)
	}
	return order
}

func refunded(t *testing.T, m *nats.Msg) int64 {
	t.Helper()
	r, err := envelopes.DecodeReply(m.Data)
	if err != nil || r.Order() == nil {
		t.Fatalf("not an order reply: %s", m.Data)
	}
	return r.Order().Payment.Refunded
}

// checkApplyOnce checks that ctx's purchase is as purchase left it: refunded once, and
// every event in A2A_EVT once.
func checkAppliedOnce(t *testing.T, c *testenv.Client, ctx, order string) {
	t.Helper()
	if r := refunded(t, c.Send("demo", ctx, ctx+"-get-"+fmt.Sprint(time.Now().UnixNano()), map[string]any{"action": "get_order", "order_id": order})); r != 3000 {
		t.Errorf("%s: refunded %d, want 3000 (the refund applied again)", ctx, r)
	}
	info, err := mustStream(t, c.JetStream(), "A2A_EVT").Info(context.Background(), jetstream.WithSubjectFilter("a2a.evt.demo.>"))
	if err != nil {
		t.Fatal(err)
	}
	for subj, n := range info.State.Subjects {
		if n != 1 {
			t.Errorf("%s: %d events, want 1", subj, n)
		}
	}
	if len(info.State.Subjects) < 4 {
		t.Errorf("events: %v, want the purchase's", info.State.Subjects)
	}
}

func mustStream(t *testing.T, js jetstream.JetStream, name string) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func deleteConsumers(t *testing.T, js jetstream.JetStream, partitions int) {
	t.Helper()
	topo := bus.Topology{Prefix: "a2a", Partitions: partitions}
	for p := 0; p < partitions; p++ {
		if err := js.DeleteConsumer(context.Background(), "A2A_IN", topo.ConsumerName(p)); err != nil {
			t.Fatal(err)
		}
	}
}

// sweepAll removes every idempotency record from the stopped worker's store, as the sweep
// does once the retention has passed (all envelopes are acknowledged by then).
func sweepAll(t *testing.T, w *testenv.Worker) {
	t.Helper()
	st, err := store.Open(filepath.Join(w.Dir, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Sweep(time.Now(), 1<<20); err != nil {
		t.Fatal(err)
	}
}

// logTap keeps what the worker logs, and asks ready() the moment an ERROR is logged.
type logTap struct {
	slog.Handler
	mu    sync.Mutex
	buf   bytes.Buffer
	ready atomic.Pointer[func() error]
	// atError is what ready() said at each ERROR.
	atError []error
}

func newLogTap() (*logTap, *slog.Logger) {
	l := &logTap{}
	l.Handler = slog.NewTextHandler(&syncWriter{l}, &slog.HandlerOptions{Level: slog.LevelWarn})
	return l, slog.New(l)
}

type syncWriter struct{ l *logTap }

func (s *syncWriter) Write(p []byte) (int, error) {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	return s.l.buf.Write(p)
}

func (l *logTap) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		if f := l.ready.Load(); f != nil {
			err := (*f)()
			l.mu.Lock()
			l.atError = append(l.atError, err)
			l.mu.Unlock()
		}
	}
	return l.Handler.Handle(ctx, r)
}

func (l *logTap) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestConsumerDeletedWhileRunning removes every partition's durable consumer under a
// running worker (nats consumer rm): the worker says so at once (ERROR, the metric, not
// ready), creates them again after what it committed, answers again, and applies
// nothing twice.
func TestConsumerDeletedWhileRunning(t *testing.T) {
	tap, log := newLogTap()
	w := testenv.StartWorker(t, nil, handlers.Options{Logger: log})
	ready := w.Worker.Ready
	tap.ready.Store(&ready)
	c := testenv.NewClient(t, w.NATS.URL())
	order := purchase(t, c, "cl")
	for i := 0; i < 8; i++ {
		c.Send("demo", fmt.Sprintf("cl%d", i), fmt.Sprintf("cl%d-create", i), map[string]any{"action": "create_checkout"})
	}

	deleteConsumers(t, c.JetStream(), 4)
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(tap.String(), "durable consumer has vanished") < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("no ERROR for the lost consumers within 20s; the log:\n%s", tap.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	tap.mu.Lock()
	for _, err := range tap.atError {
		if err == nil {
			t.Error("Ready() said ready while a partition had no consumer")
		}
	}
	tap.mu.Unlock()
	for deadline := time.Now().Add(20 * time.Second); w.Worker.Ready() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready again: %v", w.Worker.Ready())
		}
	}
	mfs, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	lost := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "cartwright_consumer_lost_total" {
			for _, m := range mf.GetMetric() {
				lost += m.GetCounter().GetValue()
			}
		}
	}
	if lost != 4 {
		t.Errorf("cartwright_consumer_lost_total = %v, want 4", lost)
	}

	// Every partition answers again, and what was applied before stays applied once.
	for i := 0; i < 8; i++ {
		m := c.Send("demo", fmt.Sprintf("cl%d", i), fmt.Sprintf("cl%d-add", i), map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
		if q := quantities(t, decode(t, m))["sku_tee"]; q != 1 {
			t.Errorf("cl%d: sku_tee x%d, want x1", i, q)
		}
	}
	checkAppliedOnce(t, c, "cl", order)
}

// TestConsumerDeletedWhileDown removes the consumers while the worker is stopped, and
// lets the retention pass: started again, the worker must not deliver the stream from
// its start, whose envelopes no longer have their records.
func TestConsumerDeletedWhileDown(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	order := purchase(t, c, "cd")
	for i := 0; i < 8; i++ {
		c.Send("demo", fmt.Sprintf("cd%d", i), fmt.Sprintf("cd%d-create", i), map[string]any{"action": "create_checkout"})
		c.Send("demo", fmt.Sprintf("cd%d", i), fmt.Sprintf("cd%d-add", i), map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	}
	w.Stop()
	deleteConsumers(t, c.JetStream(), 4)
	sweepAll(t, w)
	w.Start()

	for i := 0; i < 8; i++ {
		m := c.Send("demo", fmt.Sprintf("cd%d", i), fmt.Sprintf("cd%d-get", i), map[string]any{"action": "get_checkout"})
		if q := quantities(t, decode(t, m))["sku_tee"]; q != 1 {
			t.Errorf("cd%d: sku_tee x%d, want x1 (applied again)", i, q)
		}
	}
	checkAppliedOnce(t, c, "cd", order)
	// The consumers start after what the store committed, not at the stream's start.
	for p := 0; p < 4; p++ {
		cons, err := c.JetStream().Consumer(context.Background(), "A2A_IN", bus.Topology{}.ConsumerName(p))
		if err != nil {
			t.Fatal(err)
		}
		if cfg := cons.CachedInfo().Config; cfg.DeliverPolicy != jetstream.DeliverByStartSequencePolicy || cfg.OptStartSeq < 2 {
			t.Errorf("partition %d: recreated with %v from %d", p, cfg.DeliverPolicy, cfg.OptStartSeq)
		}
	}
	// Started again, the worker keeps the recreated consumers as they are (JetStream
	// refuses to change where a consumer delivers from).
	w.Restart()
	m := c.Send("demo", "cd0", "cd0-add2", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	if q := quantities(t, decode(t, m))["sku_tee"]; q != 2 {
		t.Errorf("cd0 after a second restart: sku_tee x%d, want x2", q)
	}
}

// lastSeq returns the stream sequence and partition consumer of the last envelope of
// demo/ctx.
func lastSeq(t *testing.T, js jetstream.JetStream, ctx string) (uint64, string) {
	t.Helper()
	m, err := mustStream(t, js, "A2A_IN").GetLastMsgForSubject(context.Background(), "a2a.in.*.demo."+ctx)
	if err != nil {
		t.Fatal(err)
	}
	var p int
	if _, err := fmt.Sscanf(strings.Split(m.Subject, ".")[2], "%d", &p); err != nil {
		t.Fatal(m.Subject, err)
	}
	return m.Sequence, bus.Topology{}.ConsumerName(p)
}

// TestOldEnvelopeIsNotApplied delivers again an envelope whose record the sweep has
// removed (a consumer reset below its ack floor, as an operator might do): it is
// dead-lettered, not applied a second time.
func TestOldEnvelopeIsNotApplied(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "old", "old-create", map[string]any{"action": "create_checkout"})
	c.Send("demo", "old", "old-add", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	seq, name := lastSeq(t, c.JetStream(), "old")
	w.Stop()
	sweepAll(t, w)
	if _, err := c.JetStream().ResetConsumerToSequence(context.Background(), "A2A_IN", name, seq); err != nil {
		t.Fatal(err)
	}
	dlq, err := c.Conn().SubscribeSync("a2a.dlq.demo.old")
	if err != nil {
		t.Fatal(err)
	}
	w.Start()

	m := c.Send("demo", "old", "old-get", map[string]any{"action": "get_checkout"})
	if q := quantities(t, decode(t, m))["sku_tee"]; q != 1 {
		t.Errorf("sku_tee x%d, want x1: the old envelope was applied again", q)
	}
	d, err := dlq.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal("no dead letter for the old envelope:", err)
	}
	if d.Header.Get("A2A-Message-Id") != "old-add" || d.Header.Get("A2A-Error-Code") != "invalid_envelope" {
		t.Errorf("dead letter headers: %v", d.Header)
	}
}

// TestSweepKeepsRecordsAboveAckFloor stops the worker with an envelope committed but not
// acknowledged (its consumer reset to it, as a crash between commit and ack leaves it),
// and starts it again once the retention has passed: the start-up sweep must keep the
// envelope's record, so that its redelivery is a replay, not a second application.
func TestSweepKeepsRecordsAboveAckFloor(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "sw", "sw-create", map[string]any{"action": "create_checkout"})
	c.Send("demo", "sw", "sw-add", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	seq, name := lastSeq(t, c.JetStream(), "sw")
	w.Stop()
	if _, err := c.JetStream().ResetConsumerToSequence(context.Background(), "A2A_IN", name, seq); err != nil {
		t.Fatal(err)
	}
	w.Config.IdempotencyRetention = time.Nanosecond // a day has passed for every record
	w.Start()

	m := c.Send("demo", "sw", "sw-get", map[string]any{"action": "get_checkout"})
	if q := quantities(t, decode(t, m))["sku_tee"]; q != 1 {
		t.Errorf("sku_tee x%d, want x1: the unacknowledged envelope was applied again", q)
	}
	rec, err := w.Store.NewBatch().Record("demo", "sw-add")
	if err != nil {
		t.Fatal(err)
	}
	if rec == nil {
		t.Error("the record of the unacknowledged envelope was swept")
	}
}

// TestRunLeavesTheConfigurationAlone runs a worker with no partition count against a
// stream made with 8: the worker serves 8, and the caller's configuration still says
// what it was given (it may be shared, and read while the worker runs).
func TestRunLeavesTheConfigurationAlone(t *testing.T) {
	n := testenv.StartTestNATS(t)
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := bus.Provision(context.Background(), js, bus.Topology{Prefix: "a2a", Partitions: 8}); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{DataDir: t.TempDir()}
	cfg.SetDefaults()
	given := cfg.Partitions
	st, err := store.Open(cfg.DataDir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := bus.New(cfg, nc, st, handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{})), bus.NewMetrics(prometheus.NewRegistry()), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for deadline := time.Now().Add(20 * time.Second); w.Ready() != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", w.Ready())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w.Topology().Partitions != 8 {
		t.Errorf("the worker serves %d partitions, want the stream's 8", w.Topology().Partitions)
	}
	if cfg.Partitions != given {
		t.Errorf("the configuration's partitions changed from %d to %d", given, cfg.Partitions)
	}
}
