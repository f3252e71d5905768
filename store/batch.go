package store

import (
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// Batch gathers everything one batch of envelopes changes: states, idempotency records
// and outgoing messages. Reads see the batch's own writes first, so that two envelopes of
// one context in the same batch apply one after the other. Nothing is visible to others
// or durable before Commit.
//
// Each envelope's writes are all or nothing within the batch (see Mark): they are staged
// in Go structures and copied into the Pebble batch only once the envelope is done, at the
// next Mark, Size, Len or Commit. A Pebble batch cannot be truncated; staging instead of
// writing at once costs no more (each value is encoded once either way), needs no second
// Pebble batch per envelope, and lets Rollback drop an envelope by putting a few map
// entries back.
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
	// pays are the mock's payments the batch wrote, by key (see BatchMockPayments).
	pays map[string]*providers.MockPayment
	// scratch is where values are encoded before the Pebble batch copies them in.
	scratch []byte
	// enc holds the key and the encoding of every state written into b, in the order
	// written, for Cache once the commit succeeds; written says where each is in enc.
	// Only kept when Cache is set.
	enc     []byte
	written []encodedState

	// staged are the writes not yet in b, in the order they were made, each with what it
	// replaced in the maps above; out[flushedOut:] are the messages not yet in b.
	// INVARIANT: b holds every staged write made before the last flush, none made after.
	staged     []staged
	flushedOut int
	// flushes counts the flushes, so that Rollback can tell a Mark that is still open.
	flushes uint64
}

// encodedState is a state written into the batch: its key is enc[k:v], its encoding
// enc[v:end].
type encodedState struct{ k, v, end int }

type stagedKind uint8

const (
	stagedState stagedKind = iota
	stagedRecord
	stagedReservation
	stagedMockPayment
)

// staged is a write not yet in the Pebble batch, and the map entry it replaced.
type staged struct {
	kind stagedKind
	// key is where the write goes, but for stagedState: a state's key is made again from
	// tenant and context when needed, since kept here it would escape to the heap, one
	// allocation more per envelope.
	key []byte
	had bool // the map held key before the write

	// stagedState
	tenant, context string
	prev            commerce.State
	wasDirty        bool
	// stagedRecord
	rec *Record
	// stagedReservation
	res *reservationRec
	// stagedMockPayment (and tenant)
	pay *providers.MockPayment
}

// NewBatch starts a batch.
func (s *Store) NewBatch() *Batch { return s.NewBatchSized(0) }

// NewBatchSized starts a batch that expects to write about size bytes, so that it does
// not grow by copying (a partition passes what its last batch wrote). It reuses the
// buffer of a batch that is through when there is one (see spareBatches).
func (s *Store) NewBatchSized(size int) *Batch {
	b := &Batch{s: s}
	if sp := s.spare.get(); sp != nil {
		b.b, b.states, b.dirty, b.recs, b.staged, b.scratch = sp.b, sp.states, sp.dirty, sp.recs, sp.staged, sp.scratch
		b.enc, b.written = sp.enc, sp.written
		// The messages go to the caller: sized as the last batch's, not grown by copying.
		b.out = make([]Outgoing, 0, sp.outs)
		return b
	}
	b.b = s.db.NewBatchWithSize(size)
	b.states = make(map[string]commerce.State)
	b.dirty = make(map[string]bool)
	b.recs = make(map[string]*Record)
	return b
}

// State returns the context's state as of this batch.
func (b *Batch) State(tenant, context string) (commerce.State, error) {
	kb := stateKey(tenant, context)
	k := string(kb)
	if st, ok := b.states[k]; ok {
		return st, nil
	}
	if v, ok := b.Cache.get(k); ok {
		st, err := decodeState(v) // a copy: v stays the cache's
		if err != nil {
			return commerce.State{}, fmt.Errorf("store: state %s/%s (cached): %w", tenant, context, err)
		}
		b.states[k] = st
		return st, nil
	}
	if !b.s.present.mayHave(kb) {
		return commerce.State{}, nil // a context not seen yet
	}
	var st commerce.State
	found := false
	err := b.s.view(kb, func(v []byte) error {
		if v == nil {
			return nil
		}
		found = true
		var err error
		if st, err = decodeState(v); err == nil {
			b.Cache.put(kb, v) // committed: safe to keep whatever this batch does
		}
		return err
	})
	if err != nil || !found {
		if found {
			err = fmt.Errorf("store: state %s/%s: %w", tenant, context, err)
		}
		return commerce.State{}, err
	}
	b.states[k] = st
	return st, nil
}

// PutState replaces the context's state, and keeps the open-checkout index in step.
// REQUIRES: the previous state was read through this batch (State), as Handle does.
func (b *Batch) PutState(tenant, context string, st commerce.State) {
	k := stateKey(tenant, context)
	prev, had := b.states[string(k)]
	b.staged = append(b.staged, staged{kind: stagedState, had: had, tenant: tenant, context: context,
		prev: prev, wasDirty: b.dirty[string(k)]})
	b.states[string(k)] = st
	b.dirty[string(k)] = true
}

// flushState writes the state as it is now, and moves its open-checkout index entry from
// where the state before this write had it. A checkout's expiry is set when it is
// created, so most writes leave the entry where it is, and write nothing of it.
func (b *Batch) flushState(w *staged) {
	k := stateKey(w.tenant, w.context)
	st := b.states[string(k)]
	wasOpen, open := w.had && isOpen(w.prev.Checkout), isOpen(st.Checkout)
	if !wasOpen || !open || w.prev.Checkout.ExpiresAt.UnixNano() != st.Checkout.ExpiresAt.UnixNano() {
		if wasOpen {
			b.b.Delete(openKey(b.Partition, w.prev.Checkout.ExpiresAt.UnixNano(), w.tenant, w.context), nil)
		}
		if open {
			b.b.Set(openKey(b.Partition, st.Checkout.ExpiresAt.UnixNano(), w.tenant, w.context), nil, nil)
		}
	}
	b.scratch = appendState(b.scratch[:0], st)
	if !w.had {
		// Before the commit: presenceFilter's invariant. A state the batch read or wrote
		// before is in the filter already.
		b.s.present.add(k)
	}
	b.b.Set(k, b.scratch, nil)
	if b.Cache != nil {
		ks := len(b.enc)
		b.enc = append(append(b.enc, k...), b.scratch...)
		b.written = append(b.written, encodedState{k: ks, v: ks + len(k), end: len(b.enc)})
	}
}

func isOpen(c *commerce.Checkout) bool {
	return c != nil && !c.Status.Final() && !c.ExpiresAt.IsZero()
}

// Record returns the idempotency record for (tenant, messageId), or nil. The record of a
// new messageId, which most envelopes have, is known to be absent without a read
// (RecordFilter).
func (b *Batch) Record(tenant, messageID string) (*Record, error) {
	k := idemKey(tenant, messageID)
	if _, ok := b.recs[string(k)]; !ok && !b.s.recs.MayHave(k) {
		return nil, nil
	}
	return b.record(k)
}

// SeqRecord returns the record kept for the envelope at stream sequence seq when it had no
// usable messageId, or nil. Most deliveries have none, and the store's set of them
// (seqRecords) says so without a read. A record this batch put is in the set too:
// PutSeqRecord adds it there first.
func (b *Batch) SeqRecord(seq uint64) (*Record, error) {
	if !b.s.seqs.mayHave(seq) {
		return nil, nil
	}
	return b.record(seqKey(seq))
}

func (b *Batch) record(key []byte) (*Record, error) {
	if r, ok := b.recs[string(key)]; ok {
		return r, nil
	}
	var r *Record
	err := b.s.view(key, func(v []byte) error {
		if v == nil {
			return nil
		}
		var err error
		if r, err = decodeRecord(v); err != nil {
			return fmt.Errorf("store: record %q: %w", key, err)
		}
		return nil
	})
	if err != nil || r == nil {
		return nil, err
	}
	r.key = key
	b.recs[string(key)] = r
	return r, nil
}

// PutRecord stores the idempotency record for (tenant, messageId).
func (b *Batch) PutRecord(tenant, messageID string, r *Record) {
	b.putRecord(idemKey(tenant, messageID), r)
}

// PutSeqRecord stores the record for an envelope without a usable messageId. The store's
// set of such sequences learns it at once, before the commit (seqRecords).
func (b *Batch) PutSeqRecord(seq uint64, r *Record) {
	b.s.seqs.add(seq)
	b.putRecord(seqKey(seq), r)
}

func (b *Batch) putRecord(key []byte, r *Record) {
	r.key = key
	prev, had := b.recs[string(key)]
	b.staged = append(b.staged, staged{kind: stagedRecord, key: key, had: had, rec: prev})
	b.recs[string(key)] = r
}

func (b *Batch) flushRecord(w *staged) {
	r := b.recs[string(w.key)]
	b.scratch = appendRecord(b.scratch[:0], r)
	if w.key[0] == tagIdem {
		b.s.recs.Add(w.key) // before the batch can commit (RecordFilter)
	}
	b.b.Set(w.key, b.scratch, nil)
	b.b.Set(expiryKey(r.At.UnixNano(), w.key), nil, nil)
}

// Publish queues m to be published after Commit, and returns it with its outbox key set.
func (b *Batch) Publish(m Outgoing) Outgoing {
	m.Key = outboxKey(b.s.outboxSeq.Add(1))
	b.out = append(b.out, m)
	return m
}

// PublishReply queues the reply whose data is prefix, rec's body, suffix, where rec was
// read or written through this batch: the outbox keeps the record's key instead of a copy
// of the body. m.Data, when set, is that data already (the caller made it), and is kept.
func (b *Batch) PublishReply(m Outgoing, rec *Record, prefix, suffix []byte) Outgoing {
	if m.Data == nil {
		m.Data = make([]byte, 0, len(prefix)+len(rec.Body)+len(suffix))
		m.Data = append(append(append(m.Data, prefix...), rec.Body...), suffix...)
	}
	if rec.key != nil {
		m.body, m.prefix, m.suffix = rec, prefix, suffix
	}
	return b.Publish(m)
}

// Mark ends the envelope before it (its writes go into the Pebble batch) and starts the
// next one: Rollback(m) drops whatever is written after it. Handle takes one per envelope.
// Ending an envelope cannot fail half way: the encoders it runs take any value (nil
// pointers and empty slices included) and refuse none.
func (b *Batch) Mark() Mark {
	b.flush()
	return Mark{flushes: b.flushes}
}

// Mark is where an envelope's writes start in a batch (see Batch.Mark).
type Mark struct{ flushes uint64 }

// Rollback undoes every write made through the batch since m: states, idempotency
// records, outgoing messages, the open-checkout index, the stock reserved or released
// (with what it counted in memory) and the mock's payments. Reads made since m stay: they
// are committed values.
// REQUIRES: nothing flushed the batch since m (no Mark, Size, Len or Commit).
func (b *Batch) Rollback(m Mark) { b.rollback(m, false) }

// RollbackExceptStock is Rollback, but keeps the stock reserved and released since m:
// what an inventory did on the way to a failure the domain answers by keeping it (a hold
// taken before a payment that could not be made, see commerce's complete). It keeps the
// mock's payments written since m too, as a processor keeps what it did before its caller
// failed (see MockPayments).
func (b *Batch) RollbackExceptStock(m Mark) { b.rollback(m, true) }

func (b *Batch) rollback(m Mark, keepStock bool) {
	if m.flushes != b.flushes {
		panic("store: rollback past a flush of the batch")
	}
	for i := len(b.staged) - 1; i >= 0; i-- {
		w := &b.staged[i]
		switch w.kind {
		case stagedState:
			k := string(stateKey(w.tenant, w.context))
			if w.had {
				b.states[k] = w.prev
			} else {
				delete(b.states, k)
			}
			if !w.wasDirty {
				delete(b.dirty, k)
			}
		case stagedRecord:
			if w.had {
				b.recs[string(w.key)] = w.rec
			} else {
				delete(b.recs, string(w.key))
			}
		case stagedReservation:
			if !keepStock {
				b.st.undoReservation(w)
			}
		case stagedMockPayment:
			if !keepStock {
				b.undoMockPayment(w)
			}
		}
	}
	kept := b.staged[:0]
	if keepStock {
		for _, w := range b.staged {
			if w.kind == stagedReservation || w.kind == stagedMockPayment {
				kept = append(kept, w)
			}
		}
	}
	clear(b.staged[len(kept):])
	b.staged = kept
	clear(b.out[b.flushedOut:])
	b.out = b.out[:b.flushedOut]
	if !keepStock && b.st != nil {
		b.st.rollback()
	}
}

// flush copies the staged writes into the Pebble batch.
func (b *Batch) flush() {
	for i := range b.staged {
		w := &b.staged[i]
		switch w.kind {
		case stagedState:
			b.flushState(w)
		case stagedRecord:
			b.flushRecord(w)
		case stagedReservation:
			b.st.flushReservation(b, w)
		case stagedMockPayment:
			b.flushMockPayment(w)
		}
	}
	clear(b.staged)
	b.staged = b.staged[:0]
	for i := b.flushedOut; i < len(b.out); i++ {
		m := &b.out[i]
		b.scratch = appendOutgoing(b.scratch[:0], m)
		b.b.Set(m.Key, b.scratch, nil)
	}
	b.flushedOut = len(b.out)
	if b.st != nil {
		b.st.flush(b)
	}
	b.flushes++
}

// Size is how many bytes the batch writes.
func (b *Batch) Size() int {
	b.flush()
	return len(b.b.Repr())
}

// Outgoing is what the batch queued, in order.
func (b *Batch) Outgoing() []Outgoing { return b.out }

// Len is the number of writes in the batch.
func (b *Batch) Len() int {
	b.flush()
	return int(b.b.Count())
}

// Commit makes the batch durable with one fsync.
func (b *Batch) Commit() error {
	b.flush()
	if b.b.Empty() {
		b.release()
		return nil
	}
	if err := b.b.Commit(pebble.Sync); err != nil {
		if b.st != nil {
			b.st.discarded()
			b.st = nil
		}
		b.b.Close() // not kept: Pebble does not reuse a batch whose commit failed either
		b.b = nil
		return commerce.Transient("store commit", err)
	}
	// What the batch wrote, in order: a state written twice ends as its last write.
	for _, w := range b.written {
		b.Cache.put(b.enc[w.k:w.v], b.enc[w.v:w.end])
	}
	if b.st != nil {
		b.st.committed(b.Partition)
	}
	b.release()
	return nil
}

// Discard drops the batch without writing anything.
func (b *Batch) Discard() {
	if b.st != nil {
		b.st.discarded()
		b.st = nil
	}
	b.release()
}

// release hands the Pebble batch, the maps and the buffers on to the next Batch (see
// spareBatches); not what it published, which the caller may still hold. The Batch is not
// to be used after it, and fails loudly if it is.
func (b *Batch) release() {
	if b.b == nil {
		return
	}
	b.s.spare.put(&spareBatch{b: b.b, states: b.states, dirty: b.dirty, recs: b.recs, staged: b.staged, scratch: b.scratch,
		enc: b.enc[:0], written: b.written[:0], outs: len(b.out)})
	b.b, b.states, b.dirty, b.recs, b.staged, b.scratch = nil, nil, nil, nil, nil, nil
	b.enc, b.written = nil, nil
}

// spareBatches keeps a few Batches' insides that are through, emptied, for the next
// Batches: a chunk's batch buffer (hundreds of KiB under load), its maps and its staging
// are then allocated once, not once per chunk. Pebble's own pool of batches did not do
// it: it hands out, just as well, the small batches of Done, and the garbage collector
// empties it.
//
// Reusing a Pebble batch after its Commit returned is safe: Pebble is through with its
// bytes by then (the WAL and the memtable hold copies), but for a batch so large that it
// became a memtable of its own, whose bytes Pebble drops from the batch itself
// (DB.Apply). The changelog's applier reuses its batch the same way.
type spareBatches struct {
	mu   sync.Mutex
	free []*spareBatch
}

type spareBatch struct {
	b       *pebble.Batch
	states  map[string]commerce.State
	dirty   map[string]bool
	recs    map[string]*Record
	staged  []staged
	scratch []byte
	enc     []byte
	written []encodedState
	outs    int // how many messages the batch published
}

// maxSpareBatches bounds what the spares hold: at most this many buffers of at most
// maxSpareBuffer; as many are in use as partitions commit at once.
const maxSpareBatches = 8

// maxSpareEntries is the most entries a spare's map may have held: a map keeps the room
// it grew to, and one that grew past the chunks' usual size is let go.
const maxSpareEntries = 4096

func (sb *spareBatches) get() *spareBatch {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	n := len(sb.free)
	if n == 0 {
		return nil
	}
	sp := sb.free[n-1]
	sb.free[n-1] = nil
	sb.free = sb.free[:n-1]
	return sp
}

// put empties sp and keeps it, or closes its Pebble batch when enough are kept.
// REQUIRES: sp.b is committed (Commit returned without error), or was never committed.
func (sb *spareBatches) put(sp *spareBatch) {
	if len(sp.states) > maxSpareEntries || len(sp.dirty) > maxSpareEntries || len(sp.recs) > maxSpareEntries ||
		cap(sp.scratch) > maxPooledBatch || cap(sp.enc) > maxPooledBatch || cap(sp.written) > maxSpareEntries {
		sp.b.Close()
		return
	}
	// Reset lets go of a buffer over 1 MiB; a chunk of large envelopes (completions with
	// their orders) passes that, and the next one would grow a new buffer from nothing by
	// doubling. Buffers up to maxSpareBuffer are kept here instead. (A batch large enough
	// to become a memtable of its own has no bytes left after its commit: Empty.)
	var big []byte
	if !sp.b.Empty() {
		if buf := sp.b.Repr(); cap(buf) > maxPooledBatch && cap(buf) <= maxSpareBuffer {
			big = buf[:batchHeaderLen]
		}
	}
	sp.b.Reset()
	if big != nil {
		clear(big) // the header: no sequence number, no entries
		if err := sp.b.SetRepr(big); err != nil {
			sp.b.Close()
			return
		}
	}
	clear(sp.states)
	clear(sp.dirty)
	clear(sp.recs)
	clear(sp.staged[:cap(sp.staged)])
	sp.staged = sp.staged[:0]
	sb.mu.Lock()
	if len(sb.free) < maxSpareBatches {
		sb.free = append(sb.free, sp)
		sp = nil
	}
	sb.mu.Unlock()
	if sp != nil {
		sp.b.Close()
	}
}

// maxPooledBatch is the largest batch buffer Pebble keeps when it resets a batch.
const maxPooledBatch = 1 << 20

// maxSpareBuffer is the largest batch buffer the spares keep.
const maxSpareBuffer = 2 << 20

// batchHeaderLen is the size of a Pebble batch's header: its sequence number and count.
const batchHeaderLen = 12

// Since reports how old a record is at now.
func (r *Record) Since(now time.Time) time.Duration { return now.Sub(r.At) }
