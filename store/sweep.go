package store

import (
	"encoding/binary"
	"time"

	"github.com/cockroachdb/pebble"
)

// Sweep removes idempotency records created before cutoff, at most limit of them, and
// reports how many it removed. It writes without fsync (a removal lost in a crash is
// redone by the next sweep) and in its own batch, so it never holds up the hot path.
// Before removing anything it records cutoff durably (see SweptBefore), so that an
// envelope older than it that finds no record is known to be ambiguous.
//
// REQUIRES: every envelope stored before cutoff has been acknowledged: a record swept
// while its envelope can still be delivered turns a replay into a second application
// (the caller bounds cutoff by the consumers' ack floors).
func (s *Store) Sweep(cutoff time.Time, limit int) (int, error) {
	// One at a time: a second sweep's iterator could find the entries this one deletes,
	// and remove their records from RecordFilter twice.
	s.sweeping.Lock()
	defer s.sweeping.Unlock()
	if err := s.raiseSweptBefore(cutoff); err != nil {
		return 0, err
	}
	lo, _ := tagBounds(tagExpiry)
	hi := make([]byte, 9)
	hi[0] = tagExpiry
	binary.BigEndian.PutUint64(hi[1:], uint64(cutoff.UnixNano()))
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	b := s.db.NewBatch()
	n := 0
	var seqs []uint64
	var recs [][]byte
	for it.First(); it.Valid() && n < limit; it.Next() {
		k := it.Key()
		b.Delete(k, nil)
		b.Delete(k[10:], nil) // the record the index entry points at
		if seq, ok := seqOfKey(k[10:]); ok {
			seqs = append(seqs, seq)
		} else if rk, ok := recordOfExpiryKey(k); ok {
			recs = append(recs, append([]byte(nil), rk...))
		}
		n++
	}
	if err := it.Close(); err != nil {
		b.Close()
		return 0, err
	}
	if n == 0 {
		return 0, b.Close()
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return 0, err
	}
	for _, seq := range seqs {
		s.seqs.remove(seq)
	}
	for _, k := range recs {
		s.recs.Remove(k)
	}
	return n, nil
}
