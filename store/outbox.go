package store

import (
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble"
)

// Done removes published messages from the outbox. It does not wait for an fsync: if the
// removal is lost in a crash, the messages are published again at start-up, and
// JetStream's duplicate window drops them by their Nats-Msg-Id.
func (s *Store) Done(msgs []Outgoing) error {
	if len(msgs) == 0 {
		return nil
	}
	b := s.db.NewBatch()
	for _, m := range msgs {
		if m.Key != nil {
			b.Delete(m.Key, nil)
		}
	}
	return b.Commit(pebble.NoSync)
}

// Pending returns every message in the outbox, oldest first: those committed but not
// known to be published.
func (s *Store) Pending() ([]Outgoing, error) {
	lo, hi := tagBounds(tagOutbox)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out, stale []Outgoing
	for it.First(); it.Valid(); it.Next() {
		m, key, err := decodeOutgoing(it.Value())
		if err != nil {
			return nil, fmt.Errorf("store: outbox entry %x: %w", it.Key(), err)
		}
		m.Key = append([]byte(nil), it.Key()...)
		if key != nil {
			// A reply kept as its record's key: the record is committed in the same batch
			// and outlives the entry (records are kept for a day; entries until published).
			v, err := s.get(key)
			if err != nil {
				return nil, err
			}
			if v == nil {
				// Swept: the entry waited past the records' retention. Its envelope was
				// acknowledged long ago; there is nothing left to send.
				slog.Warn("store: an outbox reply outlived its record; dropped", "record", string(key))
				stale = append(stale, m)
				continue
			}
			rec, err := decodeRecord(v)
			if err != nil {
				return nil, fmt.Errorf("store: record %q: %w", key, err)
			}
			m.Data = append(append(append(make([]byte, 0, len(m.prefix)+len(rec.Body)+len(m.suffix)),
				m.prefix...), rec.Body...), m.suffix...)
			m.prefix, m.suffix = nil, nil
		}
		out = append(out, m)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	return out, s.Done(stale)
}

func (s *Store) lastOutboxSeq() (uint64, error) {
	lo, hi := tagBounds(tagOutbox)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if it.Last() {
		return binary.BigEndian.Uint64(it.Key()[1:]), nil
	}
	return 0, it.Error()
}
