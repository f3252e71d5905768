package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/store"
)

// TestRecordsFoundWhereverTheyCameFrom: an idempotency record is found after its commit,
// after the store is opened again, in another store the changelog carried it to, and,
// with a filter that fills up or is too small for any, from the store itself; a messageId
// without one has none; a sweep takes it away. The store answers "none" from its filter
// of record keys (RecordFilter), which each of these paths must keep up: a key it missed
// would apply a duplicate envelope again.
func TestRecordsFoundWhereverTheyCameFrom(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 300
	for _, filter := range []int64{0, 64 * 4, 64, -1} { // default, 230 records, none, off
		t.Run(fmt.Sprintf("filter %d bytes", filter), func(t *testing.T) {
			fs := vfs.NewMem()
			o := store.Options{FS: fs, RecordFilterBytes: filter}
			openIt := func(fs vfs.FS) *store.Store {
				t.Helper()
				s, err := store.Open("db", store.Options{FS: fs, RecordFilterBytes: filter})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			record := func(s *store.Store, id string) *store.Record {
				t.Helper()
				b := s.NewBatch()
				defer b.Discard()
				r, err := b.Record("demo", id)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			s, err := store.Open("db", o)
			if err != nil {
				t.Fatal(err)
			}
			b := s.NewBatch()
			b.Partition = 1
			for i := range n {
				b.PutRecord("demo", fmt.Sprintf("m-%d", i), &store.Record{Seq: uint64(i + 1), At: at, Body: []byte(`{"n":1}`)})
				b.Mark()
			}
			changes := b.Changes()
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				if r := record(s, fmt.Sprintf("m-%d", i)); r == nil || r.Seq != uint64(i+1) {
					t.Fatalf("m-%d after the commit: %+v", i, r)
				}
			}
			if r := record(s, "m-absent"); r != nil {
				t.Fatalf("a messageId without a record has one: %+v", r)
			}

			// Opened again: the filter is built from the records' expiry index.
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openIt(fs)
			defer s.Close()
			for i := range n {
				if r := record(s, fmt.Sprintf("m-%d", i)); r == nil || r.Seq != uint64(i+1) {
					t.Fatalf("m-%d after opening the store again: %+v", i, r)
				}
			}

			// Carried by the changelog to another store.
			dst := openIt(vfs.NewMem())
			defer dst.Close()
			carry(t, dst, 1, changes)
			for i := range n {
				if r := record(dst, fmt.Sprintf("m-%d", i)); r == nil || r.Seq != uint64(i+1) {
					t.Fatalf("m-%d in the store the changelog carried it to: %+v", i, r)
				}
			}

			// Swept, then written again under the same messageId.
			if swept, err := s.Sweep(at.Add(time.Hour), 1000); err != nil || swept != n {
				t.Fatalf("sweep: %d, %v", swept, err)
			}
			if r := record(s, "m-3"); r != nil {
				t.Fatalf("after the sweep: %+v", r)
			}
			b = s.NewBatch()
			b.PutRecord("demo", "m-3", &store.Record{Seq: 33, At: at.Add(2 * time.Hour)})
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			if r := record(s, "m-3"); r == nil || r.Seq != 33 {
				t.Fatalf("written again after the sweep: %+v", r)
			}
		})
	}
}
