package store_test

import (
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/store"
)

func open(t *testing.T, fs vfs.FS) *store.Store {
	t.Helper()
	s, err := store.Open("db", store.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBatchSeesItsOwnWritesAndNothingLeaksBeforeCommit(t *testing.T) {
	fs := vfs.NewMem()
	s := open(t, fs)
	defer s.Close()

	b := s.NewBatch()
	st := commerce.State{Checkout: &commerce.Checkout{ID: "chk_1", Status: commerce.StatusIncomplete}}
	b.PutState("demo", "c1", st)
	got, err := b.State("demo", "c1")
	if err != nil || got.Checkout == nil || got.Checkout.ID != "chk_1" {
		t.Fatalf("batch does not see its own state: %+v, %v", got, err)
	}
	b.PutRecord("demo", "m1", &store.Record{Seq: 7, At: time.Unix(100, 0), Body: []byte(`{}`)})
	if r, _ := b.Record("demo", "m1"); r == nil || r.Seq != 7 {
		t.Fatalf("batch does not see its own record: %+v", r)
	}

	other := s.NewBatch()
	if got, _ := other.State("demo", "c1"); got.Checkout != nil {
		t.Fatal("an uncommitted state is visible to another batch")
	}
	if r, _ := other.Record("demo", "m1"); r != nil {
		t.Fatal("an uncommitted record is visible to another batch")
	}
	other.Discard()

	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	after := s.NewBatch()
	defer after.Discard()
	if got, _ := after.State("demo", "c1"); got.Checkout == nil || got.Checkout.ID != "chk_1" {
		t.Fatal("committed state not visible")
	}
	if got, _ := after.State("other", "c1"); got.Checkout != nil {
		t.Fatal("state leaks across tenants")
	}
}

func TestOutboxSurvivesReopenUntilDone(t *testing.T) {
	fs := vfs.NewMem()
	s := open(t, fs)
	b := s.NewBatch()
	m1 := b.Publish(store.Outgoing{Subject: "a2a.out.demo.c1", Data: []byte("one")})
	b.Publish(store.Outgoing{Subject: "a2a.evt.demo.x", Data: []byte("two"), Header: map[string][]string{"Nats-Msg-Id": {"id-2"}}})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Done([]store.Outgoing{m1}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, fs)
	defer s.Close()
	pending, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || string(pending[0].Data) != "two" || pending[0].Header["Nats-Msg-Id"][0] != "id-2" {
		t.Fatalf("pending after reopen: %+v", pending)
	}
	// New entries after a reopen sort after the old ones.
	b = s.NewBatch()
	b.Publish(store.Outgoing{Subject: "s", Data: []byte("three")})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	pending, _ = s.Pending()
	if len(pending) != 2 || string(pending[1].Data) != "three" {
		t.Fatalf("order after reopen: %+v", pending)
	}
}

func TestSweepRemovesOnlyExpiredRecords(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := s.NewBatch()
	for i := 0; i < 10; i++ {
		b.PutRecord("demo", "m"+string(rune('a'+i)), &store.Record{At: base.Add(time.Duration(i) * time.Hour)})
	}
	b.PutSeqRecord(42, &store.Record{At: base})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	// Records older than base+5h: m a..e and seq 42.
	n, err := s.Sweep(base.Add(5*time.Hour), 3)
	if err != nil || n != 3 {
		t.Fatalf("first sweep: %d, %v; want 3 (the limit)", n, err)
	}
	n, err = s.Sweep(base.Add(5*time.Hour), 100)
	if err != nil || n != 3 {
		t.Fatalf("second sweep: %d, %v; want 3", n, err)
	}
	check := s.NewBatch()
	defer check.Discard()
	for i := 0; i < 10; i++ {
		r, _ := check.Record("demo", "m"+string(rune('a'+i)))
		if (r == nil) != (i < 5) {
			t.Errorf("record m%c: present=%v", 'a'+i, r != nil)
		}
	}
	if r, _ := check.SeqRecord(42); r != nil {
		t.Error("the sequence record survived the sweep")
	}
}

func TestStateCacheServesOnlyCommittedStates(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	cache := store.NewStateCache(2)
	put := func(ctx, id string, commit bool) {
		b := s.NewBatch()
		b.Cache = cache
		if _, err := b.State("demo", ctx); err != nil {
			t.Fatal(err)
		}
		b.PutState("demo", ctx, commerce.State{Checkout: &commerce.Checkout{ID: id}})
		if commit {
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
		} else {
			b.Discard()
		}
	}
	read := func(ctx string) string {
		b := s.NewBatch()
		b.Cache = cache
		defer b.Discard()
		st, err := b.State("demo", ctx)
		if err != nil || st.Checkout == nil {
			return ""
		}
		return st.Checkout.ID
	}
	put("a", "chk_1", true)
	put("a", "chk_2", false) // discarded: neither stored nor cached
	if got := read("a"); got != "chk_1" {
		t.Fatalf("after a discarded batch: %q, want chk_1", got)
	}
	put("b", "chk_b", true)
	put("c", "chk_c", true) // evicts a
	if cache.Len() != 2 {
		t.Fatalf("cache holds %d, want 2", cache.Len())
	}
	if got := read("a"); got != "chk_1" {
		t.Fatalf("evicted state read back: %q, want chk_1", got)
	}
}

// TestOutboxReplyKeptAsItsRecord: a reply queued with PublishReply is published with its
// whole data, and found whole in the outbox after a restart, though the outbox keeps only
// its record's key.
func TestOutboxReplyKeptAsItsRecord(t *testing.T) {
	fs := vfs.NewMem()
	s := open(t, fs)
	b := s.NewBatch()
	rec := &store.Record{Seq: 3, At: time.Unix(100, 0), Body: []byte(`{"kind":"message"}`)}
	b.PutRecord("demo", "m1", rec)
	m := b.PublishReply(store.Outgoing{Subject: "a2a.out.demo.c1", Header: map[string][]string{"A": {"1"}}},
		rec, []byte(`{"id":7,"result":`), []byte(`}`))
	want := `{"id":7,"result":{"kind":"message"}}`
	if string(m.Data) != want {
		t.Fatalf("data %s, want %s", m.Data, want)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, fs)
	defer s.Close()
	pending, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || string(pending[0].Data) != want || pending[0].Subject != "a2a.out.demo.c1" ||
		pending[0].Header["A"][0] != "1" {
		t.Fatalf("pending after a restart: %+v", pending)
	}
	// A reply replayed from a committed record is kept the same way.
	b = s.NewBatch()
	got, err := b.Record("demo", "m1")
	if err != nil || got == nil {
		t.Fatalf("record: %v, %v", got, err)
	}
	b.PublishReply(store.Outgoing{Subject: "a2a.out.demo.c1"}, got, []byte(`{"id":8,"result":`), []byte(`}`))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if pending, _ = s.Pending(); len(pending) != 2 || string(pending[1].Data) != `{"id":8,"result":{"kind":"message"}}` {
		t.Fatalf("pending: %+v", pending)
	}
}
