package envelopes

import (
	"encoding/json"

	"github.com/cartwright-dev/cartwright/commerce"
)

// The UCP form: a data part that carries UCP resources rather than an action. The checkout
// object read here is the one EncodeCheckout writes (and what an agent sends to update one):
// only the fields a buyer may set are read, everything the business computes (ids, titles,
// prices, totals, messages, options) is ignored. The same readers serve the action form's
// arguments (line_items, buyer, context, address, payment, ap2).

type inCheckout struct {
	LineItems   []inLineItem   `json:"line_items"`
	Buyer       *inBuyer       `json:"buyer"`
	Context     *inContext     `json:"context"`
	Fulfillment *inFulfillment `json:"fulfillment"`
	Discounts   *inDiscounts   `json:"discounts"`
}

type inLineItem struct {
	Item     *inItem         `json:"item"`
	Quantity json.RawMessage `json:"quantity"`
}

type inItem struct {
	ID json.RawMessage `json:"id"`
}

type inBuyer struct {
	FirstName   json.RawMessage `json:"first_name"`
	LastName    json.RawMessage `json:"last_name"`
	Email       json.RawMessage `json:"email"`
	PhoneNumber json.RawMessage `json:"phone_number"`
	CustomerID  json.RawMessage `json:"customer_id"`
	Consent     *inConsent      `json:"consent"`
}

type inConsent struct {
	Analytics   json.RawMessage `json:"analytics"`
	Preferences json.RawMessage `json:"preferences"`
	Marketing   json.RawMessage `json:"marketing"`
	SaleOfData  json.RawMessage `json:"sale_of_data"`
}

type inContext struct {
	AddressCountry json.RawMessage `json:"address_country"`
	AddressRegion  json.RawMessage `json:"address_region"`
	PostalCode     json.RawMessage `json:"postal_code"`
}

type inAddress struct {
	StreetAddress   json.RawMessage `json:"street_address"`
	AddressLocality json.RawMessage `json:"address_locality"`
	AddressRegion   json.RawMessage `json:"address_region"`
	PostalCode      json.RawMessage `json:"postal_code"`
	AddressCountry  json.RawMessage `json:"address_country"`
}

type inFulfillment struct {
	Methods []inMethod `json:"methods"`
}

type inMethod struct {
	Type                  json.RawMessage `json:"type"`
	SelectedDestinationID json.RawMessage `json:"selected_destination_id"`
	Destinations          []inDestination `json:"destinations"`
	Groups                []inGroup       `json:"groups"`
}

type inDestination struct {
	ID json.RawMessage `json:"id"`
	inAddress
}

type inGroup struct {
	SelectedOptionID json.RawMessage `json:"selected_option_id"`
}

type inDiscounts struct {
	Codes []json.RawMessage `json:"codes"`
}

type inPayment struct {
	Instruments []inInstrument `json:"instruments"`
}

type inInstrument struct {
	ID         json.RawMessage `json:"id"`
	HandlerID  json.RawMessage `json:"handler_id"`
	Type       json.RawMessage `json:"type"`
	Selected   json.RawMessage `json:"selected"`
	Credential *inCredential   `json:"credential"`
}

type inCredential struct {
	Type           json.RawMessage `json:"type"`
	Token          json.RawMessage `json:"token"`
	Binding        *inBinding      `json:"binding"`
	CardNumberType json.RawMessage `json:"card_number_type"`
	Number         json.RawMessage `json:"number"`
	ExpiryMonth    json.RawMessage `json:"expiry_month"`
	ExpiryYear     json.RawMessage `json:"expiry_year"`
	Name           json.RawMessage `json:"name"`
	CVC            json.RawMessage `json:"cvc"`
	Cryptogram     json.RawMessage `json:"cryptogram"`
	ECIValue       json.RawMessage `json:"eci_value"`
}

type inBinding struct {
	CheckoutID json.RawMessage `json:"checkout_id"`
	Identity   *struct {
		AccessToken json.RawMessage `json:"access_token"`
	} `json:"identity"`
}

type inAP2 struct {
	CheckoutMandate json.RawMessage `json:"checkout_mandate"`
}

// parseCheckoutObject reads a UCP checkout object at path at into the full replacement it
// asks for: line_items, buyer, context, the fulfillment selection and discounts.codes.
func parseCheckoutObject(raw json.RawMessage, at string, lim Limits) (commerce.UpdateCheckout, error) {
	var u commerce.UpdateCheckout
	var in inCheckout
	if err := decodeTree(raw, &in, at, "checkout"); err != nil {
		return u, err
	}
	var err error
	if u.LineItems, err = lineItems(in.LineItems, at, lim); err != nil {
		return u, err
	}
	if in.Buyer != nil {
		if u.Buyer, err = buyer(in.Buyer, join(at, "buyer"), lim); err != nil {
			return u, err
		}
	}
	if in.Context != nil {
		if u.Context, err = buyerContext(in.Context, join(at, "context"), lim); err != nil {
			return u, err
		}
	}
	if in.Fulfillment != nil {
		if err = fulfillment(&u, in.Fulfillment, join(at, "fulfillment"), lim); err != nil {
			return u, err
		}
	}
	if in.Discounts != nil && len(in.Discounts.Codes) > 0 {
		p := join(join(at, "discounts"), "codes")
		if len(in.Discounts.Codes) > commerce.MaxDiscountCodes {
			return u, commerce.Invalid(p, "at most %d discount codes, got %d", commerce.MaxDiscountCodes, len(in.Discounts.Codes))
		}
		u.DiscountCodes = make([]string, len(in.Discounts.Codes))
		for i, c := range in.Discounts.Codes {
			if u.DiscountCodes[i], err = elemString(c, p, i, "a discount code", lim); err != nil {
				return u, err
			}
		}
	}
	return u, nil
}

// lineItems checks the line_items of the object at path at: [{item: {id}, quantity}],
// quantities 1..lim.MaxQuantity, at most lim.MaxLineItems lines.
func lineItems(in []inLineItem, at string, lim Limits) ([]commerce.LineItemInput, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > lim.MaxLineItems {
		return nil, commerce.Invalid(join(at, "line_items"), "at most %d line items, not %d",
			lim.MaxLineItems, len(in))
	}
	out := make([]commerce.LineItemInput, len(in))
	for i, li := range in {
		p := index(join(at, "line_items"), i)
		if li.Item == nil {
			return nil, commerce.Invalid(join(p, "item"), "item is required")
		}
		id, err := reqString(li.Item.ID, join(p, "item"), "id", lim)
		if err != nil {
			return nil, err
		}
		q, err := reqInt(li.Quantity, p, "quantity", 1, int64(lim.MaxQuantity))
		if err != nil {
			return nil, err
		}
		out[i] = commerce.LineItemInput{ItemID: id, Quantity: int(q)}
	}
	return out, nil
}

// parseBuyer reads the buyer object at path at.
func parseBuyer(raw json.RawMessage, at string, lim Limits) (*commerce.Buyer, error) {
	var in inBuyer
	if err := decodeTree(raw, &in, at, "buyer"); err != nil {
		return nil, err
	}
	return buyer(&in, at, lim)
}

// buyer checks a buyer; every field is optional.
func buyer(in *inBuyer, at string, lim Limits) (*commerce.Buyer, error) {
	b := new(commerce.Buyer)
	var err error
	if b.FirstName, err = optString(in.FirstName, at, "first_name", lim); err != nil {
		return nil, err
	}
	if b.LastName, err = optString(in.LastName, at, "last_name", lim); err != nil {
		return nil, err
	}
	if b.Email, err = optString(in.Email, at, "email", lim); err != nil {
		return nil, err
	}
	if b.PhoneNumber, err = optString(in.PhoneNumber, at, "phone_number", lim); err != nil {
		return nil, err
	}
	if b.CustomerID, err = optString(in.CustomerID, at, "customer_id", lim); err != nil {
		return nil, err
	}
	if in.Consent != nil {
		cp := join(at, "consent")
		c := new(commerce.Consent)
		for _, f := range []struct {
			raw  json.RawMessage
			name string
			v    **bool
		}{
			{in.Consent.Analytics, "analytics", &c.Analytics},
			{in.Consent.Preferences, "preferences", &c.Preferences},
			{in.Consent.Marketing, "marketing", &c.Marketing},
			{in.Consent.SaleOfData, "sale_of_data", &c.SaleOfData},
		} {
			if isNull(f.raw) {
				continue
			}
			v, err := optBool(f.raw, cp, f.name)
			if err != nil {
				return nil, err
			}
			*f.v = &v
		}
		b.Consent = c
	}
	return b, nil
}

// buyerContext checks a buyer context: hints, all optional.
func buyerContext(in *inContext, at string, lim Limits) (*commerce.BuyerContext, error) {
	c := new(commerce.BuyerContext)
	var err error
	if c.AddressCountry, err = optString(in.AddressCountry, at, "address_country", lim); err != nil {
		return nil, err
	}
	if c.AddressRegion, err = optString(in.AddressRegion, at, "address_region", lim); err != nil {
		return nil, err
	}
	if c.PostalCode, err = optString(in.PostalCode, at, "postal_code", lim); err != nil {
		return nil, err
	}
	return c, nil
}

// parseAddress reads a shipping address at path at.
func parseAddress(raw json.RawMessage, at, name string, lim Limits) (commerce.Address, error) {
	var in inAddress
	if err := decodeTree(raw, &in, at, name); err != nil {
		return commerce.Address{}, err
	}
	return address(&in, at, lim)
}

// address checks a shipping address: street_address, address_locality, postal_code and
// address_country (two letters, upper-cased here) are required, address_region is not.
func address(in *inAddress, at string, lim Limits) (commerce.Address, error) {
	return readAddress(in, at, lim, reqString)
}

// partialAddress checks a UCP shipping destination, whose postal address the spec leaves
// partial: address_country alone is required (shipping options are computed from it); the
// domain keeps a checkout with a partial address from completing.
func partialAddress(in *inAddress, at string, lim Limits) (commerce.Address, error) {
	return readAddress(in, at, lim, optString)
}

// readAddress reads an address, street_address, address_locality and postal_code with
// get (required or optional), address_region optional and address_country required.
func readAddress(in *inAddress, at string, lim Limits, get func(json.RawMessage, string, string, Limits) (string, error)) (commerce.Address, error) {
	var a commerce.Address
	var err error
	if a.StreetAddress, err = get(in.StreetAddress, at, "street_address", lim); err != nil {
		return a, err
	}
	if a.AddressLocality, err = get(in.AddressLocality, at, "address_locality", lim); err != nil {
		return a, err
	}
	if a.AddressRegion, err = optString(in.AddressRegion, at, "address_region", lim); err != nil {
		return a, err
	}
	if a.PostalCode, err = get(in.PostalCode, at, "postal_code", lim); err != nil {
		return a, err
	}
	if a.AddressCountry, err = reqString(in.AddressCountry, at, "address_country", lim); err != nil {
		return a, err
	}
	cc, ok := countryCode(a.AddressCountry)
	if !ok {
		return a, commerce.Invalid(join(at, "address_country"),
			"address_country must be a two-letter ISO 3166-1 code")
	}
	a.AddressCountry = cc
	return a, nil
}

func countryCode(s string) (string, bool) {
	if len(s) != 2 {
		return "", false
	}
	var b [2]byte
	for i := 0; i < 2; i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		default:
			return "", false
		}
		b[i] = c
	}
	return string(b[:]), true
}

// MaxDestinations bounds the destinations one shipping method may send.
const MaxDestinations = 10

// fulfillment reads the selection out of UCP's fulfillment object at path at into u: the
// first shipping method's destinations (at most MaxDestinations, each an address, partial
// or full, with its id), the chosen one (the one its selected_destination_id names, else
// its first), and the first selected_option_id of its groups. A selected_destination_id with no
// destinations sent may name a saved address of the buyer, which the domain resolves.
// Methods of other types (pickup) are not offered, and ignored.
func fulfillment(u *commerce.UpdateCheckout, f *inFulfillment, at string, lim Limits) error {
	for i := range f.Methods {
		m := &f.Methods[i]
		mp := index(join(at, "methods"), i)
		typ, err := optString(m.Type, mp, "type", lim)
		if err != nil {
			return err
		}
		if typ != "" && typ != "shipping" {
			continue
		}
		u.ShippingRequested = true
		if err := destinations(u, m, mp, lim); err != nil {
			return err
		}
		for k, g := range m.Groups {
			id, err := optString(g.SelectedOptionID, index(join(mp, "groups"), k), "selected_option_id", lim)
			if err != nil {
				return err
			}
			if u.SelectedOptionID == "" {
				u.SelectedOptionID = id
			}
		}
		return nil
	}
	return nil
}

func destinations(u *commerce.UpdateCheckout, m *inMethod, at string, lim Limits) error {
	selected, err := optString(m.SelectedDestinationID, at, "selected_destination_id", lim)
	if err != nil {
		return err
	}
	dp := join(at, "destinations")
	if len(m.Destinations) > MaxDestinations {
		return commerce.Invalid(dp, "at most %d destinations, got %d", MaxDestinations, len(m.Destinations))
	}
	pick := -1
	for j := range m.Destinations {
		d := &m.Destinations[j]
		id, err := optString(d.ID, index(dp, j), "id", lim)
		if err != nil {
			return err
		}
		a, err := partialAddress(&d.inAddress, index(dp, j), lim)
		if err != nil {
			return err
		}
		if id != "" {
			for _, x := range u.Destinations {
				if x.ID == id {
					return commerce.Invalid(join(index(dp, j), "id"), "destination id %q is sent twice", clip(id))
				}
			}
			u.Destinations = append(u.Destinations, commerce.Destination{ID: id, Address: a})
		}
		if pick < 0 && (selected == "" || id == selected) {
			pick = j
			u.DestinationID = id
			u.Address = &a
		}
	}
	switch {
	case pick >= 0:
	case selected != "" && len(m.Destinations) > 0:
		return commerce.Invalid(join(at, "selected_destination_id"),
			"selected_destination_id %q names none of the destinations", clip(selected))
	case selected != "":
		u.DestinationID = selected // a saved address, perhaps: the domain knows
	}
	// The reply's own shape for an address set without an id (dest_1 alone, chosen) is
	// read back as that address without an id: the same checkout, kept in the store's
	// older framing.
	if len(u.Destinations) == 1 && u.DestinationID == destinationID && u.Destinations[0].ID == destinationID {
		u.Destinations, u.DestinationID = nil, ""
	}
	return nil
}

// ucpComplete reads the UCP form of completion: a2a.ucp.checkout.payment, and ap2 beside it.
// at is the JSONPath of the data object.
func ucpComplete(d *inData, at string, lim Limits) (commerce.Command, error) {
	return completeCheckout(d.UCPPayment, at+"['"+KeyPayment+"']", d.AP2, join(at, "ap2"), lim)
}

// completeCheckout reads a payment object {instruments: [...]} at path payAt and the
// optional AP2 object {checkout_mandate} at path ap2At.
func completeCheckout(payment json.RawMessage, payAt string, ap2 json.RawMessage, ap2At string, lim Limits) (commerce.Command, error) {
	var c commerce.CompleteCheckout
	var in inPayment
	if err := decodeTree(payment, &in, payAt, "payment"); err != nil {
		return nil, err
	}
	if len(in.Instruments) == 0 {
		return nil, commerce.Invalid(join(payAt, "instruments"), "at least one payment instrument is required")
	}
	c.Instruments = make([]commerce.PaymentInstrument, len(in.Instruments))
	for i := range in.Instruments {
		var err error
		if c.Instruments[i], err = instrument(&in.Instruments[i], index(join(payAt, "instruments"), i), lim); err != nil {
			return nil, err
		}
	}
	if !isNull(ap2) {
		var m inAP2
		if err := decodeTree(ap2, &m, ap2At, "ap2"); err != nil {
			return nil, err
		}
		if isNull(m.CheckoutMandate) {
			return nil, commerce.Invalid(join(ap2At, "checkout_mandate"), "checkout_mandate is required")
		}
		// An SD-JWT with its disclosures is routinely longer than MaxStringBytes: the
		// envelope's own limit bounds it.
		jwt, err := boundedString(m.CheckoutMandate, ap2At, "checkout_mandate", lim.MaxEnvelopeBytes)
		if err != nil {
			return nil, err
		}
		c.AP2 = &commerce.Mandate{CheckoutMandate: jwt}
	}
	return c, nil
}

// instrument checks a payment instrument: handler_id and credential.token are required.
func instrument(in *inInstrument, at string, lim Limits) (commerce.PaymentInstrument, error) {
	var p commerce.PaymentInstrument
	var err error
	if p.ID, err = optString(in.ID, at, "id", lim); err != nil {
		return p, err
	}
	if p.HandlerID, err = reqString(in.HandlerID, at, "handler_id", lim); err != nil {
		return p, err
	}
	if p.Type, err = optString(in.Type, at, "type", lim); err != nil {
		return p, err
	}
	if p.Selected, err = optBool(in.Selected, at, "selected"); err != nil {
		return p, err
	}
	if in.Credential == nil {
		return p, commerce.Invalid(join(at, "credential"), "credential is required")
	}
	cp := join(at, "credential")
	cr := in.Credential
	if p.Credential.Type, err = optString(cr.Type, cp, "type", lim); err != nil {
		return p, err
	}
	if p.Credential.Type == "card" {
		p.Credential.Card, err = card(cr, cp, lim)
		return p, err
	}
	if p.Credential.Token, err = reqString(cr.Token, cp, "token", lim); err != nil {
		return p, err
	}
	if b := cr.Binding; b != nil {
		bp := join(cp, "binding")
		p.Credential.Binding = new(commerce.Binding)
		if p.Credential.Binding.CheckoutID, err = reqString(b.CheckoutID, bp, "checkout_id", lim); err != nil {
			return p, err
		}
		if b.Identity != nil {
			if p.Credential.Binding.AccessToken, err = reqString(b.Identity.AccessToken, join(bp, "identity"), "access_token", lim); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

// card checks a card credential (UCP's card_credential): card_number_type and a number of
// 12 to 19 digits are required; the expiry, when given, is a month 1..12 and a year
// 2000..2099; a CVC is 3 or 4 digits.
func card(in *inCredential, at string, lim Limits) (*commerce.CardCredential, error) {
	c := new(commerce.CardCredential)
	var err error
	if c.NumberType, err = reqString(in.CardNumberType, at, "card_number_type", lim); err != nil {
		return nil, err
	}
	switch c.NumberType {
	case "fpan", "network_token", "dpan":
	default:
		return nil, commerce.Invalid(join(at, "card_number_type"), "card_number_type must be fpan, network_token or dpan")
	}
	if c.Number, err = reqString(in.Number, at, "number", lim); err != nil {
		return nil, err
	}
	if !digits(c.Number, 12, 19) {
		return nil, commerce.Invalid(join(at, "number"), "number must be 12 to 19 digits")
	}
	if !isNull(in.ExpiryMonth) {
		m, err := reqInt(in.ExpiryMonth, at, "expiry_month", 1, 12)
		if err != nil {
			return nil, err
		}
		c.ExpiryMonth = int(m)
	}
	if !isNull(in.ExpiryYear) {
		y, err := reqInt(in.ExpiryYear, at, "expiry_year", 2000, 2099)
		if err != nil {
			return nil, err
		}
		c.ExpiryYear = int(y)
	}
	if c.Name, err = optString(in.Name, at, "name", lim); err != nil {
		return nil, err
	}
	if c.CVC, err = optString(in.CVC, at, "cvc", lim); err != nil {
		return nil, err
	}
	if c.CVC != "" && !digits(c.CVC, 3, 4) {
		return nil, commerce.Invalid(join(at, "cvc"), "cvc must be 3 or 4 digits")
	}
	if c.Cryptogram, err = optString(in.Cryptogram, at, "cryptogram", lim); err != nil {
		return nil, err
	}
	if c.ECIValue, err = optString(in.ECIValue, at, "eci_value", lim); err != nil {
		return nil, err
	}
	return c, nil
}

// digits reports whether s is min to max ASCII digits.
func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
