package envelopes

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cartwright-dev/cartwright/commerce"
)

// The hand-written encoders of the resources, replies, events and errors. They write
// straight from the domain's values, with no wire struct in between, the bytes
// encoding/json writes for the wire structs (Checkout, Order, Event, AgentMessage,
// RPCError and what they hold) as the reference builders fill them (checkoutWire,
// orderWire, in wire_reference_test.go): the same field order, the same fields left out
// (omitempty), the same escapes (<, > and & too, U+2028 and U+2029, invalid UTF-8 as
// U+FFFD) and numbers. encode_diff_test.go holds them to that, byte for byte, on random
// checkouts and orders (and FuzzEncoders on the fuzzer's strings). A change of a wire
// struct is a change here and in the reference builders. Only the payment handlers, a
// map with free-form config, are left to encoding/json.

// encSafe[b] reports whether the ASCII byte b goes into a JSON string as it is:
// encoding/json's htmlSafeSet (it escapes <, > and & by default).
var encSafe = func() (t [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = false, false, false, false, false
	return t
}()

const encHex = "0123456789abcdef"

// encString appends s as a JSON string, quoted.
func encString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = encStringBody(dst, s)
	return append(dst, '"')
}

// encStringBody appends s as encoding/json writes it between the quotes: control
// characters, quotes, backslashes, <, > and & escaped, U+2028 and U+2029 escaped, and each
// byte of invalid UTF-8 replaced by \ufffd.
func encStringBody(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if encSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', encHex[b>>4], encHex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', encHex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// encTimestamp appends t quoted, as RFC 3339 in UTC with as many fractional digits as it
// has; "" for the zero time. Nothing in it needs an escape.
func encTimestamp(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	if !t.IsZero() {
		dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	}
	return append(dst, '"')
}

// encField appends the comma before a field of the object opened at dst[open] (its '{'),
// unless the field is the first, then the field's quoted name and colon, given as
// `"name":`.
func encField(dst []byte, open int, name string) []byte {
	if len(dst) > open+1 {
		dst = append(dst, ',')
	}
	return append(dst, name...)
}

// encOptString appends the field name: s unless s is "" (omitempty).
func encOptString(dst []byte, open int, name, s string) []byte {
	if s == "" {
		return dst
	}
	return encString(encField(dst, open, name), s)
}

// encNextString appends the field name: s, name given with its leading comma, unless s is
// "" (omitempty).
func encNextString(dst []byte, name, s string) []byte {
	if s == "" {
		return dst
	}
	return encString(append(dst, name...), s)
}

func encOptBool(dst []byte, open int, name string, b *bool) []byte {
	if b == nil {
		return dst
	}
	return strconv.AppendBool(encField(dst, open, name), *b)
}

const (
	encCheckoutUCP = `{"version":"` + UCPVersion + `","capabilities":[{"name":"` + CapCheckout + `","version":"` + UCPVersion +
		`"},{"name":"` + CapFulfillment + `","version":"` + UCPVersion + `"},{"name":"` + CapDiscount + `","version":"` + UCPVersion + `"}]`
	encOrderUCP = `{"version":"` + UCPVersion + `","capabilities":[{"name":"` + CapOrder + `","version":"` + UCPVersion + `"}]}`
)

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

// encOrder appends o as the wire Order (orderWire).
func encOrder(dst []byte, o *commerce.Order) []byte {
	dst = append(dst, `{"ucp":`+encOrderUCP+`,"id":`...)
	dst = encString(dst, o.ID)
	dst = encString(append(dst, `,"checkout_id":`...), o.CheckoutID)
	dst = encString(append(dst, `,"status":`...), string(o.Status))
	dst = encString(append(dst, `,"currency":`...), o.Currency)
	dst = encLineItems(append(dst, `,"line_items":`...), o.LineItems)
	if o.Buyer != nil {
		dst = encBuyer(append(dst, `,"buyer":`...), o.Buyer)
	}
	method := encHasMethod(o.Fulfillment)
	if method || !o.ShippedAt.IsZero() || len(o.Events) > 0 {
		dst = append(dst, `,"fulfillment":{"methods":[`...)
		if method {
			dst = encMethod(dst, o.Fulfillment, o.LineItems)
		}
		dst = append(dst, ']')
		if !o.ShippedAt.IsZero() || len(o.Events) > 0 {
			dst = append(dst, `,"events":[`...)
			if !o.ShippedAt.IsZero() {
				dst = encTimestamp(append(dst, `{"id":"ful_1","occurred_at":`...), o.ShippedAt)
				dst = append(dst, `,"type":"shipped","line_items":[`...)
				for i, l := range o.LineItems {
					dst = encLineQty(dst, i, l.ID, l.Quantity)
				}
				dst = append(dst, "]}"...)
			}
			for i, e := range o.Events {
				if i > 0 || !o.ShippedAt.IsZero() {
					dst = append(dst, ',')
				}
				dst = encString(append(dst, `{"id":`...), e.ID)
				dst = encTimestamp(append(dst, `,"occurred_at":`...), e.OccurredAt)
				dst = encString(append(dst, `,"type":`...), e.Type)
				dst = encLineQtys(append(dst, `,"line_items":`...), e.LineItems)
				dst = encNextString(dst, `,"tracking_number":`, e.TrackingNumber)
				dst = encNextString(dst, `,"tracking_url":`, e.TrackingURL)
				dst = encNextString(dst, `,"carrier":`, e.Carrier)
				dst = encNextString(dst, `,"description":`, e.Description)
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	dst = encTotals(append(dst, `,"totals":`...), o.Totals)
	p := o.Payment
	dst = encString(append(dst, `,"payment":{"id":`...), p.ID)
	dst = encString(append(dst, `,"handler_id":`...), p.HandlerID)
	dst = encString(append(dst, `,"status":`...), string(p.Status))
	dst = strconv.AppendInt(append(dst, `,"authorized":`...), p.Authorized, 10)
	dst = strconv.AppendInt(append(dst, `,"captured":`...), p.Captured, 10)
	dst = strconv.AppendInt(append(dst, `,"refunded":`...), p.Refunded, 10)
	dst = append(dst, '}')
	if o.PermalinkURL != "" {
		dst = encString(append(dst, `,"permalink_url":`...), o.PermalinkURL)
	}
	if !o.CreatedAt.IsZero() {
		dst = encTimestamp(append(dst, `,"created_at":`...), o.CreatedAt)
	}
	if !o.UpdatedAt.IsZero() {
		dst = encTimestamp(append(dst, `,"updated_at":`...), o.UpdatedAt)
	}
	if len(o.Adjustments) > 0 {
		dst = append(dst, `,"adjustments":[`...)
		for i, a := range o.Adjustments {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = encString(append(dst, `{"id":`...), a.ID)
			dst = encString(append(dst, `,"type":`...), a.Type)
			dst = encTimestamp(append(dst, `,"occurred_at":`...), a.OccurredAt)
			dst = encString(append(dst, `,"status":`...), a.Status)
			if len(a.LineItems) > 0 {
				dst = encLineQtys(append(dst, `,"line_items":`...), a.LineItems)
			}
			dst = strconv.AppendInt(append(dst, `,"amount":`...), a.Amount, 10)
			if a.Description != "" {
				dst = encString(append(dst, `,"description":`...), a.Description)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func encLineQty(dst []byte, i int, id string, q int) []byte {
	if i > 0 {
		dst = append(dst, ',')
	}
	dst = encString(append(dst, `{"id":`...), id)
	return append(strconv.AppendInt(append(dst, `,"quantity":`...), int64(q), 10), '}')
}

func encLineQtys(dst []byte, ls []commerce.LineQuantity) []byte {
	dst = append(dst, '[')
	for i, l := range ls {
		dst = encLineQty(dst, i, l.ID, l.Quantity)
	}
	return append(dst, ']')
}

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

// encErrorBody appends the RPCError of ErrorBody.
func encErrorBody(dst []byte, rpcCode int, code, msg, path, messageID string) []byte {
	dst = strconv.AppendInt(append(dst, `{"code":`...), int64(rpcCode), 10)
	dst = encString(append(dst, `,"message":`...), msg)
	dst = encString(append(dst, `,"data":{"code":`...), code)
	if path != "" {
		dst = encString(append(dst, `,"path":`...), path)
	}
	if messageID != "" {
		dst = encString(append(dst, `,"messageId":`...), messageID)
	}
	return append(dst, "}}"...)
}

// encPaymentHandlers encodes ph as the ucp.payment_handlers of a checkout; nil when
// the field is left out (no handlers). The handlers' config is free-form: encoding/json
// writes it.
func encPaymentHandlers(ph PaymentHandlers) []byte {
	if len(ph) == 0 {
		return nil
	}
	b, err := json.Marshal(ph)
	if err != nil {
		panic("envelopes: encoding payment handlers: " + err.Error())
	}
	return b
}
