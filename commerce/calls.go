package commerce

// The provider calls Apply makes, in one place. A provider the Env leaves nil means the
// tenant has none: no catalog sells nothing, no inventory counts nothing, no shipping
// ships nowhere, no tax is zero, no discount book knows no codes. Only payments are
// required, and only to complete.

func (s *step) lookupItem(id string) (Item, bool, error) {
	if s.env.Catalog == nil {
		return Item{}, false, nil
	}
	item, ok, err := s.env.Catalog.Item(s.ctx, id)
	if ok && item.ID == "" {
		item.ID = id
	}
	return item, ok, err
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

func (s *step) shippingOptions(a Address, discountedSubtotal int64) ([]ShippingOption, bool, error) {
	if s.env.Shipping == nil {
		return nil, false, nil
	}
	return s.env.Shipping.Options(s.ctx, ShippingQuote{Currency: s.env.Policy.Currency, Address: a, DiscountedSubtotal: discountedSubtotal})
}

func (s *step) tax(q TaxQuote) (int64, error) {
	if s.env.Tax == nil {
		return 0, nil
	}
	q.Currency = s.env.Policy.Currency
	return s.env.Tax.Tax(s.ctx, q)
}

func (s *step) lookupDiscount(code string) (Discount, bool, error) {
	if s.env.Discounts == nil {
		return Discount{}, false, nil
	}
	d, ok, err := s.env.Discounts.Lookup(s.ctx, code)
	if ok && d.Code == "" {
		d.Code = code
	}
	return d, ok, err
}

func (s *step) payments() (Payments, error) {
	if s.env.Payments == nil {
		return nil, E(KindInternal, CodeInternalError, "no payment handler is configured")
	}
	return s.env.Payments, nil
}
