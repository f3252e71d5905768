package commerce

import "time"

// Status is a checkout's status (UCP).
type Status string

const (
	StatusIncomplete         Status = "incomplete"
	StatusReadyForComplete   Status = "ready_for_complete"
	StatusRequiresEscalation Status = "requires_escalation"
	StatusCompleted          Status = "completed"
	StatusCanceled           Status = "canceled"
)

// Final reports whether the status is immutable (completed or canceled).
func (s Status) Final() bool { return s == StatusCompleted || s == StatusCanceled }

// TotalType names an entry of a totals list (UCP).
type TotalType string

const (
	TotalSubtotal    TotalType = "subtotal"
	TotalDiscount    TotalType = "discount"
	TotalFulfillment TotalType = "fulfillment"
	TotalTax         TotalType = "tax"
	TotalTotal       TotalType = "total"
)

// Total is one entry of a totals list. Amounts are integer minor units; a discount is
// negative. In a totals list the sum of every entry but total equals total.
type Total struct {
	Type        TotalType
	DisplayText string
	Amount      int64
}

// Item is a catalog item as the catalog describes it.
type Item struct {
	ID    string
	Title string
	Price int64 // minor units
	// Digital items need no shipping.
	Digital bool
}

// LineItem is one line of a checkout or order.
type LineItem struct {
	ID       string // li_1, li_2, … unique within its checkout
	Item     Item
	Quantity int
	Totals   []Total // subtotal and total of this line
}

// Buyer is the person the agent buys for.
type Buyer struct {
	FirstName   string
	LastName    string
	Email       string
	PhoneNumber string
	// CustomerID names one of the tenant's known customers (Policy.Customers); a buyer is
	// also known by Email. It is the agent's claim, used only to offer saved addresses.
	CustomerID string
	// Consent is the buyer's consent as the agent stated it (UCP's buyer_consent), echoed.
	Consent *Consent
}

// Consent is UCP's buyer consent: each field is unset (nil), granted or refused.
type Consent struct {
	Analytics   *bool
	Preferences *bool
	Marketing   *bool
	SaleOfData  *bool
}

// BuyerContext is UCP's checkout context: hints about where the buyer is.
type BuyerContext struct {
	AddressCountry string
	AddressRegion  string
	PostalCode     string
}

// Address is a postal address (UCP / schema.org PostalAddress). A UCP destination may be
// partial (its country, perhaps a postal code): enough to price shipping, not to ship.
type Address struct {
	StreetAddress   string
	AddressLocality string
	AddressRegion   string
	PostalCode      string
	AddressCountry  string
}

// Complete reports whether a can be shipped to: it has a street address, a locality, a
// postal code and a country (the region is optional).
func (a Address) Complete() bool {
	return a.StreetAddress != "" && a.AddressLocality != "" && a.PostalCode != "" && a.AddressCountry != ""
}

// ShippingOption is one way to ship a checkout, priced for its current contents.
type ShippingOption struct {
	ID     string
	Title  string
	Amount int64
}

// Destination is a shipping address with an id: one the agent sent, or a saved address
// of a known customer.
type Destination struct {
	ID      string
	Address Address
	// Saved marks a known customer's address, offered by the tenant rather than sent.
	Saved bool
}

// Fulfillment is the checkout's shipping: where to, what options there are, which is chosen.
type Fulfillment struct {
	// Address is the chosen destination's address.
	Address *Address
	// Destinations are those offered: the ones the agent sent, then the saved addresses
	// of the buyer when the buyer is a known customer. Empty when the address was set
	// without an id (set_shipping_address).
	Destinations []Destination
	// DestinationID is the id of the chosen destination ("" with Address set: the one
	// set without an id).
	DestinationID string
	// Requested: the agent asked for shipping (a shipping method) and no address is
	// chosen; a chosen address says so by itself. Kept false otherwise, so that a state
	// that uses nothing newer is stored in the older framing (see store).
	Requested        bool
	Options          []ShippingOption
	SelectedOptionID string
}

// AppliedDiscount is a discount code that took effect, with its (negative) amount.
type AppliedDiscount struct {
	Code   string
	Title  string
	Amount int64
}

// Discounts holds the codes the buyer submitted and those that apply.
type Discounts struct {
	Codes   []string
	Applied []AppliedDiscount
}

// MessageType is the type of a checkout message (UCP).
type MessageType string

const (
	MessageError   MessageType = "error"
	MessageWarning MessageType = "warning"
	MessageInfo    MessageType = "info"
)

// Severity says how a message affects completion (UCP): an error that needs the buyer's
// input keeps the checkout incomplete.
type Severity string

const (
	SeverityRecoverable         Severity = "recoverable"
	SeverityRequiresBuyerInput  Severity = "requires_buyer_input"
	SeverityRequiresBuyerReview Severity = "requires_buyer_review"
)

// Message is a business problem or notice that rides on the checkout instead of being a
// protocol error: out of stock, an invalid discount code, payment declined, …
type Message struct {
	Type     MessageType
	Code     string
	Path     string // JSONPath into the checkout resource
	Content  string
	Severity Severity
}

// Message codes used on checkouts.
const (
	MsgItemUnavailable      = "item_unavailable"
	MsgOutOfStock           = "out_of_stock"
	MsgAddressUndeliverable = "address_undeliverable"
	MsgAddressIncomplete    = "address_incomplete"
	MsgDiscountInvalid      = "discount_code_invalid"
	MsgDiscountCombination  = "discount_code_combination_disallowed"
	MsgPaymentFailed        = "payment_failed"
	MsgEscalation           = "requires_escalation"
)

// OrderRef is what a completed checkout says of its order.
type OrderRef struct {
	ID           string
	PermalinkURL string
}

// Checkout is UCP's checkout session resource, as the domain sees it.
type Checkout struct {
	ID          string // chk_…
	Status      Status
	Currency    string
	LineItems   []LineItem
	Buyer       *Buyer
	Context     *BuyerContext
	Fulfillment Fulfillment
	Discounts   Discounts
	Totals      []Total
	Messages    []Message
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ExpiresAt   time.Time
	ContinueURL string // set when the status is requires_escalation
	Order       *OrderRef
	// NextLine numbers line item ids (li_<NextLine>) so that ids are never reused.
	NextLine int
	// UsedMandates identifies the AP2 mandates presented to pay for this checkout (see
	// Mandates.Verify): a mandate pays at most once, even after a decline.
	UsedMandates []string
}

// TotalOf returns the amount of the first total of type t, and whether there is one.
func TotalOf(totals []Total, t TotalType) (int64, bool) {
	for _, x := range totals {
		if x.Type == t {
			return x.Amount, true
		}
	}
	return 0, false
}
