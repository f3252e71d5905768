package providers

import "github.com/cartwright-dev/cartwright/commerce"

// The JSON bodies of the HTTP provider contract (docs/providers.md). Money is integer
// minor units; unknown fields are ignored both ways, so that either side can grow.

type wireError struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type wireItem struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Price   *int64 `json:"price"`
	Digital bool   `json:"digital"`
}

type wireAvailability struct {
	Available int64 `json:"available"`
	Unlimited bool  `json:"unlimited"`
}

type wireReservationLine struct {
	ItemID   string `json:"item_id"`
	Quantity int64  `json:"quantity"`
}

type wireReservation struct {
	Lines []wireReservationLine `json:"lines"`
}

type wireShort struct {
	Short string `json:"short"`
}

type wireAddress struct {
	StreetAddress   string `json:"street_address"`
	AddressLocality string `json:"address_locality"`
	AddressRegion   string `json:"address_region"`
	PostalCode      string `json:"postal_code"`
	AddressCountry  string `json:"address_country"`
}

func toWireAddress(a commerce.Address) *wireAddress {
	return &wireAddress{
		StreetAddress:   a.StreetAddress,
		AddressLocality: a.AddressLocality,
		AddressRegion:   a.AddressRegion,
		PostalCode:      a.PostalCode,
		AddressCountry:  a.AddressCountry,
	}
}

type wireShippingQuote struct {
	Currency           string       `json:"currency"`
	Address            *wireAddress `json:"address"`
	DiscountedSubtotal int64        `json:"discounted_subtotal"`
	ItemIDs            []string     `json:"item_ids,omitempty"`
}

type wireShippingOption struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Amount *int64 `json:"amount"`
}

type wireShippingOptions struct {
	// Deliverable false says the address cannot be shipped to; absent means true.
	Deliverable *bool                `json:"deliverable"`
	Options     []wireShippingOption `json:"options"`
}

type wireTaxQuote struct {
	Currency           string       `json:"currency"`
	Address            *wireAddress `json:"address"` // null before an address is known
	DiscountedSubtotal int64        `json:"discounted_subtotal"`
	Shipping           int64        `json:"shipping"`
}

type wireTax struct {
	Tax *int64 `json:"tax"`
}

type wireDiscount struct {
	Code    string `json:"code"`
	Title   string `json:"title"`
	Percent int64  `json:"percent"`
	Amount  int64  `json:"amount"`
}

type wireCredential struct {
	Type  string `json:"type"`
	Token string `json:"token,omitempty"`
	// A token's binding to the checkout (UCP's binding).
	Binding *wireBinding `json:"binding,omitempty"`
	// A card (UCP's card_credential), when Type is "card".
	CardNumberType string `json:"card_number_type,omitempty"`
	Number         string `json:"number,omitempty"`
	ExpiryMonth    int    `json:"expiry_month,omitempty"`
	ExpiryYear     int    `json:"expiry_year,omitempty"`
	Name           string `json:"name,omitempty"`
	CVC            string `json:"cvc,omitempty"`
	Cryptogram     string `json:"cryptogram,omitempty"`
	ECIValue       string `json:"eci_value,omitempty"`
}

type wireBinding struct {
	CheckoutID string        `json:"checkout_id"`
	Identity   *wireIdentity `json:"identity,omitempty"`
}

type wireIdentity struct {
	AccessToken string `json:"access_token"`
}

type wireAP2 struct {
	CheckoutMandate string `json:"checkout_mandate"`
}

type wireInstrument struct {
	ID         string         `json:"id"`
	HandlerID  string         `json:"handler_id"`
	Type       string         `json:"type"`
	Credential wireCredential `json:"credential"`
}

type wireAuthorize struct {
	CheckoutID string         `json:"checkout_id"`
	Amount     int64          `json:"amount"`
	Currency   string         `json:"currency"`
	Capture    bool           `json:"capture"`
	Instrument wireInstrument `json:"instrument"`
	AP2        *wireAP2       `json:"ap2,omitempty"`
}

type wireAuthorization struct {
	Approved      bool   `json:"approved"`
	PaymentID     string `json:"payment_id"`
	DeclineReason string `json:"decline_reason"`
}

type wirePaymentOp struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}
