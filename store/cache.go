package store

import (
	"container/list"

	"github.com/cartwright-dev/cartwright/commerce"
)

// StateCache keeps the most recently used decoded states of one partition between its
// batches, so that an agent's next step does not read and decode its checkout again. It
// only ever holds committed states: a batch puts what it wrote after its commit succeeds.
// It is used by one goroutine (the partition's loop), and holds at most its size.
type StateCache struct {
	max int
	m   map[string]*list.Element
	l   *list.List // front: most recently used
}

type cacheEntry struct {
	key string
	st  commerce.State
}

// NewStateCache returns a cache of at most n states (n <= 0: no cache).
func NewStateCache(n int) *StateCache {
	return &StateCache{max: n, m: make(map[string]*list.Element), l: list.New()}
}

func (c *StateCache) get(k string) (commerce.State, bool) {
	if c == nil {
		return commerce.State{}, false
	}
	e, ok := c.m[k]
	if !ok {
		return commerce.State{}, false
	}
	c.l.MoveToFront(e)
	return e.Value.(*cacheEntry).st, true
}

func (c *StateCache) put(k string, st commerce.State) {
	if c == nil || c.max <= 0 {
		return
	}
	if e, ok := c.m[k]; ok {
		e.Value.(*cacheEntry).st = st
		c.l.MoveToFront(e)
		return
	}
	if c.l.Len() >= c.max {
		// Full: the least recently used entry makes room, and its element and entry are
		// reused for k rather than allocated anew.
		last := c.l.Back()
		e := last.Value.(*cacheEntry)
		delete(c.m, e.key)
		e.key, e.st = k, st
		c.l.MoveToFront(last)
		c.m[k] = last
		return
	}
	c.m[k] = c.l.PushFront(&cacheEntry{key: k, st: st})
}

// Len is how many states the cache holds.
func (c *StateCache) Len() int { return c.l.Len() }
