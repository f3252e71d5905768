package store

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// The changelog carries what a partition's chunks change in the store to JetStream, so
// that another worker can rebuild the partition's state from it (package bus,
// docs/workers.md). A chunk's changes are read back from its Pebble batch once flushed,
// so the staging code needs to know nothing of it.
//
// What moves with a partition, by table: the context states ('c'), the idempotency
// records ('i', 'q') and their expiry index ('x', or restored records would never be
// swept), the open-checkout index ('e'), the watermark ('w'), the stock reservations
// ('r') and the partition's own stock counters ('v': each is written only by its
// partition), the mock's payments ('p', 'y'); and the chunk's outbox messages ('o',
// values only), which a take keeps only while the chunk may not have been published
// (ApplyChunk). What stays: the set-aside table ('a', for this host's operator) and the
// metadata ('m', this store's own).
//
// Encoding of one chunk, the body of one changelog message:
//
//	+---------+--------------------------------------------------------------+
//	| version | entries: op (1 byte) uvarint len, key [uvarint len, value]   |
//	| (1)     |   op 's' = set (with a value), 'd' = delete (no value)       |
//	+---------+--------------------------------------------------------------+
//
// A reader refuses an op it does not know rather than skipping it: an entry kind added
// later (an increment of a counter shared by partitions, say, which a set would lose)
// must stop an older restore, not be silently dropped.

const (
	changelogVersion = 1
	opSet            = 's'
	opDelete         = 'd'
	// opOutbox is an outbox message of the chunk (its value as the outbox holds it, no
	// key: outbox keys are the store's own sequence), for a worker that takes the
	// partition before the chunk's messages were published.
	opOutbox = 'o'
)

// ErrChangelog marks a changelog message that cannot be applied.
var ErrChangelog = errors.New("store: bad changelog entry")

func movesWithPartition(tag byte) bool {
	switch tag {
	case tagState, tagIdem, tagSeq, tagExpiry, tagOpen, tagMark,
		tagStockCount, tagReservation, tagMockPayment, tagMockByTime:
		return true
	}
	return false
}

// Changes returns, encoded for the changelog, what the batch writes to the tables that
// move with its partition, and its outbox messages; nil when it writes none of those
// tables (a chunk of replays only: their envelopes, delivered again to whoever owns the
// partition, are answered again). It costs one pass over the batch's bytes and one copy
// of the entries that move.
// REQUIRES: called before Commit or Discard (they release the Pebble batch).
func (b *Batch) Changes() []byte {
	b.flush()
	r := b.b.Reader()
	var out []byte
	moved := false
	for {
		kind, k, v, ok, err := r.Next()
		if !ok || err != nil {
			break // a batch this process built and has not committed cannot be corrupt
		}
		if len(k) == 0 {
			continue
		}
		if !movesWithPartition(k[0]) {
			if k[0] == tagOutbox && kind == pebble.InternalKeyKindSet {
				if out == nil {
					out = make([]byte, 1, 4096)
					out[0] = changelogVersion
				}
				out = append(out, opOutbox)
				out = binary.AppendUvarint(out, uint64(len(v)))
				out = append(out, v...)
			}
			continue
		}
		moved = true
		if out == nil {
			out = make([]byte, 1, 4096)
			out[0] = changelogVersion
		}
		switch kind {
		case pebble.InternalKeyKindSet:
			out = append(out, opSet)
			out = binary.AppendUvarint(out, uint64(len(k)))
			out = append(out, k...)
			out = binary.AppendUvarint(out, uint64(len(v)))
			out = append(out, v...)
		case pebble.InternalKeyKindDelete, pebble.InternalKeyKindSingleDelete:
			out = append(out, opDelete)
			out = binary.AppendUvarint(out, uint64(len(k)))
			out = append(out, k...)
		default:
			panic(fmt.Sprintf("store: batch holds a %v, which the changelog cannot carry", kind))
		}
	}
	if !moved {
		return nil
	}
	return out
}

// A chunk's changes reach the changelog after its Pebble commit, so a crash in between
// leaves the store ahead of the changelog. HoldChanges closes that gap: in the chunk's
// own batch it writes a pending record of the partition that lists the keys the chunk
// changes and the keys of its outbox messages; the changelog write removes the record
// (ChangelogWritten). Until then the chunk's messages are held: the outbox pump leaves
// them (HeldOutbox). Whoever takes the partition next in this store first settles its
// pending records: if the changelog's head is still where this store left it, it writes
// the listed keys as the store holds them now (CurrentChanges: pending chunks are the
// partition's last, so their keys' current values are what they left); if another writer
// moved the head since, it deletes every listed key and message (DropPending) and
// restores the partition from the beginning. The record holds keys, not values: the
// values are in the store already, and copying them again would cost a chunk's bytes
// twice in the WAL.
//
//	'm' "clpend." partition (2 bytes BE) id (8 bytes BE)
//	  -> uvarint n, n x (uvarint len, outbox key), then (uvarint len, changed key) to the end

var pendingPrefix = metaKey("clpend.")

func pendingKey(partition int, id uint64) []byte {
	k := binary.BigEndian.AppendUint16(append([]byte(nil), pendingPrefix...), uint16(partition))
	return binary.BigEndian.AppendUint64(k, id)
}

// pendingBounds are the bounds of the partition's pending records, of every
// partition's when partition < 0.
func pendingBounds(partition int) (lo, hi []byte) {
	if partition < 0 {
		return pendingPrefix, metaKey("clpend/")
	}
	lo = binary.BigEndian.AppendUint16(append([]byte(nil), pendingPrefix...), uint16(partition))
	hi = binary.BigEndian.AppendUint16(append([]byte(nil), pendingPrefix...), uint16(partition+1))
	return lo, hi
}

// nextPendingID numbers pending and outbox records in the order they are made, from
// past the highest one in the store.
func (s *Store) nextPendingID() uint64 {
	s.pendingOnce.Do(func() {
		var top uint64
		for _, prefix := range [][]byte{pendingPrefix, outRecordPrefix} {
			it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
			if err != nil {
				return
			}
			for ok := it.First(); ok; ok = it.Next() {
				if k := it.Key(); len(k) == len(prefix)+10 {
					top = max(top, binary.BigEndian.Uint64(k[len(k)-8:]))
				}
			}
			it.Close()
		}
		s.pendingID.Store(top)
	})
	return s.pendingID.Add(1)
}

// prefixEnd is the first key past every key that starts with prefix (whose last byte
// is not 0xff).
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	end[len(end)-1]++
	return end
}

// A chunk's outbox messages, once its changes are in the changelog, may still wait for
// their publish: a crash there leaves them in this store's outbox, and they are also in
// the changelog, from which the worker that takes the partition publishes them. So a
// store must publish them only while it owns the partition: an outbox record of the
// partition, committed with the chunk, lists their keys until they are published
// (Published), and HeldOutbox holds them for a partition this worker does not own. The
// next take of the partition in this store settles the records (SettleOutbox): their
// messages go if nobody wrote the partition's changelog since, and are dropped if
// someone did (that worker published them, from the changelog).
//
//	'm' "clout." partition (2 bytes BE) id (8 bytes BE) -> (uvarint len, outbox key)...

var outRecordPrefix = metaKey("clout.")

func outRecordKey(partition int, id uint64) []byte {
	k := binary.BigEndian.AppendUint16(append([]byte(nil), outRecordPrefix...), uint16(partition))
	return binary.BigEndian.AppendUint64(k, id)
}

// eachOutRecord calls fn with the partition, key and outbox keys of every outbox record
// (of the one partition when partition >= 0).
func (s *Store) eachOutRecord(partition int, fn func(p int, k []byte, keys [][]byte) error) error {
	lo, hi := outRecordPrefix, prefixEnd(outRecordPrefix)
	if partition >= 0 {
		lo = binary.BigEndian.AppendUint16(append([]byte(nil), outRecordPrefix...), uint16(partition))
		hi = binary.BigEndian.AppendUint16(append([]byte(nil), outRecordPrefix...), uint16(partition+1))
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer it.Close()
	n := len(outRecordPrefix)
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != n+10 {
			continue
		}
		var keys [][]byte
		for v := it.Value(); len(v) > 0; {
			l, m := binary.Uvarint(v)
			if m <= 0 || uint64(len(v)-m) < l {
				return fmt.Errorf("%w: outbox record %x", ErrChangelog, k)
			}
			keys = append(keys, v[m:m+int(l)])
			v = v[m+int(l):]
		}
		if err := fn(int(binary.BigEndian.Uint16(k[n:])), k, keys); err != nil {
			return err
		}
	}
	return it.Error()
}

// Published removes published (or dropped) messages from the outbox, and the outbox
// record id of the partition that listed them (0: none), in one write without an fsync
// (see Done).
func (s *Store) Published(msgs []Outgoing, partition int, id uint64) error {
	if id == 0 {
		return s.Done(msgs)
	}
	b := s.db.NewBatch()
	for _, m := range msgs {
		if m.Key != nil {
			b.Delete(m.Key, nil)
		}
	}
	b.Delete(outRecordKey(partition, id), nil)
	return b.Commit(pebble.NoSync)
}

// SettleOutbox settles the partition's outbox records at a take of the partition: with
// keep, their messages are free to go (the records go); without, the messages are
// dropped with the records. It returns how many messages the records listed.
func (s *Store) SettleOutbox(partition int, keep bool) (int, error) {
	b := s.db.NewBatch()
	defer b.Close()
	n, recs := 0, 0
	err := s.eachOutRecord(partition, func(_ int, k []byte, keys [][]byte) error {
		recs++
		n += len(keys)
		if !keep {
			for _, ok := range keys {
				b.Delete(ok, nil)
			}
		}
		return b.Delete(k, nil)
	})
	if err != nil || recs == 0 {
		return 0, err
	}
	return n, b.Commit(pebble.Sync)
}

// HoldChanges returns the batch's changes (Changes) and writes, in the batch itself, a
// pending record of the batch's partition listing the keys they change and the keys of
// its outbox messages: committed with the chunk, it stays until the changelog has the
// changes (ChangelogWritten). A batch with outbox messages also gets an outbox record
// of its partition (see below), which stays until they are published (Published). It
// returns the record's id, 0 when it wrote neither; changes are nil when the batch
// changes nothing that moves (no pending record).
// REQUIRES: called last before Commit.
func (b *Batch) HoldChanges() (changes []byte, id uint64) {
	changes = b.Changes()
	if changes == nil && len(b.out) == 0 {
		return nil, 0
	}
	id = b.s.nextPendingID()
	if len(b.out) > 0 {
		v := make([]byte, 0, 10*len(b.out))
		for _, m := range b.out {
			v = binary.AppendUvarint(v, uint64(len(m.Key)))
			v = append(v, m.Key...)
		}
		b.b.Set(outRecordKey(b.Partition, id), v, nil)
	}
	if changes == nil {
		return nil, id
	}
	v := make([]byte, 0, 256+40*len(b.out))
	v = binary.AppendUvarint(v, uint64(len(b.out)))
	for _, m := range b.out {
		v = binary.AppendUvarint(v, uint64(len(m.Key)))
		v = append(v, m.Key...)
	}
	eachChangedKey(changes, func(k []byte) {
		v = binary.AppendUvarint(v, uint64(len(k)))
		v = append(v, k...)
	})
	b.b.Set(pendingKey(b.Partition, id), v, nil)
	return changes, id
}

// PendingChunk is a committed chunk the changelog may not have (HoldChanges).
type PendingChunk struct {
	ID     uint64
	Keys   [][]byte // the keys it changed, of the tables that move
	Outbox [][]byte // the outbox keys of its messages
}

// PendingChunks returns the partition's pending chunks in the order they were committed.
func (s *Store) PendingChunks(partition int) ([]PendingChunk, error) {
	var out []PendingChunk
	err := s.eachPending(partition, func(k, v []byte) error {
		pc := PendingChunk{ID: binary.BigEndian.Uint64(k[len(k)-8:])}
		n, m := binary.Uvarint(v)
		if m <= 0 {
			return fmt.Errorf("%w: pending record %x", ErrChangelog, k)
		}
		v = v[m:]
		for i := uint64(0); len(v) > 0; i++ {
			l, m := binary.Uvarint(v)
			if m <= 0 || uint64(len(v)-m) < l {
				return fmt.Errorf("%w: pending record %x", ErrChangelog, k)
			}
			key := append([]byte(nil), v[m:m+int(l)]...)
			if i < n {
				pc.Outbox = append(pc.Outbox, key)
			} else {
				pc.Keys = append(pc.Keys, key)
			}
			v = v[m+int(l):]
		}
		out = append(out, pc)
		return nil
	})
	return out, err
}

func (s *Store) eachPending(partition int, fn func(k, v []byte) error) error {
	lo, hi := pendingBounds(partition)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if len(it.Key()) != len(pendingPrefix)+10 {
			continue
		}
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

// HeldOutbox returns the outbox keys of every pending chunk of every partition: messages
// that must not be published before their chunk is in the changelog, nor ever if it
// cannot be; and, when owns is not nil, those of the outbox records of every partition
// owns says this worker does not own: that partition's owner publishes them.
func (s *Store) HeldOutbox(owns func(p int) bool) (map[string]struct{}, error) {
	var held map[string]struct{}
	if owns != nil {
		err := s.eachOutRecord(-1, func(p int, _ []byte, keys [][]byte) error {
			if owns(p) {
				return nil
			}
			if held == nil {
				held = map[string]struct{}{}
			}
			for _, k := range keys {
				held[string(k)] = struct{}{}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	err := s.eachPending(-1, func(k, v []byte) error {
		n, m := binary.Uvarint(v)
		if m <= 0 {
			return fmt.Errorf("%w: pending record %x", ErrChangelog, k)
		}
		v = v[m:]
		for range n {
			l, m := binary.Uvarint(v)
			if m <= 0 || uint64(len(v)-m) < l {
				return fmt.Errorf("%w: pending record %x", ErrChangelog, k)
			}
			if held == nil {
				held = map[string]struct{}{}
			}
			held[string(v[m:m+int(l)])] = struct{}{}
			v = v[m+int(l):]
		}
		return nil
	})
	return held, err
}

// CurrentChanges encodes, as one chunk's changes, the store's current value of each of
// the pending chunks' keys: a set where the key has a value, a delete where it has none.
// Applied after the changelog's chunks before them, it leaves what the pending chunks
// left, since nothing of the partition was written after them.
func (s *Store) CurrentChanges(chunks []PendingChunk) ([]byte, error) {
	out := []byte{changelogVersion}
	seen := map[string]bool{}
	for _, pc := range chunks {
		for _, k := range pc.Keys {
			if seen[string(k)] {
				continue
			}
			seen[string(k)] = true
			v, closer, err := s.db.Get(k) // not s.get: an index entry's value is empty
			if errors.Is(err, pebble.ErrNotFound) {
				out = append(out, opDelete)
				out = binary.AppendUvarint(out, uint64(len(k)))
				out = append(out, k...)
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, opSet)
			out = binary.AppendUvarint(out, uint64(len(k)))
			out = append(out, k...)
			out = binary.AppendUvarint(out, uint64(len(v)))
			out = append(out, v...)
			closer.Close()
		}
	}
	return out, nil
}

// ReleasePending removes every pending record and outbox record, keeping what the
// chunks wrote and their messages, which are no longer held: for a store whose worker runs with the changelog
// off, where the store alone is the state. It returns how many it removed.
func (s *Store) ReleasePending() (int, error) {
	b := s.db.NewBatch()
	defer b.Close()
	n := 0
	err := s.eachPending(-1, func(k, _ []byte) error {
		n++
		return b.Delete(k, nil)
	})
	if err != nil {
		return 0, err
	}
	recs := 0
	err = s.eachOutRecord(-1, func(_ int, k []byte, _ [][]byte) error {
		recs++
		return b.Delete(k, nil)
	})
	if err != nil || n+recs == 0 {
		return 0, err
	}
	return n, b.Commit(pebble.Sync)
}

// ChangelogWritten records that the partition's changes up to seq are in the changelog,
// those of the pending chunks ids included: their records go and the position moves, in
// one write. It does not wait for an fsync: if both are lost in a crash, the records are
// found again with the changelog's head past the position, and the partition is
// restored from the beginning (see the top of this section), which costs time and loses
// nothing.
func (s *Store) ChangelogWritten(partition int, seq uint64, ids ...uint64) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, id := range ids {
		if id != 0 {
			b.Delete(pendingKey(partition, id), nil)
		}
	}
	b.Set(changelogPosKey(partition), binary.BigEndian.AppendUint64(nil, seq), nil)
	return b.Commit(pebble.NoSync)
}

// DropPending undoes, as far as the store can, chunks the changelog will never have:
// it deletes every key they wrote and their outbox messages, the records themselves and
// the partition's changelog position, durably. The partition must then be restored from
// the beginning of its changelog, which writes back the values the changelog holds for
// those keys.
func (s *Store) DropPending(partition int, chunks []PendingChunk) error {
	b := s.db.NewBatch()
	defer b.Close()
	for _, pc := range chunks {
		for _, k := range pc.Keys {
			b.Delete(k, nil)
		}
		for _, k := range pc.Outbox {
			b.Delete(k, nil)
		}
		b.Delete(pendingKey(partition, pc.ID), nil)
	}
	b.Delete(changelogPosKey(partition), nil)
	return b.Commit(pebble.Sync)
}

// eachChangedKey calls fn with the key of every entry of checked changes (outbox
// messages have none).
func eachChangedKey(data []byte, fn func(k []byte)) {
	if len(data) == 0 {
		return
	}
	for d := data[1:]; len(d) > 0; {
		op := d[0]
		l, m := binary.Uvarint(d[1:])
		if op == opOutbox {
			d = d[1+m+int(l):]
			continue
		}
		fn(d[1+m : 1+m+int(l)])
		d = d[1+m+int(l):]
		if op == opSet {
			l, m = binary.Uvarint(d)
			d = d[m+int(l):]
		}
	}
}

// changelogPosKey holds the last changelog sequence of the partition this store holds
// (metadata, so that it never moves itself).
func changelogPosKey(partition int) []byte {
	return binary.BigEndian.AppendUint16(metaKey("changelog."), uint16(partition))
}

// Token is this store's name in what it writes to the changelog: random, made once and
// kept in its metadata (which the changelog does not move).
func (s *Store) Token() (string, error) {
	v, err := s.Meta("changelog-writer")
	if err != nil {
		return "", err
	}
	if len(v) > 0 {
		return string(v), nil
	}
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b[:])
	return t, s.SetMeta("changelog-writer", []byte(t))
}

// ChangelogPosition returns the changelog sequence up to which this store holds the
// partition's changes, or 0 when it holds none it can vouch for.
func (s *Store) ChangelogPosition(partition int) (uint64, error) {
	v, err := s.get(changelogPosKey(partition))
	if err != nil || v == nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("store: changelog position of partition %d: %w", partition, errCorrupt)
	}
	return binary.BigEndian.Uint64(v), nil
}

// ChangelogApplier writes changelog messages of one partition into the store, in
// order, a few MiB per Pebble batch, with the position in the same batch as the
// entries it covers.
type ChangelogApplier struct {
	s         *Store
	partition int
	b         *pebble.Batch
	// Entries counts the entries applied; Outbox the outbox messages kept (ApplyChunk).
	Entries, Outbox int
}

// applierFlushBytes is how much an applier gathers before it commits.
const applierFlushBytes = 4 << 20

// NewChangelogApplier starts applying the partition's changelog.
func (s *Store) NewChangelogApplier(partition int) *ChangelogApplier {
	return &ChangelogApplier{s: s, partition: partition, b: s.db.NewBatch()}
}

// Apply adds one chunk's entries (Changes) and moves the position to seq. data may be
// nil (an epoch marker): only the position moves. Nothing of a chunk that fails to
// decode is applied. The chunk's outbox messages are left out; see ApplyChunk.
func (a *ChangelogApplier) Apply(seq uint64, data []byte) error {
	return a.ApplyChunk(seq, data, false)
}

// ApplyChunk is Apply, and with outbox true it also puts the chunk's outbox messages in
// this store's outbox, under keys of its own, with an outbox record of the partition
// (the worker publishes them while it owns the partition): the chunk's envelopes may not
// all be acknowledged, so its messages may never have been published.
func (a *ChangelogApplier) ApplyChunk(seq uint64, data []byte, outbox bool) error {
	if err := checkChanges(data); err != nil {
		return fmt.Errorf("changelog sequence %d: %w", seq, err)
	}
	var keep func(v []byte)
	var rec []byte
	if outbox {
		keep = func(v []byte) {
			k := outboxKey(a.s.outboxSeq.Add(1))
			a.b.Set(k, v, nil)
			rec = binary.AppendUvarint(rec, uint64(len(k)))
			rec = append(rec, k...)
			a.Outbox++
		}
	}
	a.Entries += applyChanges(a.b, data, keep, a.s)
	if rec != nil {
		a.b.Set(outRecordKey(a.partition, a.s.nextPendingID()), rec, nil)
	}
	a.b.Set(changelogPosKey(a.partition), binary.BigEndian.AppendUint64(nil, seq), nil)
	if len(a.b.Repr()) >= applierFlushBytes {
		if err := a.b.Commit(pebble.NoSync); err != nil {
			return err
		}
		a.b.Reset()
	}
	return nil
}

// Close commits what is left, with an fsync that covers the batches before it too.
func (a *ChangelogApplier) Close() error {
	defer a.b.Close()
	if a.b.Empty() {
		return a.s.db.LogData(nil, pebble.Sync)
	}
	return a.b.Commit(pebble.Sync)
}

// checkChanges reports whether data decodes whole.
func checkChanges(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	if data[0] != changelogVersion {
		return fmt.Errorf("%w: version %d", ErrChangelog, data[0])
	}
	for d := data[1:]; len(d) > 0; {
		op := d[0]
		d = d[1:]
		n := 1
		if op == opSet {
			n = 2
		} else if op != opDelete && op != opOutbox {
			return fmt.Errorf("%w: op %q", ErrChangelog, op)
		}
		for range n {
			l, m := binary.Uvarint(d)
			if m <= 0 || uint64(len(d)-m) < l {
				return fmt.Errorf("%w: truncated", ErrChangelog)
			}
			d = d[m+int(l):]
		}
	}
	return nil
}

// applyChanges writes checked entries into b and counts them; it passes the value of
// each outbox message to out, or leaves it when out is nil.
func applyChanges(b *pebble.Batch, data []byte, out func(v []byte), s *Store) int {
	if len(data) == 0 {
		return 0
	}
	n := 0
	for d := data[1:]; len(d) > 0; {
		op := d[0]
		l, m := binary.Uvarint(d[1:])
		k := d[1+m : 1+m+int(l)]
		d = d[1+m+int(l):]
		if op == opOutbox {
			if out != nil {
				out(k)
			}
			continue
		}
		n++
		if op == opDelete {
			b.Delete(k, nil)
			continue
		}
		l, m = binary.Uvarint(d)
		// Before the batch can commit: seqRecords, RecordFilter.
		s.seqs.addKey(k)
		if rk, ok := recordOfExpiryKey(k); ok {
			s.recs.Add(rk)
		}
		if len(k) > 0 && presenceTracked(k[0]) {
			s.present.add(k)
		}
		b.Set(k, d[m:m+int(l)], nil)
		d = d[m+int(l):]
	}
	return n
}

// PartitionKeys calls fn with every key and value of the tables that move with a
// partition, in key order, for tests and checks that compare two stores. Keys of other
// partitions are there too: the store does not know which partition a context maps to.
func (s *Store) PartitionKeys(fn func(k, v []byte) error) error {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if k := it.Key(); movesWithPartition(k[0]) {
			if err := fn(k, it.Value()); err != nil {
				return err
			}
		}
	}
	return it.Error()
}
