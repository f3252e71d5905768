package store_test

import (
	"reflect"
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

// carry applies a partition's changelog chunks (Batch.Changes) to dst, at sequences 1, 2, …
func carry(t *testing.T, dst *store.Store, partition int, chunks ...[]byte) {
	t.Helper()
	a := dst.NewChangelogApplier(partition)
	for i, c := range chunks {
		if err := a.Apply(uint64(i+1), c); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
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

// TestStateCacheServesOnlyCommittedStates: the partition's cache serves the states its
// batches committed, exactly as the store holds them, and never what a discarded batch or
// a rolled-back envelope wrote.
func TestStateCacheServesOnlyCommittedStates(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	cache := store.NewStateCache(1 << 20)
	t0 := time.Unix(1_000_000, 0)
	rich := func(id string) commerce.State {
		st := openCheckout(id, t0.Add(time.Hour))
		st.Checkout.Currency = "USD"
		st.Checkout.LineItems = []commerce.LineItem{{ID: "li_1", Item: commerce.Item{ID: "sku_tee", Title: "Tee", Price: 2500}, Quantity: 2,
			Totals: []commerce.Total{{Type: commerce.TotalSubtotal, Amount: 5000}}}}
		st.Checkout.Totals = []commerce.Total{{Type: commerce.TotalTotal, DisplayText: "Total", Amount: 5000}}
		return st
	}
	put := func(ctx string, st commerce.State, commit bool) {
		b := s.NewBatch()
		b.Cache = cache
		if _, err := b.State("demo", ctx); err != nil {
			t.Fatal(err)
		}
		b.PutState("demo", ctx, st)
		if commit {
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
		} else {
			b.Mark() // the state is in the Pebble batch, as a chunk's are before its commit
			b.Discard()
		}
	}
	read := func(c *store.StateCache, ctx string) commerce.State {
		b := s.NewBatch()
		b.Cache = c
		defer b.Discard()
		st, err := b.State("demo", ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	put("a", rich("chk_1"), true)
	put("a", rich("chk_2"), false) // discarded: neither stored nor cached
	h0, _ := cache.Stats()
	got := read(cache, "a")
	if h, _ := cache.Stats(); h != h0+1 {
		t.Fatalf("the committed state was not served by the cache (%d hits, then %d)", h0, h)
	}
	if got.Checkout == nil || got.Checkout.ID != "chk_1" {
		t.Fatalf("after a discarded batch: %+v, want chk_1", got.Checkout)
	}
	if fromStore := read(nil, "a"); !reflect.DeepEqual(got, fromStore) {
		t.Fatalf("the cache serves\n%+v\nthe store holds\n%+v", got, fromStore)
	}

	// A batch whose second envelope on the context is rolled back commits, and caches,
	// the first envelope's state.
	b := s.NewBatch()
	b.Cache = cache
	if _, err := b.State("demo", "a"); err != nil {
		t.Fatal(err)
	}
	b.PutState("demo", "a", rich("chk_3"))
	m := b.Mark()
	b.PutState("demo", "a", rich("chk_4"))
	b.Rollback(m)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := read(cache, "a"); got.Checkout.ID != "chk_3" {
		t.Fatalf("after a rolled-back envelope, the cache serves %s, want chk_3", got.Checkout.ID)
	}
	if got := read(nil, "a"); got.Checkout.ID != "chk_3" {
		t.Fatalf("after a rolled-back envelope, the store holds %s, want chk_3", got.Checkout.ID)
	}

	// A state read from the store is cached too: a second partition's cache serves it.
	other := store.NewStateCache(1 << 20)
	read(other, "a")
	if h, m := other.Stats(); h != 0 || m != 1 || other.Len() != 1 {
		t.Fatalf("first read: %d hits, %d misses, %d held; want 0, 1, 1", h, m, other.Len())
	}
	if got := read(other, "a"); got.Checkout.ID != "chk_3" {
		t.Fatalf("the state cached on a read: %s, want chk_3", got.Checkout.ID)
	}
	if h, _ := other.Stats(); h != 1 {
		t.Fatalf("the second read was not served by the cache: %d hits", h)
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
