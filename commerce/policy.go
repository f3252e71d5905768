package commerce

import "time"

// Defaults for the zero fields of a Policy.
const (
	DefaultCheckoutTTL  = 6 * time.Hour
	DefaultMaxLineItems = 100
	DefaultMaxQuantity  = 999
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
	return p
}
