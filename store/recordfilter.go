package store

import (
	"hash/maphash"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble"
)

// RecordFilter knows, in a byte per record, which idempotency records the store may
// hold, so that the record of a new messageId, which every envelope asks for and almost
// none has, is answered without a read. Pebble's Get looks for an absent key in every
// level: in each of level 0's sublevels and every level below, a table's iterator and its
// bloom filter, and at the bottom level, where Get consults no bloom filter, an index and
// a data block. Under load that was about 6 µs per envelope, a tenth of the worker's CPU
// (docs/performance.md), and on a store larger than its block cache, a read from disk.
//
// It is a cuckoo filter (Fan et al., "Cuckoo Filter: Practically Better Than Bloom",
// 2014): buckets of four 8-bit fingerprints, each key in one of two buckets, a
// fingerprint moved to its other bucket to make room. Unlike a bloom filter it forgets
// a key, so it follows the sweep; a key held twice is held as two fingerprints, and
// forgotten one at a time. A question about an absent key finds a fingerprint that
// matches by chance in at most 8 of 255 (3 %, when full; less as it is emptier): that
// costs the read it would have saved.
//
// It mirrors the records' expiry index (the x keys): a record key is added for every
// index entry written, before the batch that writes it can commit (Batch.flushRecord,
// the changelog's applyChanges), and for every entry in the store at Open; it is removed
// for every entry a sweep deletes, once the sweep committed. So the filter holds at least
// the records the store holds.
//
// INVARIANT: every record key in the store is held, or the filter is full. A false
// negative would apply a duplicate envelope again, so whatever writes an expiry entry
// adds its record first, and remove is called only for an entry that was added (the
// sweep deletes entries that are in the store). An entry added and never committed (a
// batch discarded, a changelog chunk applied twice) is a fingerprint held for nothing: a
// false positive until the next start.
//
// Full: when more records are held than it was sized for (a fingerprint would be lost
// making room), it stops answering and every question goes to the store, until the next
// start sizes it again. Its size is fixed at Open (Options.RecordFilterBytes).
type RecordFilter struct {
	seed maphash.Seed

	mu      sync.RWMutex
	buckets []uint32 // four 8-bit fingerprints each; 0 is an empty slot
	mask    uint64
	held    int
	limit   int // fingerprints held before the filter declares itself full
	full    bool
	rnd     uint64 // xorshift state for the slot a move takes
}

// recordFilterLoad is the share of slots the filter fills before it gives up: cuckoo
// filters with buckets of four fill to about 95 % before an insertion fails.
const recordFilterLoad = 0.9

// NewRecordFilter returns a filter of about bytes of memory (rounded down to a power of
// two buckets; 0: DefaultRecordFilterBytes), or a full one, which holds nothing and
// answers "may have" to every question, when bytes is negative or too small for a table.
func NewRecordFilter(bytes int64) *RecordFilter {
	f := &RecordFilter{seed: maphash.MakeSeed(), rnd: 0x9e3779b97f4a7c15}
	if bytes == 0 {
		bytes = DefaultRecordFilterBytes
	}
	n := uint64(1)
	for n*2*4 <= uint64(max(bytes, 0)) {
		n *= 2
	}
	if n*4 > uint64(max(bytes, 0)) || n < 64 {
		f.full = true
		return f
	}
	f.buckets = make([]uint32, n)
	f.mask = n - 1
	f.limit = int(float64(n*4) * recordFilterLoad)
	return f
}

// where returns the key's fingerprint (never 0) and its first bucket.
func (f *RecordFilter) where(key []byte) (fp uint8, i uint64) {
	h := maphash.Bytes(f.seed, key)
	fp = uint8(h >> 56)
	if fp == 0 {
		fp = 1
	}
	return fp, h & f.mask
}

// other is fp's other bucket than i; other(other(i, fp), fp) == i.
func (f *RecordFilter) other(i uint64, fp uint8) uint64 {
	return (i ^ (uint64(fp) * 0x5bd1e9955bd1e995)) & f.mask
}

func hasFingerprint(b uint32, fp uint8) bool {
	for s := 0; s < 32; s += 8 {
		if uint8(b>>s) == fp {
			return true
		}
	}
	return false
}

// put places fp in bucket i if it has an empty slot.
func (f *RecordFilter) put(i uint64, fp uint8) bool {
	b := f.buckets[i]
	for s := 0; s < 32; s += 8 {
		if uint8(b>>s) == 0 {
			f.buckets[i] = b | uint32(fp)<<s
			return true
		}
	}
	return false
}

// MayHave reports whether the store may hold a record under key.
func (f *RecordFilter) MayHave(key []byte) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.full {
		return true
	}
	fp, i := f.where(key)
	return hasFingerprint(f.buckets[i], fp) || hasFingerprint(f.buckets[f.other(i, fp)], fp)
}

// Add holds key.
func (f *RecordFilter) Add(key []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.full {
		return
	}
	if f.held >= f.limit {
		f.setFull("it holds as many records as it was sized for")
		return
	}
	fp, i := f.where(key)
	f.held++
	if f.put(i, fp) || f.put(f.other(i, fp), fp) {
		return
	}
	// Both buckets are taken: move a fingerprint of one to its other bucket, and so on.
	for range 500 {
		f.rnd ^= f.rnd << 13
		f.rnd ^= f.rnd >> 7
		f.rnd ^= f.rnd << 17
		s := (f.rnd & 3) * 8
		b := f.buckets[i]
		moved := uint8(b >> s)
		f.buckets[i] = b&^(0xff<<s) | uint32(fp)<<s
		fp, i = moved, f.other(i, moved)
		if f.put(i, fp) {
			return
		}
	}
	f.setFull("a record found no place in it") // fp is lost: no answer is sure any more
}

// setFull turns the filter off until the next start.
// REQUIRES: f.mu held.
func (f *RecordFilter) setFull(why string) {
	slog.Warn("store: the filter of idempotency records is full: until the next start, every envelope reads the store for its record; raise store.record_filter_mib",
		"why", why, "records", f.held, "mib", len(f.buckets)*4>>20)
	f.full, f.buckets = true, nil
}

// Remove forgets one fingerprint of key.
// REQUIRES: key was added (see the type's invariant).
func (f *RecordFilter) Remove(key []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.full {
		return
	}
	fp, i := f.where(key)
	for _, j := range [2]uint64{i, f.other(i, fp)} {
		b := f.buckets[j]
		for s := 0; s < 32; s += 8 {
			if uint8(b>>s) == fp {
				f.buckets[j] = b &^ (0xff << s)
				f.held--
				return
			}
		}
	}
}

// Stats reports how many records the filter holds and whether it has stopped answering.
func (f *RecordFilter) Stats() (held int, full bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.held, f.full
}

// isFull reports whether the filter has stopped answering.
func (f *RecordFilter) isFull() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.full
}

// recordOfExpiryKey returns the idempotency record an expiry index entry points at
// (expiryKey), or false for another key or the entry of a seq record.
func recordOfExpiryKey(k []byte) ([]byte, bool) {
	if len(k) < 11 || k[0] != tagExpiry || k[10] != tagIdem {
		return nil, false
	}
	return k[10:], true
}

// loadRecordFilter fills the filter from the store's expiry index, until it is full.
func (s *Store) loadRecordFilter() error {
	lo, hi := tagBounds(tagExpiry)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for it.First(); it.Valid() && !s.recs.isFull(); it.Next() {
		if k, ok := recordOfExpiryKey(it.Key()); ok {
			s.recs.Add(k)
		}
	}
	return it.Close()
}
