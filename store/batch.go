package store

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Batch gathers everything one batch of envelopes changes: states, idempotency records
// and outgoing messages. Reads see the batch's own writes first, so that two envelopes of
// one context in the same batch apply one after the other. Nothing is visible to others
// or durable before Commit.
//
// A Batch is used by one goroutine.
type Batch struct {
	// Partition is the inbound partition whose envelopes the batch applies; it files the
	// open checkouts the batch writes under that partition (see ExpiredContexts).
	Partition int
	// Cache, when set, serves states the partition committed recently, and takes what
	// this batch writes once it is committed.
	Cache *StateCache

	s      *Store
	b      *pebble.Batch
	states map[string]commerce.State
	dirty  map[string]bool // states written by this batch
	recs   map[string]*Record
	out    []Outgoing
	st     *batchStock // what the batch reserved and released, if anything
	// scratch is where values are encoded before the Pebble batch copies them in.
	scratch []byte
}

// NewBatch starts a batch.
func (s *Store) NewBatch() *Batch { return s.NewBatchSized(0) }

// NewBatchSized starts a batch that expects to write about size bytes, so that it does
// not grow by copying (a partition passes what its last batch wrote).
func (s *Store) NewBatchSized(size int) *Batch {
	return &Batch{
		s:      s,
		b:      s.db.NewBatchWithSize(size),
		states: make(map[string]commerce.State),
		dirty:  make(map[string]bool),
		recs:   make(map[string]*Record),
	}
}

// State returns the context's state as of this batch.
func (b *Batch) State(tenant, context string) (commerce.State, error) {
	k := string(stateKey(tenant, context))
	if st, ok := b.states[k]; ok {
		return st, nil
	}
	if st, ok := b.Cache.get(k); ok {
		b.states[k] = st
		return st, nil
	}
	v, err := b.s.get([]byte(k))
	if err != nil || v == nil {
		return commerce.State{}, err
	}
	st, err := decodeState(v)
	if err != nil {
		return commerce.State{}, fmt.Errorf("store: state %s/%s: %w", tenant, context, err)
	}
	b.states[k] = st
	b.Cache.put(k, st) // committed: safe to keep whatever this batch does
	return st, nil
}

// PutState replaces the context's state, and keeps the open-checkout index in step.
// REQUIRES: the previous state was read through this batch (State), as Handle does.
func (b *Batch) PutState(tenant, context string, st commerce.State) {
	k := stateKey(tenant, context)
	if prev, ok := b.states[string(k)]; ok && isOpen(prev.Checkout) {
		b.b.Delete(openKey(b.Partition, prev.Checkout.ExpiresAt.UnixNano(), tenant, context), nil)
	}
	if isOpen(st.Checkout) {
		b.b.Set(openKey(b.Partition, st.Checkout.ExpiresAt.UnixNano(), tenant, context), nil, nil)
	}
	b.states[string(k)] = st
	b.dirty[string(k)] = true
	b.scratch = appendState(b.scratch[:0], st)
	b.b.Set(k, b.scratch, nil)
}

func isOpen(c *commerce.Checkout) bool {
	return c != nil && !c.Status.Final() && !c.ExpiresAt.IsZero()
}

// Record returns the idempotency record for (tenant, messageId), or nil.
func (b *Batch) Record(tenant, messageID string) (*Record, error) {
	return b.record(idemKey(tenant, messageID))
}

// SeqRecord returns the record kept for the envelope at stream sequence seq when it had no
// usable messageId, or nil.
func (b *Batch) SeqRecord(seq uint64) (*Record, error) { return b.record(seqKey(seq)) }

func (b *Batch) record(key []byte) (*Record, error) {
	if r, ok := b.recs[string(key)]; ok {
		return r, nil
	}
	v, err := b.s.get(key)
	if err != nil || v == nil {
		return nil, err
	}
	r, err := decodeRecord(v)
	if err != nil {
		return nil, fmt.Errorf("store: record %q: %w", key, err)
	}
	r.key = key
	b.recs[string(key)] = r
	return r, nil
}

// PutRecord stores the idempotency record for (tenant, messageId).
func (b *Batch) PutRecord(tenant, messageID string, r *Record) {
	b.putRecord(idemKey(tenant, messageID), r)
}

// PutSeqRecord stores the record for an envelope without a usable messageId.
func (b *Batch) PutSeqRecord(seq uint64, r *Record) { b.putRecord(seqKey(seq), r) }

func (b *Batch) putRecord(key []byte, r *Record) {
	r.key = key
	b.recs[string(key)] = r
	b.scratch = appendRecord(b.scratch[:0], r)
	b.b.Set(key, b.scratch, nil)
	b.b.Set(expiryKey(r.At.UnixNano(), key), nil, nil)
}

// Publish queues m to be published after Commit, and returns it with its outbox key set.
func (b *Batch) Publish(m Outgoing) Outgoing {
	m.Key = outboxKey(b.s.outboxSeq.Add(1))
	b.scratch = appendOutgoing(b.scratch[:0], &m)
	b.b.Set(m.Key, b.scratch, nil)
	b.out = append(b.out, m)
	return m
}

// PublishReply queues the reply whose data is prefix, rec's body, suffix, where rec was
// read or written through this batch: the outbox keeps the record's key instead of a copy
// of the body.
func (b *Batch) PublishReply(m Outgoing, rec *Record, prefix, suffix []byte) Outgoing {
	m.Data = make([]byte, 0, len(prefix)+len(rec.Body)+len(suffix))
	m.Data = append(append(append(m.Data, prefix...), rec.Body...), suffix...)
	if rec.key != nil {
		m.body, m.prefix, m.suffix = rec, prefix, suffix
	}
	return b.Publish(m)
}

// Size is how many bytes the batch writes.
func (b *Batch) Size() int { return len(b.b.Repr()) }

// Outgoing is what the batch queued, in order.
func (b *Batch) Outgoing() []Outgoing { return b.out }

// Len is the number of writes in the batch.
func (b *Batch) Len() int { return int(b.b.Count()) }

// Commit makes the batch durable with one fsync.
func (b *Batch) Commit() error {
	if b.b.Empty() {
		return b.b.Close()
	}
	if err := b.b.Commit(pebble.Sync); err != nil {
		b.Discard()
		return commerce.Transient("store commit", err)
	}
	for k := range b.dirty {
		b.Cache.put(k, b.states[k])
	}
	if b.st != nil {
		b.st.committed(b.Partition)
	}
	return b.b.Close()
}

// Discard drops the batch without writing anything.
func (b *Batch) Discard() {
	if b.st != nil {
		b.st.discarded()
		b.st = nil
	}
	b.b.Close()
}

// Since reports how old a record is at now.
func (r *Record) Since(now time.Time) time.Duration { return now.Sub(r.At) }
