package commerce

import "fmt"

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
	// Every line's two totals in one array, each line's capped to its own.
	lineTotals := make([]Total, 2*len(c.LineItems))
	for i := range c.LineItems {
		l := &c.LineItems[i]
		// The catalog's answer was checked when the line was added; a line kept from
		// before the bounds were checked is held to them here.
		if !inBounds(l.Item.Price, MaxPrice) {
			return errAmount(fmt.Sprintf("the price of %s on line %s", l.Item.ID, l.ID), l.Item.Price, MaxPrice)
		}
		amount, ok := mulAmount(l.Item.Price, int64(l.Quantity))
		if !ok {
			return errSum(fmt.Sprintf("the total of line %s (%s)", l.ID, l.Item.ID), l.Item.Price, "×", int64(l.Quantity))
		}
		l.Totals = lineTotals[2*i : 2*i+2 : 2*i+2]
		l.Totals[0] = Total{Type: TotalSubtotal, DisplayText: "Subtotal", Amount: amount}
		l.Totals[1] = Total{Type: TotalTotal, DisplayText: "Total", Amount: amount}
		sum, ok := addAmount(subtotal, amount)
		if !ok {
			return errSum("the subtotal", subtotal, "+", amount)
		}
		subtotal = sum
	}
	discount, err := s.priceDiscounts(c, subtotal)
	if err != nil {
		return err
	}
	// INVARIANT: -subtotal <= discount <= 0, so discounted is within [0, subtotal].
	discounted := subtotal + discount
	if err := s.priceFulfillment(c, discounted); err != nil {
		return err
	}

	totals := make([]Total, 1, 5) // at most subtotal, discount, fulfillment, tax and total
	totals[0] = Total{Type: TotalSubtotal, DisplayText: "Subtotal", Amount: subtotal}
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
		sum, ok := addAmount(total, t.Amount)
		if !ok {
			return errSum("the total", total, "+", t.Amount)
		}
		total = sum
	}
	c.Totals = append(totals, Total{Type: TotalTotal, DisplayText: "Total", Amount: total})

	s.setStatus(c)
	return nil
}
