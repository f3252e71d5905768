package store_test

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/store"
)

func TestWatermarkAndSweptBeforeSurviveReopen(t *testing.T) {
	fs := vfs.NewMem()
	s := open(t, fs)
	if at, err := s.Committed(3); at != 0 || err != nil {
		t.Fatalf("a new store's watermark: %d, %v", at, err)
	}
	b := s.NewBatch()
	b.SetCommitted(3, 42)
	b.PutRecord("demo", "m1", &store.Record{Seq: 40, At: time.Unix(100, 0), Body: []byte(`{}`)})
	b.PutRecord("demo", "m2", &store.Record{Seq: 42, At: time.Unix(200, 0), Body: []byte(`{}`)})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sweep(time.Unix(150, 0), 100); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, fs)
	defer s.Close()
	if at, err := s.Committed(3); at != 42 || err != nil {
		t.Errorf("watermark after reopen: %d, %v; want 42", at, err)
	}
	if at, _ := s.Committed(2); at != 0 {
		t.Errorf("another partition's watermark: %d, want 0", at)
	}
	b = s.NewBatch()
	for _, c := range []struct {
		at   int64
		want bool
	}{{149, true}, {150, false}, {300, false}} {
		if got, err := b.MaybeSwept(time.Unix(c.at, 0)); got != c.want || err != nil {
			t.Errorf("MaybeSwept(%d) = %v, %v; want %v", c.at, got, err, c.want)
		}
	}
}

// TestSweptBeforeOfAStoreThatNeverRecordedIt: a store with records but no recorded sweep
// (one from before it was recorded) takes its oldest record's time: anything older
// without a record may have been swept.
func TestSweptBeforeOfAStoreThatNeverRecordedIt(t *testing.T) {
	fs := vfs.NewMem()
	s := open(t, fs)
	b := s.NewBatch()
	b.PutRecord("demo", "m1", &store.Record{Seq: 1, At: time.Unix(100, 0), Body: []byte(`{}`)})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, fs)
	defer s.Close()
	if at, err := s.SweptBefore(); err != nil || !at.Equal(time.Unix(100, 0)) {
		t.Errorf("SweptBefore = %v, %v; want the oldest record's time", at, err)
	}
}
