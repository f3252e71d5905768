package bus_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
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

// deadLettersOf lists the dead letters of tenant once count of them are stored, or fails.
func deadLettersOf(t *testing.T, q *dlq.Queue, tenant string, count int) []dlq.DeadLetter {
	t.Helper()
	var dls []dlq.DeadLetter
	deadline := time.Now().Add(15 * time.Second)
	for {
		var err error
		dls, err = q.List(context.Background(), dlq.Filter{Tenant: tenant})
		if err != nil {
			t.Fatal(err)
		}
		if len(dls) >= count || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(dls) != count {
		t.Fatalf("%d dead letters of %s, want %d", len(dls), tenant, count)
	}
	return dls
}

// downCatalog is a catalog that is down (every lookup a transient failure).
type downCatalog struct{ commerce.Catalog }

func (downCatalog) Item(context.Context, string) (commerce.Item, bool, error) {
	return commerce.Item{}, false, commerce.Transient("catalog", errors.New("503 from upstream"))
}

// TestDeadLetterOncePerMessageID: three copies of one request (one messageId, three
// stream sequences) whose provider keeps failing get three error replies and one dead
// letter. A redrive that fails again is dead-lettered again: the one it replaced is gone.
func TestDeadLetterOncePerMessageID(t *testing.T) {
	cfg := &config.Config{Batch: config.Batch{MaxDeliver: 2}}
	w := testenv.StartWorker(t, cfg, handlers.Options{RetryBudget: 20 * time.Millisecond,
		Providers: handlers.Providers{Catalog: downCatalog{providers.NewCatalog(providers.Demo().Items)}}})
	c := testenv.NewClient(t, w.NATS.URL())
	c.Send("demo", "dup", "dup-create", map[string]any{"action": "create_checkout"})
	out, err := c.Conn().SubscribeSync("a2a.out.demo.dup")
	if err != nil {
		t.Fatal(err)
	}
	body := testenv.Envelope("dup-add", "", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	for range 3 {
		if _, err := c.Publish("demo", "dup", body, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		m, err := out.NextMsg(30 * time.Second)
		if err != nil {
			t.Fatalf("reply %d: %v", i+1, err)
		}
		if code := m.Header.Get("A2A-Error-Code"); code != "temporarily_unavailable" {
			t.Fatalf("reply %d: code %q", i+1, code)
		}
	}
	q := dlq.New(c.JetStream(), bus.Topology{Prefix: "a2a"})
	time.Sleep(300 * time.Millisecond) // a second dead letter would be published by now
	dls := deadLettersOf(t, q, "demo", 1)
	if dls[0].MessageID != "dup-add" || dls[0].Header.Get("Nats-Msg-Id") != "demo:dup-add:dlq" {
		t.Errorf("dead letter: messageId %q, Nats-Msg-Id %q", dls[0].MessageID, dls[0].Header.Get("Nats-Msg-Id"))
	}

	// The catalog is still down: the redriven request fails again and is kept again.
	if _, err := q.Replay(context.Background(), &dls[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := out.NextMsg(30 * time.Second); err != nil {
		t.Fatal("no reply to the redrive:", err)
	}
	again := deadLettersOf(t, q, "demo", 1)
	if again[0].Seq == dls[0].Seq || again[0].MessageID != "dup-add" {
		t.Errorf("after the redrive: dead letter %d (%s), want a new one for dup-add", again[0].Seq, again[0].MessageID)
	}
}

// TestDeadLetterTruncatedToMaxPayload: a dead letter that would not fit in one NATS
// message keeps the start of the body and says so.
func TestDeadLetterTruncatedToMaxPayload(t *testing.T) {
	const maxPayload = 8 << 10
	w := testenv.StartWorker(t, nil, handlers.Options{MaxPayload: maxPayload})
	c := testenv.NewClient(t, w.NATS.URL())
	deadSub, err := c.Conn().SubscribeSync("a2a.dlq.demo.big")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("not json " + strings.Repeat("x", maxPayload-100))
	if _, err := c.Publish("demo", "big", body, nil); err != nil {
		t.Fatal(err)
	}
	d, err := deadSub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal("no dead letter:", err)
	}
	size := len(d.Data)
	for k, vs := range d.Header {
		for _, v := range vs {
			size += len(k) + len(v) + 4
		}
	}
	if size > maxPayload {
		t.Errorf("dead letter of about %d bytes, over the %d bytes NATS takes", size, maxPayload)
	}
	if d.Header.Get("A2A-Truncated") != "true" || d.Header.Get("A2A-Original-Size") != strconv.Itoa(len(body)) {
		t.Errorf("truncation headers: %v", d.Header)
	}
	if len(d.Data) == 0 || len(d.Data) >= len(body) || !bytes.HasPrefix(body, d.Data) {
		t.Errorf("body of %d bytes: not a truncated start of the %d original bytes", len(d.Data), len(body))
	}
	if d.Header.Get("A2A-Error-Code") != "parse_error" {
		t.Errorf("code %q", d.Header.Get("A2A-Error-Code"))
	}
	// Only its start is kept: replaying it would not be the request.
	q := dlq.New(c.JetStream(), bus.Topology{Prefix: "a2a"})
	dl := deadLettersOf(t, q, "demo", 1)[0]
	if _, err := q.Replay(context.Background(), &dl); !errors.Is(err, dlq.ErrReplayRefused) || !dl.Truncated {
		t.Errorf("replay of a truncated dead letter: %v (truncated %v), want ErrReplayRefused", err, dl.Truncated)
	}
}

// TestDeadLetterHeaders: A2A-Failed-At is when the envelope failed, by the handler's
// clock, not when it was stored; A2A-Tenant names the tenant.
func TestDeadLetterHeaders(t *testing.T) {
	failed := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	w := testenv.StartWorker(t, nil, handlers.Options{Clock: func() time.Time { return failed }})
	c := testenv.NewClient(t, w.NATS.URL())
	deadSub, err := c.Conn().SubscribeSync("a2a.dlq.demo.hdr")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish("demo", "hdr", []byte("not json"), nil); err != nil {
		t.Fatal(err)
	}
	d, err := deadSub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal("no dead letter:", err)
	}
	if got := d.Header.Get("A2A-Failed-At"); got != "2031-05-06T07:08:09Z" {
		t.Errorf("A2A-Failed-At = %q, want the handler's clock at failure, 2031-05-06T07:08:09Z", got)
	}
	if got := d.Header.Get("A2A-Tenant"); got != "demo" {
		t.Errorf("A2A-Tenant = %q, want demo", got)
	}
}
