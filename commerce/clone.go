package commerce

import "slices"

// Apply treats every value it is given as read-only: what it changes it copies first with
// the Clone methods below. They keep nil slices and pointers nil, so that a clone is the same
// checkout as its original to sameCheckout, which tells a nil slice from an empty one.

// Clone returns a deep copy of s: the checkout and every order are copied.
func (s State) Clone() State {
	out := State{Checkout: s.Checkout.Clone()}
	if s.Orders != nil {
		out.Orders = make([]*Order, len(s.Orders))
		for i, o := range s.Orders {
			out.Orders[i] = o.Clone()
		}
	}
	return out
}

// Clone returns a deep copy of c (nil for nil).
func (c *Checkout) Clone() *Checkout {
	if c == nil {
		return nil
	}
	out := *c
	out.LineItems = cloneLines(c.LineItems)
	out.Buyer = clonePtr(c.Buyer)
	out.Context = clonePtr(c.Context)
	out.Fulfillment = c.Fulfillment.clone()
	out.Discounts = Discounts{Codes: slices.Clone(c.Discounts.Codes), Applied: slices.Clone(c.Discounts.Applied)}
	out.Totals = slices.Clone(c.Totals)
	out.Messages = slices.Clone(c.Messages)
	out.Order = clonePtr(c.Order)
	out.UsedMandates = slices.Clone(c.UsedMandates)
	return &out
}

// cloneForChange is Clone for change, which reprices the copy: the totals, of the
// checkout and of each line, are not copied (reprice replaces them whole, never writes
// into them), nor the messages (change resets them). One allocation per line less, and
// per change.
// REQUIRES: nothing writes into the copy's totals before reprice replaces them.
func (c *Checkout) cloneForChange() *Checkout {
	if c == nil {
		return nil
	}
	out := *c
	out.LineItems = slices.Clone(c.LineItems)
	out.Buyer = clonePtr(c.Buyer)
	out.Context = clonePtr(c.Context)
	out.Fulfillment = c.Fulfillment.clone()
	out.Discounts = Discounts{Codes: slices.Clone(c.Discounts.Codes), Applied: slices.Clone(c.Discounts.Applied)}
	out.Messages = nil
	out.Order = clonePtr(c.Order)
	out.UsedMandates = slices.Clone(c.UsedMandates)
	return &out
}

// Clone returns a deep copy of o (nil for nil).
func (o *Order) Clone() *Order {
	if o == nil {
		return nil
	}
	out := *o
	out.LineItems = cloneLines(o.LineItems)
	out.Buyer = clonePtr(o.Buyer)
	out.Fulfillment = o.Fulfillment.clone()
	out.Totals = slices.Clone(o.Totals)
	out.Events = slices.Clone(o.Events)
	for i := range out.Events {
		out.Events[i].LineItems = slices.Clone(out.Events[i].LineItems)
	}
	out.Adjustments = slices.Clone(o.Adjustments)
	for i := range out.Adjustments {
		out.Adjustments[i].LineItems = slices.Clone(out.Adjustments[i].LineItems)
	}
	return &out
}

func (f Fulfillment) clone() Fulfillment {
	f.Address = clonePtr(f.Address)
	f.Destinations = slices.Clone(f.Destinations)
	f.Options = slices.Clone(f.Options)
	return f
}

func cloneLines(lines []LineItem) []LineItem {
	out := slices.Clone(lines)
	for i := range out {
		out[i].Totals = slices.Clone(out[i].Totals)
	}
	return out
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
