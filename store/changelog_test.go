package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/store"
)

func memStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open("db", store.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dump(t *testing.T, s *store.Store) map[string]string {
	t.Helper()
	kv := map[string]string{}
	if err := s.PartitionKeys(func(k, v []byte) error { kv[string(k)] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	return kv
}

// A chunk's changes, applied to another store, leave there what the chunk left in its
// own, deletes included; the outbox stays behind.
func TestChangesApplyElsewhere(t *testing.T) {
	src, dst := memStore(t), memStore(t)
	open := commerce.State{Checkout: &commerce.Checkout{ID: "chk_1", Status: commerce.StatusIncomplete,
		ExpiresAt: time.Unix(2e9, 0)}}
	var changes [][]byte
	for i, st := range []commerce.State{open, {Checkout: &commerce.Checkout{ID: "chk_1", Status: commerce.StatusCanceled}}} {
		b := src.NewBatch()
		b.Partition = 3
		b.State("demo", "ctx-1")
		b.PutState("demo", "ctx-1", st)
		b.PutRecord("demo", "msg-"+string(rune('a'+i)), &store.Record{Seq: uint64(i + 1), At: time.Unix(1e9, 0), Body: []byte(`{}`)})
		b.Publish(store.Outgoing{Subject: "a2a.out.demo.ctx-1", Data: []byte(`{"jsonrpc":"2.0"}`)})
		b.SetCommitted(3, uint64(i+1))
		changes = append(changes, b.Changes())
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	a := dst.NewChangelogApplier(3)
	for i, c := range changes {
		if err := a.Apply(uint64(10+i), c); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	want, got := dump(t, src), dump(t, dst)
	if len(want) == 0 || len(want) != len(got) {
		t.Fatalf("%d keys restored, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("key %q: restored %q, want %q", k, got[k], v)
		}
	}
	if refs, _ := dst.ExpiredContexts(3, time.Unix(3e9, 0), 10); len(refs) != 0 {
		t.Errorf("the canceled checkout is still indexed as open: %v", refs)
	}
	if pending, _ := dst.Pending(); len(pending) != 0 {
		t.Errorf("the outbox moved: %d messages", len(pending))
	}
	if pos, _ := dst.ChangelogPosition(3); pos != 11 {
		t.Errorf("position %d, want 11", pos)
	}
}

// Bad changelog bytes are refused whole, never half applied, and never crash.
func TestChangesRefused(t *testing.T) {
	s := memStore(t)
	for _, bad := range [][]byte{
		{2, 's', 1, 'c', 0},                         // unknown version
		{1, 'a', 1, 'v', 8, 0, 0, 0, 0, 0, 0, 0, 1}, // an op this reader does not know
		{1, 's', 1, 'c', 0, 's', 9, 'c'},            // truncated after a good entry
		{1, 's', 0xff},                              // truncated length
	} {
		a := s.NewChangelogApplier(0)
		if err := a.Apply(1, bad); !errors.Is(err, store.ErrChangelog) {
			t.Errorf("% x: %v, want ErrChangelog", bad, err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if kv := dump(t, s); len(kv) != 0 {
		t.Errorf("refused entries were applied: %v", kv)
	}
	if pos, _ := s.ChangelogPosition(0); pos != 0 {
		t.Errorf("a refused message moved the position to %d", pos)
	}
}

// A chunk's outbox messages travel in its changes: ApplyChunk with outbox puts them in the
// other store's outbox under keys of its own, the reply's body read from the record that
// moved with them, held while the partition is not owned; SettleOutbox drops them or
// lets them go. Apply leaves them out, and a chunk of replays only (no change that
// moves) has no changes at all.
func TestChangesCarryOutbox(t *testing.T) {
	src, dst := memStore(t), memStore(t)
	other := dst.NewBatch()
	other.Publish(store.Outgoing{Subject: "x"}) // dst's outbox sequence is its own
	other.Discard()
	b := src.NewBatch()
	b.Partition = 3
	rec := &store.Record{Seq: 1, At: time.Unix(1e9, 0), Body: []byte(`"body"`)}
	b.PutRecord("demo", "msg-a", rec)
	b.PublishReply(store.Outgoing{Subject: "a2a.out.demo.ctx-1", Header: map[string][]string{"Nats-Msg-Id": {"r1"}}},
		rec, []byte(`{"r":`), []byte(`}`))
	b.Publish(store.Outgoing{Subject: "a2a.evt.demo.checkout.completed", Data: []byte(`{"e":1}`)})
	changes, id := b.HoldChanges()
	if changes == nil || id == 0 {
		t.Fatalf("HoldChanges: %d bytes, id %d", len(changes), id)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	notOwned := func(int) bool { return false }
	if h, err := src.HeldOutbox(notOwned); err != nil || len(h) != 2 {
		t.Fatalf("src holds %d messages of a partition it does not own (%v), want 2", len(h), err)
	}

	a := dst.NewChangelogApplier(3)
	if err := a.Apply(10, changes); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if o, _ := dst.Pending(); len(o) != 0 {
		t.Fatalf("Apply put %d messages in the outbox, want none", len(o))
	}
	a = dst.NewChangelogApplier(3)
	if err := a.ApplyChunk(11, changes, true); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	o, err := dst.Pending()
	if err != nil || len(o) != 2 || a.Outbox != 2 {
		t.Fatalf("ApplyChunk: outbox %d messages (%v), counted %d; want 2", len(o), err, a.Outbox)
	}
	if string(o[0].Data) != `{"r":"body"}` || o[0].Header["Nats-Msg-Id"][0] != "r1" || string(o[1].Data) != `{"e":1}` {
		t.Errorf("restored messages %q %v, %q", o[0].Data, o[0].Header, o[1].Data)
	}
	if h, err := dst.HeldOutbox(notOwned); err != nil || len(h) != 2 {
		t.Errorf("dst holds %d restored messages of a partition it does not own (%v), want 2", len(h), err)
	}
	if h, err := dst.HeldOutbox(func(p int) bool { return p == 3 }); err != nil || len(h) != 0 {
		t.Errorf("dst holds %d restored messages of a partition it owns (%v), want 0", len(h), err)
	}

	// src: dropped, since another store published them; dst: free to go.
	if n, err := src.SettleOutbox(3, false); err != nil || n != 2 {
		t.Errorf("SettleOutbox(drop) settled %d (%v), want 2", n, err)
	}
	if o, _ := src.Pending(); len(o) != 0 {
		t.Errorf("src outbox after the drop: %d messages, want 0", len(o))
	}
	if n, err := dst.SettleOutbox(3, true); err != nil || n != 2 {
		t.Errorf("SettleOutbox(keep) settled %d (%v), want 2", n, err)
	}
	if h, err := dst.HeldOutbox(notOwned); err != nil || len(h) != 0 {
		t.Errorf("dst still holds %d after the release (%v)", len(h), err)
	}
	if o, _ := dst.Pending(); len(o) != 2 {
		t.Errorf("dst outbox after the release: %d messages, want 2", len(o))
	}

	replay := src.NewBatch()
	replay.Partition = 3
	replay.Publish(store.Outgoing{Subject: "a2a.out.demo.ctx-1", Data: []byte(`{}`)})
	if c := replay.Changes(); c != nil {
		t.Errorf("a chunk of replies only has %d bytes of changes, want none", len(c))
	}
	replay.Discard()
}
