package bus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/bus/dlq"
	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// outage is a payment provider that is down (every call a transient failure) until
// repaired, and counts the calls that reached the processor behind it.
type outage struct {
	*providers.MockPayments
	down  atomic.Bool
	tries atomic.Int64
}

func (o *outage) Authorize(ctx context.Context, r commerce.PaymentRequest) (commerce.PaymentResult, error) {
	o.tries.Add(1)
	if o.down.Load() {
		return commerce.PaymentResult{}, commerce.Transient("payment provider", errors.New("503 from upstream"))
	}
	return o.MockPayments.Authorize(ctx, r)
}

func completeData(token string) map[string]any {
	return map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{
		map[string]any{"id": "pi", "handler_id": "mock", "type": "card", "credential": map[string]any{"type": "token", "token": token}}}}}
}

func giftCheckout(c *testenv.Client, ctx string) {
	c.Send("demo", ctx, ctx+"-create", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_gift"}, "quantity": 1}},
		"buyer":      map[string]any{"email": "a@example.com"}})
}

// TestProviderOutageDeadLetterIsRedacted: a payment provider that keeps failing ends in
// a temporarily_unavailable dead letter and error reply. The dead letter does not hold
// the payment token. Replayed once the provider works, it is answered with an error
// asking for the credential again, charges nothing and is not dead-lettered again; the
// agent's request sent again with its credential then completes, once.
func TestProviderOutageDeadLetterIsRedacted(t *testing.T) {
	pay := &outage{MockPayments: providers.NewMockPayments()}
	pay.down.Store(true)
	cfg := &config.Config{Batch: config.Batch{MaxDeliver: 3}}
	w := testenv.StartWorker(t, cfg, handlers.Options{RetryBudget: 30 * time.Millisecond, Providers: handlers.Providers{Payments: pay}})
	c := testenv.NewClient(t, w.NATS.URL())
	giftCheckout(c, "out")

	const token = "tok_visa"
	start := time.Now()
	m := c.Send("demo", "out", "out-pay", completeData(token))
	if code := errCode(decode(t, m)); code != "temporarily_unavailable" {
		t.Fatalf("code = %q, want temporarily_unavailable", code)
	}
	t.Logf("dead-lettered after %s and %d provider calls", time.Since(start).Round(time.Millisecond), pay.tries.Load())
	if pay.tries.Load() < 3 {
		t.Errorf("provider called %d times, want at least one per delivery (3)", pay.tries.Load())
	}
	q := dlq.New(c.JetStream(), bus.Topology{Prefix: "a2a", Partitions: cfg.Partitions})
	ctx := context.Background()
	// The dead letter goes out in the same chunk as the error reply, to another stream:
	// it may be stored just after the reply arrived.
	var dls []dlq.DeadLetter
	var err error
	for wait := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		dls, err = q.List(ctx, dlq.Filter{Tenant: "demo", Code: "temporarily_unavailable"})
		if err != nil || len(dls) > 0 || time.Now().After(wait) {
			break
		}
	}
	if err != nil || len(dls) != 1 {
		t.Fatalf("dead letters: %d, %v; want 1", len(dls), err)
	}
	dl := dls[0]
	if dl.MessageID != "out-pay" || dl.Attempts != 3 || dl.OriginalSubject != "a2a.in.demo.out" {
		t.Errorf("dead letter: id %q attempts %d subject %q", dl.MessageID, dl.Attempts, dl.OriginalSubject)
	}
	if bytes.Contains(dl.Data, []byte(token)) || dl.Header.Get("A2A-Redacted") != "true" {
		t.Errorf("the dead letter keeps the payment token (A2A-Redacted %q): %s", dl.Header.Get("A2A-Redacted"), dl.Data)
	}
	if r := decode(t, c.Send("demo", "out", "out-get", map[string]any{"action": "get_checkout"})); r.Result.Parts[0].Data.Checkout.Status != "ready_for_complete" {
		t.Fatalf("the failed completion changed the checkout: %s", r.Result.Parts[0].Data.Checkout.Status)
	}

	// The provider is back: the replay cannot pay without the credential.
	pay.down.Store(false)
	sub, err := c.Conn().SubscribeSync("a2a.out.demo.out")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Replay(ctx, &dl); err != nil {
		t.Fatal(err)
	}
	r, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal("no reply to the replay:", err)
	}
	var reply struct {
		Error *struct {
			Message string `json:"message"`
			Data    struct{ Code, Path string }
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Data, &reply); err != nil || reply.Error == nil {
		t.Fatalf("reply to the replay of a redacted request: %s", r.Data)
	}
	if e := reply.Error; e.Data.Code != "invalid_params" ||
		e.Data.Path != "$.params.message.parts[0].data.payment.instruments[0].credential" ||
		!strings.Contains(e.Message, "send it again with its credential") {
		t.Errorf("reply to the replay: %+v", e)
	}
	if st := pay.Stats(); st.Authorizations != 0 {
		t.Errorf("the redacted replay reached the payment provider: %+v", st)
	}
	time.Sleep(300 * time.Millisecond) // a new dead letter would be published by now
	if left, _ := q.List(ctx, dlq.Filter{}); len(left) != 0 {
		t.Errorf("%d dead letters after the replay, want 0", len(left))
	}

	// A second replay of the same dead letter: JetStream drops it as a duplicate.
	if dup, err := q.Replay(ctx, &dl); err != nil || !dup {
		t.Errorf("second replay: duplicate=%v err=%v; want a duplicate", dup, err)
	}
	// The agent sends its request again, credential included: nothing of the replay stands
	// in its way (no idempotency record, no conflict).
	m = c.Send("demo", "out", "out-pay", completeData(token))
	if co := decode(t, m).Result; co == nil || co.Parts[0].Data.Checkout.Status != "completed" || m.Header.Get("A2A-Replayed") == "true" {
		t.Fatalf("the request sent again: %s", m.Data)
	}
	if m := c.Send("demo", "out", "out-pay", completeData(token)); m.Header.Get("A2A-Replayed") != "true" {
		t.Error("the completion sent a third time was not answered from the idempotency record")
	}
	if st := pay.Stats(); st.Authorizations != 1 || st.Captures != 1 {
		t.Errorf("payments: %+v, want one authorization and one capture", st)
	}
}

// TestFlakyPaymentCompletesOnce: tok_flaky fails transiently twice, then approves.
func TestFlakyPaymentCompletesOnce(t *testing.T) {
	pay := providers.NewMockPayments()
	w := testenv.StartWorker(t, nil, handlers.Options{Providers: handlers.Providers{Payments: pay}})
	c := testenv.NewClient(t, w.NATS.URL())
	giftCheckout(c, "flk")
	r := decode(t, c.Send("demo", "flk", "flk-pay", completeData("tok_flaky")))
	if co := r.Result.Parts[0].Data.Checkout; co.Status != "completed" {
		t.Fatalf("status %s, want completed", co.Status)
	}
	if st := pay.Stats(); st.Authorizations != 1 || st.Captures != 1 || st.TransientFailures != 2 {
		t.Errorf("payments: %+v, want 2 transient failures, then one authorization and one capture", st)
	}
}

// TestTransientFailureKeepsContextOrder: while one context's envelope waits for a
// provider, later envelopes of that context wait behind it, and other contexts go on.
func TestTransientFailureKeepsContextOrder(t *testing.T) {
	pay := &outage{MockPayments: providers.NewMockPayments()}
	cfg := &config.Config{Partitions: 1, Batch: config.Batch{MaxDeliver: 50}}
	w := testenv.StartWorker(t, cfg, handlers.Options{RetryBudget: 20 * time.Millisecond, Providers: handlers.Providers{Payments: pay}})
	c := testenv.NewClient(t, w.NATS.URL())
	giftCheckout(c, "blk")
	giftCheckout(c, "free")
	pay.down.Store(true)

	blocked, _ := c.Conn().SubscribeSync("a2a.out.demo.blk")
	other, _ := c.Conn().SubscribeSync("a2a.out.demo.free")
	for _, e := range []struct {
		ctx, id string
		data    map[string]any
	}{
		{"blk", "blk-pay", completeData("tok_visa")},
		{"blk", "blk-after", map[string]any{"action": "get_checkout"}},
		{"free", "free-1", map[string]any{"action": "get_checkout"}},
	} {
		if _, err := c.Publish("demo", e.ctx, testenv.Envelope(e.id, "", e.data), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := other.NextMsg(5 * time.Second); err != nil {
		t.Fatal("another context was held up by the failing one:", err)
	}
	if m, err := blocked.NextMsg(1500 * time.Millisecond); err == nil {
		t.Fatalf("an envelope of the failing context was answered while it waited: %s", m.Data)
	}
	pay.down.Store(false)
	first, err := blocked.NextMsg(15 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	second, err := blocked.NextMsg(15 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if first.Header.Get("A2A-Message-Id") != "blk-pay" || second.Header.Get("A2A-Message-Id") != "blk-after" {
		t.Fatalf("order: %s then %s", first.Header.Get("A2A-Message-Id"), second.Header.Get("A2A-Message-Id"))
	}
	if co := decode(t, second).Result.Parts[0].Data.Checkout; co.Status != "completed" {
		t.Errorf("the envelope behind the payment saw status %s, want completed", co.Status)
	}
}

// hanging is a payment provider that never answers until its context ends.
type hanging struct{ *providers.MockPayments }

func (hanging) Authorize(ctx context.Context, _ commerce.PaymentRequest) (commerce.PaymentResult, error) {
	<-ctx.Done()
	return commerce.PaymentResult{}, ctx.Err()
}

// TestHangingProviderIsBoundedAndTransient: a provider that never answers holds an
// envelope no longer than the envelope timeout, and ends as temporarily_unavailable,
// not as a bug.
func TestHangingProviderIsBoundedAndTransient(t *testing.T) {
	cfg := &config.Config{Batch: config.Batch{MaxDeliver: 2}}
	w := testenv.StartWorker(t, cfg, handlers.Options{EnvelopeTimeout: 200 * time.Millisecond,
		Providers: handlers.Providers{Payments: hanging{providers.NewMockPayments()}}})
	c := testenv.NewClient(t, w.NATS.URL())
	giftCheckout(c, "hang")
	start := time.Now()
	m := c.Send("demo", "hang", "hang-pay", completeData("tok_visa"))
	if code := errCode(decode(t, m)); code != "temporarily_unavailable" {
		t.Fatalf("code = %q, want temporarily_unavailable", code)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("took %s for two deliveries of 200 ms each", d)
	}
}
