package commerce

// Action names a command, as the action form of CONTRACT.md section 3 spells it.
type Action string

const (
	ActCreateCheckout       Action = "create_checkout"
	ActGetCheckout          Action = "get_checkout"
	ActUpdateCheckout       Action = "update_checkout"
	ActUpsertCheckout       Action = "upsert_checkout" // the UCP form: create when none is open, else update
	ActAddItem              Action = "add_item"
	ActUpdateItem           Action = "update_item"
	ActRemoveItem           Action = "remove_item"
	ActSetBuyer             Action = "set_buyer"
	ActSetShippingAddress   Action = "set_shipping_address"
	ActListShippingOptions  Action = "list_shipping_options"
	ActSelectShippingOption Action = "select_shipping_option"
	ActApplyDiscount        Action = "apply_discount"
	ActRemoveDiscount       Action = "remove_discount"
	ActCompleteCheckout     Action = "complete_checkout"
	ActCancelCheckout       Action = "cancel_checkout"
	ActGetOrder             Action = "get_order"
	ActCancelOrder          Action = "cancel_order"
	ActCapturePayment       Action = "capture_payment"
	ActVoidPayment          Action = "void_payment"
	ActRefundPayment        Action = "refund_payment"
	ActShipOrder            Action = "ship_order"
	ActUpdateOrder          Action = "update_order"
)

// Command is one domain command, normalized from either request form.
type Command interface {
	Action() Action
}

// LineItemInput is a requested line: an item and a quantity.
type LineItemInput struct {
	ItemID   string
	Quantity int
}

// CreateCheckout opens a checkout in the context.
type CreateCheckout struct {
	LineItems []LineItemInput
	Buyer     *Buyer
	Context   *BuyerContext
}

// GetCheckout reads the context's open or most recent checkout.
type GetCheckout struct{}

// UpdateCheckout is UCP's update: a full replacement of the fields it names. A nil or empty
// field clears what the checkout had.
type UpdateCheckout struct {
	LineItems []LineItemInput
	Buyer     *Buyer
	Context   *BuyerContext
	// Address is the chosen destination's, when it is one of Destinations or was sent
	// without an id.
	Address *Address
	// Destinations are the shipping destinations the agent sent, with their ids.
	Destinations []Destination
	// DestinationID is the chosen destination: one of Destinations, or a saved address of
	// the known customer (then Address is nil).
	DestinationID string
	// ShippingRequested: the update names a shipping method.
	ShippingRequested bool
	SelectedOptionID  string
	DiscountCodes     []string
}

// UpsertCheckout is the UCP form's a2a.ucp.checkout: it creates the context's checkout
// when none is open, and otherwise updates it.
type UpsertCheckout struct{ Update UpdateCheckout }

type AddItem struct {
	ItemID   string
	Quantity int
}

type UpdateItem struct {
	LineItemID string
	Quantity   int // 0 removes the line
}

type RemoveItem struct{ LineItemID string }

type SetBuyer struct{ Buyer Buyer }

type SetShippingAddress struct{ Address Address }

type ListShippingOptions struct{}

type SelectShippingOption struct{ OptionID string }

type ApplyDiscount struct{ Code string }

type RemoveDiscount struct{ Code string }

// Credential is a payment credential: a token, e.g. {type: "token", token: "tok_visa"},
// possibly bound to a checkout, or a card.
type Credential struct {
	Type    string
	Token   string
	Binding *Binding
	Card    *CardCredential
}

// Binding ties a token to a checkout (UCP's binding), and to the buyer's identity with
// the payment provider.
type Binding struct {
	CheckoutID  string
	AccessToken string
}

// CardCredential is a card (UCP's card_credential): a funding PAN, network token or
// device PAN with its expiry, and what a network token carries (cryptogram, ECI).
type CardCredential struct {
	NumberType  string // fpan, network_token or dpan
	Number      string
	ExpiryMonth int
	ExpiryYear  int
	Name        string
	CVC         string
	Cryptogram  string
	ECIValue    string
}

// PaymentInstrument is one instrument offered for payment (UCP).
type PaymentInstrument struct {
	ID         string
	HandlerID  string
	Type       string
	Selected   bool
	Credential Credential
}

// Mandate is an AP2 checkout mandate (an SD-JWT), checked when the tenant requires it.
type Mandate struct {
	CheckoutMandate string
}

// CompleteCheckout pays and places the order.
type CompleteCheckout struct {
	Instruments []PaymentInstrument
	AP2         *Mandate
}

// Selected returns the instrument to charge: the one marked selected, else the first.
func (c CompleteCheckout) Selected() (PaymentInstrument, bool) {
	for _, in := range c.Instruments {
		if in.Selected {
			return in, true
		}
	}
	if len(c.Instruments) > 0 {
		return c.Instruments[0], true
	}
	return PaymentInstrument{}, false
}

type CancelCheckout struct{}

type GetOrder struct{ OrderID string }

type CancelOrder struct{ OrderID string }

// CapturePayment captures Amount (nil: all that is authorized and not yet captured).
type CapturePayment struct {
	OrderID string
	Amount  *int64
}

type VoidPayment struct{ OrderID string }

// ShipOrder records that a placed order was shipped (all of it, in one package).
type ShipOrder struct{ OrderID string }

// UpdateOrder records what the platform reports of an order: its fulfillment events and
// adjustments, each list replacing the one reported before (nil keeps it).
type UpdateOrder struct {
	OrderID     string
	Events      []OrderEvent
	Adjustments []Adjustment
}

// RefundPayment refunds Amount (nil: all that is captured and not yet refunded).
type RefundPayment struct {
	OrderID string
	Amount  *int64
}

func (CreateCheckout) Action() Action       { return ActCreateCheckout }
func (GetCheckout) Action() Action          { return ActGetCheckout }
func (UpdateCheckout) Action() Action       { return ActUpdateCheckout }
func (UpsertCheckout) Action() Action       { return ActUpsertCheckout }
func (AddItem) Action() Action              { return ActAddItem }
func (UpdateItem) Action() Action           { return ActUpdateItem }
func (RemoveItem) Action() Action           { return ActRemoveItem }
func (SetBuyer) Action() Action             { return ActSetBuyer }
func (SetShippingAddress) Action() Action   { return ActSetShippingAddress }
func (ListShippingOptions) Action() Action  { return ActListShippingOptions }
func (SelectShippingOption) Action() Action { return ActSelectShippingOption }
func (ApplyDiscount) Action() Action        { return ActApplyDiscount }
func (RemoveDiscount) Action() Action       { return ActRemoveDiscount }
func (CompleteCheckout) Action() Action     { return ActCompleteCheckout }
func (CancelCheckout) Action() Action       { return ActCancelCheckout }
func (GetOrder) Action() Action             { return ActGetOrder }
func (CancelOrder) Action() Action          { return ActCancelOrder }
func (CapturePayment) Action() Action       { return ActCapturePayment }
func (VoidPayment) Action() Action          { return ActVoidPayment }
func (RefundPayment) Action() Action        { return ActRefundPayment }
func (ShipOrder) Action() Action            { return ActShipOrder }
func (UpdateOrder) Action() Action          { return ActUpdateOrder }
