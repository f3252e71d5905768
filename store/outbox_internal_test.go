package store

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
)

// An outbox reply whose record was swept (it waited past the records' retention) is
// dropped from the outbox, not kept forever.
func TestOutboxReplyWithoutItsRecordIsDropped(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch()
	rec := &Record{Seq: 1, At: time.Unix(100, 0), Body: []byte(`{}`)}
	b.PutRecord("demo", "m1", rec)
	b.PublishReply(Outgoing{Subject: "a2a.out.demo.c"}, rec, []byte(`{"result":`), []byte(`}`))
	b.Publish(Outgoing{Subject: "a2a.evt.demo.x", Data: []byte("e")})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Delete(idemKey("demo", "m1"), nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		pending, err := s.Pending()
		if err != nil || len(pending) != 1 || pending[0].Subject != "a2a.evt.demo.x" {
			t.Fatalf("pending: %+v, %v", pending, err)
		}
	}
	lo, hi := tagBounds(tagOutbox)
	it, _ := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	it.Close()
	if n != 1 {
		t.Fatalf("outbox entries left: %d, want 1 (the event)", n)
	}
}
