package bus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/testenv"
)

// topology is the worker's topology for the configuration in yml.
func topology(t *testing.T, yml string) bus.Topology {
	t.Helper()
	cfg, err := config.Parse([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return bus.Topology{Prefix: cfg.Prefix, Partitions: 1, MaxEnvelopeBytes: cfg.Limits.MaxEnvelopeBytes,
		Retention: cfg.Retention, Streams: cfg.Streams}
}

func streamConfig(t *testing.T, js jetstream.JetStream, name string) jetstream.StreamConfig {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().Config
}

// TestStreamsInAccountWithLimits: an account with JetStream limits refuses the streams as
// they come by default, and the error says which setting to give; with max_bytes on each
// the streams are created, and sizes over the account's limits are refused by name, on a
// new stream and on one that exists, which keeps its size.
func TestStreamsInAccountWithLimits(t *testing.T) {
	ctx := context.Background()
	js := testenv.LimitedAccount(t)
	err := bus.Provision(ctx, js, topology(t, "{}"))
	if err == nil || !strings.Contains(err.Error(), "create stream A2A_IN") ||
		!strings.Contains(err.Error(), "set streams.requests.max_bytes") {
		t.Fatalf("default streams in an account with limits: %v", err)
	}

	sized := `streams:
  requests: {max_bytes: 16MiB}
  replies: {max_bytes: 8MiB}
  dead_letters: {max_bytes: 8MiB}
  events: {max_bytes: 8MiB}
`
	if err := bus.Provision(ctx, js, topology(t, sized)); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"A2A_IN": 16 << 20, "A2A_OUT": 8 << 20, "A2A_DLQ": 8 << 20, "A2A_EVT": 8 << 20} {
		if got := streamConfig(t, js, name).MaxBytes; got != want {
			t.Errorf("%s: max_bytes %d, want %d", name, got, want)
		}
	}

	err = bus.Provision(ctx, js, topology(t, strings.Replace(sized, "replies: {max_bytes: 8MiB}", "replies: {max_bytes: 1GiB}", 1)))
	if err == nil || !strings.Contains(err.Error(), "update stream A2A_OUT: max_bytes 1073741824 (streams.replies.max_bytes)") {
		t.Errorf("a size over the account's limit on an existing stream: %v", err)
	}
	if got := streamConfig(t, js, "A2A_OUT").MaxBytes; got != 8<<20 {
		t.Errorf("A2A_OUT after a refused update: max_bytes %d", got)
	}
}

// TestStreamSettingsReachExistingStreams: limits configured after the streams were
// created reach them at the next start, A2A_IN is moved to discard new (and keeps what it
// holds), a limit no longer configured is kept, and -1 lifts it.
func TestStreamSettingsReachExistingStreams(t *testing.T) {
	ctx := context.Background()
	n := testenv.StartTestNATS(t)
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := bus.Provision(ctx, js, topology(t, "{}")); err != nil {
		t.Fatal(err)
	}
	in := streamConfig(t, js, "A2A_IN")
	if in.Discard != jetstream.DiscardNew || in.MaxBytes != -1 || in.MaxMsgs != -1 {
		t.Errorf("a new A2A_IN: discard %v, max_bytes %d, max_msgs %d", in.Discard, in.MaxBytes, in.MaxMsgs)
	}
	if out := streamConfig(t, js, "A2A_OUT"); out.Discard != jetstream.DiscardOld || out.MaxBytes != -1 {
		t.Errorf("a new A2A_OUT: discard %v, max_bytes %d", out.Discard, out.MaxBytes)
	}
	// A2A_IN as earlier versions made it: discard old.
	in.Discard = jetstream.DiscardOld
	if _, err := js.UpdateStream(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "a2a.in.demo.keep", []byte("an envelope")); err != nil {
		t.Fatal(err)
	}

	if err := bus.Provision(ctx, js, topology(t, `streams:
  requests: {max_bytes: 32MiB, max_msgs: 100000}
  replies: {max_bytes: 4MiB, max_msg_size: 1MiB, discard: new, max_age: 3h}
  events: {max_msgs: 5000}
`)); err != nil {
		t.Fatal(err)
	}
	in = streamConfig(t, js, "A2A_IN")
	if in.MaxBytes != 32<<20 || in.MaxMsgs != 100000 || in.Discard != jetstream.DiscardNew {
		t.Errorf("A2A_IN: max_bytes %d, max_msgs %d, discard %v", in.MaxBytes, in.MaxMsgs, in.Discard)
	}
	out := streamConfig(t, js, "A2A_OUT")
	if out.MaxBytes != 4<<20 || out.MaxMsgSize != 1<<20 || out.Discard != jetstream.DiscardNew || out.MaxAge != 3*time.Hour {
		t.Errorf("A2A_OUT: max_bytes %d, max_msg_size %d, discard %v, max_age %s", out.MaxBytes, out.MaxMsgSize, out.Discard, out.MaxAge)
	}
	if evt := streamConfig(t, js, "A2A_EVT"); evt.MaxMsgs != 5000 || evt.MaxBytes != -1 {
		t.Errorf("A2A_EVT: max_msgs %d, max_bytes %d", evt.MaxMsgs, evt.MaxBytes)
	}
	s, _ := js.Stream(ctx, "A2A_IN")
	if info, _ := s.Info(ctx); info.State.Msgs != 1 {
		t.Errorf("A2A_IN holds %d messages after the update, want 1", info.State.Msgs)
	}

	if err := bus.Provision(ctx, js, topology(t, "streams:\n  requests: {max_bytes: -1}\n")); err != nil {
		t.Fatal(err)
	}
	if in := streamConfig(t, js, "A2A_IN"); in.MaxBytes != -1 || in.MaxMsgs != 100000 {
		t.Errorf("A2A_IN after max_bytes -1 and no max_msgs: max_bytes %d, max_msgs %d", in.MaxBytes, in.MaxMsgs)
	}
	if out := streamConfig(t, js, "A2A_OUT"); out.MaxBytes != 4<<20 || out.Discard != jetstream.DiscardNew || out.MaxAge != 24*time.Hour {
		t.Errorf("A2A_OUT with nothing configured: max_bytes %d, discard %v, max_age %s (want kept, kept, the default)",
			out.MaxBytes, out.Discard, out.MaxAge)
	}
}

// TestFullInboundStreamRefusesNew: a full A2A_IN refuses the next envelope, and its
// publisher is told, rather than dropping the oldest, which may not be applied yet.
func TestFullInboundStreamRefusesNew(t *testing.T) {
	ctx := context.Background()
	n := testenv.StartTestNATS(t)
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := bus.Provision(ctx, js, topology(t, "streams:\n  requests: {max_msgs: 2}\n")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := js.Publish(ctx, "a2a.in.demo.c1", []byte("envelope")); err != nil {
			t.Fatalf("envelope %d: %v", i, err)
		}
	}
	if _, err := js.Publish(ctx, "a2a.in.demo.c1", []byte("one too many")); err == nil {
		t.Error("a full A2A_IN took one more envelope")
	}
	s, _ := js.Stream(ctx, "A2A_IN")
	if info, _ := s.Info(ctx); info.State.Msgs != 2 || info.State.FirstSeq != 1 {
		t.Errorf("A2A_IN holds %d messages from %d, want the first 2", info.State.Msgs, info.State.FirstSeq)
	}
}
