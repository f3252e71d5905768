package envelopes

import (
	"encoding/json"

	"github.com/cartwright-dev/cartwright/commerce"
)

// The UCP form: a data part that carries UCP resources rather than an action. The checkout
// object read here is the one EncodeCheckout writes (and what an agent sends to update one):
// only the fields a buyer may set are read, everything the business computes (ids, titles,
// prices, totals, messages, options) is ignored.

type inCheckout struct {
	LineItems   json.RawMessage `json:"line_items"`
	Buyer       json.RawMessage `json:"buyer"`
	Context     json.RawMessage `json:"context"`
	Fulfillment json.RawMessage `json:"fulfillment"`
	Discounts   json.RawMessage `json:"discounts"`
}

type inLineItem struct {
	Item     json.RawMessage `json:"item"`
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
	Methods json.RawMessage `json:"methods"`
}

type inMethod struct {
	Type                  json.RawMessage `json:"type"`
	SelectedDestinationID json.RawMessage `json:"selected_destination_id"`
	Destinations          json.RawMessage `json:"destinations"`
	Groups                json.RawMessage `json:"groups"`
}

type inDestinationID struct {
	ID json.RawMessage `json:"id"`
}

type inGroup struct {
	SelectedOptionID json.RawMessage `json:"selected_option_id"`
}

type inDiscounts struct {
	Codes json.RawMessage `json:"codes"`
}

type inPayment struct {
	Instruments json.RawMessage `json:"instruments"`
}

type inInstrument struct {
	ID         json.RawMessage `json:"id"`
	HandlerID  json.RawMessage `json:"handler_id"`
	Type       json.RawMessage `json:"type"`
	Selected   json.RawMessage `json:"selected"`
	Credential json.RawMessage `json:"credential"`
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
	if err := decodeObject(raw, &in, at, "checkout"); err != nil {
		return u, err
	}
	var err error
	if u.LineItems, err = parseLineItems(in.LineItems, at, lim); err != nil {
		return u, err
	}
	if !isNull(in.Buyer) {
		if u.Buyer, err = parseBuyer(in.Buyer, join(at, "buyer"), lim); err != nil {
			return u, err
		}
	}
	if !isNull(in.Context) {
		if u.Context, err = parseContext(in.Context, join(at, "context"), lim); err != nil {
			return u, err
		}
	}
	if u.Address, u.SelectedOptionID, err = parseFulfillment(in.Fulfillment, join(at, "fulfillment"), lim); err != nil {
		return u, err
	}
	if u.DiscountCodes, err = parseDiscountCodes(in.Discounts, join(at, "discounts"), lim); err != nil {
		return u, err
	}
	return u, nil
}

// parseLineItems reads the optional field line_items of the object at path at:
// [{item: {id}, quantity}], quantities 1..lim.MaxQuantity, at most lim.MaxLineItems lines.
func parseLineItems(raw json.RawMessage, at string, lim Limits) ([]commerce.LineItemInput, error) {
	elems, err := decodeArray(raw, at, "line_items")
	if err != nil || len(elems) == 0 {
		return nil, err
	}
	if len(elems) > lim.MaxLineItems {
		return nil, commerce.Invalid(join(at, "line_items"), "at most %d line items, not %d",
			lim.MaxLineItems, len(elems))
	}
	out := make([]commerce.LineItemInput, len(elems))
	for i, e := range elems {
		p := index(join(at, "line_items"), i)
		var li inLineItem
		if err := decodeObject(e, &li, p, "a line item"); err != nil {
			return nil, err
		}
		if isNull(li.Item) {
			return nil, commerce.Invalid(join(p, "item"), "item is required")
		}
		var it inItem
		if err := decodeObject(li.Item, &it, join(p, "item"), "item"); err != nil {
			return nil, err
		}
		if out[i].ItemID, err = reqString(it.ID, join(p, "item"), "id", lim); err != nil {
			return nil, err
		}
		q, err := reqInt(li.Quantity, p, "quantity", 1, int64(lim.MaxQuantity))
		if err != nil {
			return nil, err
		}
		out[i].Quantity = int(q)
	}
	return out, nil
}

// parseBuyer reads the buyer object at path at; every field is optional.
func parseBuyer(raw json.RawMessage, at string, lim Limits) (*commerce.Buyer, error) {
	var in inBuyer
	if err := decodeObject(raw, &in, at, "buyer"); err != nil {
		return nil, err
	}
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

// parseContext reads UCP's buyer context (hints, all optional) at path at.
func parseContext(raw json.RawMessage, at string, lim Limits) (*commerce.BuyerContext, error) {
	var in inContext
	if err := decodeObject(raw, &in, at, "context"); err != nil {
		return nil, err
	}
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

// parseAddress reads a shipping address at path at: street_address, address_locality,
// postal_code and address_country (two letters, upper-cased here) are required,
// address_region is not.
func parseAddress(raw json.RawMessage, at, name string, lim Limits) (commerce.Address, error) {
	var a commerce.Address
	var in inAddress
	if err := decodeObject(raw, &in, at, name); err != nil {
		return a, err
	}
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

// parseFulfillment reads the selection out of UCP's fulfillment object at path at: the
// destination of the first shipping method (the one its selected_destination_id names, else
// its first) and the first selected_option_id of its groups. Methods of other types
// (pickup) are not offered, and ignored.
func parseFulfillment(raw json.RawMessage, at string, lim Limits) (*commerce.Address, string, error) {
	if isNull(raw) {
		return nil, "", nil
	}
	var f inFulfillment
	if err := decodeObject(raw, &f, at, "fulfillment"); err != nil {
		return nil, "", err
	}
	methods, err := decodeArray(f.Methods, at, "methods")
	if err != nil {
		return nil, "", err
	}
	for i, raw := range methods {
		mp := index(join(at, "methods"), i)
		var m inMethod
		if err := decodeObject(raw, &m, mp, "a fulfillment method"); err != nil {
			return nil, "", err
		}
		typ, err := optString(m.Type, mp, "type", lim)
		if err != nil {
			return nil, "", err
		}
		if typ != "" && typ != "shipping" {
			continue
		}
		addr, err := parseDestination(&m, mp, lim)
		if err != nil {
			return nil, "", err
		}
		option, err := parseSelectedOption(m.Groups, mp, lim)
		return addr, option, err
	}
	return nil, "", nil
}

func parseDestination(m *inMethod, at string, lim Limits) (*commerce.Address, error) {
	selected, err := optString(m.SelectedDestinationID, at, "selected_destination_id", lim)
	if err != nil {
		return nil, err
	}
	dests, err := decodeArray(m.Destinations, at, "destinations")
	if err != nil {
		return nil, err
	}
	pick := -1
	for j, raw := range dests {
		dp := index(join(at, "destinations"), j)
		var d inDestinationID
		if err := decodeObject(raw, &d, dp, "a destination"); err != nil {
			return nil, err
		}
		id, err := optString(d.ID, dp, "id", lim)
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
	a, err := parseAddress(dests[pick], index(join(at, "destinations"), pick), "a destination", lim)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func parseSelectedOption(raw json.RawMessage, at string, lim Limits) (string, error) {
	groups, err := decodeArray(raw, at, "groups")
	if err != nil {
		return "", err
	}
	option := ""
	for k, raw := range groups {
		gp := index(join(at, "groups"), k)
		var g inGroup
		if err := decodeObject(raw, &g, gp, "a fulfillment group"); err != nil {
			return "", err
		}
		id, err := optString(g.SelectedOptionID, gp, "selected_option_id", lim)
		if err != nil {
			return "", err
		}
		if option == "" {
			option = id
		}
	}
	return option, nil
}

// parseDiscountCodes reads discounts.codes of the discounts object at path at.
func parseDiscountCodes(raw json.RawMessage, at string, lim Limits) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var in inDiscounts
	if err := decodeObject(raw, &in, at, "discounts"); err != nil {
		return nil, err
	}
	elems, err := decodeArray(in.Codes, at, "codes")
	if err != nil || len(elems) == 0 {
		return nil, err
	}
	codes := make([]string, len(elems))
	for i, e := range elems {
		if codes[i], err = elemString(e, join(at, "codes"), i, "a discount code", lim); err != nil {
			return nil, err
		}
	}
	return codes, nil
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
	if err := decodeObject(payment, &in, payAt, "payment"); err != nil {
		return nil, err
	}
	elems, err := decodeArray(in.Instruments, payAt, "instruments")
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, commerce.Invalid(join(payAt, "instruments"), "at least one payment instrument is required")
	}
	c.Instruments = make([]commerce.PaymentInstrument, len(elems))
	for i, e := range elems {
		if c.Instruments[i], err = parseInstrument(e, index(join(payAt, "instruments"), i), lim); err != nil {
			return nil, err
		}
	}
	if !isNull(ap2) {
		var m inAP2
		if err := decodeObject(ap2, &m, ap2At, "ap2"); err != nil {
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

// parseInstrument reads one payment instrument: handler_id and credential.token are
// required.
func parseInstrument(raw json.RawMessage, at string, lim Limits) (commerce.PaymentInstrument, error) {
	var p commerce.PaymentInstrument
	var in inInstrument
	if err := decodeObject(raw, &in, at, "a payment instrument"); err != nil {
		return p, err
	}
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
	if isNull(in.Credential) {
		return p, commerce.Invalid(join(at, "credential"), "credential is required")
	}
	var cred inCredential
	if err := decodeObject(in.Credential, &cred, join(at, "credential"), "credential"); err != nil {
		return p, err
	}
	if p.Credential.Type, err = optString(cred.Type, join(at, "credential"), "type", lim); err != nil {
		return p, err
	}
	if p.Credential.Token, err = reqString(cred.Token, join(at, "credential"), "token", lim); err != nil {
		return p, err
	}
	return p, nil
}
