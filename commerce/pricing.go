package commerce

// reprice brings everything derived in c up to date after a change, in dependency order:
// line totals; the subtotal; discounts (on the subtotal); shipping options (free shipping
// depends on the discounted subtotal); tax (on the discounted subtotal, once an address
// is known); the totals; the status.
//
// c.Totals holds, in this order: subtotal; discount (only when a code applies, negative);
// fulfillment (only when an option is selected, possibly 0); tax (only when an address is
// set); total, the sum of all the others.
func (s *step) reprice(c *Checkout) error {
	var subtotal int64
	for i := range c.LineItems {
		l := &c.LineItems[i]
		amount := l.Item.Price * int64(l.Quantity)
		l.Totals = []Total{
			{Type: TotalSubtotal, DisplayText: "Subtotal", Amount: amount},
			{Type: TotalTotal, DisplayText: "Total", Amount: amount},
		}
		subtotal += amount
	}
	discount, err := s.priceDiscounts(c, subtotal)
	if err != nil {
		return err
	}
	discounted := subtotal + discount
	if err := s.priceFulfillment(c, discounted); err != nil {
		return err
	}

	totals := []Total{{Type: TotalSubtotal, DisplayText: "Subtotal", Amount: subtotal}}
	if len(c.Discounts.Applied) > 0 {
		totals = append(totals, Total{Type: TotalDiscount, DisplayText: "Discount", Amount: discount})
	}
	var shipping int64
	if opt, ok := selectedOption(c.Fulfillment); ok {
		shipping = opt.Amount
		totals = append(totals, Total{Type: TotalFulfillment, DisplayText: "Shipping", Amount: shipping})
	}
	if a := c.Fulfillment.Address; a != nil {
		tax, err := s.tax(TaxQuote{Address: clonePtr(a), DiscountedSubtotal: discounted, Shipping: shipping})
		if err != nil {
			return err
		}
		totals = append(totals, Total{Type: TotalTax, DisplayText: "Tax", Amount: tax})
	}
	var total int64
	for _, t := range totals {
		total += t.Amount
	}
	c.Totals = append(totals, Total{Type: TotalTotal, DisplayText: "Total", Amount: total})

	s.setStatus(c)
	return nil
}

// MulDivHalfUp returns a*b/d rounded half away from zero (half up for the non-negative
// amounts of money it is used on): MulDivHalfUp(4500, 825, 10000) is 371 (371.25),
// MulDivHalfUp(10300, 825, 10000) is 850 (849.75). d must be positive.
func MulDivHalfUp(a, b, d int64) int64 {
	n := a * b
	if n < 0 {
		return -MulDivHalfUp(-a, b, d)
	}
	q, r := n/d, n%d
	if 2*r >= d {
		q++
	}
	return q
}
