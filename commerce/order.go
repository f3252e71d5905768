package commerce

import "time"

// PaymentStatus is where an order's payment stands.
//
//	authorized ──capture──▶ captured ──refund──▶ partially_refunded ──refund──▶ refunded
//	     │                                            (refund of what is left)
//	     └──void──▶ voided
type PaymentStatus string

const (
	PaymentAuthorized        PaymentStatus = "authorized"
	PaymentCaptured          PaymentStatus = "captured"
	PaymentPartiallyRefunded PaymentStatus = "partially_refunded"
	PaymentRefunded          PaymentStatus = "refunded"
	PaymentVoided            PaymentStatus = "voided"
)

// OrderStatus is an order's status.
type OrderStatus string

const (
	OrderPlaced   OrderStatus = "placed"
	OrderCanceled OrderStatus = "canceled"
)

// Payment is an order's payment as the processor knows it.
type Payment struct {
	ID         string // the processor's reference
	HandlerID  string
	Status     PaymentStatus
	Authorized int64
	Captured   int64
	Refunded   int64
}

// Order is what a completed checkout becomes.
type Order struct {
	ID           string // ord_…
	CheckoutID   string
	Status       OrderStatus
	Currency     string
	LineItems    []LineItem
	Buyer        *Buyer
	Fulfillment  Fulfillment
	Totals       []Total
	Payment      Payment
	PermalinkURL string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// ShippedAt is when the order was shipped (ship_order); zero until then.
	ShippedAt time.Time
}
