package store

import (
	"bytes"
	"encoding/binary"
	"time"

	"github.com/cockroachdb/pebble"
)

// OpenRef is an entry of the open-checkout index.
type OpenRef struct {
	Tenant, Context string
	ExpiresAt       time.Time
	partition       int
}

// ExpiredContexts returns, oldest first, up to limit contexts of the partition whose
// open checkout expires at or before now.
func (s *Store) ExpiredContexts(partition int, now time.Time, limit int) ([]OpenRef, error) {
	lo := make([]byte, 3)
	lo[0] = tagOpen
	binary.BigEndian.PutUint16(lo[1:], uint16(partition))
	hi := make([]byte, 11)
	copy(hi, lo)
	binary.BigEndian.PutUint64(hi[3:], uint64(now.UnixNano())+1)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []OpenRef
	for it.First(); it.Valid() && len(out) < limit; it.Next() {
		rest := it.Key()[11:]
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			continue
		}
		at := int64(binary.BigEndian.Uint64(it.Key()[3:11]))
		out = append(out, OpenRef{Tenant: string(rest[:i]), Context: string(rest[i+1:]),
			ExpiresAt: time.Unix(0, at), partition: partition})
	}
	return out, it.Error()
}

// Forget removes an entry of the open-checkout index that no longer matches its state.
func (b *Batch) Forget(r OpenRef) {
	b.b.Delete(openKey(r.partition, r.ExpiresAt.UnixNano(), r.Tenant, r.Context), nil)
}
