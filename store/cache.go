package store

import (
	"container/list"
	"sync/atomic"
)

// StateCache keeps the states one partition committed or read most recently, encoded as
// the store holds them, within a size in bytes. An agent's next step finds its checkout
// here instead of in Pebble, where a read looks through the memtables and every level-0
// sublevel before it finds the key (the largest single cost of an envelope, measured in
// docs/performance.md). Encoded, a state takes a few hundred bytes, a third of what it
// takes decoded, so the cache can hold every checkout in progress: agents' next steps
// come seconds apart, thousands of envelopes later, and a cache smaller than the
// checkouts in progress would evict each of them before its next step.
//
// It only ever holds committed values: a batch puts what it wrote after its commit
// succeeds, and what it read from Pebble (committed) at once. It is used by one goroutine
// (the partition's loop); its counters may be read from any.
type StateCache struct {
	max, size int
	m         map[string]*list.Element
	l         *list.List // front: most recently used

	counts *cacheCounts
}

// cacheCounts are a cache's lookups: its own, or its store's, shared by the caches of all
// the partitions (Store.NewStateCache).
type cacheCounts struct{ hits, misses atomic.Uint64 }

type cacheEntry struct {
	key string
	v   []byte
}

// cacheEntryOverhead is what an entry costs beyond its key and value: its map slot, list
// element and entry, counted against the cache's size.
const cacheEntryOverhead = 128

// NewStateCache returns a cache of at most maxBytes (<= 0: no cache; a nil cache is
// none too), which counts its lookups on its own.
func NewStateCache(maxBytes int) *StateCache {
	return newStateCache(maxBytes, &cacheCounts{})
}

// NewStateCache returns a cache of at most maxBytes for one of the store's partitions,
// which counts its lookups with the store's (StateCacheStats).
func (s *Store) NewStateCache(maxBytes int) *StateCache {
	return newStateCache(maxBytes, &s.stateCache)
}

func newStateCache(maxBytes int, counts *cacheCounts) *StateCache {
	return &StateCache{max: maxBytes, m: make(map[string]*list.Element), l: list.New(), counts: counts}
}

// StateCacheStats reports how many state lookups the caches made with Store.NewStateCache
// answered, and how many went on to Pebble.
func (s *Store) StateCacheStats() (hits, misses uint64) {
	return s.stateCache.hits.Load(), s.stateCache.misses.Load()
}

// get returns the encoded state under k, which the caller must not modify or keep past
// the next put, and counts the lookup.
func (c *StateCache) get(k string) ([]byte, bool) {
	if c == nil || c.max <= 0 {
		return nil, false
	}
	e, ok := c.m[k]
	if !ok {
		c.counts.misses.Add(1)
		return nil, false
	}
	c.counts.hits.Add(1)
	c.l.MoveToFront(e)
	return e.Value.(*cacheEntry).v, true
}

// put keeps a copy of v, the encoded state under k, making room by dropping the states
// used longest ago. A state larger than the whole cache is not kept (and one kept before
// under k is dropped). Neither k nor v is kept.
func (c *StateCache) put(k, v []byte) {
	if c == nil || c.max <= 0 {
		return
	}
	need := len(k) + len(v) + cacheEntryOverhead
	if e, ok := c.m[string(k)]; ok {
		ent := e.Value.(*cacheEntry)
		if need > c.max {
			c.l.MoveToBack(e)
			c.dropLast()
			return
		}
		// In place, at the front: making room drops others, never it, as it fits alone.
		c.size += len(v) - len(ent.v)
		ent.v = append(ent.v[:0], v...)
		c.l.MoveToFront(e)
		for c.size > c.max {
			c.dropLast()
		}
		return
	}
	if need > c.max {
		return
	}
	var reuse *cacheEntry
	for c.size+need > c.max {
		// Full: the least recently used entry makes room, and the last one dropped is
		// reused for k rather than allocated anew.
		reuse = c.dropLast()
	}
	if reuse == nil {
		reuse = &cacheEntry{}
	}
	reuse.key = string(k)
	reuse.v = append(reuse.v[:0], v...)
	c.size += need
	c.m[reuse.key] = c.l.PushFront(reuse)
}

// dropLast drops the least recently used entry and returns it.
func (c *StateCache) dropLast() *cacheEntry {
	last := c.l.Back()
	ent := last.Value.(*cacheEntry)
	c.l.Remove(last)
	delete(c.m, ent.key)
	c.size -= len(ent.key) + len(ent.v) + cacheEntryOverhead
	return ent
}

// Len is how many states the cache holds.
func (c *StateCache) Len() int { return c.l.Len() }

// Bytes is what the cache counts against its size: its keys and values, and each
// entry's overhead.
func (c *StateCache) Bytes() int { return c.size }

// Stats reports how many lookups found their state in the cache and how many did not
// (with Store.NewStateCache: of all the store's caches).
func (c *StateCache) Stats() (hits, misses uint64) {
	if c == nil {
		return 0, 0
	}
	return c.counts.hits.Load(), c.counts.misses.Load()
}
