package envelopes

import (
	"strconv"

	"github.com/cartwright-dev/cartwright/commerce"
)

// encOrderUCP is an order's ucp object.
const encOrderUCP = `{"version":"` + UCPVersion + `","capabilities":[{"name":"` + CapOrder + `","version":"` + UCPVersion + `"}]}`

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
