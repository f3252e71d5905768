package envelopes

import (
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// The wire builders: the domain's checkouts and orders as the wire structs, whose
// encoding/json bytes are what the hand-written encoders (encode.go) must write. Replies
// and events were encoded this way before; the differential tests (encode_diff_test.go)
// keep them as the reference.

func checkoutWire(c *commerce.Checkout) *Checkout {
	w := &Checkout{
		UCP:         checkoutUCP(),
		ID:          c.ID,
		Status:      string(c.Status),
		Currency:    c.Currency,
		LineItems:   lineItemsWire(c.LineItems),
		Buyer:       buyerWire(c.Buyer),
		Fulfillment: fulfillmentWire(c.Fulfillment, c.LineItems),
		Discounts:   discountsWire(c.Discounts),
		Totals:      totalsWire(c.Totals),
		Links:       []Link{},
		ExpiresAt:   timestamp(c.ExpiresAt),
		ContinueURL: c.ContinueURL,
	}
	if c.Context != nil {
		w.Context = &Context{
			AddressCountry: c.Context.AddressCountry,
			AddressRegion:  c.Context.AddressRegion,
			PostalCode:     c.Context.PostalCode,
		}
	}
	if len(c.Messages) > 0 {
		w.Messages = make([]CheckoutMessage, len(c.Messages))
		for i, m := range c.Messages {
			w.Messages[i] = CheckoutMessage{
				Type:     string(m.Type),
				Code:     m.Code,
				Path:     m.Path,
				Content:  m.Content,
				Severity: string(m.Severity),
			}
		}
	}
	if c.Order != nil {
		w.Order = &OrderRef{ID: c.Order.ID, PermalinkURL: c.Order.PermalinkURL}
	}
	return w
}

func discountsWire(d commerce.Discounts) Discounts {
	w := Discounts{Codes: make([]string, len(d.Codes)), Applied: make([]AppliedDiscount, len(d.Applied))}
	copy(w.Codes, d.Codes)
	for i, a := range d.Applied {
		amount := a.Amount
		if amount < 0 {
			amount = -amount
		}
		w.Applied[i] = AppliedDiscount{Code: a.Code, Title: a.Title, Amount: amount}
	}
	return w
}

func totalsWire(ts []commerce.Total) []Total {
	out := make([]Total, len(ts))
	for i, t := range ts {
		out[i] = Total{Type: string(t.Type), DisplayText: t.DisplayText, Amount: t.Amount}
	}
	return out
}

func lineItemsWire(ls []commerce.LineItem) []LineItem {
	out := make([]LineItem, len(ls))
	for i, l := range ls {
		out[i] = LineItem{
			ID:       l.ID,
			Item:     Item{ID: l.Item.ID, Title: l.Item.Title, Price: l.Item.Price},
			Quantity: l.Quantity,
			Totals:   totalsWire(l.Totals),
		}
	}
	return out
}

func buyerWire(b *commerce.Buyer) *Buyer {
	if b == nil {
		return nil
	}
	w := &Buyer{FirstName: b.FirstName, LastName: b.LastName, Email: b.Email, PhoneNumber: b.PhoneNumber}
	if c := b.Consent; c != nil {
		w.Consent = &Consent{Analytics: c.Analytics, Preferences: c.Preferences, Marketing: c.Marketing, SaleOfData: c.SaleOfData}
	}
	return w
}

func addressWire(a commerce.Address) PostalAddress {
	return PostalAddress{
		StreetAddress:   a.StreetAddress,
		AddressLocality: a.AddressLocality,
		AddressRegion:   a.AddressRegion,
		PostalCode:      a.PostalCode,
		AddressCountry:  a.AddressCountry,
	}
}

func checkoutUCP() UCP {
	return UCP{Version: UCPVersion, Capabilities: []Capability{
		{Name: CapCheckout, Version: UCPVersion},
		{Name: CapFulfillment, Version: UCPVersion},
		{Name: CapDiscount, Version: UCPVersion},
	}}
}

func orderUCP() UCP {
	return UCP{Version: UCPVersion, Capabilities: []Capability{{Name: CapOrder, Version: UCPVersion}}}
}

// timestamp formats t as RFC 3339 in UTC, with as many fractional digits as it has; "" for
// the zero time.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// fulfillmentWire returns the fulfillment of lines f; nil when nothing about shipping is
// known yet.
func fulfillmentWire(f commerce.Fulfillment, lines []commerce.LineItem) *Fulfillment {
	if f.Address == nil && len(f.Options) == 0 && f.SelectedOptionID == "" && !f.Requested && len(f.Destinations) == 0 {
		return nil
	}
	ids := make([]string, 0, len(lines))
	for _, l := range lines {
		if !l.Item.Digital {
			ids = append(ids, l.ID)
		}
	}
	m := FulfillmentMethod{
		ID:          shippingMethodID,
		Type:        "shipping",
		LineItemIDs: ids,
		Groups:      []FulfillmentGroup{},
	}
	if f.Address != nil && f.DestinationID == "" {
		m.SelectedDestinationID = destinationID
		m.Destinations = append(m.Destinations, ShippingDestination{ID: destinationID, PostalAddress: addressWire(*f.Address)})
	} else if f.Address != nil {
		m.SelectedDestinationID = f.DestinationID
	}
	for _, d := range f.Destinations {
		if d.ID == destinationID && f.Address != nil && f.DestinationID == "" {
			continue // another destination named dest_1: the address set without an id has the id
		}
		m.Destinations = append(m.Destinations, ShippingDestination{ID: d.ID, PostalAddress: addressWire(d.Address)})
	}
	if len(f.Options) > 0 || f.SelectedOptionID != "" {
		g := FulfillmentGroup{
			ID:               groupID,
			LineItemIDs:      ids,
			SelectedOptionID: f.SelectedOptionID,
			Options:          make([]FulfillmentOption, len(f.Options)),
		}
		for i, o := range f.Options {
			g.Options[i] = FulfillmentOption{
				ID:     o.ID,
				Title:  o.Title,
				Totals: []Total{{Type: string(commerce.TotalTotal), Amount: o.Amount}},
			}
		}
		m.Groups = append(m.Groups, g)
	}
	return &Fulfillment{Methods: []FulfillmentMethod{m}}
}

// shippedWire adds the order's "shipped" fulfillment event to f (made when nil).
func shippedWire(f *Fulfillment, o *commerce.Order) *Fulfillment {
	if o.ShippedAt.IsZero() {
		return f
	}
	if f == nil {
		f = &Fulfillment{Methods: []FulfillmentMethod{}}
	}
	ev := FulfillmentEvent{ID: "ful_1", OccurredAt: timestamp(o.ShippedAt), Type: "shipped", LineItems: []FulfillmentLineQty{}}
	for _, l := range o.LineItems {
		ev.LineItems = append(ev.LineItems, FulfillmentLineQty{ID: l.ID, Quantity: l.Quantity})
	}
	f.Events = append(f.Events, ev)
	return f
}

func orderWire(o *commerce.Order) *Order {
	return &Order{
		UCP:         orderUCP(),
		ID:          o.ID,
		CheckoutID:  o.CheckoutID,
		Status:      string(o.Status),
		Currency:    o.Currency,
		LineItems:   lineItemsWire(o.LineItems),
		Buyer:       buyerWire(o.Buyer),
		Fulfillment: reportedWire(shippedWire(fulfillmentWire(o.Fulfillment, o.LineItems), o), o),
		Totals:      totalsWire(o.Totals),
		Payment: OrderPayment{
			ID:         o.Payment.ID,
			HandlerID:  o.Payment.HandlerID,
			Status:     string(o.Payment.Status),
			Authorized: o.Payment.Authorized,
			Captured:   o.Payment.Captured,
			Refunded:   o.Payment.Refunded,
		},
		PermalinkURL: o.PermalinkURL,
		CreatedAt:    timestamp(o.CreatedAt),
		UpdatedAt:    timestamp(o.UpdatedAt),
		Adjustments:  adjustmentsWire(o.Adjustments),
	}
}

// reportedWire adds the events the platform reported to f (made when nil).
func reportedWire(f *Fulfillment, o *commerce.Order) *Fulfillment {
	if len(o.Events) == 0 {
		return f
	}
	if f == nil {
		f = &Fulfillment{Methods: []FulfillmentMethod{}}
	}
	for _, e := range o.Events {
		f.Events = append(f.Events, FulfillmentEvent{
			ID: e.ID, OccurredAt: timestamp(e.OccurredAt), Type: e.Type, LineItems: lineQtyWire(e.LineItems),
			TrackingNumber: e.TrackingNumber, TrackingURL: e.TrackingURL, Carrier: e.Carrier, Description: e.Description,
		})
	}
	return f
}

func adjustmentsWire(as []commerce.Adjustment) []Adjustment {
	var out []Adjustment
	for _, a := range as {
		w := Adjustment{ID: a.ID, Type: a.Type, OccurredAt: timestamp(a.OccurredAt), Status: a.Status, Amount: a.Amount, Description: a.Description}
		if len(a.LineItems) > 0 {
			w.LineItems = lineQtyWire(a.LineItems)
		}
		out = append(out, w)
	}
	return out
}

func lineQtyWire(ls []commerce.LineQuantity) []FulfillmentLineQty {
	out := []FulfillmentLineQty{}
	for _, l := range ls {
		out = append(out, FulfillmentLineQty{ID: l.ID, Quantity: l.Quantity})
	}
	return out
}
