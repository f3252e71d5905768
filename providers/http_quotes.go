package providers

import (
	"context"
	"net/http"

	"github.com/cartwright-dev/cartwright/commerce"
)

// HTTPShipping prices shipping at POST {base}/shipping/quote (docs/providers.md). Safe
// for concurrent use.
type HTTPShipping struct{ c *httpCore }

var _ commerce.Shipping = (*HTTPShipping)(nil)

// NewHTTPShipping returns a shipping provider that asks the service at o.BaseURL.
func NewHTTPShipping(o HTTPOptions) (*HTTPShipping, error) {
	c, err := newHTTPCore("shipping", o)
	if err != nil {
		return nil, err
	}
	return &HTTPShipping{c: c}, nil
}

// Options implements commerce.Shipping. An answer with "deliverable": false, or with no
// options at all, means the address cannot be shipped to.
func (h *HTTPShipping) Options(ctx context.Context, q commerce.ShippingQuote) ([]commerce.ShippingOption, bool, error) {
	call := httpCall{method: http.MethodPost, path: "/shipping/quote", route: "/shipping/quote",
		body: wireShippingQuote{Currency: q.Currency, Address: toWireAddress(q.Address), DiscountedSubtotal: q.DiscountedSubtotal, ItemIDs: q.ItemIDs}}
	r, err := h.c.do(ctx, call)
	switch {
	case err != nil:
		return nil, false, err
	case !r.ok():
		return nil, false, h.c.refused(call, r)
	}
	var w wireShippingOptions
	if err := h.c.decode(call, r, &w); err != nil {
		return nil, false, err
	}
	if w.Deliverable != nil && !*w.Deliverable || len(w.Options) == 0 {
		return nil, false, nil
	}
	opts := make([]commerce.ShippingOption, 0, len(w.Options))
	seen := map[string]bool{}
	for i, o := range w.Options {
		switch {
		case o.ID == "":
			return nil, false, h.c.internal(call, "options[%d] has no id", i)
		case seen[o.ID]:
			return nil, false, h.c.internal(call, "options[%d]: id %q is a duplicate", i, o.ID)
		case o.Amount == nil || *o.Amount < 0:
			return nil, false, h.c.internal(call, "options[%d]: amount is missing or negative", i)
		case *o.Amount > commerce.MaxPrice:
			return nil, false, h.c.internal(call, "options[%d]: amount %d is more than %d", i, *o.Amount, int64(commerce.MaxPrice))
		}
		seen[o.ID] = true
		title := o.Title
		if title == "" {
			title = o.ID
		}
		opts = append(opts, commerce.ShippingOption{ID: o.ID, Title: title, Amount: *o.Amount})
	}
	return opts, true, nil
}

// HTTPTax computes tax at POST {base}/tax/quote (docs/providers.md). Safe for concurrent
// use.
type HTTPTax struct{ c *httpCore }

var _ commerce.Tax = (*HTTPTax)(nil)

// NewHTTPTax returns a tax provider that asks the service at o.BaseURL.
func NewHTTPTax(o HTTPOptions) (*HTTPTax, error) {
	c, err := newHTTPCore("tax", o)
	if err != nil {
		return nil, err
	}
	return &HTTPTax{c: c}, nil
}

// Tax implements commerce.Tax.
func (h *HTTPTax) Tax(ctx context.Context, q commerce.TaxQuote) (int64, error) {
	body := wireTaxQuote{Currency: q.Currency, DiscountedSubtotal: q.DiscountedSubtotal, Shipping: q.Shipping}
	if q.Address != nil {
		body.Address = toWireAddress(*q.Address)
	}
	call := httpCall{method: http.MethodPost, path: "/tax/quote", route: "/tax/quote", body: body}
	r, err := h.c.do(ctx, call)
	switch {
	case err != nil:
		return 0, err
	case !r.ok():
		return 0, h.c.refused(call, r)
	}
	var w wireTax
	if err := h.c.decode(call, r, &w); err != nil {
		return 0, err
	}
	if w.Tax == nil || *w.Tax < 0 {
		return 0, h.c.internal(call, "tax is missing or negative")
	}
	if *w.Tax > commerce.MaxAmount {
		return 0, h.c.internal(call, "tax %d is more than %d", *w.Tax, int64(commerce.MaxAmount))
	}
	return *w.Tax, nil
}
