package envelopes

import (
	"errors"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Order is UCP's order resource (dev.ucp.shopping.order), as it goes on the wire under
// a2a.ucp.order, with the state of its payment.
type Order struct {
	UCP          UCP          `json:"ucp"`
	ID           string       `json:"id"`
	CheckoutID   string       `json:"checkout_id"`
	Status       string       `json:"status"`
	Currency     string       `json:"currency"`
	LineItems    []LineItem   `json:"line_items"`
	Buyer        *Buyer       `json:"buyer,omitempty"`
	Fulfillment  *Fulfillment `json:"fulfillment,omitempty"`
	Totals       []Total      `json:"totals"`
	Payment      OrderPayment `json:"payment"`
	PermalinkURL string       `json:"permalink_url,omitempty"`
	CreatedAt    string       `json:"created_at,omitempty"`
	UpdatedAt    string       `json:"updated_at,omitempty"`
	// Adjustments are those the platform reported (update_order); absent when none.
	Adjustments []Adjustment `json:"adjustments,omitempty"`
}

// OrderPayment is where an order's payment stands, amounts in minor units.
type OrderPayment struct {
	ID         string `json:"id"`
	HandlerID  string `json:"handler_id"`
	Status     string `json:"status"`
	Authorized int64  `json:"authorized"`
	Captured   int64  `json:"captured"`
	Refunded   int64  `json:"refunded"`
}

// EncodeOrder encodes o as UCP's order resource.
func EncodeOrder(o *commerce.Order) ([]byte, error) {
	if o == nil {
		return nil, errors.New("envelopes: nil order")
	}
	var r Resources
	defer r.Release()
	r.scratch()
	r.buf = encOrder(r.buf, o)
	return r.take(0), nil
}
