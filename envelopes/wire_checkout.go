package envelopes

import (
	"errors"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Checkout is UCP's checkout session resource (dev.ucp.shopping.checkout with the
// fulfillment and discount extensions), as it goes on the wire under a2a.ucp.checkout.
// Money is in integer minor units.
type Checkout struct {
	UCP         UCP               `json:"ucp"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Currency    string            `json:"currency"`
	LineItems   []LineItem        `json:"line_items"`
	Buyer       *Buyer            `json:"buyer,omitempty"`
	Context     *Context          `json:"context,omitempty"`
	Fulfillment *Fulfillment      `json:"fulfillment,omitempty"`
	Discounts   Discounts         `json:"discounts"`
	Totals      []Total           `json:"totals"`
	Messages    []CheckoutMessage `json:"messages,omitempty"`
	Links       []Link            `json:"links"`
	ExpiresAt   string            `json:"expires_at,omitempty"`
	ContinueURL string            `json:"continue_url,omitempty"`
	Order       *OrderRef         `json:"order,omitempty"`
}

// Discounts is the discount extension: the codes submitted and the discounts applied.
type Discounts struct {
	Codes   []string          `json:"codes"`
	Applied []AppliedDiscount `json:"applied"`
}

// AppliedDiscount is a discount that took effect. Its amount is what it takes off, a
// positive number (the discount entry of totals carries the negative one).
type AppliedDiscount struct {
	Code   string `json:"code,omitempty"`
	Title  string `json:"title"`
	Amount int64  `json:"amount"`
}

// CheckoutMessage is a business problem or notice on a checkout (UCP's message).
type CheckoutMessage struct {
	Type     string `json:"type"`
	Code     string `json:"code"`
	Path     string `json:"path,omitempty"`
	Content  string `json:"content"`
	Severity string `json:"severity,omitempty"`
}

// Link is a link for the platform to show (terms, privacy policy).
type Link struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// OrderRef is what a completed checkout says of its order.
type OrderRef struct {
	ID           string `json:"id"`
	PermalinkURL string `json:"permalink_url,omitempty"`
}

// EncodeCheckout encodes c as UCP's checkout resource.
func EncodeCheckout(c *commerce.Checkout) ([]byte, error) {
	if c == nil {
		return nil, errors.New("envelopes: nil checkout")
	}
	var r Resources
	defer r.Release()
	r.scratch()
	r.buf = encCheckout(r.buf, c, nil)
	return r.take(0), nil
}
