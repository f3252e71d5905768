package store

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"

	"github.com/cockroachdb/pebble"
)

// presenceFilter knows, in about a byte and a quarter per key, which checkouts' states,
// stock reservations and payments of the mock payment handler the store may hold, so that
// the lookups that find none are answered without a read: a new context's first step
// looks for its state, a completion for its checkout's reservation and payment, and
// almost always there is none. Pebble's Get looks for an absent key in every level: a
// table's iterator and its bloom filter in each of level 0's sublevels, which under load
// are ten to twenty, and the level below. That was 9-16 µs per lookup in the bench, about
// 8 % of the worker's CPU (docs/performance.md).
//
// It is a blocked bloom filter (Putze, Sanders and Singler, "Cache-, Hash- and
// Space-Efficient Bloom Filters", 2007): a key sets presenceProbes bits in one block of
// 512 bits, so a question costs one cache line. Unlike RecordFilter it never forgets a
// key: states are never deleted, and a reservation released or a payment forgotten is a
// key held for nothing, a false positive that costs the read it would have saved. It is
// sized at Open for twice the keys the store holds then (at least presenceMinKeys);
// past that its false positives grow (about 1 % at its size, 14 % at twice it)
// until the next start sizes it again.
//
// INVARIANT: every key of a tracked table (presenceTracked) in the store is in the filter.
// A false negative would take a checkout for new, or reserve or charge twice, so whatever
// writes such a key adds it first, before the batch that writes it can commit
// (Batch.flushState, flushReservation, flushMockPayment, the changelog's applyChanges),
// and Open adds every one the store holds.
type presenceFilter struct {
	seed   maphash.Seed
	blocks []presenceBlock
	// added counts the keys that set a bit: a key written again (a payment at its
	// authorization and its capture) counts once; a new key whose bits all happen to be
	// set already is not counted (2 in 1,000 at the filter's size).
	added    atomic.Int64
	capacity int64
}

type presenceBlock [8]atomic.Uint64 // 512 bits: a cache line

const (
	presenceBitsPerKey = 10
	presenceProbes     = 7
	// presenceMinKeys is the fewest keys the filter is sized for: 1.2 MiB.
	presenceMinKeys = 1 << 20
)

// presenceTracked reports whether keys starting with tag are in the filter.
func presenceTracked(tag byte) bool {
	return tag == tagState || tag == tagReservation || tag == tagMockPayment
}

func newPresenceFilter(keys int64, seed maphash.Seed) *presenceFilter {
	keys = max(keys, presenceMinKeys)
	n := (keys*presenceBitsPerKey + 511) / 512
	return &presenceFilter{seed: seed, blocks: make([]presenceBlock, n), capacity: keys}
}

// locate returns the block of the key whose hash is h, and the bits it sets there, nine
// bits of a second hash per probe.
func (f *presenceFilter) locate(h uint64) (*presenceBlock, uint64) {
	i, _ := bits.Mul64(h, uint64(len(f.blocks))) // h·n / 2^64: a block, uniformly
	g := h * 0x9e3779b97f4a7c15                  // the bits within it, from a mix of h
	g ^= g >> 29
	return &f.blocks[i], g
}

func (f *presenceFilter) add(key []byte) {
	if f != nil {
		f.addHash(maphash.Bytes(f.seed, key))
	}
}

func (f *presenceFilter) addHash(h uint64) {
	if f == nil {
		return
	}
	b, g := f.locate(h)
	fresh := false
	for p := 0; p < presenceProbes; p++ {
		bit := g & 511
		mask := uint64(1) << (bit & 63)
		if b[bit>>6].Or(mask)&mask == 0 {
			fresh = true
		}
		g >>= 9
	}
	if fresh { // a key whose bits were all set already is counted once, not per write
		f.added.Add(1)
	}
}

// mayHave reports whether the store may hold key; false means it surely does not. A nil
// filter knows nothing: every key may be there.
func (f *presenceFilter) mayHave(key []byte) bool {
	if f == nil {
		return true
	}
	b, g := f.locate(maphash.Bytes(f.seed, key))
	for p := 0; p < presenceProbes; p++ {
		bit := g & 511
		if b[bit>>6].Load()&(1<<(bit&63)) == 0 {
			return false
		}
		g >>= 9
	}
	return true
}

// loadPresenceFilter sizes a filter for the tracked keys db holds and adds every one. It
// keeps the keys' hashes meanwhile, 8 bytes a key.
func loadPresenceFilter(db *pebble.DB) (*presenceFilter, error) {
	seed := maphash.MakeSeed()
	var hashes []uint64
	for _, tag := range []byte{tagState, tagReservation, tagMockPayment} {
		lo, hi := tagBounds(tag)
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi, KeyTypes: pebble.IterKeyTypePointsOnly})
		if err != nil {
			return nil, err
		}
		for it.First(); it.Valid(); it.Next() {
			hashes = append(hashes, maphash.Bytes(seed, it.Key()))
		}
		if err := it.Close(); err != nil {
			return nil, err
		}
	}
	f := newPresenceFilter(2*int64(len(hashes)), seed)
	for _, h := range hashes {
		f.addHash(h)
	}
	return f, nil
}

// PresenceFilterStats reports how many keys the filter of states, reservations and mock
// payments has taken since Open (with those the store held then) and how many it was
// sized for: past that, more lookups of absent keys read the store.
func (s *Store) PresenceFilterStats() (added, capacity int64) {
	if s.present == nil {
		return 0, 0
	}
	return s.present.added.Load(), s.present.capacity
}
