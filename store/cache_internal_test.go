package store

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestStateCacheEvictsTheLeastRecentlyUsed: a full cache makes room for a new state by
// dropping the one used longest ago, and serves the others with what was put last.
func TestStateCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	entry := 1 + 2 + cacheEntryOverhead // a one-byte key and a two-byte state
	c := NewStateCache(2 * entry)
	c.put([]byte("a"), []byte("a1"))
	c.put([]byte("b"), []byte("b1"))
	c.get("a")                       // b is now the least recently used
	c.put([]byte("c"), []byte("c1")) // drops b
	c.put([]byte("a"), []byte("a2")) // replaces a
	c.put([]byte("d"), []byte("d1")) // drops c
	if c.Len() != 2 || c.Bytes() != 2*entry {
		t.Fatalf("the cache holds %d states in %d bytes, want 2 in %d", c.Len(), c.Bytes(), 2*entry)
	}
	for k, want := range map[string]string{"a": "a2", "d": "d1", "b": "", "c": ""} {
		got, _ := c.get(k)
		if string(got) != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	if hits, misses := c.Stats(); hits != 3 || misses != 2 {
		t.Errorf("stats: %d hits and %d misses, want 3 and 2", hits, misses)
	}
}

// TestStateCacheStaysWithinItsSize: whatever the sizes put, the cache counts exactly what
// it holds, never more than its size, and serves each key it holds the last value put
// under it.
func TestStateCacheStaysWithinItsSize(t *testing.T) {
	const max = 8 << 10
	c := NewStateCache(max)
	last := map[string][]byte{}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		k := "ctx-" + strconv.Itoa(r.IntN(200))
		v := bytes.Repeat([]byte{byte(i)}, r.IntN(3000))
		c.put([]byte(k), v)
		last[k] = v
		if c.Bytes() > max {
			t.Fatalf("put %d: %d bytes held, over %d", i, c.Bytes(), max)
		}
	}
	sum := 0
	for k, e := range c.m {
		ent := e.Value.(*cacheEntry)
		sum += len(ent.key) + len(ent.v) + cacheEntryOverhead
		if k != ent.key || !bytes.Equal(ent.v, last[k]) {
			t.Fatalf("%s holds %d bytes that are not the last put under it", k, len(ent.v))
		}
	}
	if sum != c.Bytes() || len(c.m) != c.Len() {
		t.Fatalf("counted %d bytes and %d entries, holds %d in %d", c.Bytes(), c.Len(), sum, len(c.m))
	}
}

// TestStateCacheCopiesAndRefusesTheOversized: the cache keeps its own copy of a state,
// and a state larger than the whole cache is not kept, nor the value it would replace.
func TestStateCacheCopiesAndRefusesTheOversized(t *testing.T) {
	c := NewStateCache(200)
	v := []byte("state-1")
	c.put([]byte("k"), v)
	copy(v, "XXXXXXX")
	if got, _ := c.get("k"); string(got) != "state-1" {
		t.Fatalf("the cache kept the caller's bytes: %q", got)
	}
	c.put([]byte("k"), make([]byte, 200))
	if got, ok := c.get("k"); ok {
		t.Fatalf("an oversized state replaced the kept one (%d bytes), or the stale one stayed", len(got))
	}
	if c.Len() != 0 || c.Bytes() != 0 {
		t.Fatalf("%d states in %d bytes left, want none", c.Len(), c.Bytes())
	}
	var off *StateCache
	off.put([]byte("k"), v)
	if _, ok := off.get("k"); ok {
		t.Fatal("a nil cache served a state")
	}
}
