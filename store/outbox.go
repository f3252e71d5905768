package store

import (
	"encoding/binary"
	"fmt"

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
	var out []Outgoing
	for it.First(); it.Valid(); it.Next() {
		m, err := decodeOutgoing(it.Value())
		if err != nil {
			return nil, fmt.Errorf("store: outbox entry %x: %w", it.Key(), err)
		}
		m.Key = append([]byte(nil), it.Key()...)
		out = append(out, m)
	}
	return out, it.Error()
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
