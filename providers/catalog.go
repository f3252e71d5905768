package providers

import (
	"context"
	"sync"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Catalog is the built-in catalog. It is also an in-memory inventory: an item's
// configured stock, less what is reserved, is what may be sold. That count lives in this
// process only and starts again from the configuration when it restarts: fine for tests
// and a single worker trying things out; `cartwright serve` keeps the count in JetStream
// instead (providers.KVInventory), where every partition and process sees it. Safe for concurrent
// use.
type Catalog struct {
	items map[string]CatalogItem

	mu       sync.Mutex
	reserved map[string]int64                  // by item id
	holds    map[string][]commerce.Reservation // by checkout id
}

var (
	_ commerce.Catalog   = (*Catalog)(nil)
	_ commerce.Inventory = (*Catalog)(nil)
)

// NewCatalog builds a catalog of items. A later item with the same id replaces an
// earlier one (Builtin.Validate reports duplicates).
func NewCatalog(items []CatalogItem) *Catalog {
	c := &Catalog{items: make(map[string]CatalogItem, len(items)),
		reserved: map[string]int64{}, holds: map[string][]commerce.Reservation{}}
	for _, it := range items {
		if it.Stock != nil {
			n := *it.Stock
			it.Stock = &n
		}
		c.items[it.ID] = it
	}
	return c
}

// Item implements commerce.Catalog.
func (c *Catalog) Item(_ context.Context, id string) (commerce.Item, bool, error) {
	it, ok := c.items[id]
	if !ok {
		return commerce.Item{}, false, nil
	}
	return commerce.Item{ID: it.ID, Title: it.Title, Price: it.Price, Digital: it.Digital}, true, nil
}

// Available implements commerce.Inventory. An unknown item has none.
func (c *Catalog) Available(_ context.Context, itemID string) (int64, bool, error) {
	it, ok := c.items[itemID]
	switch {
	case !ok:
		return 0, false, nil
	case it.Stock == nil:
		return 0, true, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return *it.Stock - c.reserved[itemID], false, nil
}

// Reserve implements commerce.Inventory.
func (c *Catalog) Reserve(_ context.Context, checkoutID string, lines []commerce.Reservation) (bool, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.holds[checkoutID]; ok {
		return true, "", nil
	}
	need := map[string]int64{}
	for _, l := range lines {
		need[l.ItemID] += l.Quantity
	}
	for _, l := range lines {
		it, ok := c.items[l.ItemID]
		if !ok {
			return false, l.ItemID, nil
		}
		if it.Stock != nil && *it.Stock-c.reserved[l.ItemID] < need[l.ItemID] {
			return false, l.ItemID, nil
		}
	}
	var held []commerce.Reservation
	for _, l := range lines {
		if c.items[l.ItemID].Stock != nil {
			c.reserved[l.ItemID] += l.Quantity
			held = append(held, l)
		}
	}
	c.holds[checkoutID] = held
	return true, "", nil
}

// Release implements commerce.Inventory.
func (c *Catalog) Release(_ context.Context, checkoutID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.holds[checkoutID] {
		c.reserved[l.ItemID] -= l.Quantity
	}
	delete(c.holds, checkoutID)
	return nil
}
