package providers

import (
	"context"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Tax is the built-in tax: a rate per country or region, applied to the discounted
// subtotal (shipping is not taxed) and rounded half up. Read-only once built.
type Tax struct {
	rates []TaxRate
}

var _ commerce.Tax = (*Tax)(nil)

// NewTax builds a tax provider. A region's rate takes precedence over its country's; an
// address that matches no rate is taxed 0.
func NewTax(rates []TaxRate) *Tax {
	t := &Tax{}
	for _, r := range rates {
		r.Country = strings.ToUpper(strings.TrimSpace(r.Country))
		r.Region = strings.ToUpper(strings.TrimSpace(r.Region))
		t.rates = append(t.rates, r)
	}
	return t
}

// Tax implements commerce.Tax.
func (t *Tax) Tax(_ context.Context, q commerce.TaxQuote) (int64, error) {
	if q.Address == nil || q.DiscountedSubtotal <= 0 {
		return 0, nil
	}
	bp, ok := t.rate(*q.Address)
	if !ok {
		return 0, nil
	}
	tax, ok := commerce.MulDivHalfUp(q.DiscountedSubtotal, bp, 10000)
	if !ok {
		return 0, commerce.E(commerce.KindInternal, commerce.CodeInternalError,
			"tax: %d basis points of %d is past an int64", bp, q.DiscountedSubtotal)
	}
	return tax, nil
}

// rate returns the basis points for a, preferring a rate for its region.
func (t *Tax) rate(a commerce.Address) (int64, bool) {
	country := strings.ToUpper(strings.TrimSpace(a.AddressCountry))
	region := strings.ToUpper(strings.TrimSpace(a.AddressRegion))
	var whole *TaxRate
	for i := range t.rates {
		r := &t.rates[i]
		switch {
		case r.Country != country:
		case r.Region == "":
			if whole == nil {
				whole = r
			}
		case r.Region == region:
			return r.BasisPoints, true
		}
	}
	if whole == nil {
		return 0, false
	}
	return whole.BasisPoints, true
}
