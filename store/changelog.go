package store

import (
	"encoding/binary"
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
// partition), the mock's payments ('p', 'y'). What stays: the outbox ('o', published
// before the chunk is acknowledged, so nothing of it is left to move), the set-aside
// table ('a', for this host's operator) and the metadata ('m', this store's own).
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
// move with its partition; nil when it writes none of them. It costs one pass over the
// batch's bytes and one copy of the entries that move.
// REQUIRES: called before Commit or Discard (they release the Pebble batch).
func (b *Batch) Changes() []byte {
	b.flush()
	r := b.b.Reader()
	var out []byte
	for {
		kind, k, v, ok, err := r.Next()
		if !ok || err != nil {
			break // a batch this process built and has not committed cannot be corrupt
		}
		if len(k) == 0 || !movesWithPartition(k[0]) {
			continue
		}
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
	return out
}

// changelogPosKey holds the last changelog sequence of the partition this store holds
// (metadata, so that it never moves itself).
func changelogPosKey(partition int) []byte {
	return binary.BigEndian.AppendUint16(metaKey("changelog."), uint16(partition))
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

// SetChangelogPosition records that the partition's changes up to seq are in the store,
// after this store's own chunk was written to the changelog at seq. It does not wait for
// an fsync: a position lost in a crash only makes the next catch-up apply a few chunks
// again, which leaves the same values (every entry is a whole value, applied in order).
// REQUIRES: every chunk the partition wrote up to seq is committed in this store.
func (s *Store) SetChangelogPosition(partition int, seq uint64) error {
	return s.db.Set(changelogPosKey(partition), binary.BigEndian.AppendUint64(nil, seq), pebble.NoSync)
}

// ForgetChangelogPosition drops the partition's position, durably: the store holds
// changes the changelog does not (a chunk whose changelog write was refused), so the
// next restore of the partition must start from the beginning.
func (s *Store) ForgetChangelogPosition(partition int) error {
	return s.db.Delete(changelogPosKey(partition), pebble.Sync)
}

// ChangelogApplier writes changelog messages of one partition into the store, in
// order, a few MiB per Pebble batch, with the position in the same batch as the
// entries it covers.
type ChangelogApplier struct {
	s         *Store
	partition int
	b         *pebble.Batch
	// Entries counts the entries applied.
	Entries int
}

// applierFlushBytes is how much an applier gathers before it commits.
const applierFlushBytes = 4 << 20

// NewChangelogApplier starts applying the partition's changelog.
func (s *Store) NewChangelogApplier(partition int) *ChangelogApplier {
	return &ChangelogApplier{s: s, partition: partition, b: s.db.NewBatch()}
}

// Apply adds one chunk's entries (Changes) and moves the position to seq. data may be
// nil (an epoch marker): only the position moves. Nothing of a chunk that fails to
// decode is applied.
func (a *ChangelogApplier) Apply(seq uint64, data []byte) error {
	if err := checkChanges(data); err != nil {
		return fmt.Errorf("changelog sequence %d: %w", seq, err)
	}
	a.Entries += applyChanges(a.b, data)
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
		} else if op != opDelete {
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

// applyChanges writes checked entries into b and counts them.
func applyChanges(b *pebble.Batch, data []byte) int {
	if len(data) == 0 {
		return 0
	}
	n := 0
	for d := data[1:]; len(d) > 0; n++ {
		op := d[0]
		l, m := binary.Uvarint(d[1:])
		k := d[1+m : 1+m+int(l)]
		d = d[1+m+int(l):]
		if op == opDelete {
			b.Delete(k, nil)
			continue
		}
		l, m = binary.Uvarint(d)
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
