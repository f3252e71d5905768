package providers

import (
	"context"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Catalog is the built-in catalog. It is also the inventory: an item's configured stock
// is what may be sold (reservations are the worker's, see commerce.Inventory). It is
// read-only once built, so safe for concurrent use.
type Catalog struct {
	items map[string]CatalogItem
}

var (
	_ commerce.Catalog   = (*Catalog)(nil)
	_ commerce.Inventory = (*Catalog)(nil)
)

// NewCatalog builds a catalog of items. A later item with the same id replaces an
// earlier one (Builtin.Validate reports duplicates).
func NewCatalog(items []CatalogItem) *Catalog {
	c := &Catalog{items: make(map[string]CatalogItem, len(items))}
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
	return *it.Stock, false, nil
}
