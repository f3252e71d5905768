package envelopes

import (
	"strconv"

	"github.com/cartwright-dev/cartwright/commerce"
)

// encCheckoutUCP is a checkout's ucp object up to its capabilities; payment handlers may
// follow.
const encCheckoutUCP = `{"version":"` + UCPVersion + `","capabilities":[{"name":"` + CapCheckout + `","version":"` + UCPVersion +
	`"},{"name":"` + CapFulfillment + `","version":"` + UCPVersion + `"},{"name":"` + CapDiscount + `","version":"` + UCPVersion + `"}]`

// encCheckout appends c as the wire Checkout (checkoutWire) whose ucp lists the
// payment handlers ph, given encoded (nil: none).
func encCheckout(dst []byte, c *commerce.Checkout, ph []byte) []byte {
	dst = append(dst, `{"ucp":`+encCheckoutUCP...)
	if len(ph) > 0 {
		dst = append(append(dst, `,"payment_handlers":`...), ph...)
	}
	dst = append(dst, `},"id":`...)
	dst = encString(dst, c.ID)
	dst = encString(append(dst, `,"status":`...), string(c.Status))
	dst = encString(append(dst, `,"currency":`...), c.Currency)
	dst = encLineItems(append(dst, `,"line_items":`...), c.LineItems)
	if c.Buyer != nil {
		dst = encBuyer(append(dst, `,"buyer":`...), c.Buyer)
	}
	if x := c.Context; x != nil {
		dst = append(dst, `,"context":{`...)
		open := len(dst) - 1
		dst = encOptString(dst, open, `"address_country":`, x.AddressCountry)
		dst = encOptString(dst, open, `"address_region":`, x.AddressRegion)
		dst = encOptString(dst, open, `"postal_code":`, x.PostalCode)
		dst = append(dst, '}')
	}
	if encHasMethod(c.Fulfillment) {
		dst = append(dst, `,"fulfillment":{"methods":[`...)
		dst = encMethod(dst, c.Fulfillment, c.LineItems)
		dst = append(dst, "]}"...)
	}
	dst = append(dst, `,"discounts":{"codes":[`...)
	for i, code := range c.Discounts.Codes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = encString(dst, code)
	}
	dst = append(dst, `],"applied":[`...)
	for i, a := range c.Discounts.Applied {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '{')
		if a.Code != "" {
			dst = append(encString(append(dst, `"code":`...), a.Code), ',')
		}
		dst = encString(append(dst, `"title":`...), a.Title)
		amount := a.Amount
		if amount < 0 {
			amount = -amount
		}
		dst = append(strconv.AppendInt(append(dst, `,"amount":`...), amount, 10), '}')
	}
	dst = encTotals(append(dst, `]},"totals":`...), c.Totals)
	if len(c.Messages) > 0 {
		dst = append(dst, `,"messages":[`...)
		for i, m := range c.Messages {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = encString(append(dst, `{"type":`...), string(m.Type))
			dst = encString(append(dst, `,"code":`...), m.Code)
			if m.Path != "" {
				dst = encString(append(dst, `,"path":`...), m.Path)
			}
			dst = encString(append(dst, `,"content":`...), m.Content)
			if m.Severity != "" {
				dst = encString(append(dst, `,"severity":`...), string(m.Severity))
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"links":[]`...)
	if !c.ExpiresAt.IsZero() {
		dst = encTimestamp(append(dst, `,"expires_at":`...), c.ExpiresAt)
	}
	if c.ContinueURL != "" {
		dst = encString(append(dst, `,"continue_url":`...), c.ContinueURL)
	}
	if c.Order != nil {
		dst = encString(append(dst, `,"order":{"id":`...), c.Order.ID)
		if c.Order.PermalinkURL != "" {
			dst = encString(append(dst, `,"permalink_url":`...), c.Order.PermalinkURL)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// encTotals appends ts as an array of the wire Total.
func encTotals(dst []byte, ts []commerce.Total) []byte {
	dst = append(dst, '[')
	for i, t := range ts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = encString(append(dst, `{"type":`...), string(t.Type))
		if t.DisplayText != "" {
			dst = encString(append(dst, `,"display_text":`...), t.DisplayText)
		}
		dst = append(strconv.AppendInt(append(dst, `,"amount":`...), t.Amount, 10), '}')
	}
	return append(dst, ']')
}

// encLineItems appends ls as an array of the wire LineItem.
func encLineItems(dst []byte, ls []commerce.LineItem) []byte {
	dst = append(dst, '[')
	for i, l := range ls {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = encString(append(dst, `{"id":`...), l.ID)
		dst = encString(append(dst, `,"item":{"id":`...), l.Item.ID)
		dst = encString(append(dst, `,"title":`...), l.Item.Title)
		dst = strconv.AppendInt(append(dst, `,"price":`...), l.Item.Price, 10)
		dst = strconv.AppendInt(append(dst, `},"quantity":`...), int64(l.Quantity), 10)
		dst = append(encTotals(append(dst, `,"totals":`...), l.Totals), '}')
	}
	return append(dst, ']')
}

// encBuyer appends b as the wire Buyer, its consent included when given.
func encBuyer(dst []byte, b *commerce.Buyer) []byte {
	dst = append(dst, '{')
	open := len(dst) - 1
	dst = encOptString(dst, open, `"first_name":`, b.FirstName)
	dst = encOptString(dst, open, `"last_name":`, b.LastName)
	dst = encOptString(dst, open, `"email":`, b.Email)
	dst = encOptString(dst, open, `"phone_number":`, b.PhoneNumber)
	if c := b.Consent; c != nil {
		dst = append(encField(dst, open, `"consent":`), '{')
		copen := len(dst) - 1
		dst = encOptBool(dst, copen, `"analytics":`, c.Analytics)
		dst = encOptBool(dst, copen, `"preferences":`, c.Preferences)
		dst = encOptBool(dst, copen, `"marketing":`, c.Marketing)
		dst = encOptBool(dst, copen, `"sale_of_data":`, c.SaleOfData)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// encHasMethod reports whether anything about shipping is known yet: then the
// fulfillment has its one shipping method (see Fulfillment).
func encHasMethod(f commerce.Fulfillment) bool {
	return f.Address != nil || len(f.Options) > 0 || f.SelectedOptionID != "" || f.Requested || len(f.Destinations) > 0
}

// encMethod appends the one shipping method: the lines that are not digital, the
// destinations (the address set without an id first, as dest_1, then the others but one
// that also says dest_1), and the group when there are options or one is chosen.
// REQUIRES: encHasMethod(f).
func encMethod(dst []byte, f commerce.Fulfillment, lines []commerce.LineItem) []byte {
	dst = append(dst, `{"id":"`+shippingMethodID+`","type":"shipping","line_item_ids":`...)
	dst = encShippedIDs(dst, lines)
	ownDest := f.Address != nil && f.DestinationID == "" // the address set without an id: dest_1
	switch {
	case ownDest:
		dst = append(dst, `,"selected_destination_id":"`+destinationID+`"`...)
	case f.Address != nil && f.DestinationID != "":
		dst = encString(append(dst, `,"selected_destination_id":`...), f.DestinationID)
	}
	n := 0
	if ownDest {
		dst = append(dst, `,"destinations":[{"id":"`+destinationID+`"`...)
		dst = append(encAddress(dst, *f.Address), '}')
		n++
	}
	for _, d := range f.Destinations {
		if d.ID == destinationID && ownDest {
			continue
		}
		if n == 0 {
			dst = append(dst, `,"destinations":[`...)
		} else {
			dst = append(dst, ',')
		}
		dst = encString(append(dst, `{"id":`...), d.ID)
		dst = append(encAddress(dst, d.Address), '}')
		n++
	}
	if n > 0 {
		dst = append(dst, ']')
	}
	dst = append(dst, `,"groups":[`...)
	if len(f.Options) > 0 || f.SelectedOptionID != "" {
		dst = append(dst, `{"id":"`+groupID+`","line_item_ids":`...)
		dst = encShippedIDs(dst, lines)
		if f.SelectedOptionID != "" {
			dst = encString(append(dst, `,"selected_option_id":`...), f.SelectedOptionID)
		}
		dst = append(dst, `,"options":[`...)
		for i, o := range f.Options {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = encString(append(dst, `{"id":`...), o.ID)
			dst = encString(append(dst, `,"title":`...), o.Title)
			dst = strconv.AppendInt(append(dst, `,"totals":[{"type":"`+string(commerce.TotalTotal)+`","amount":`...), o.Amount, 10)
			dst = append(dst, "}]}"...)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, "]}"...)
}

// encShippedIDs appends the ids of the lines that are not digital, as an array.
func encShippedIDs(dst []byte, lines []commerce.LineItem) []byte {
	dst = append(dst, '[')
	n := 0
	for _, l := range lines {
		if l.Item.Digital {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = encString(dst, l.ID)
		n++
	}
	return append(dst, ']')
}

// encAddress appends the fields of a PostalAddress, each with its leading comma: it
// follows a destination's id.
func encAddress(dst []byte, a commerce.Address) []byte {
	if a.StreetAddress != "" {
		dst = encString(append(dst, `,"street_address":`...), a.StreetAddress)
	}
	if a.AddressLocality != "" {
		dst = encString(append(dst, `,"address_locality":`...), a.AddressLocality)
	}
	if a.AddressRegion != "" {
		dst = encString(append(dst, `,"address_region":`...), a.AddressRegion)
	}
	if a.PostalCode != "" {
		dst = encString(append(dst, `,"postal_code":`...), a.PostalCode)
	}
	return encString(append(dst, `,"address_country":`...), a.AddressCountry)
}
