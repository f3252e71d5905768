package providers

import (
	"context"
	"slices"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Shipping is the built-in shipping: flat rates, each optionally free from a discounted
// subtotal or for some items, and optionally for some countries only, to a set of
// countries. Read-only once built.
type Shipping struct {
	shipTo []string // upper case; empty ships everywhere
	rates  []ShippingRate
}

var _ commerce.Shipping = (*Shipping)(nil)

// NewShipping builds a shipping provider for the countries in shipTo (ISO codes, any
// case; none means every country) with rates, offered in their order.
func NewShipping(shipTo []string, rates []ShippingRate) *Shipping {
	s := &Shipping{rates: slices.Clone(rates)}
	for _, c := range shipTo {
		s.shipTo = append(s.shipTo, strings.ToUpper(strings.TrimSpace(c)))
	}
	return s
}

// Options implements commerce.Shipping.
func (s *Shipping) Options(_ context.Context, q commerce.ShippingQuote) ([]commerce.ShippingOption, bool, error) {
	country := strings.ToUpper(strings.TrimSpace(q.Address.AddressCountry))
	if country == "" || len(s.shipTo) > 0 && !slices.Contains(s.shipTo, country) {
		return nil, false, nil
	}
	opts := make([]commerce.ShippingOption, 0, len(s.rates))
	for _, r := range s.rates {
		if len(r.Countries) > 0 && !slices.ContainsFunc(r.Countries, func(c string) bool { return strings.EqualFold(c, country) }) {
			continue
		}
		amount, title := r.Amount, r.Title
		if r.FreeFrom > 0 && q.DiscountedSubtotal >= r.FreeFrom || freeItems(r.FreeItems, q.ItemIDs) {
			amount = 0
			if r.FreeTitle != "" {
				title = r.FreeTitle
			}
		}
		opts = append(opts, commerce.ShippingOption{ID: r.ID, Title: title, Amount: amount})
	}
	if len(opts) == 0 && len(s.rates) > 0 {
		return nil, false, nil // no rate is for this country
	}
	return opts, true, nil
}

// freeItems reports whether every item shipped is one of free (and there is one).
func freeItems(free, shipped []string) bool {
	if len(free) == 0 || len(shipped) == 0 {
		return false
	}
	for _, id := range shipped {
		if !slices.Contains(free, id) {
			return false
		}
	}
	return true
}
