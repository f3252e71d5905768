package bus_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// An envelope the worker could never dead-letter (its copy plus the dead letter's headers
// would be over the server's max payload) is refused by the inbound stream when it is
// published, and the worker goes on answering; one just over the envelope limit is still
// taken and dead-lettered.
func TestOversizedEnvelopeIsRefusedByTheStream(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())

	_, err := c.Publish("demo", "x", bytes.Repeat([]byte("a"), 1048400), nil)
	if !errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum) {
		t.Fatalf("publishing 1,048,400 bytes to the inbound stream: err = %v, want %v",
			err, jetstream.ErrStreamMessageExceedsMaximum)
	}

	over := testenv.Envelope("big-1", "", map[string]any{"action": "create_checkout",
		"pad": strings.Repeat("p", w.Config.Limits.MaxEnvelopeBytes)})
	m, err := c.Request("demo", "x", over, nil)
	if err != nil {
		t.Fatalf("an envelope just over the envelope limit: %v", err)
	}
	if code := errCode(decode(t, m)); code != "envelope_too_large" {
		t.Errorf("an envelope just over the envelope limit: %q, want envelope_too_large", code)
	}
	if q := quantities(t, decode(t, c.Send("demo", "y", "y-1", map[string]any{"action": "create_checkout"}))); len(q) != 0 {
		t.Errorf("a new checkout holds %v", q)
	}

	// Raising the limit raises the stream's, on an existing stream.
	w.Stop()
	w.Config.Limits.MaxEnvelopeBytes = 512 << 10
	w.Start()
	over = testenv.Envelope("big-2", "", map[string]any{"action": "create_checkout",
		"pad": strings.Repeat("p", 300<<10)})
	if m, err = c.Request("demo", "z", over, nil); err != nil {
		t.Fatalf("300 KiB under a 512 KiB limit: %v", err)
	}
	if r := decode(t, m); r.Error != nil {
		t.Errorf("300 KiB under a 512 KiB limit: error %s", errCode(r))
	}
}

// outboxWorker runs a worker on the store in dir against the server at url, with its
// metrics in reg; stop stops it and returns what Run returned.
func outboxWorker(t *testing.T, url, dir string, reg *prometheus.Registry) (st *store.Store, stop func() error) {
	t.Helper()
	cfg := &config.Config{Partitions: 2, DataDir: dir}
	cfg.SetDefaults()
	st, err := store.Open(filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	opts, err := app.WithStock(ctx, mustJS(t, nc), st, cfg, handlers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := bus.New(cfg, nc, st, handlers.New(cfg, app.WithEnvs(cfg, opts)), bus.NewMetrics(reg), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stop = func() error {
		cancel()
		err := <-done
		nc.Close()
		st.Close()
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for w.Ready() != nil {
		select {
		case err := <-done:
			nc.Close()
			st.Close()
			t.Fatalf("worker stopped while starting: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("worker not ready: %v", w.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return st, stop
}

func mustJS(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// An outbox entry that can never be published (it is over the server's max payload) does
// not stop the worker from starting: it is set aside, counted, and the rest of the outbox
// is published; the worker starts again afterwards.
func TestUnpublishableOutboxEntryIsSetAside(t *testing.T) {
	n := testenv.StartTestNATS(t)
	dir := filepath.Join(t.TempDir(), "data")
	_, stop := outboxWorker(t, n.URL(), dir, prometheus.NewRegistry())
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch()
	b.Publish(store.Outgoing{Subject: "a2a.evt.demo.before", Header: map[string][]string{"Nats-Msg-Id": {"before"}}, Data: []byte("1")})
	huge := b.Publish(store.Outgoing{Subject: "a2a.dlq.demo.huge", Header: map[string][]string{"Nats-Msg-Id": {"huge"}},
		Data: bytes.Repeat([]byte("h"), 2<<20)})
	b.Publish(store.Outgoing{Subject: "a2a.evt.demo.after", Header: map[string][]string{"Nats-Msg-Id": {"after"}}, Data: []byte("2")})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	st.Close()

	reg := prometheus.NewRegistry()
	st, stop = outboxWorker(t, n.URL(), dir, reg)
	set := setAsideCount(t, reg)
	pending, perr := st.Pending()
	aside, aerr := st.SetAside()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if set != 1 {
		t.Errorf("cartwright_outbox_set_aside_total = %v, want 1", set)
	}
	if perr != nil || len(pending) != 0 {
		t.Errorf("outbox after start-up: %d entries (%v), want none", len(pending), perr)
	}
	if aerr != nil || len(aside) != 1 || !bytes.Equal(aside[0].Msg.Key, huge.Key) ||
		aside[0].Msg.Subject != "a2a.dlq.demo.huge" || len(aside[0].Msg.Data) != 2<<20 ||
		!strings.Contains(aside[0].Reason, "maximum payload") {
		t.Errorf("set aside: %d entries (%v), want the 2 MiB dead letter with its reason", len(aside), aerr)
		for _, a := range aside {
			t.Logf("  %x %s %d bytes: %s", a.Msg.Key, a.Msg.Subject, len(a.Msg.Data), a.Reason)
		}
	}
	js := mustJS(t, testenv.NewClient(t, n.URL()).Conn())
	s, err := js.Stream(context.Background(), "A2A_EVT")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter("a2a.evt.demo.>"))
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Subjects["a2a.evt.demo.before"] != 1 || info.State.Subjects["a2a.evt.demo.after"] != 1 {
		t.Errorf("published events: %v, want before and after once each", info.State.Subjects)
	}

	// The next start has nothing left to trip on, and keeps what was set aside.
	st, stop = outboxWorker(t, n.URL(), dir, prometheus.NewRegistry())
	aside, aerr = st.SetAside()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if aerr != nil || len(aside) != 1 {
		t.Errorf("set aside after a restart: %d entries (%v), want 1", len(aside), aerr)
	}
}

func setAsideCount(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "cartwright_outbox_set_aside_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}
