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
	Type  json.RawMessage `json:"type"`
	Token json.RawMessage `json:"token"`
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
		if u.Address, u.SelectedOptionID, err = fulfillment(in.Fulfillment, join(at, "fulfillment"), lim); err != nil {
			return u, err
		}
	}
	if in.Discounts != nil && len(in.Discounts.Codes) > 0 {
		p := join(join(at, "discounts"), "codes")
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
	var a commerce.Address
	var err error
	if a.StreetAddress, err = reqString(in.StreetAddress, at, "street_address", lim); err != nil {
		return a, err
	}
	if a.AddressLocality, err = reqString(in.AddressLocality, at, "address_locality", lim); err != nil {
		return a, err
	}
	if a.AddressRegion, err = optString(in.AddressRegion, at, "address_region", lim); err != nil {
		return a, err
	}
	if a.PostalCode, err = reqString(in.PostalCode, at, "postal_code", lim); err != nil {
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

// fulfillment reads the selection out of UCP's fulfillment object at path at: the
// destination of the first shipping method (the one its selected_destination_id names, else
// its first) and the first selected_option_id of its groups. Methods of other types
// (pickup) are not offered, and ignored.
func fulfillment(f *inFulfillment, at string, lim Limits) (*commerce.Address, string, error) {
	for i := range f.Methods {
		m := &f.Methods[i]
		mp := index(join(at, "methods"), i)
		typ, err := optString(m.Type, mp, "type", lim)
		if err != nil {
			return nil, "", err
		}
		if typ != "" && typ != "shipping" {
			continue
		}
		addr, err := destination(m, mp, lim)
		if err != nil {
			return nil, "", err
		}
		option := ""
		for k, g := range m.Groups {
			id, err := optString(g.SelectedOptionID, index(join(mp, "groups"), k), "selected_option_id", lim)
			if err != nil {
				return nil, "", err
			}
			if option == "" {
				option = id
			}
		}
		return addr, option, nil
	}
	return nil, "", nil
}

func destination(m *inMethod, at string, lim Limits) (*commerce.Address, error) {
	selected, err := optString(m.SelectedDestinationID, at, "selected_destination_id", lim)
	if err != nil {
		return nil, err
	}
	pick := -1
	for j, d := range m.Destinations {
		id, err := optString(d.ID, index(join(at, "destinations"), j), "id", lim)
		if err != nil {
			return nil, err
		}
		if pick < 0 && (selected == "" || id == selected) {
			pick = j
		}
	}
	if pick < 0 {
		if selected != "" {
			return nil, commerce.Invalid(join(at, "selected_destination_id"),
				"selected_destination_id %q names none of the destinations", clip(selected))
		}
		return nil, nil
	}
	a, err := address(&m.Destinations[pick].inAddress, index(join(at, "destinations"), pick), lim)
	if err != nil {
		return nil, err
	}
	return &a, nil
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
	if p.Credential.Type, err = optString(in.Credential.Type, join(at, "credential"), "type", lim); err != nil {
		return p, err
	}
	if p.Credential.Token, err = reqString(in.Credential.Token, join(at, "credential"), "token", lim); err != nil {
		return p, err
	}
	return p, nil
}
