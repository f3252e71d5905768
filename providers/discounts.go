package providers

import (
	"context"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Discounts is the built-in discount book. Codes match without regard to case (people
// type them) and resolve to their configured spelling. Read-only once built.
type Discounts struct {
	codes map[string]DiscountCode
}

var _ commerce.DiscountBook = (*Discounts)(nil)

// NewDiscounts builds a discount book of codes.
func NewDiscounts(codes []DiscountCode) *Discounts {
	d := &Discounts{codes: make(map[string]DiscountCode, len(codes))}
	for _, c := range codes {
		d.codes[normCode(c.Code)] = c
	}
	return d
}

// Lookup implements commerce.DiscountBook.
func (d *Discounts) Lookup(_ context.Context, code string) (commerce.Discount, bool, error) {
	c, ok := d.codes[normCode(code)]
	if !ok || code == "" {
		return commerce.Discount{}, false, nil
	}
	return commerce.Discount{Code: c.Code, Title: c.Title, Percent: c.Percent, Amount: c.Amount}, true, nil
}

func normCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }
