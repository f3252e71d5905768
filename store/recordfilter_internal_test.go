package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"
)

// TestRecordFilterAnswersFromMemory: the filter holds every key added until it is
// removed, forgets removed keys, and says "absent" for nearly every key never added: it
// is what saves the read.
func TestRecordFilterAnswersFromMemory(t *testing.T) {
	f := NewRecordFilter(1 << 19) // 131,072 buckets: 471,859 fingerprints before full
	key := func(i int) []byte { return idemKey("demo", fmt.Sprintf("msg-%d", i)) }
	const n = 400_000
	for i := range n {
		f.Add(key(i))
	}
	f.Add(key(7)) // held twice: removed once, still held
	for i := 0; i < n; i += 2 {
		f.Remove(key(i))
	}
	if f.isFull() || f.held != n/2+1 {
		t.Fatalf("full %v, %d held, want %d", f.isFull(), f.held, n/2+1)
	}
	for i := 1; i < n; i += 2 {
		if !f.MayHave(key(i)) {
			t.Fatalf("key %d added and not removed: absent", i)
		}
	}
	removed, never := 0, 0
	for i := 0; i < n; i += 2 {
		if f.MayHave(key(i)) {
			removed++
		}
		if f.MayHave(key(n + i)) {
			never++
		}
	}
	// At 38 % load (200,001 of 524,288 slots), two buckets of four slots hold about 3
	// fingerprints, each matching by chance in 1 of 255: ~1.2 %; a removed key's
	// fingerprint may also still be held by a key added twice (key 7, 1 of them).
	if never > n/2/50 || removed > n/2/50+1 {
		t.Fatalf("false positives: %d of %d removed keys, %d of %d keys never added", removed, n/2, never, n/2)
	}
}

// TestRecordFilterGivesUpWhenFull: past what it was sized for, the filter stops answering
// (every key may have a record, and the store is read) and frees its table; a size too
// small for a table starts it full; 0 is the default size.
func TestRecordFilterGivesUpWhenFull(t *testing.T) {
	f := NewRecordFilter(64 * 4) // 64 buckets: 230 fingerprints
	for i := range 230 {
		f.Add(idemKey("demo", fmt.Sprint(i)))
	}
	if f.isFull() {
		t.Fatal("full at its limit")
	}
	f.Add(idemKey("demo", "one more"))
	if !f.isFull() || f.buckets != nil || !f.MayHave(idemKey("demo", "never added")) {
		t.Fatalf("past its limit: full %v, table %d, an unknown key %v", f.isFull(), len(f.buckets), f.MayHave(idemKey("demo", "never added")))
	}
	for _, bytes := range []int64{-1, 63 * 4} {
		if g := NewRecordFilter(bytes); !g.isFull() || !g.MayHave([]byte("x")) {
			t.Errorf("%d bytes: full %v", bytes, g.isFull())
		}
	}
	if g := NewRecordFilter(0); g.isFull() || len(g.buckets)*4 != DefaultRecordFilterBytes {
		t.Errorf("0 bytes: full %v, %d bytes", g.isFull(), len(g.buckets)*4)
	}
	if k, ok := recordOfExpiryKey(expiryKey(5, idemKey("demo", "m"))); !ok || string(k) != string(idemKey("demo", "m")) {
		t.Errorf("recordOfExpiryKey of an idempotency record's entry: %q, %v", k, ok)
	}
	for _, k := range [][]byte{expiryKey(5, seqKey(9)), idemKey("demo", "m"), nil} {
		if _, ok := recordOfExpiryKey(k); ok {
			t.Errorf("%q read as an idempotency record's expiry entry", k)
		}
	}
}

// TestRecordFilterFollowsTheStore: a store opened on records holds each in its filter,
// a sweep removes what it deletes, and the rest of a new messageId's record is never
// read: the filter says it is absent.
func TestRecordFilterFollowsTheStore(t *testing.T) {
	fs := vfs.NewMem()
	s, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := s.NewBatch()
	for i := range 100 {
		b.PutRecord("demo", fmt.Sprint(i), &Record{Seq: uint64(i + 1), At: at.Add(time.Duration(i) * time.Minute)})
		b.PutSeqRecord(uint64(1000+i), &Record{Seq: uint64(1000 + i), At: at})
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.recs.held != 100 {
		t.Fatalf("%d held after the commit, want 100 (seq records are not its own)", s.recs.held)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open("db", Options{FS: fs}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.recs.held != 100 || s.recs.isFull() {
		t.Fatalf("%d held after opening again (full %v), want 100", s.recs.held, s.recs.isFull())
	}
	if _, err := s.Sweep(at.Add(30*time.Minute), 1000); err != nil {
		t.Fatal(err)
	}
	if s.recs.held != 70 {
		t.Fatalf("%d held after sweeping 30, want 70", s.recs.held)
	}
	if !s.recs.MayHave(idemKey("demo", "31")) || s.recs.MayHave(idemKey("demo", "new")) {
		t.Fatal("a kept record is not held, or a new messageId is")
	}
}
