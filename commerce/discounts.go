package commerce

import (
	"slices"
	"strings"
)

// applyDiscount submits code. An unknown code, or a code past what the tenant's rules
// combine (a second one without stacking, one past MaxCodes with it), is a warning
// message and is not kept; the same code again changes nothing. The amount is computed by
// repricing.
func (s *step) applyDiscount(c *Checkout, code, errPath, msgPath string) error {
	if code == "" {
		return Invalid(errPath, "a discount code is required")
	}
	d, ok, err := s.lookupDiscount(code)
	if err != nil {
		return err
	}
	switch {
	case !ok:
		addMessage(c, msgDiscountInvalid(msgPath, code))
	case slices.Contains(c.Discounts.Codes, d.Code):
	case len(c.Discounts.Codes) > 0 && !s.env.Policy.Discounts.Stacking:
		addMessage(c, msgDiscountCombination(msgPath, code, c.Discounts.Codes[0]))
	case len(c.Discounts.Codes) >= s.env.Policy.Discounts.MaxCodes:
		addMessage(c, msgDiscountTooMany(msgPath, code, s.env.Policy.Discounts.MaxCodes))
	default:
		c.Discounts.Codes = append(c.Discounts.Codes, d.Code)
	}
	return nil
}

// removeDiscount removes code (matched without regard to case, as codes are typed by
// people); removing a code that is not there is no error.
func removeDiscount(c *Checkout, code string) {
	c.Discounts.Codes = slices.DeleteFunc(c.Discounts.Codes, func(x string) bool { return strings.EqualFold(x, code) })
	if len(c.Discounts.Codes) == 0 {
		c.Discounts.Codes = nil
	}
}

// priceDiscounts recomputes what c's codes are worth against subtotal and returns their
// (negative or zero) sum. A code the book no longer knows is dropped with a message.
// Codes apply in the order submitted; with the tenant's Compound rule each is taken from
// what the codes before it left, else from the subtotal. Either way the codes together
// never take more than the subtotal.
func (s *step) priceDiscounts(c *Checkout, subtotal int64) (int64, error) {
	var codes []string
	var applied []AppliedDiscount
	rules := s.env.Policy.Discounts
	left := subtotal
	for _, code := range c.Discounts.Codes {
		d, ok, err := s.lookupDiscount(code)
		if err != nil {
			return 0, err
		}
		if !ok {
			addMessage(c, msgDiscountInvalid("$.discounts.codes", code))
			continue
		}
		base := subtotal
		if rules.Compound {
			base = left
		}
		off, err := discountOff(d, base, rules.Truncate)
		if err != nil {
			return 0, err
		}
		off = min(off, left)
		left -= off
		codes = append(codes, code)
		applied = append(applied, AppliedDiscount{Code: code, Title: d.Title, Amount: -off})
	}
	c.Discounts = Discounts{Codes: codes, Applied: applied}
	return left - subtotal, nil
}

// discountOff is what d takes off subtotal (positive): Percent % of it rounded half up
// (toward zero with truncate), else the fixed Amount, never more than subtotal.
//
// REQUIRES: 0 <= subtotal <= MaxAmount and d within bounds (lookupDiscount checks it).
func discountOff(d Discount, subtotal int64, truncate bool) (int64, error) {
	off := d.Amount
	if d.Percent > 0 {
		var ok bool
		if truncate {
			off, ok = MulDivDown(subtotal, d.Percent, 100)
		} else {
			off, ok = MulDivHalfUp(subtotal, d.Percent, 100)
		}
		if !ok {
			return 0, outOfBounds("discount %s: %d %% of %d is past an int64", d.Code, d.Percent, subtotal)
		}
	}
	return max(0, min(off, subtotal)), nil
}
