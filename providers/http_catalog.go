package providers

import (
	"context"
	"net/http"

	"github.com/cartwright-dev/cartwright/commerce"
)

// HTTPCatalog looks items up at GET {base}/items/{id} (docs/providers.md). Safe for
// concurrent use.
type HTTPCatalog struct{ c *httpCore }

var _ commerce.Catalog = (*HTTPCatalog)(nil)

// NewHTTPCatalog returns a catalog that asks the service at o.BaseURL.
func NewHTTPCatalog(o HTTPOptions) (*HTTPCatalog, error) {
	c, err := newHTTPCore("catalog", o)
	if err != nil {
		return nil, err
	}
	return &HTTPCatalog{c: c}, nil
}

// Item implements commerce.Catalog: 200 is the item, 404 an unknown one.
func (h *HTTPCatalog) Item(ctx context.Context, id string) (commerce.Item, bool, error) {
	if id == "" {
		return commerce.Item{}, false, nil
	}
	call := httpCall{method: http.MethodGet, path: "/items/" + seg(id), route: "/items/{id}"}
	r, err := h.c.do(ctx, call)
	switch {
	case err != nil:
		return commerce.Item{}, false, err
	case r.status == http.StatusNotFound:
		return commerce.Item{}, false, nil
	case !r.ok():
		return commerce.Item{}, false, h.c.refused(call, r)
	}
	var w wireItem
	if err := h.c.decode(call, r, &w); err != nil {
		return commerce.Item{}, false, err
	}
	switch {
	case w.ID != "" && w.ID != id:
		return commerce.Item{}, false, h.c.internal(call, "asked for item %q, got item %q", id, w.ID)
	case w.Price == nil:
		return commerce.Item{}, false, h.c.internal(call, "item %q has no price", id)
	case *w.Price < 0:
		return commerce.Item{}, false, h.c.internal(call, "item %q has a negative price", id)
	case *w.Price > commerce.MaxPrice:
		return commerce.Item{}, false, h.c.internal(call, "item %q has the price %d, more than %d", id, *w.Price, int64(commerce.MaxPrice))
	case w.Title == "":
		w.Title = id
	}
	return commerce.Item{ID: id, Title: w.Title, Price: *w.Price, Digital: w.Digital}, true, nil
}

// HTTPInventory leaves stock to the merchant's service (docs/providers.md):
//
//	GET    {base}/inventory/{item_id}          how many may be sold
//	PUT    {base}/reservations/{checkout_id}   hold a checkout's lines, all or nothing
//	DELETE {base}/reservations/{checkout_id}   give them back
//
// A reservation is a resource named by its checkout, so both calls are idempotent as
// commerce.Inventory requires: a second PUT for a checkout that holds its lines succeeds
// without taking more, a DELETE of what is not held succeeds. Safe for concurrent use.
type HTTPInventory struct{ c *httpCore }

var _ commerce.Inventory = (*HTTPInventory)(nil)

// NewHTTPInventory returns an inventory that asks the service at o.BaseURL.
func NewHTTPInventory(o HTTPOptions) (*HTTPInventory, error) {
	c, err := newHTTPCore("inventory", o)
	if err != nil {
		return nil, err
	}
	return &HTTPInventory{c: c}, nil
}

// Available implements commerce.Inventory. An unknown item (404) has none, as in the
// built-in inventory.
func (h *HTTPInventory) Available(ctx context.Context, itemID string) (int64, bool, error) {
	call := httpCall{method: http.MethodGet, path: "/inventory/" + seg(itemID), route: "/inventory/{id}"}
	r, err := h.c.do(ctx, call)
	switch {
	case err != nil:
		return 0, false, err
	case r.status == http.StatusNotFound:
		return 0, false, nil
	case !r.ok():
		return 0, false, h.c.refused(call, r)
	}
	var w wireAvailability
	if err := h.c.decode(call, r, &w); err != nil {
		return 0, false, err
	}
	if w.Unlimited {
		return 0, true, nil
	}
	if w.Available < 0 {
		return 0, false, h.c.internal(call, "item %q has a negative availability", itemID)
	}
	return w.Available, false, nil
}

// Reserve implements commerce.Inventory: 2xx holds the lines, 409 with {"short": item id}
// says an item is short and nothing was taken.
func (h *HTTPInventory) Reserve(ctx context.Context, checkoutID string, lines []commerce.Reservation) (bool, string, error) {
	body := wireReservation{Lines: make([]wireReservationLine, 0, len(lines))}
	for _, l := range lines {
		body.Lines = append(body.Lines, wireReservationLine{ItemID: l.ItemID, Quantity: l.Quantity})
	}
	call := httpCall{method: http.MethodPut, path: "/reservations/" + seg(checkoutID), route: "/reservations/{checkout_id}", body: body}
	if checkoutID == "" {
		return false, "", h.c.internal(call, "no checkout id")
	}
	r, err := h.c.do(ctx, call)
	switch {
	case err != nil:
		return false, "", err
	case r.ok():
		return true, "", nil
	case r.status != http.StatusConflict:
		return false, "", h.c.refused(call, r)
	}
	var w wireShort
	if err := h.c.decode(call, r, &w); err != nil {
		return false, "", err
	}
	for _, l := range lines {
		if l.ItemID == w.Short {
			return false, w.Short, nil
		}
	}
	return false, "", h.c.internal(call, "409 must name the short item, one of the checkout's lines, in \"short\"")
}

// Release implements commerce.Inventory: 2xx or 404 (nothing held) both mean released.
func (h *HTTPInventory) Release(ctx context.Context, checkoutID string) error {
	call := httpCall{method: http.MethodDelete, path: "/reservations/" + seg(checkoutID), route: "/reservations/{checkout_id}"}
	if checkoutID == "" {
		return h.c.internal(call, "no checkout id")
	}
	r, err := h.c.do(ctx, call)
	switch {
	case err != nil:
		return err
	case r.ok(), r.status == http.StatusNotFound:
		return nil
	}
	return h.c.refused(call, r)
}
