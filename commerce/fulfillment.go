package commerce

import "strings"

// setAddress sets where to ship. The options for it are computed by repricing, which runs
// after every change because they depend on the discounted subtotal (free shipping).
func setAddress(c *Checkout, cmd SetShippingAddress) error {
	a := cmd.Address
	c.Fulfillment.Address = &a
	return nil
}

func selectOption(c *Checkout, cmd SelectShippingOption) error {
	f := c.Fulfillment
	if f.Address == nil {
		return Invalid("option_id", "set a shipping address before selecting an option")
	}
	if len(f.Options) == 0 {
		return Invalid("option_id", "there are no shipping options for this address")
	}
	if _, ok := optionByID(f.Options, cmd.OptionID); !ok {
		return Invalid("option_id", "unknown shipping option %q; offered: %s", cmd.OptionID, optionIDs(f.Options))
	}
	c.Fulfillment.SelectedOptionID = cmd.OptionID
	return nil
}

// priceFulfillment recomputes c's shipping options for its address and discounted
// subtotal. An undeliverable address is kept, with a message and no options; a selection
// that is no longer offered is cleared.
func (s *step) priceFulfillment(c *Checkout, discountedSubtotal int64) error {
	f := &c.Fulfillment
	if f.Address == nil {
		f.Options, f.SelectedOptionID = nil, ""
		return nil
	}
	opts, ok, err := s.shippingOptions(*f.Address, discountedSubtotal)
	if err != nil {
		return err
	}
	if !ok {
		f.Options, f.SelectedOptionID = nil, ""
		addMessage(c, msgUndeliverable(*f.Address))
		return nil
	}
	f.Options = opts
	if _, ok := optionByID(opts, f.SelectedOptionID); !ok {
		f.SelectedOptionID = ""
	}
	return nil
}

// selectedOption returns the option c's fulfillment has selected.
func selectedOption(f Fulfillment) (ShippingOption, bool) {
	if f.SelectedOptionID == "" {
		return ShippingOption{}, false
	}
	return optionByID(f.Options, f.SelectedOptionID)
}

func optionByID(opts []ShippingOption, id string) (ShippingOption, bool) {
	for _, o := range opts {
		if o.ID == id {
			return o, true
		}
	}
	return ShippingOption{}, false
}

func optionIDs(opts []ShippingOption) string {
	ids := make([]string, len(opts))
	for i, o := range opts {
		ids[i] = o.ID
	}
	return strings.Join(ids, ", ")
}

// needsShipping reports whether c holds a physical (non-digital) line.
func needsShipping(lines []LineItem) bool {
	for _, l := range lines {
		if !l.Item.Digital {
			return true
		}
	}
	return false
}
