package commerce

import (
	"context"
	"time"
)

// Policy is the tenant's business settings that the domain applies.
type Policy struct {
	Currency string
	// CheckoutTTL is how long a checkout stays open (default 6 h).
	CheckoutTTL time.Duration
	// EscalationLimit: a total above it needs a human (requires_escalation). 0 disables.
	EscalationLimit int64
	// AutoCapture captures the payment at completion (the demo's); otherwise it is only
	// authorized and captured later by capture_payment.
	AutoCapture bool
	// BaseURL prefixes continue_url (<BaseURL>/checkouts/<id>) and the order's permalink
	// (<BaseURL>/orders/<tenant>/<context>/<id>).
	BaseURL string
	// MaxLineItems bounds a checkout's lines (default 100); MaxQuantity a line's quantity
	// (default 999). With the defaults no sum can pass MaxAmount (money.go); raised far
	// beyond them, a checkout whose sum would is refused with an internal error.
	MaxLineItems int
	MaxQuantity  int
	// MandateRequired refuses a completion without an AP2 checkout mandate
	// (mandate_required); Env.Mandates verifies the ones presented.
	MandateRequired bool
	// Discounts says how discount codes combine. The zero value is the demo's rule: one
	// code per checkout, a percentage of the subtotal rounded half up.
	Discounts DiscountRules
	// Customers are the tenant's known customers: a buyer who is one of them is offered
	// their saved addresses as shipping destinations.
	Customers []Customer
	// PaymentHandlers lists the handler ids a completion may name; empty accepts any (the
	// payment provider judges the instrument).
	PaymentHandlers []string
	// BuyerEmailOptional lets a checkout without the buyer's email be ready for
	// completion. The zero value is the contract's rule: incomplete until it is given.
	BuyerEmailOptional bool
	// PartialAddressOK lets a checkout shipping to a partial address (a country, say) be
	// ready for completion. The zero value holds it back (address_incomplete) until the
	// address has a street, a locality and a postal code.
	PartialAddressOK bool
}

// DiscountRules says how a tenant's discount codes combine.
type DiscountRules struct {
	// Stacking lets several codes apply together, in the order submitted; without it a
	// second code is refused with a warning (discount_code_combination_disallowed).
	Stacking bool
	// MaxCodes bounds the codes kept when stacking (default DefaultMaxDiscountCodes);
	// codes past it are refused with the same warning.
	MaxCodes int
	// Compound applies each code to what the codes before it left, rather than every code
	// to the subtotal.
	Compound bool
	// Truncate rounds a percentage toward zero (what integer arithmetic on a price does),
	// rather than half up.
	Truncate bool
}

// Customer is a tenant's known customer: matched by email (without regard to case) or by
// id, with the addresses the customer saved.
type Customer struct {
	ID        string
	Email     string
	Addresses []Destination
}

// Env is everything Apply needs besides the state and the command. It holds no clock and
// no randomness of its own: Now and Seed come from the envelope being applied.
type Env struct {
	Tenant  string
	Context string
	Now     time.Time
	// Seed makes ids deterministic: the same seed yields the same ids (see NewID).
	Seed   string
	Policy Policy

	Catalog   Catalog
	Inventory Inventory
	Shipping  Shipping
	Tax       Tax
	Discounts DiscountBook
	Payments  Payments
	// Mandates verifies AP2 mandates; nil when the tenant does not check them.
	Mandates Mandates
	// Addresses is the tenant's address book; nil when it keeps none.
	Addresses AddressBook
}

// State is what one context holds: its current (open or most recent) checkout and the
// orders placed from it.
type State struct {
	Checkout *Checkout
	Orders   []*Order
}

// EventType names a domain event (published on a2a.evt.<tenant>.<type>).
type EventType string

const (
	EvtCheckoutCompleted EventType = "checkout.completed"
	EvtCheckoutCanceled  EventType = "checkout.canceled"
	EvtCheckoutExpired   EventType = "checkout.expired"
	EvtOrderCreated      EventType = "order.created"
	EvtOrderCanceled     EventType = "order.canceled"
	EvtOrderShipped      EventType = "order.shipped"
	EvtOrderUpdated      EventType = "order.updated"
	EvtPaymentAuthorized EventType = "payment.authorized"
	EvtPaymentCaptured   EventType = "payment.captured"
	EvtPaymentVoided     EventType = "payment.voided"
	EvtPaymentRefunded   EventType = "payment.refunded"
)

// Event is a domain event. Exactly one of Checkout and Order is set: the resource as it
// stands after the change. Amount is set on payment events.
type Event struct {
	Type     EventType
	Checkout *Checkout
	Order    *Order
	Amount   int64
}

// Result is what applying a command produced.
type Result struct {
	// State is the context's state after the command. When Changed is false it is the
	// state that was passed in.
	State   State
	Changed bool
	// Checkout or Order is the resource the reply carries (exactly one is set on success;
	// with an error, Checkout is the expired checkout when Changed, else nil).
	Checkout *Checkout
	Order    *Order
	Events   []Event
	// Reserve lists the stock to reserve (keyed by checkout id) for a completion;
	// Release names checkouts whose reservations are to be released.
	Reserve []Reservation
	Release []string
}

// Reservation is stock held for a completed checkout.
type Reservation struct {
	CheckoutID string
	ItemID     string
	Quantity   int64
}

// Apply applies cmd to st and returns the new state and what to reply. It never modifies
// st: the caller may keep using it, e.g. when a later step fails and the batch must not
// contain this change. A business problem (out of stock, invalid code, declined payment)
// is a message on the checkout, not an error; an error is one of the kinds of errors.go.
//
// Apply first expires the checkout when env.Now is past its expires_at; a change to an
// expired checkout is then checkout_expired.
//
// The caller commits Result.State and publishes Result.Events whenever Result.Changed is
// true, EVEN WHEN err != nil: a command refused because it found the checkout expired
// still carries the expiry (the canceled checkout and its checkout.expired event), and
// that must be recorded like any other change. When err != nil and Changed is false,
// Result.State is st and there is nothing to commit. A read (get_checkout, get_order,
// list_shipping_options) and a change that changes nothing return Changed=false.
//
// Apply is deterministic: the same env, st and cmd give the same Result, provided the
// providers answer the same (the built-in ones do, and the payment handler answers a
// repeated idempotency key with its first answer).
func Apply(ctx context.Context, env Env, st State, cmd Command) (Result, error) {
	return apply(ctx, env, st, cmd)
}
