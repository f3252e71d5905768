package commerce

import "fmt"

// create opens a checkout in the context. A final checkout is replaced as the context's
// current one (its orders stay in State.Orders); an open one is checkout_exists.
func (s *step) create(cmd CreateCheckout) (Result, error) {
	return s.open(func(c *Checkout) error {
		if err := s.addLines(c, cmd.LineItems); err != nil {
			return err
		}
		c.Buyer = clonePtr(cmd.Buyer)
		c.Context = clonePtr(cmd.Context)
		return nil
	})
}

// upsert is the UCP form: it creates the checkout with the update's fields when none is
// open, and otherwise updates the open one.
func (s *step) upsert(cmd UpsertCheckout) (Result, error) {
	if cur := s.prior.State.Checkout; cur == nil || cur.Status.Final() {
		return s.open(func(c *Checkout) error { return s.update(c, cmd.Update) })
	}
	return s.change(func(c *Checkout) error { return s.update(c, cmd.Update) })
}

func (s *step) open(f func(c *Checkout) error) (Result, error) {
	if cur := s.prior.State.Checkout; cur != nil && !cur.Status.Final() {
		return Result{}, E(KindConflict, CodeCheckoutExists, "checkout %s is already open in this context", cur.ID)
	}
	now, p := s.env.Now, s.env.Policy
	c := &Checkout{
		ID:        NewID("chk", s.env.Seed, 0),
		Status:    StatusIncomplete,
		Currency:  p.Currency,
		CreatedAt: now,
		UpdatedAt: now,
		ExpiresAt: now.Add(p.CheckoutTTL),
		NextLine:  1,
	}
	if err := f(c); err != nil {
		return Result{}, err
	}
	if err := s.reprice(c); err != nil {
		return Result{}, err
	}
	res := s.prior
	res.State.Checkout = c
	res.Changed = true
	res.Checkout = c
	return res, nil
}

// update is UCP's full replacement: every field the update names replaces what c had, and
// an empty one clears it. Lines are validated like add_item and numbered afresh (ids are
// never reused); at most one discount code applies; a selected option must be one the new
// address is offered.
func (s *step) update(c *Checkout, u UpdateCheckout) error {
	c.LineItems = nil
	if err := s.addLines(c, u.LineItems); err != nil {
		return err
	}
	c.Buyer = clonePtr(u.Buyer)
	c.Context = clonePtr(u.Context)
	c.Discounts = Discounts{}
	for i, code := range u.DiscountCodes {
		if err := s.applyDiscount(c, code, fmt.Sprintf("discounts.codes[%d]", i), fmt.Sprintf("$.discounts.codes[%d]", i)); err != nil {
			return err
		}
	}
	if err := s.setDestinations(c, u); err != nil {
		return err
	}
	if u.SelectedOptionID == "" {
		return nil
	}
	// The options depend on everything above; price them before checking the selection.
	c.Fulfillment.SelectedOptionID = u.SelectedOptionID
	if err := s.reprice(c); err != nil {
		return err
	}
	if c.Fulfillment.SelectedOptionID != u.SelectedOptionID {
		if c.Fulfillment.Address == nil {
			return Invalid("fulfillment", "shipping option %q selected without a shipping address", u.SelectedOptionID)
		}
		return Invalid("fulfillment", "shipping option %q is not offered for this address", u.SelectedOptionID)
	}
	return nil
}

// addLines adds the requested lines of a create or update, reporting problems at their
// index in the request.
func (s *step) addLines(c *Checkout, lines []LineItemInput) error {
	for i, in := range lines {
		p := linePaths{
			item:     fmt.Sprintf("line_items[%d].item.id", i),
			quantity: fmt.Sprintf("line_items[%d].quantity", i),
			count:    "line_items",
			msg:      "$.line_items",
		}
		if err := s.addLine(c, in, p); err != nil {
			return err
		}
	}
	return nil
}
