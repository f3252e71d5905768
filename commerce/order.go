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
	// Events are the fulfillment events the platform reported (update_order), after the
	// shipped one ShippedAt makes.
	Events []OrderEvent
	// Adjustments are the post-order adjustments the platform reported (update_order):
	// refunds, returns, credits and the like, as it tells them.
	Adjustments []Adjustment
}

// OrderEvent is a fulfillment event of an order (UCP's order fulfillment.events[]).
type OrderEvent struct {
	ID             string
	Type           string // shipped, in_transit, delivered, ...
	OccurredAt     time.Time
	LineItems      []LineQuantity
	TrackingNumber string
	TrackingURL    string
	Carrier        string
	Description    string
}

// Adjustment is a change to an order after it was placed (UCP's order adjustments[]).
type Adjustment struct {
	ID          string
	Type        string // refund, return, credit, ...
	Status      string // pending, completed or failed
	OccurredAt  time.Time
	LineItems   []LineQuantity
	Amount      int64 // minor units, 0 when none was given
	Description string
}

// LineQuantity is a quantity of one of an order's lines.
type LineQuantity struct {
	ID       string
	Quantity int
}

// Adjustment statuses (UCP's adjustment.status).
const (
	AdjustmentPending   = "pending"
	AdjustmentCompleted = "completed"
	AdjustmentFailed    = "failed"
)

// ShippedEventID is the id of the fulfillment event a shipped order shows (ShippedAt):
// cartwright's own, never one of the platform's.
const ShippedEventID = "ful_1"
