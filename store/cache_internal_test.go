package store

import (
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

// TestStateCacheEvictsTheLeastRecentlyUsed: a full cache makes room for a new state by
// dropping the one used longest ago, and serves the others with what was put last.
func TestStateCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	c := NewStateCache(2)
	st := func(id string) commerce.State { return commerce.State{Checkout: &commerce.Checkout{ID: id}} }
	c.put("a", st("a1"))
	c.put("b", st("b1"))
	c.get("a")           // b is now the least recently used
	c.put("c", st("c1")) // drops b
	c.put("a", st("a2")) // replaces a
	c.put("d", st("d1")) // drops c
	if c.Len() != 2 {
		t.Fatalf("the cache holds %d states, want 2", c.Len())
	}
	for k, want := range map[string]string{"a": "a2", "d": "d1", "b": "", "c": ""} {
		got, ok := c.get(k)
		id := ""
		if ok {
			id = got.Checkout.ID
		}
		if id != want {
			t.Errorf("%s: got %q, want %q", k, id, want)
		}
	}
}
