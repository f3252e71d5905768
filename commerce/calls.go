package commerce

import "fmt"

// The provider calls Apply makes, in one place. A provider the Env leaves nil means the
// tenant has none: no catalog sells nothing, no inventory counts nothing, no shipping
// ships nowhere, no tax is zero, no discount book knows no codes. Only payments are
// required, and only to complete.
//
// Every amount a provider answers with is checked against the bounds of money.go here, so
// that whatever the provider (built-in, HTTP, or another implementation) nothing out of
// bounds reaches a sum. The built-in data and the HTTP adapters check the same bounds
// first, with errors closer to the cause.

func (s *step) lookupItem(id string) (Item, bool, error) {
	if s.env.Catalog == nil {
		return Item{}, false, nil
	}
	item, ok, err := s.env.Catalog.Item(s.ctx, id)
	if err != nil || !ok {
		return item, ok, err
	}
	if item.ID == "" {
		item.ID = id
	}
	if !inBounds(item.Price, MaxPrice) {
		return Item{}, false, errAmount(fmt.Sprintf("catalog: the price of item %q", item.ID), item.Price, MaxPrice)
	}
	return item, true, nil
}

func (s *step) available(itemID string) (n int64, unlimited bool, err error) {
	if s.env.Inventory == nil {
		return 0, true, nil
	}
	return s.env.Inventory.Available(s.ctx, itemID)
}

func (s *step) reserve(checkoutID string, lines []Reservation) (bool, string, error) {
	if s.env.Inventory == nil || len(lines) == 0 {
		return true, "", nil
	}
	return s.env.Inventory.Reserve(s.ctx, checkoutID, lines)
}

func (s *step) release(checkoutID string) error {
	if s.env.Inventory == nil {
		return nil
	}
	return s.env.Inventory.Release(s.ctx, checkoutID)
}

func (s *step) shippingOptions(a Address, discountedSubtotal int64, lines []LineItem) ([]ShippingOption, bool, error) {
	if s.env.Shipping == nil {
		return nil, false, nil
	}
	q := ShippingQuote{Currency: s.env.Policy.Currency, Address: a, DiscountedSubtotal: discountedSubtotal}
	for _, l := range lines {
		if !l.Item.Digital {
			q.ItemIDs = append(q.ItemIDs, l.Item.ID)
		}
	}
	opts, ok, err := s.env.Shipping.Options(s.ctx, q)
	if err != nil || !ok {
		return opts, ok, err
	}
	for _, o := range opts {
		if !inBounds(o.Amount, MaxPrice) {
			return nil, false, errAmount(fmt.Sprintf("shipping: the amount of option %q", o.ID), o.Amount, MaxPrice)
		}
	}
	return opts, true, nil
}

func (s *step) tax(q TaxQuote) (int64, error) {
	if s.env.Tax == nil {
		return 0, nil
	}
	q.Currency = s.env.Policy.Currency
	tax, err := s.env.Tax.Tax(s.ctx, q)
	if err != nil {
		return 0, err
	}
	if !inBounds(tax, MaxAmount) {
		return 0, errAmount(fmt.Sprintf("tax: the tax on %d", q.DiscountedSubtotal), tax, MaxAmount)
	}
	return tax, nil
}

func (s *step) lookupDiscount(code string) (Discount, bool, error) {
	if s.env.Discounts == nil {
		return Discount{}, false, nil
	}
	d, ok, err := s.env.Discounts.Lookup(s.ctx, code)
	if err != nil || !ok {
		return d, ok, err
	}
	if d.Code == "" {
		d.Code = code
	}
	if d.Percent < 0 || d.Percent > 100 {
		return Discount{}, false, outOfBounds("discounts: code %q is %d %%, not between 0 and 100", d.Code, d.Percent)
	}
	if !inBounds(d.Amount, MaxPrice) {
		return Discount{}, false, errAmount(fmt.Sprintf("discounts: the amount of code %q", d.Code), d.Amount, MaxPrice)
	}
	return d, true, nil
}

func (s *step) payments() (Payments, error) {
	if s.env.Payments == nil {
		return nil, E(KindInternal, CodeInternalError, "no payment handler is configured")
	}
	return s.env.Payments, nil
}
