package ensure_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus/ensure"
	"github.com/cartwright-dev/cartwright/testenv"
)

// updates counts the server's "stream updated" advisories for every stream.
func updates(t *testing.T, nc *nats.Conn) func() int {
	t.Helper()
	var mu sync.Mutex
	n := 0
	sub, err := nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.UPDATED.>", func(*nats.Msg) { mu.Lock(); n++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return func() int {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // advisories are sent after the answer
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// TestStreamUpdatedOnlyWhenItDiffers: a stream that exists with the settings asked for is
// left alone (no update advisory); one whose settings differ is updated once.
func TestStreamUpdatedOnlyWhenItDiffers(t *testing.T) {
	c := testenv.NewClient(t, testenv.StartTestNATS(t).URL())
	nc, js := c.Conn(), c.JetStream()
	count := updates(t, nc)
	ctx := context.Background()
	cfg := jetstream.StreamConfig{Name: "E", Subjects: []string{"e.>"}, Storage: jetstream.FileStorage, MaxAge: time.Hour}
	for range 3 {
		if _, err := ensure.Stream(ctx, js, cfg, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(); got != 0 {
		t.Fatalf("%d updates of a stream that had its settings, want 0", got)
	}
	cfg.MaxAge = 2 * time.Hour
	s, err := ensure.Stream(ctx, js, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != 2*time.Hour {
		t.Errorf("max age %s after the update, want 2h", got)
	}
	if got := count(); got != 1 {
		t.Errorf("%d updates after one change, want 1", got)
	}
}

// TestKeyValueUpdatedOnlyWhenItDiffers: the same for a bucket.
func TestKeyValueUpdatedOnlyWhenItDiffers(t *testing.T) {
	c := testenv.NewClient(t, testenv.StartTestNATS(t).URL())
	nc, js := c.Conn(), c.JetStream()
	count := updates(t, nc)
	ctx := context.Background()
	cfg := jetstream.KeyValueConfig{Bucket: "B", History: 1, Storage: jetstream.FileStorage, TTL: time.Hour}
	for range 3 {
		if _, err := ensure.KeyValue(ctx, js, cfg, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(); got != 0 {
		t.Fatalf("%d updates of a bucket that had its settings, want 0", got)
	}
	cfg.History = 3
	kv, err := ensure.KeyValue(ctx, js, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.History() != 3 {
		t.Errorf("history %d after the update, want 3", st.History())
	}
	if got := count(); got != 1 {
		t.Errorf("%d updates after one change, want 1", got)
	}
}

// TestBoundedWhenTheAccountRequiresIt: on an account that requires max_bytes, a stream and
// a bucket asked for without one are made with the bound given, and found again without
// an update.
func TestBoundedWhenTheAccountRequiresIt(t *testing.T) {
	js := testenv.LimitedAccount(t)
	ctx := context.Background()
	const bound = 1 << 20
	for range 2 {
		s, err := ensure.Stream(ctx, js, jetstream.StreamConfig{Name: "E", Subjects: []string{"e.>"}, Storage: jetstream.FileStorage}, bound)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.CachedInfo().Config.MaxBytes; got != bound {
			t.Errorf("stream max_bytes %d, want %d", got, bound)
		}
		kv, err := ensure.KeyValue(ctx, js, jetstream.KeyValueConfig{Bucket: "B", Storage: jetstream.FileStorage}, bound)
		if err != nil {
			t.Fatal(err)
		}
		st, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.MaxBytes; got != bound {
			t.Errorf("bucket max_bytes %d, want %d", got, bound)
		}
	}
	if _, err := ensure.Stream(ctx, js, jetstream.StreamConfig{Name: "F", Subjects: []string{"f.>"}}, 0); err == nil {
		t.Error("a stream without a bound and none given was created on an account that requires one")
	}
}
