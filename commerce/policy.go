package commerce

import "time"

// Defaults for the zero fields of a Policy.
const (
	DefaultCheckoutTTL  = 6 * time.Hour
	DefaultMaxLineItems = 100
	DefaultMaxQuantity  = 999
	// DefaultMaxDiscountCodes is how many codes stack when a tenant allows stacking and
	// sets no bound; MaxDiscountCodes is the most any tenant may set.
	DefaultMaxDiscountCodes = 5
	MaxDiscountCodes        = 20
)

// WithDefaults returns p with its zero limits filled in (CheckoutTTL, MaxLineItems,
// MaxQuantity). Apply calls it, so a zero Policy is a valid one.
func (p Policy) WithDefaults() Policy {
	if p.CheckoutTTL <= 0 {
		p.CheckoutTTL = DefaultCheckoutTTL
	}
	if p.MaxLineItems <= 0 {
		p.MaxLineItems = DefaultMaxLineItems
	}
	if p.MaxQuantity <= 0 {
		p.MaxQuantity = DefaultMaxQuantity
	}
	if p.Discounts.MaxCodes <= 0 {
		p.Discounts.MaxCodes = DefaultMaxDiscountCodes
	}
	return p
}
