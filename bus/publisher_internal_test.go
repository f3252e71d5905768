package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/store"
)

// testPublisher is a publisher on a store of its own, against a server of its own with
// the four streams provisioned. (testenv imports this package: tests inside it start the
// server themselves.)
func testPublisher(t *testing.T) (*publisher, *store.Store, jetstream.JetStream) {
	t.Helper()
	ns, err := StartEmbedded(EmbeddedOptions("127.0.0.1", -1, filepath.Join(t.TempDir(), "nats")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		t.Fatal(err)
	}
	if err := Provision(context.Background(), js, Topology{Prefix: "a2a", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newPublisher(nc, st, slog.New(slog.NewTextHandler(io.Discard, nil))), st, js
}

// The first of several publish errors is the one reported: a later core publish error
// does not replace it.
func TestPublishReportsTheFirstError(t *testing.T) {
	p, _, _ := testPublisher(t)
	_, _, err := p.publish(context.Background(), []store.Outgoing{
		{Subject: "a2a.evt.first bad", Data: []byte("1")},
		{Subject: "a2a.evt.demo.big", Core: true, Data: make([]byte, 2<<20)},
	})
	if !errors.Is(err, nats.ErrBadSubject) {
		t.Errorf("err = %v, want the first message's bad subject", err)
	}
	done, _, err := p.publish(context.Background(), []store.Outgoing{
		{Subject: "a2a.evt.first bad", Data: []byte("1")},
		{Subject: "a2a.evt.demo.fine", Data: []byte("2")},
		{Subject: "second bad", Core: true, Data: []byte("3")},
	})
	if !errors.Is(err, nats.ErrBadSubject) || !strings.Contains(err.Error(), "first bad") {
		t.Fatalf("err = %v, want the first message's bad subject", err)
	}
	if len(done) != 1 || done[0].Subject != "a2a.evt.demo.fine" {
		t.Errorf("published %v, want the fine one only", done)
	}
}

// The outbox is read a page at a time: a flush publishes every entry exactly once, and
// an entry committed (unclaimed) while the flush is publishing its first pages is
// published by the same flush, which a flush holding the whole outbox read at its start
// would miss.
func TestFlushOutboxReadsInPages(t *testing.T) {
	p, st, js := testPublisher(t)
	const entries = 20000
	for i := 0; i < entries; i += 1000 {
		b := st.NewBatch()
		for j := i; j < i+1000; j++ {
			b.Publish(store.Outgoing{Subject: "a2a.evt.demo.bulk", Data: fmt.Appendf(nil, "%d", j)})
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	late := make(chan error, 1)
	sub, err := p.nc.Subscribe("a2a.evt.demo.bulk", func(*nats.Msg) {
		once.Do(func() {
			b := st.NewBatch()
			b.Publish(store.Outgoing{Subject: "a2a.evt.demo.late", Data: []byte("late")})
			late <- b.Commit()
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	n, err := p.flushOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := <-late; err != nil {
		t.Fatal(err)
	}
	if n != entries+1 {
		t.Errorf("flush published %d, want %d (the bulk and the late entry)", n, entries+1)
	}
	s, err := js.Stream(context.Background(), "A2A_EVT")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter("a2a.evt.demo.>"))
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Subjects; got["a2a.evt.demo.bulk"] != entries || got["a2a.evt.demo.late"] != 1 {
		t.Errorf("stream holds %v, want %d bulk and 1 late", got, entries)
	}
	if left, err := st.Pending(); err != nil || len(left) != 0 {
		t.Errorf("outbox after the flush: %d entries (%v)", len(left), err)
	}
}

// What the server refuses for good, whether over the max payload or over a stream's max
// message size, is returned as refused, not as an error that would have it retried; the
// rest is published.
func TestPublishRefusedForGood(t *testing.T) {
	p, _, js := testPublisher(t)
	ctx := context.Background()
	s, err := js.Stream(ctx, "A2A_EVT")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.MaxMsgSize = 1024
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	msgs := []store.Outgoing{
		{Key: []byte("k1"), Subject: "a2a.evt.demo.big", Data: make([]byte, 2048)},
		{Key: []byte("k2"), Subject: "a2a.evt.demo.small", Data: []byte("s")},
		{Key: []byte("k3"), Subject: "a2a.out.demo.huge", Core: true, Data: make([]byte, 2<<20)},
		{Key: []byte("k4"), Subject: "a2a.out.demo.fine", Core: true, Data: []byte("f")},
	}
	done, refused, err := p.publish(ctx, msgs)
	if err != nil {
		t.Fatalf("err = %v, want none", err)
	}
	if len(done) != 2 || len(refused) != 2 {
		t.Fatalf("done %d, refused %d; want 2 and 2", len(done), len(refused))
	}
	reasons := map[string]string{}
	for _, a := range refused {
		reasons[string(a.Msg.Key)] = a.Reason
	}
	if !strings.Contains(reasons["k1"], "message size exceeds maximum allowed") ||
		!strings.Contains(reasons["k3"], "maximum payload exceeded") {
		t.Errorf("refused: %v", reasons)
	}
	if refusedForGood(nats.ErrTimeout) || refusedForGood(nats.ErrConnectionClosed) || refusedForGood(jetstream.ErrNoStreamResponse) {
		t.Error("a timeout or a lost connection taken as refused for good")
	}
}
