package dlq_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/bus/dlq"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestReplayOnlyIntoItsOwnTenant: a dead letter planted on a2a.dlq.alpha.x that names
// a2a.in.demo.x is refused and stays; one naming its own tenant is replayed.
func TestReplayOnlyIntoItsOwnTenant(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	ctx := context.Background()
	plant := func(subject, original string) uint64 {
		m := nats.NewMsg(subject)
		m.Header.Set("A2A-Original-Subject", original)
		m.Header.Set("A2A-Error-Code", "temporarily_unavailable")
		m.Data = testenv.Envelope("planted-"+strings.ReplaceAll(subject, ".", "-"), "", map[string]any{"action": "create_checkout"})
		ack, err := c.JetStream().PublishMsg(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}
	in, err := c.JetStream().Stream(ctx, "A2A_IN")
	if err != nil {
		t.Fatal(err)
	}
	stored := func() uint64 {
		info, err := in.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	q := dlq.New(c.JetStream(), bus.Topology{Prefix: "a2a"})
	before := stored()
	for _, bad := range []struct{ subject, original string }{
		{"a2a.dlq.alpha.x", "a2a.in.demo.x"},
		{"a2a.dlq.demo.x", "a2a.out.demo.x"},
		{"a2a.dlq.demo.x", "a2a.in.demo.x.y"},
		{"a2a.dlq.demo.x", "a2a.in.demo.*"},
	} {
		seq := plant(bad.subject, bad.original)
		d, err := q.Get(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Replay(ctx, d); !errors.Is(err, dlq.ErrReplayRefused) {
			t.Errorf("%s naming %s: replay error %v, want ErrReplayRefused", bad.subject, bad.original, err)
		}
		if _, err := q.Get(ctx, seq); err != nil {
			t.Errorf("%s naming %s: the refused dead letter is gone: %v", bad.subject, bad.original, err)
		}
	}
	if n := stored(); n != before {
		t.Errorf("refused replays stored %d envelopes in A2A_IN", n-before)
	}

	sub, err := c.Conn().SubscribeSync("a2a.out.demo.own")
	if err != nil {
		t.Fatal(err)
	}
	d, err := q.Get(ctx, plant("a2a.dlq.demo.own", "a2a.in.demo.own"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Replay(ctx, d); err != nil {
		t.Fatal("replay into its own tenant:", err)
	}
	if m, err := sub.NextMsg(10 * time.Second); err != nil || m.Header.Get("A2A-Status") != "ok" {
		t.Fatalf("reply to the replay: %v %v", m, err)
	}
}
