package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// stored returns what A2A_OUT holds on subject, once it holds at least want messages (or
// when the deadline passes), read from the stream itself: a core subscriber also sees a
// publish that JetStream dropped as a duplicate.
func stored(t *testing.T, js jetstream.JetStream, subject string, want int) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []jetstream.Msg
	for ctx.Err() == nil {
		got = got[:0]
		cons, err := js.OrderedConsumer(ctx, "A2A_OUT", jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
		if err != nil {
			t.Fatal(err)
		}
		for {
			m, err := cons.Next(jetstream.FetchMaxWait(300 * time.Millisecond))
			if err != nil {
				if !errors.Is(err, jetstream.ErrMsgNotFound) && !errors.Is(err, nats.ErrTimeout) &&
					!errors.Is(err, context.DeadlineExceeded) {
					t.Logf("reading %s: %v", subject, err)
				}
				break
			}
			got = append(got, m)
		}
		if len(got) >= want {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	return got
}

// publishAndWait publishes body on the inbound subject of demo/contextID with hdr and
// waits for a reply on the default reply subject, through a core subscription: the reply
// was published, whatever the stream made of it.
func publishAndWait(t *testing.T, c *testenv.Client, sub *nats.Subscription, contextID string, body []byte, hdr nats.Header) *nats.Msg {
	t.Helper()
	if _, err := c.Publish("demo", contextID, body, hdr); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no reply on %s: %v", sub.Subject, err)
	}
	return m
}

// TestReplyIDNamesOutcome: two different outcomes for one messageId both reach A2A_OUT;
// the same outcome published again (a replay) is still stored once.
func TestReplyIDNamesOutcome(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	js := c.JetStream()

	t.Run("forbidden reply subject, then the real reply", func(t *testing.T) {
		const subj = "a2a.out.demo.rid-1"
		sub, err := c.Conn().SubscribeSync(subj)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		body := testenv.Envelope("rid-1", "", map[string]any{"action": "create_checkout"})
		bad := nats.Header{}
		bad.Set("A2A-Reply-To", "a2a.out.other.rid-1")
		if m := publishAndWait(t, c, sub, "rid-1", body, bad); m.Header.Get("A2A-Error-Code") != "reply_subject_forbidden" {
			t.Fatalf("first: %v %s", m.Header, m.Data)
		}
		if m := publishAndWait(t, c, sub, "rid-1", body, nil); m.Header.Get("A2A-Status") != "ok" {
			t.Fatalf("second: %v %s", m.Header, m.Data)
		}
		got := stored(t, js, subj, 2)
		if len(got) != 2 {
			t.Fatalf("A2A_OUT holds %d replies on %s, want 2 (the error and the checkout)", len(got), subj)
		}
		if got[0].Headers().Get("A2A-Error-Code") != "reply_subject_forbidden" || got[1].Headers().Get("A2A-Status") != "ok" {
			t.Errorf("stored: %v, then %v", got[0].Headers(), got[1].Headers())
		}
		if id := got[1].Headers().Get("Nats-Msg-Id"); id != "demo:rid-1:reply" {
			t.Errorf("the remembered reply's Nats-Msg-Id = %q, want demo:rid-1:reply", id)
		}
		if a, b := got[0].Headers().Get("Nats-Msg-Id"), got[1].Headers().Get("Nats-Msg-Id"); a == b {
			t.Errorf("two outcomes share Nats-Msg-Id %q", a)
		}
	})

	t.Run("success, then a conflict, then a replay", func(t *testing.T) {
		const subj = "a2a.out.demo.rid-2"
		sub, err := c.Conn().SubscribeSync(subj)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		first := testenv.Envelope("rid-2", "", map[string]any{"action": "create_checkout"})
		other := testenv.Envelope("rid-2", "", map[string]any{"action": "get_checkout"})
		if m := publishAndWait(t, c, sub, "rid-2", first, nil); m.Header.Get("A2A-Status") != "ok" {
			t.Fatalf("first: %v %s", m.Header, m.Data)
		}
		if m := publishAndWait(t, c, sub, "rid-2", other, nil); m.Header.Get("A2A-Error-Code") != "idempotency_conflict" {
			t.Fatalf("conflict: %v %s", m.Header, m.Data)
		}
		got := stored(t, js, subj, 2)
		if len(got) != 2 || got[1].Headers().Get("A2A-Error-Code") != "idempotency_conflict" {
			t.Fatalf("A2A_OUT holds %d replies on %s, want 2 (the checkout and the conflict)", len(got), subj)
		}

		// The same bytes again: the first reply again, which the stream already has.
		if m := publishAndWait(t, c, sub, "rid-2", first, nil); m.Header.Get("A2A-Replayed") != "true" {
			t.Fatalf("replay: %v %s", m.Header, m.Data)
		}
		// A later reply on the subject marks where the stream must have got to.
		if m := publishAndWait(t, c, sub, "rid-2", testenv.Envelope("rid-2b", "", map[string]any{"action": "get_checkout"}), nil); m.Header.Get("A2A-Status") != "ok" {
			t.Fatalf("get: %v %s", m.Header, m.Data)
		}
		got = stored(t, js, subj, 3)
		if len(got) != 3 || got[2].Headers().Get("A2A-Message-Id") != "rid-2b" {
			for _, m := range got {
				t.Logf("stored: %v", m.Headers())
			}
			t.Fatalf("A2A_OUT holds %d replies on %s, want 3: the replay of the first is a duplicate", len(got), subj)
		}
	})
}
