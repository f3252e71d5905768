package bus_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	dto "github.com/prometheus/client_model/go"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// stuckCatalog blocks every item lookup until released, whatever its context says: a
// provider that ignores its deadline holds the partition loop itself.
type stuckCatalog struct {
	commerce.Catalog
	entered     chan struct{}
	release     chan struct{}
	releaseOnce sync.Once
}

func (c *stuckCatalog) Item(ctx context.Context, id string) (commerce.Item, bool, error) {
	select {
	case c.entered <- struct{}{}:
	default:
	}
	<-c.release
	return c.Catalog.Item(ctx, id)
}

func (c *stuckCatalog) free() { c.releaseOnce.Do(func() { close(c.release) }) }

// gather returns the registry's families by name.
func gather(t *testing.T, w *testenv.Worker) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := w.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// gaugeSum adds up a gauge family's series (0 when it is missing).
func gaugeSum(mf *dto.MetricFamily) float64 {
	s := 0.0
	for _, m := range mf.GetMetric() {
		s += m.GetGauge().GetValue()
	}
	return s
}

// TestReadyzStuckPartition: a partition whose loop hangs (a provider that ignores its
// deadline) with envelopes queued behind it makes the worker not ready once the ack wait
// has passed without progress, and ready again once it moves. Its lag and the age of its
// oldest unacknowledged envelope show in the metrics meanwhile.
func TestReadyzStuckPartition(t *testing.T) {
	cat := &stuckCatalog{Catalog: providers.NewCatalog(providers.Demo().Items),
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	cfg := &config.Config{Batch: config.Batch{AckWait: time.Second}}
	w := testenv.StartWorker(t, cfg, handlers.Options{Providers: handlers.Providers{Catalog: cat}})
	t.Cleanup(cat.free) // before the worker stops: it waits for the partition
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "stk", "stk-create", map[string]any{"action": "create_checkout"})
	for i := range 3 {
		body := testenv.Envelope("stk-add-"+string(rune('a'+i)), "", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
		if _, err := c.Publish("demo", "stk", body, nil); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-cat.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the catalog was never asked")
	}
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err = w.Worker.Ready(); err != nil && strings.Contains(err.Error(), "stuck") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ready() = %v while a partition has not moved for 30 s with work pending", err)
		}
	}
	t.Logf("not ready: %v", err)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mfs := gather(t, w)
		lag := gaugeSum(mfs["cartwright_consumer_pending_envelopes"]) + gaugeSum(mfs["cartwright_consumer_ack_pending_envelopes"])
		age := gaugeSum(mfs["cartwright_oldest_unacked_age_seconds"])
		if lag >= 1 && age >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stuck partition: lag %v, oldest unacked %v s; want both ≥ 1", lag, age)
		}
	}

	cat.free()
	for deadline := time.Now().Add(30 * time.Second); w.Worker.Ready() != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready again after the partition moved: %v", w.Worker.Ready())
		}
	}
	// The three adds were applied, once each, behind the one that hung.
	m := c.Send("demo", "stk", "stk-add-z", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	if q := quantities(t, decode(t, m))["sku_tee"]; q != 4 {
		t.Errorf("sku_tee x%d, want x4", q)
	}
}

// TestMetricsWorthAlerting gathers a running worker's metrics: the names carry their
// units, no series has an empty action, the outcomes are all named in the help, and the
// gauges an operator alerts on are there, the outbox's among them while it cannot publish.
func TestMetricsWorthAlerting(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "met", "met-create", map[string]any{"action": "create_checkout"})
	// Bad input has no action: its series must still name one.
	if _, err := c.Request("demo", "met", []byte("not json"), nil); err != nil {
		t.Fatal(err)
	}
	// Events cannot be published without their stream: they stay in the outbox.
	if err := w.Worker.JetStream().DeleteStream(context.Background(), w.Worker.Topology().EventStream()); err != nil {
		t.Fatal(err)
	}
	c.Send("demo", "met", "met-cancel", map[string]any{"action": "cancel_checkout"})

	var mfs map[string]*dto.MetricFamily
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mfs = gather(t, w)
		if gaugeSum(mfs["cartwright_outbox_messages"]) >= 1 && gaugeSum(mfs["cartwright_outbox_oldest_age_seconds"]) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox messages %v, oldest %v s; want ≥ 1 and ≥ 1 s while events cannot be published",
				gaugeSum(mfs["cartwright_outbox_messages"]), gaugeSum(mfs["cartwright_outbox_oldest_age_seconds"]))
		}
	}
	if _, ok := mfs["cartwright_batch_size"]; ok {
		t.Error("cartwright_batch_size is still there (renamed cartwright_batch_envelopes)")
	}
	if mfs["cartwright_batch_envelopes"].GetMetric()[0].GetHistogram().GetSampleCount() == 0 {
		t.Error("cartwright_batch_envelopes observed nothing")
	}
	if _, ok := mfs["cartwright_outbox_set_aside_messages"]; !ok {
		t.Error("no cartwright_outbox_set_aside_messages")
	}
	if v := gaugeSum(mfs["cartwright_nats_connected"]); v != 1 {
		t.Errorf("cartwright_nats_connected = %v, want 1", v)
	}
	for _, name := range []string{"cartwright_consumer_pending_envelopes", "cartwright_consumer_ack_pending_envelopes",
		"cartwright_oldest_unacked_age_seconds"} {
		if n := len(mfs[name].GetMetric()); n != 4 {
			t.Errorf("%s: %d series, want one per partition (4)", name, n)
		}
	}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "action" && l.GetValue() == "" {
					t.Errorf("%s has a series with action=\"\"", name)
				}
			}
		}
	}
	help := mfs["cartwright_envelopes_total"].GetHelp()
	for _, outcome := range []string{"replied", "replayed", "dead_lettered", "redelivered", "retry", "waiting", "out_of_time"} {
		if !strings.Contains(help, outcome) {
			t.Errorf("cartwright_envelopes_total's help does not name %s: %q", outcome, help)
		}
	}
	dl := 0.0
	for _, m := range mfs["cartwright_dead_letters_total"].GetMetric() {
		dl += m.GetCounter().GetValue()
	}
	if dl != 1 {
		t.Errorf("cartwright_dead_letters_total = %v, want 1 (the bad envelope)", dl)
	}
}

func slogJSON(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestEnvelopeLogLines: the lines about an envelope that failed transiently and was then
// dead-lettered name its tenant, context, messageId, stream sequence and trace id, and
// none carries the buyer's email or the payment token.
func TestEnvelopeLogLines(t *testing.T) {
	var logs testenv.LogBuffer
	pay := &outage{MockPayments: providers.NewMockPayments()}
	pay.down.Store(true)
	cfg := &config.Config{Batch: config.Batch{MaxDeliver: 2}}
	w := testenv.StartWorker(t, cfg, handlers.Options{RetryBudget: 20 * time.Millisecond,
		Logger:    slogJSON(&logs),
		Providers: handlers.Providers{Payments: pay}})
	c := testenv.NewClient(t, w.NATS.URL())
	giftCheckout(c, "logs") // the buyer is a@example.com
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	hdr := nats.Header{}
	hdr.Set("traceparent", "00-"+trace+"-00f067aa0ba902b7-01")
	m, err := c.Request("demo", "logs", testenv.Envelope("logs-pay", "", completeData("tok_secret_4242")), hdr)
	if err != nil {
		t.Fatal(err)
	}
	if code := errCode(decode(t, m)); code != "temporarily_unavailable" {
		t.Fatalf("code = %q, want temporarily_unavailable", code)
	}
	want := map[string]bool{"transient failure": false, "dead-lettered": false}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if s := logs.String(); strings.Contains(s, "transient failure") && strings.Contains(s, "dead-lettered") {
			break
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		msg, _ := rec["msg"].(string)
		for k := range want {
			if !strings.Contains(msg, k) {
				continue
			}
			want[k] = true
			for attr, v := range map[string]any{"tenant": "demo", "context": "logs", "message_id": "logs-pay", "trace_id": trace} {
				if rec[attr] != v {
					t.Errorf("%q: %s = %v, want %v", msg, attr, rec[attr], v)
				}
			}
			if s, _ := rec["seq"].(float64); s == 0 {
				t.Errorf("%q: no seq: %s", msg, line)
			}
		}
	}
	for k, seen := range want {
		if !seen {
			t.Errorf("no %q line in the log:\n%s", k, logs.String())
		}
	}
	for _, secret := range []string{"a@example.com", "tok_secret_4242"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}

// TestLivenessIgnoresNATS: while NATS is down the worker is not ready but stays live (an
// orchestrator must not restart it for an outage it can do nothing about), and it is
// ready again once NATS is back.
func TestLivenessIgnoresNATS(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	if err := w.Worker.Live(); err != nil {
		t.Fatalf("Live() = %v on a running worker", err)
	}
	w.NATS.Server.Shutdown()
	w.NATS.Server.WaitForShutdown()
	for deadline := time.Now().Add(10 * time.Second); w.Worker.Ready() == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Ready() = nil with NATS down")
		}
	}
	if err := w.Worker.Live(); err != nil {
		t.Errorf("Live() = %v with NATS down; want nil", err)
	}
	w.NATS.Restart(t)
	for deadline := time.Now().Add(30 * time.Second); w.Worker.Ready() != nil; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not ready after NATS came back: %v", w.Worker.Ready())
		}
	}
	for deadline := time.Now().Add(20 * time.Second); gaugeSum(gather(t, w)["cartwright_nats_connected"]) != 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("cartwright_nats_connected is not 1 after NATS came back")
		}
	}
}
