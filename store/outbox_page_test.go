package store

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// PendingPage reads the outbox in bounded pages that, put together, are the whole
// outbox in order, each entry once; a swept reply is dropped without ending the paging.
func TestPendingPageIsBoundedAndCoversTheOutbox(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const entries = 2500
	b := s.NewBatch()
	for i := range entries {
		if i == 1000 { // the last entry of the first page: a reply whose record goes
			rec := &Record{Seq: 1, At: time.Unix(100, 0), Body: []byte(`{}`)}
			b.PutRecord("demo", "m1", rec)
			b.PublishReply(Outgoing{Subject: "a2a.out.demo.c"}, rec, []byte(`{"result":`), []byte(`}`))
			continue
		}
		b.Publish(Outgoing{Subject: "a2a.evt.demo.x", Data: fmt.Appendf(nil, "%d", i)})
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Delete(idemKey("demo", "m1"), nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	var after []byte
	pages := 0
	for {
		page, next, err := s.PendingPage(after, 1001)
		if err != nil {
			t.Fatal(err)
		}
		if pages++; len(page) > 1001 || pages > 10 {
			t.Fatalf("page %d holds %d messages, want at most 1001", pages, len(page))
		}
		for _, m := range page {
			if after != nil && bytes.Compare(m.Key, after) <= 0 {
				t.Fatalf("page %d: key %x is not past %x", pages, m.Key, after)
			}
			got = append(got, string(m.Data))
		}
		if next == nil {
			break
		}
		after = next
	}
	if pages != 3 || len(got) != entries-1 {
		t.Fatalf("%d pages, %d messages; want 3 pages, %d messages", pages, len(got), entries-1)
	}
	for i, j := 0, 0; i < entries; i++ {
		if i == 1000 {
			continue
		}
		if got[j] != fmt.Sprint(i) {
			t.Fatalf("message %d is %q, want %d", j, got[j], i)
		}
		j++
	}
	if all, err := s.Pending(); err != nil || len(all) != entries-1 {
		t.Fatalf("Pending: %d messages (%v), want %d (the swept reply dropped)", len(all), err, entries-1)
	}
}

// A message set aside leaves the outbox and keeps its bytes, a reply's included when its
// record is swept afterwards.
func TestMoveAsideKeepsTheMessage(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch()
	rec := &Record{Seq: 1, At: time.Unix(100, 0), Body: []byte(`{"big":1}`)}
	b.PutRecord("demo", "m1", rec)
	reply := b.PublishReply(Outgoing{Subject: "a2a.out.demo.c", Header: map[string][]string{"K": {"v"}}},
		rec, []byte(`{"result":`), []byte(`}`))
	b.Publish(Outgoing{Subject: "a2a.evt.demo.x", Data: []byte("e")})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	at := time.Unix(200, 0)
	if err := s.MoveAside([]Aside{{Msg: reply, At: at, Reason: "too large"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Delete(idemKey("demo", "m1"), nil); err != nil {
		t.Fatal(err)
	}
	pending, err := s.Pending()
	if err != nil || len(pending) != 1 || pending[0].Subject != "a2a.evt.demo.x" {
		t.Fatalf("outbox: %+v, %v; want the event alone", pending, err)
	}
	if k, err := s.SetAsideCount(); err != nil || k != 1 {
		t.Fatalf("set aside: count %d, %v; want 1", k, err)
	}
	aside, err := s.SetAside()
	if err != nil || len(aside) != 1 {
		t.Fatalf("set aside: %+v, %v", aside, err)
	}
	a := aside[0]
	if !bytes.Equal(a.Msg.Key, reply.Key) || a.Msg.Subject != "a2a.out.demo.c" || a.Msg.Header["K"][0] != "v" ||
		string(a.Msg.Data) != `{"result":{"big":1}}` || !a.At.Equal(at) || a.Reason != "too large" {
		t.Fatalf("set aside: %+v", a)
	}
}
