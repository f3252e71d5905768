package bus

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/store"
)

// Each stored message is published once and counted published only on JetStream's own
// acknowledgement: stored, stored before (a duplicate Nats-Msg-Id), or not, when no
// stream takes its subject; whatever answers on a stream's behalf is read as nats-server
// writes its acknowledgements, refusals included; an acknowledgement that comes after the
// wait gave up is dropped.
func TestPublishAcknowledgements(t *testing.T) {
	p, _, js := testPublisher(t)
	ctx := context.Background()
	nc := p.nc
	answer := func(subject string, after time.Duration, body string) {
		t.Helper()
		sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
			time.Sleep(after)
			_ = m.Respond([]byte(body))
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	answer("fake.refused", 0, `{"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"}}`)
	answer("fake.garbled", 0, `not json`)
	answer("fake.ok", 0, `{"stream":"FAKE","seq":7}`)
	hdr := func(id string) map[string][]string { return map[string][]string{jetstream.MsgIDHeader: {id}} }
	msgs := []store.Outgoing{
		{Key: []byte("k1"), Subject: "a2a.evt.demo.one", Header: hdr("one"), Data: []byte("1")},
		{Key: []byte("k2"), Subject: "a2a.evt.demo.one", Header: hdr("one"), Data: []byte("1 again")},
		{Key: []byte("k3"), Subject: "nowhere.at.all", Data: []byte("3")},
		{Key: []byte("k4"), Subject: "fake.refused", Data: []byte("4")},
		{Key: []byte("k5"), Subject: "fake.garbled", Data: []byte("5")},
		{Key: []byte("k6"), Subject: "fake.ok", Data: []byte("6")},
	}
	done, refused, err := p.publish(ctx, msgs)
	keys := func(ms []store.Outgoing) (out []string) {
		for _, m := range ms {
			out = append(out, string(m.Key))
		}
		return out
	}
	if got := strings.Join(keys(done), ","); got != "k1,k2,k6" {
		t.Errorf("published %s, want k1,k2,k6", got)
	}
	if len(refused) != 1 || string(refused[0].Msg.Key) != "k4" {
		t.Errorf("refused for good: %+v, want k4", refused)
	}
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		t.Errorf("err = %v, want no stream's response (the first error)", err)
	}
	s, err := js.Stream(ctx, "A2A_EVT")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s.Info(ctx); err != nil || info.State.Msgs != 1 {
		t.Fatalf("A2A_EVT holds %v messages (%v), want 1: the duplicate dropped", info.State.Msgs, err)
	}
	// The garbled one alone: an invalid acknowledgement is an error, not a publish.
	if _, _, err := p.publish(ctx, msgs[4:5]); !errors.Is(err, jetstream.ErrInvalidJSAck) {
		t.Errorf("a garbled acknowledgement: %v", err)
	}

	// An acknowledgement later than the wait: not published, and dropped when it comes.
	answer("fake.slow", 300*time.Millisecond, `{"stream":"FAKE","seq":8}`)
	p.timeout = 50 * time.Millisecond
	done, _, err = p.publish(ctx, []store.Outgoing{
		{Key: []byte("k7"), Subject: "fake.slow", Data: []byte("7")},
		{Key: []byte("k8"), Subject: "fake.ok", Data: []byte("8")},
	})
	if err == nil || !strings.Contains(err.Error(), "no acknowledgement within") ||
		strings.Join(keys(done), ",") != "k8" {
		t.Fatalf("a late acknowledgement: published %v, err %v; want k8 and a timeout", keys(done), err)
	}
	awaited := func() int {
		p.acks.mu.Lock()
		defer p.acks.mu.Unlock()
		return len(p.acks.waiting)
	}
	if n := awaited(); n != 0 {
		t.Errorf("%d acknowledgements still awaited once the wait gave up", n)
	}
	time.Sleep(400 * time.Millisecond) // the late one comes, and finds nothing to fill
	if n := awaited(); n != 0 {
		t.Errorf("%d acknowledgements awaited after the late one came", n)
	}
}

// A reconnection fails what is awaited at once, as nats.go's async publish did: the
// server may have stored the messages or not, and the outbox publishes them again under
// the same Nats-Msg-Id. Without it, the publish would wait for acknowledgements that a
// dropped connection may never bring.
func TestPublishAcknowledgementsFailAtAReconnection(t *testing.T) {
	p, _, _ := testPublisher(t)
	sub, err := p.nc.Subscribe("fake.silent", func(*nats.Msg) {}) // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	go func() {
		time.Sleep(200 * time.Millisecond)
		_ = p.nc.ForceReconnect()
	}()
	start := time.Now()
	done, _, err := p.publish(context.Background(), []store.Outgoing{{Key: []byte("k"), Subject: "fake.silent", Data: []byte("1")}})
	if !errors.Is(err, nats.ErrDisconnected) || len(done) != 0 {
		t.Fatalf("published %d, err %v; want none and %v", len(done), err, nats.ErrDisconnected)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the publish gave up after %v, not at the reconnection", took)
	}
}
