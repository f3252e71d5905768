package commerce

import (
	"slices"
	"strings"
)

// setAddress sets where to ship. The options for it are computed by repricing, which runs
// after every change because they depend on the discounted subtotal (free shipping).
func setAddress(c *Checkout, cmd SetShippingAddress) error {
	a := cmd.Address
	c.Fulfillment.Address = &a
	c.Fulfillment.DestinationID = ""
	return nil
}

// setDestinations takes an update's fulfillment: the destinations sent, and the chosen
// one, which may be a saved address of the known customer (the buyer is set first). A
// destination sent without an id that is one of the customer's saved addresses (the same
// fields, without regard to case) is that saved address, by its id.
func (s *step) setDestinations(c *Checkout, u UpdateCheckout) error {
	c.Fulfillment = Fulfillment{
		Address:       clonePtr(u.Address),
		Destinations:  slices.Clone(u.Destinations),
		DestinationID: u.DestinationID,
		Requested:     u.ShippingRequested && u.Address == nil,
	}
	if u.Address != nil && u.DestinationID == "" {
		if cu, ok := s.customer(c.Buyer); ok {
			for _, d := range cu.Addresses {
				if sameAddress(d.Address, *u.Address) {
					c.Fulfillment.DestinationID = d.ID
					c.Fulfillment.Destinations = append(c.Fulfillment.Destinations, Destination{ID: d.ID, Address: *u.Address})
					break
				}
			}
		}
		// With an address book, a complete address sent without an id by a buyer with an
		// email gets the id it is kept under (LearnedID), which the next checkouts of the
		// same email offer it by.
		if c.Fulfillment.DestinationID == "" && s.env.Addresses != nil && c.Buyer != nil && c.Buyer.Email != "" && u.Address.Complete() {
			id := LearnedID(*u.Address)
			c.Fulfillment.DestinationID = id
			c.Fulfillment.Destinations = append(c.Fulfillment.Destinations, Destination{ID: id, Address: *u.Address})
		}
	}
	if u.DestinationID == "" || u.Address != nil {
		return nil
	}
	if cu, ok := s.customer(c.Buyer); ok {
		for _, d := range cu.Addresses {
			if d.ID == u.DestinationID {
				a := d.Address
				c.Fulfillment.Address = &a
				return nil
			}
		}
	}
	return Invalid("fulfillment", "destination %q is neither one sent nor a saved address of the buyer", u.DestinationID)
}

// customer returns the known customer b is: by CustomerID, else by email (without regard
// to case), with the addresses the tenant's address book keeps for b's email after the
// configured ones (those the configuration has already are not repeated). A buyer the
// configuration does not know is a customer when the book has addresses for the email.
func (s *step) customer(b *Buyer) (Customer, bool) {
	if b == nil {
		return Customer{}, false
	}
	var (
		out   Customer
		found bool
	)
	for _, cu := range s.env.Policy.Customers {
		if b.CustomerID != "" && cu.ID == b.CustomerID || b.Email != "" && strings.EqualFold(cu.Email, b.Email) {
			out, found = cu, true
			break
		}
	}
	learned := s.learned(b.Email)
	if len(learned) == 0 {
		return out, found
	}
	out.Addresses = slices.Clone(out.Addresses)
	for _, d := range learned {
		if !slices.ContainsFunc(out.Addresses, func(x Destination) bool { return x.ID == d.ID || sameAddress(x.Address, d.Address) }) {
			out.Addresses = append(out.Addresses, d)
		}
	}
	if !found {
		out.Email = b.Email
	}
	return out, true
}

// learned returns the addresses the tenant's address book keeps for email, read once per
// step (nil without a book or an email).
func (s *step) learned(email string) []Destination {
	if s.env.Addresses == nil || email == "" {
		return nil
	}
	if s.book.read && strings.EqualFold(s.book.email, email) {
		return s.book.saved
	}
	saved, err := s.env.Addresses.Addresses(s.ctx, email)
	if err != nil {
		saved = nil // best-effort: the book reports its own failures
	}
	s.book.email, s.book.saved, s.book.read = email, saved, true
	return saved
}

// sameAddress reports whether a and b are the same address, without regard to case.
func sameAddress(a, b Address) bool {
	return strings.EqualFold(a.StreetAddress, b.StreetAddress) && strings.EqualFold(a.AddressLocality, b.AddressLocality) &&
		strings.EqualFold(a.AddressRegion, b.AddressRegion) && strings.EqualFold(a.PostalCode, b.PostalCode) &&
		strings.EqualFold(a.AddressCountry, b.AddressCountry)
}

// offerSaved brings the saved addresses offered in c up to date with its buyer and lines:
// a known customer's addresses are offered while the checkout has something to ship and
// the agent sent no destination of its own (none with an id, no address without one): an
// agent that sends destinations is shown those, as UCP's conformance suite expects. A
// chosen saved address no longer offered is unchosen.
func (s *step) offerSaved(c *Checkout) {
	f := &c.Fulfillment
	f.Destinations = slices.DeleteFunc(f.Destinations, func(d Destination) bool { return d.Saved })
	sent := len(f.Destinations) > 0 || f.Address != nil && f.DestinationID == ""
	if needsShipping(c.LineItems) && !sent {
		// The customer only now: with an address book it is a read.
		if cu, ok := s.customer(c.Buyer); ok {
			for _, d := range cu.Addresses {
				d.Saved = true
				f.Destinations = append(f.Destinations, d)
			}
		}
	}
	if len(f.Destinations) == 0 {
		f.Destinations = nil
	}
	if f.DestinationID != "" && !slices.ContainsFunc(f.Destinations, func(x Destination) bool { return x.ID == f.DestinationID }) {
		f.Address, f.DestinationID, f.Requested = nil, "", true
	}
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
// that is no longer offered is cleared. A partial address is priced (its options may be
// chosen) and holds the checkout back with a message until it is complete, unless the
// policy allows partial addresses.
func (s *step) priceFulfillment(c *Checkout, discountedSubtotal int64) error {
	s.offerSaved(c)
	f := &c.Fulfillment
	if f.Address == nil {
		f.Options, f.SelectedOptionID = nil, ""
		return nil
	}
	opts, ok, err := s.shippingOptions(*f.Address, discountedSubtotal, c.LineItems)
	if err != nil {
		return err
	}
	if !ok {
		f.Options, f.SelectedOptionID = nil, ""
		addMessage(c, msgUndeliverable(*f.Address))
		return nil
	}
	f.Options = opts
	if !f.Address.Complete() && !s.env.Policy.PartialAddressOK {
		addMessage(c, msgAddressIncomplete())
	}
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
