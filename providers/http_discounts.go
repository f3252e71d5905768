package providers

import (
	"context"
	"net/http"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
)

// HTTPDiscounts resolves discount codes at GET {base}/discounts/{code}
// (docs/providers.md). Safe for concurrent use.
type HTTPDiscounts struct{ c *httpCore }

var _ commerce.DiscountBook = (*HTTPDiscounts)(nil)

// NewHTTPDiscounts returns a discount book that asks the service at o.BaseURL.
func NewHTTPDiscounts(o HTTPOptions) (*HTTPDiscounts, error) {
	c, err := newHTTPCore("discounts", o)
	if err != nil {
		return nil, err
	}
	return &HTTPDiscounts{c: c}, nil
}

// Lookup implements commerce.DiscountBook: 200 is the discount, 404 an invalid code. The
// code is sent as the buyer typed it (trimmed); matching case-insensitively is the
// service's choice.
func (h *HTTPDiscounts) Lookup(ctx context.Context, code string) (commerce.Discount, bool, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return commerce.Discount{}, false, nil
	}
	call := httpCall{method: http.MethodGet, path: "/discounts/" + seg(code), route: "/discounts/{code}"}
	r, err := h.c.do(ctx, call)
	switch {
	case err != nil:
		return commerce.Discount{}, false, err
	case r.status == http.StatusNotFound:
		return commerce.Discount{}, false, nil
	case !r.ok():
		return commerce.Discount{}, false, h.c.refused(call, r)
	}
	var w wireDiscount
	if err := h.c.decode(call, r, &w); err != nil {
		return commerce.Discount{}, false, err
	}
	switch {
	case w.Percent < 0 || w.Percent > 100:
		return commerce.Discount{}, false, h.c.internal(call, "percent %d is not between 0 and 100", w.Percent)
	case w.Amount < 0:
		return commerce.Discount{}, false, h.c.internal(call, "amount %d is negative", w.Amount)
	case w.Amount > commerce.MaxPrice:
		return commerce.Discount{}, false, h.c.internal(call, "amount %d is more than %d", w.Amount, int64(commerce.MaxPrice))
	case (w.Percent > 0) == (w.Amount > 0):
		return commerce.Discount{}, false, h.c.internal(call, "a discount has a percent or an amount, exactly one of them")
	}
	if w.Code == "" {
		w.Code = code
	}
	return commerce.Discount{Code: w.Code, Title: w.Title, Percent: w.Percent, Amount: w.Amount}, true, nil
}
