package commerce

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// The interfaces below are what the domain needs from the outside world. Package
// providers implements each: a built-in one whose data comes from the tenant's
// configuration, and an HTTP adapter. A provider's error is classified like any other
// (see errors.go): an *Error of KindTransient for a timeout or a 5xx, so that the worker
// retries it; anything unclassified is internal.

// Catalog looks items up.
type Catalog interface {
	// Item returns the item, or ok=false when the catalog has no such item.
	Item(ctx context.Context, id string) (item Item, ok bool, err error)
}

// Inventory counts stock. Stock is held by reservations, keyed by checkout: taken when a
// checkout completes (before the payment), released when the payment is declined, the
// checkout is canceled or expires, or its order is voided or canceled.
//
// Both calls must be idempotent per checkout, because a redelivered envelope makes them
// again: reserving for a checkout that holds its reservation already succeeds without
// taking more, and releasing what is not held does nothing. Stock is shared by every
// context of a tenant, which may be handled by other partitions or other processes: an
// implementation keeps the count where they all see it.
type Inventory interface {
	// Available returns how many units may be sold now; unlimited=true for items whose
	// stock is not counted.
	Available(ctx context.Context, itemID string) (n int64, unlimited bool, err error)
	// Reserve takes lines' quantities out of stock for the checkout, all or nothing. When
	// an item is short it takes nothing and returns ok=false with that item's id.
	Reserve(ctx context.Context, checkoutID string, lines []Reservation) (ok bool, short string, err error)
	// Release gives back everything reserved for the checkout.
	Release(ctx context.Context, checkoutID string) error
}

// ShippingQuote is what a Shipping provider is asked to price.
type ShippingQuote struct {
	Currency           string
	Address            Address
	DiscountedSubtotal int64
	// ItemIDs are the items to ship (the lines that are not digital), in line order.
	ItemIDs []string
}

// Shipping prices the ways to ship to an address.
type Shipping interface {
	// Options returns the options for the address, or ok=false when the address cannot be
	// delivered to.
	Options(ctx context.Context, q ShippingQuote) (opts []ShippingOption, ok bool, err error)
}

// TaxQuote is what a Tax provider is asked to compute.
type TaxQuote struct {
	Currency           string
	Address            *Address // nil before a shipping address is known
	DiscountedSubtotal int64
	Shipping           int64
}

// Tax computes tax.
type Tax interface {
	Tax(ctx context.Context, q TaxQuote) (int64, error)
}

// Discount is what a code is worth.
type Discount struct {
	Code    string
	Title   string
	Percent int64 // whole percent of the subtotal, or
	Amount  int64 // a fixed amount in minor units
}

// DiscountBook resolves discount codes.
type DiscountBook interface {
	// Lookup returns the discount for code, or ok=false when the code is not valid.
	Lookup(ctx context.Context, code string) (d Discount, ok bool, err error)
}

// PaymentRequest asks a payment handler to authorize (and, with Capture, capture) a payment.
type PaymentRequest struct {
	// IdempotencyKey is the same on every retry of the same step, so the processor never
	// charges twice.
	IdempotencyKey string
	CheckoutID     string
	Instrument     PaymentInstrument
	Currency       string
	Amount         int64
	Capture        bool
	// Mandate is the AP2 checkout mandate the completion carried ("" without one), for
	// the provider's own checks: the merchant's verification, when the tenant enables
	// it, has passed before the provider is asked.
	Mandate string
}

// PaymentResult is a handler's answer. A decline is a result, not an error.
type PaymentResult struct {
	Approved  bool
	PaymentID string
	// DeclineReason is shown to the buyer in the payment_failed message.
	DeclineReason string
}

// PaymentOp is a follow-up operation on an authorized payment.
type PaymentOp struct {
	IdempotencyKey string
	PaymentID      string
	Currency       string
	Amount         int64
}

// Payments is a payment handler (the demo's is "mock").
type Payments interface {
	Authorize(ctx context.Context, r PaymentRequest) (PaymentResult, error)
	Capture(ctx context.Context, op PaymentOp) error
	Void(ctx context.Context, op PaymentOp) error
	Refund(ctx context.Context, op PaymentOp) error
}

// MandateCheck is what an AP2 checkout mandate must prove for a completion: that the
// buyer's side authorized this merchant to take this checkout's total, now.
type MandateCheck struct {
	// Mandate is the SD-JWT as the request carried it.
	Mandate    string
	CheckoutID string
	Currency   string
	Total      int64
	Now        time.Time
}

// Mandates verifies AP2 checkout mandates (the tenant's issuers and merchant identity are
// the implementation's). A failure is an *Error with one of the mandate_* codes.
type Mandates interface {
	// Verify checks the mandate against c and returns an identifier that is the same for
	// every presentation of the same mandate, so that a mandate is used at most once.
	Verify(ctx context.Context, c MandateCheck) (id string, err error)
}

// AddressBook keeps the shipping addresses buyers sent, by email (without regard to case),
// across their checkouts, which may live in different contexts: a buyer who sent an
// address in one checkout is offered it again, as a saved destination, in the next. Nil
// when the tenant keeps no address book (the default): only its configured customers'
// addresses are offered.
//
// Addresses is best-effort: an implementation that cannot read the book reports it
// itself (log, metric) and returns no addresses, so that a checkout never fails for it.
type AddressBook interface {
	Addresses(ctx context.Context, email string) ([]Destination, error)
}

// LearnedID is the id of an address kept in a tenant's address book: derived from its
// fields (without regard to case), so that the same address gets the same id in every
// checkout, on every worker, and saving it again changes nothing.
func LearnedID(a Address) string {
	h := sha256.New()
	for _, f := range []string{a.StreetAddress, a.AddressLocality, a.AddressRegion, a.PostalCode, a.AddressCountry} {
		h.Write([]byte(strings.ToLower(strings.TrimSpace(f))))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("addr_%x", h.Sum(nil)[:8])
}

// Learned returns the address c ships to that its tenant's address book is to keep for
// its buyer: the chosen address, complete, sent without an id and given its LearnedID by
// the update (see setDestinations). ok is false when there is none.
func Learned(c *Checkout) (email string, d Destination, ok bool) {
	if c == nil || c.Buyer == nil || c.Buyer.Email == "" || c.Fulfillment.Address == nil {
		return "", Destination{}, false
	}
	a := *c.Fulfillment.Address
	if !a.Complete() || c.Fulfillment.DestinationID != LearnedID(a) {
		return "", Destination{}, false
	}
	return c.Buyer.Email, Destination{ID: c.Fulfillment.DestinationID, Address: a}, true
}
