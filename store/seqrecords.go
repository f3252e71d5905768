package store

import (
	"encoding/binary"
	"sync"

	"github.com/cockroachdb/pebble"
)

// seqRecords knows which stream sequences have a record of their own (PutSeqRecord: the
// outcome of a delivery that was refused or dead-lettered, or of an envelope without a
// usable messageId), so that asking for the record of a delivery that has none, which
// every envelope does on its way (handlers' answered), is answered from memory. Such a
// key is almost never there, and Pebble's Get looks through every level for it,
// reading a block of the bottom level, where bloom filters are not consulted: under load
// that was one of an envelope's two record reads, about 4-5 µs each (docs/performance.md).
//
// INVARIANT: every seq key in the store is in the set, or the set is full. It may hold
// more: a sequence is added when its record is put in a batch, before the batch commits
// (a rollback or a failed commit leaves it in the set), and changelog entries add theirs
// before they are applied. A sweep removes the records it deletes. It is built at Open
// from the store's keys. A false positive costs a read of the store; a false negative
// would apply a refused or dead-lettered delivery again, so whatever writes a seq key
// adds it first.
type seqRecords struct {
	mu sync.RWMutex
	m  map[uint64]struct{}
	// full: more than maxSeqRecordsKnown were seen; every question goes to the store, as
	// the memory the set would take is no longer small.
	full bool
}

// maxSeqRecordsKnown bounds the set: about 3 MiB of memory at most. Records are swept
// after the idempotency window; a stream of bad input that leaves more than this within
// the window turns the set off until the next start.
const maxSeqRecordsKnown = 100_000

func (s *seqRecords) add(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return
	}
	if s.m == nil {
		s.m = map[uint64]struct{}{}
	}
	s.m[seq] = struct{}{}
	if len(s.m) > maxSeqRecordsKnown {
		s.full, s.m = true, nil
	}
}

func (s *seqRecords) remove(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, seq)
}

// mayHave reports whether the store may hold a record under seq.
func (s *seqRecords) mayHave(seq uint64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.full {
		return true
	}
	_, ok := s.m[seq]
	return ok
}

// addKey adds the sequence of a seq record's key; other keys are ignored.
func (s *seqRecords) addKey(k []byte) {
	if seq, ok := seqOfKey(k); ok {
		s.add(seq)
	}
}

// seqOfKey returns the stream sequence of a seq record's key (seqKey).
func seqOfKey(k []byte) (uint64, bool) {
	if len(k) != 9 || k[0] != tagSeq {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[1:]), true
}

// loadSeqRecords fills the set from the store's seq keys.
func (s *Store) loadSeqRecords() error {
	lo, hi := tagBounds(tagSeq)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	for it.First(); it.Valid() && !s.seqs.full; it.Next() {
		s.seqs.addKey(it.Key())
	}
	return it.Close()
}
