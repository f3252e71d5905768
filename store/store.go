package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
	"github.com/cockroachdb/pebble/vfs"
)

// Options tune the store. The zero value is valid.
type Options struct {
	// CacheBytes sizes Pebble's block cache (default 16 MiB).
	CacheBytes int64
	// MemTableBytes sizes one memtable (default 16 MiB).
	MemTableBytes int64
	// FS replaces the file system, e.g. vfs.NewMem() in tests; nil is the real one.
	FS vfs.FS
	// CompactionNice, from 1 to 19, runs compactions at that nice value, below the rest
	// of the process (priority.go; Linux only: elsewhere it has no effect); 0 leaves
	// them at the process's.
	CompactionNice int
	// RecordFilterBytes sizes the filter that answers, without a read, that the store
	// holds no idempotency record for a messageId (RecordFilter): a byte per record
	// (default 2 MiB, about 1.9 million records; negative: no filter, every question is
	// a read).
	RecordFilterBytes int64
}

// DefaultRecordFilterBytes is Options.RecordFilterBytes when unset.
const DefaultRecordFilterBytes = 2 << 20

// Store is cartwright's Pebble database.
type Store struct {
	db        *pebble.DB
	outboxSeq atomic.Uint64
	swept     sweptBefore
	// stateCache counts the lookups of the partitions' state caches.
	stateCache cacheCounts
	stocks     stockRegistry // the Stocks kept in this store, told of restored partitions
	seqs       seqRecords    // the stream sequences that have a record of their own
	recs       *RecordFilter // the idempotency records the store may hold
	// present knows the states, reservations and mock payments the store may hold.
	present  *presenceFilter
	sweeping sync.Mutex // one Sweep at a time (RecordFilter's removals)
	// pendingID numbers the changelog's pending records (changelog.go).
	pendingID   atomic.Uint64
	pendingOnce sync.Once
	// spare keeps the Pebble batches of committed Batches for the next ones (batch.go).
	spare spareBatches
}

// Open opens (or creates) the store in dir.
func Open(dir string, o Options) (*Store, error) {
	db, err := OpenPebble(dir, o)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, recs: NewRecordFilter(o.RecordFilterBytes)}
	last, err := s.lastOutboxSeq()
	if err == nil {
		err = s.loadSeqRecords()
	}
	if err == nil {
		err = s.loadRecordFilter()
	}
	if err == nil {
		s.present, err = loadPresenceFilter(db)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	s.outboxSeq.Store(last)
	return s, nil
}

// OpenPebble opens (or creates) a Pebble database in dir configured as the store's: its
// cache, memtables, blocks, filters and compaction priority. Open opens the store on it;
// the bench's skeleton opens its own with it, so that the floor it measures has the
// store's tuning too.
func OpenPebble(dir string, o Options) (*pebble.DB, error) {
	if o.CacheBytes == 0 {
		o.CacheBytes = 16 << 20
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = 16 << 20
	}
	// Pebble reserves its memtables' memory from the block cache: size it for both, or
	// the memtables take all of it and no block is ever cached.
	memtable := o.MemTableBytes
	cache := pebble.NewCache(o.CacheBytes + 2*memtable)
	defer cache.Unref()
	opts := &pebble.Options{
		Cache:                       cache,
		FS:                          o.FS,
		MemTableSize:                uint64(memtable),
		MemTableStopWritesThreshold: 4,
		Levels:                      make([]pebble.LevelOptions, 7),
		Logger:                      quietLogger{},
	}
	if o.CompactionNice > 0 {
		opts.EventListener = niceListener(o.CompactionNice)
	}
	for i := range opts.Levels {
		l := &opts.Levels[i]
		l.BlockSize = 32 << 10
		l.FilterPolicy = bloom.FilterPolicy(10)
		l.FilterType = pebble.TableFilter
	}
	opts.EnsureDefaults()
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	return db, nil
}

// RecordFilterStats reports how many idempotency records the store's filter of them holds,
// and whether it is full (RecordFilter).
func (s *Store) RecordFilterStats() (held int, full bool) { return s.recs.Stats() }

// Compact compacts the whole store. A store written much faster than a worker writes
// (the bench's preload: a million checkouts in seconds) starts with compactions to do
// (Metrics().Compact.EstimatedDebt) that one grown at a worker's pace never carries;
// compacting it first measures the store at rest.
func (s *Store) Compact() error {
	// Every key starts with a tag, a lower-case letter (keys.go).
	if err := s.db.Compact([]byte{0}, []byte{0xff}, true); err != nil {
		return fmt.Errorf("store: compact: %w", err)
	}
	return nil
}

// Close closes the store.
func (s *Store) Close() error {
	return s.db.Close()
}

// get returns a copy of the value under key, or nil when there is none.
func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

// view calls decode with the value under key, or with nil when there is none, and
// returns its error. The value is Pebble's own buffer, valid only during the call:
// decode must copy what it keeps (the decoders of this package do). It saves get's
// copy of every value read on the way to decoding it.
func (s *Store) view(key []byte, decode func(v []byte) error) error {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return decode(nil)
	}
	if err != nil {
		return err
	}
	defer closer.Close()
	return decode(v)
}

// Meta reads a metadata value (nil when unset).
func (s *Store) Meta(name string) ([]byte, error) { return s.get(metaKey(name)) }

// SetMeta writes a metadata value durably.
func (s *Store) SetMeta(name string, v []byte) error {
	return s.db.Set(metaKey(name), v, pebble.Sync)
}

// Metrics exposes Pebble's own metrics.
func (s *Store) Metrics() *pebble.Metrics { return s.db.Metrics() }

// Flush writes the memtables to level 0 and waits until they are there.
func (s *Store) Flush() error { return s.db.Flush() }

type quietLogger struct{}

func (quietLogger) Infof(string, ...interface{}) {}
func (quietLogger) Errorf(format string, args ...interface{}) {
	slog.Error("pebble: " + fmt.Sprintf(format, args...))
}
func (quietLogger) Fatalf(format string, args ...interface{}) {
	panic(fmt.Sprintf(format, args...))
}
