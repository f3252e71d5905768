package store

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
)

// Committed returns the stream sequence up to which every envelope of the inbound
// partition is committed in this store, or 0 when the store has committed none of them.
// A consumer recreated for the partition starts after it: what lies at or below it has
// an outcome here, and its idempotency record may be gone.
func (s *Store) Committed(partition int) (uint64, error) {
	v, err := s.get(watermarkKey(partition))
	if err != nil || v == nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: watermark of partition %d: %d bytes", partition, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// SetCommitted records, with the rest of the batch, that every envelope of the partition
// up to streamSeq has its outcome in the store.
// REQUIRES: no envelope of the partition at or below streamSeq still waits to be applied
// (one returned to JetStream for a retry, say), and streamSeq is not below what the
// partition recorded before: the caller tracks both (see bus/watermark.go).
func (b *Batch) SetCommitted(partition int, streamSeq uint64) {
	if streamSeq == 0 {
		return
	}
	b.b.Set(watermarkKey(partition), binary.BigEndian.AppendUint64(nil, streamSeq), nil)
}

// sweptBefore remembers the latest cutoff a sweep used: a record made before it may be
// gone, so an envelope stored before it and without a record may have been applied.
type sweptBefore struct {
	once sync.Once
	err  error
	at   atomic.Int64 // unix nanos
}

const metaSweptBefore = "swept_before"

func (s *Store) sweptAt() (int64, error) {
	sb := &s.swept
	sb.once.Do(func() {
		v, err := s.Meta(metaSweptBefore)
		switch {
		case err != nil:
			sb.err = err
		case len(v) == 8:
			sb.at.Store(int64(binary.BigEndian.Uint64(v)))
		case v != nil:
			sb.err = fmt.Errorf("store: %s: %d bytes", metaSweptBefore, len(v))
		default:
			// Never recorded: a store from before it was, or one whose sweeps never ran.
			// Records older than its oldest may have been swept; younger ones all exist.
			at, err := s.oldestRecord()
			sb.at.Store(at)
			sb.err = err
		}
	})
	return sb.at.Load(), sb.err
}

// SweptBefore is the latest cutoff any sweep of this store used (zero if none did).
func (s *Store) SweptBefore() (time.Time, error) {
	at, err := s.sweptAt()
	if err != nil || at == 0 {
		return time.Time{}, err
	}
	return time.Unix(0, at), nil
}

// MaybeSwept reports whether the idempotency record of an envelope stored in the stream
// at t may have been swept: a missing record then no longer proves the envelope new.
func (b *Batch) MaybeSwept(t time.Time) (bool, error) {
	at, err := b.s.sweptAt()
	return at != 0 && t.UnixNano() < at, err
}

// raiseSweptBefore records cutoff durably before a sweep removes anything below it, so
// that no envelope can find its record gone and not know it.
func (s *Store) raiseSweptBefore(cutoff time.Time) error {
	at, err := s.sweptAt()
	if err != nil {
		return err
	}
	n := cutoff.UnixNano()
	if n <= at {
		return nil
	}
	if err := s.db.Set(metaKey(metaSweptBefore), binary.BigEndian.AppendUint64(nil, uint64(n)), pebble.Sync); err != nil {
		return err
	}
	s.swept.at.Store(n)
	return nil
}

// oldestRecord is when the oldest idempotency record was made (unix nanos; 0: none).
func (s *Store) oldestRecord() (int64, error) {
	lo, hi := tagBounds(tagExpiry)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if it.First() && len(it.Key()) >= 9 {
		return int64(binary.BigEndian.Uint64(it.Key()[1:9])), nil
	}
	return 0, it.Error()
}
