package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"time"

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
// known to be published. It holds the whole outbox in memory: the worker reads it with
// PendingPage instead.
func (s *Store) Pending() ([]Outgoing, error) {
	var out []Outgoing
	var after []byte
	for {
		page, next, err := s.PendingPage(after, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == nil {
			return out, nil
		}
		after = next
	}
}

// PendingPage returns the outbox messages after the key after (from the first when after
// is nil), oldest first, reading at most n entries; next is the key to pass for the page
// that follows, or nil when the outbox has no more. A page may hold fewer than n messages
// and still have a next: replies whose record was swept are dropped, not returned.
func (s *Store) PendingPage(after []byte, n int) (msgs []Outgoing, next []byte, err error) {
	lo, hi := tagBounds(tagOutbox)
	if after != nil {
		lo = append(append(make([]byte, 0, len(after)+1), after...), 0) // the first key past after
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	n = max(n, 1)
	var stale []Outgoing
	var last []byte
	read := 0
	for it.First(); it.Valid(); it.Next() {
		if read == n {
			next = last
			break
		}
		read++
		last = append(last[:0], it.Key()...)
		m, err := s.outboxEntry(it.Key(), it.Value())
		if errors.Is(err, errSwept) {
			stale = append(stale, m)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		msgs = append(msgs, m)
	}
	if err := it.Error(); err != nil {
		return nil, nil, err
	}
	return msgs, next, s.Done(stale)
}

// errSwept is outboxEntry's answer for a reply whose record is gone.
var errSwept = errors.New("store: the outbox reply's record was swept")

// outboxEntry decodes the outbox entry under key, with a reply's body filled in from its
// record.
func (s *Store) outboxEntry(key, value []byte) (Outgoing, error) {
	m, rkey, err := decodeOutgoing(value)
	if err != nil {
		return Outgoing{}, fmt.Errorf("store: outbox entry %x: %w", key, err)
	}
	m.Key = append([]byte(nil), key...)
	if rkey == nil {
		return m, nil
	}
	// A reply kept as its record's key: the record is committed in the same batch and
	// outlives the entry (records are kept for a day; entries until published).
	v, err := s.get(rkey)
	if err != nil {
		return Outgoing{}, err
	}
	if v == nil {
		// Swept: the entry waited past the records' retention. Its envelope was
		// acknowledged long ago; there is nothing left to send.
		slog.Warn("store: an outbox reply outlived its record; dropped", "record", string(rkey))
		return m, errSwept
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return Outgoing{}, fmt.Errorf("store: record %q: %w", rkey, err)
	}
	m.Data = append(append(append(make([]byte, 0, len(m.prefix)+len(rec.Body)+len(m.suffix)),
		m.prefix...), rec.Body...), m.suffix...)
	m.prefix, m.suffix = nil, nil
	return m, nil
}

// Aside is an outbox message that could never be published (the server refuses it
// whatever is retried), kept apart so that it no longer holds up the outbox.
type Aside struct {
	Msg    Outgoing // Msg.Key is the outbox key it had
	Seq    uint64   // its outbox sequence (set by SetAside)
	At     time.Time
	Reason string
}

// MoveAside takes each message out of the outbox and keeps it, whole, in the set-aside
// table, in one write: a crash leaves it in one place or the other, never both or neither.
func (s *Store) MoveAside(entries []Aside) error {
	if len(entries) == 0 {
		return nil
	}
	b := s.db.NewBatch()
	var v []byte
	for _, a := range entries {
		if a.Msg.Key == nil {
			continue
		}
		m := a.Msg
		m.body, m.prefix, m.suffix = nil, nil, nil // keep the bytes: the record may be swept
		v = binary.AppendVarint(v[:0], a.At.UnixNano())
		v = appendString(v, a.Reason)
		v = appendOutgoing(v, &m)
		b.Delete(a.Msg.Key, nil)
		b.Set(asideKey(a.Msg.Key), v, nil)
	}
	return b.Commit(pebble.Sync)
}

// SetAsideCount is how many messages are set aside, without reading them.
func (s *Store) SetAsideCount() (int, error) {
	lo, hi := tagBounds(tagAside)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi, KeyTypes: pebble.IterKeyTypePointsOnly})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for it.First(); it.Valid(); it.Next() {
		n++
	}
	return n, it.Error()
}

// SetAside returns what MoveAside set aside, oldest first.
func (s *Store) SetAside() ([]Aside, error) {
	lo, hi := tagBounds(tagAside)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []Aside
	for it.First(); it.Valid(); it.Next() {
		if len(it.Key()) != 9 {
			return nil, fmt.Errorf("store: set-aside key %x: %w", it.Key(), errCorrupt)
		}
		r := &reader{b: it.Value()}
		at := r.varint()
		reason := r.string()
		if r.err != nil {
			return nil, fmt.Errorf("store: set-aside entry %x: %w", it.Key(), r.err)
		}
		m, _, err := decodeOutgoing(r.b)
		if err != nil {
			return nil, fmt.Errorf("store: set-aside entry %x: %w", it.Key(), err)
		}
		m.Key = append([]byte{tagOutbox}, it.Key()[1:]...)
		out = append(out, Aside{Msg: m, Seq: binary.BigEndian.Uint64(it.Key()[1:]), At: time.Unix(0, at), Reason: reason})
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

// OutboxStats is what the outbox holds: how many messages, and the outbox sequences of the
// oldest and the newest (0 when it is empty).
type OutboxStats struct {
	Messages       int
	Oldest, Newest uint64
}

// Outbox counts the outbox without decoding it. It reads every key, so its cost is the
// outbox's size: nothing in the steady state, where a message stays only between its
// commit and its publish, and what piled up during a NATS outage otherwise.
func (s *Store) Outbox() (OutboxStats, error) {
	lo, hi := tagBounds(tagOutbox)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi, KeyTypes: pebble.IterKeyTypePointsOnly})
	if err != nil {
		return OutboxStats{}, err
	}
	defer it.Close()
	var st OutboxStats
	for it.First(); it.Valid(); it.Next() {
		if len(it.Key()) != 9 {
			continue
		}
		seq := binary.BigEndian.Uint64(it.Key()[1:])
		if st.Messages == 0 {
			st.Oldest = seq
		}
		st.Newest = seq
		st.Messages++
	}
	return st, it.Error()
}
