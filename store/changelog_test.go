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
