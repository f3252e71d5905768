package commerce_test

import (
	"context"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// shopHarness is a tenant shaped like the UCP suite's flower shop: roses at 3500, its
// three discount codes stacking in order, compounding and truncating, and one known
// customer with two saved addresses.
func shopHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	b := providers.Builtin{
		Items: []providers.CatalogItem{{ID: "bouquet_roses", Title: "Bouquet of Red Roses", Price: 3500}},
		Shipping: []providers.ShippingRate{
			{ID: "std-ship", Title: "Standard Shipping", Amount: 500},
		},
		Discounts: []providers.DiscountCode{
			{Code: "10OFF", Title: "10% Off", Percent: 10},
			{Code: "WELCOME20", Title: "20% Off", Percent: 20},
			{Code: "FIXED500", Title: "$5.00 Off", Amount: 500},
		},
	}
	h.env = b.Wire(h.env)
	h.env.Policy.Discounts = commerce.DiscountRules{Stacking: true, MaxCodes: 2, Compound: true, Truncate: true}
	h.env.Policy.Customers = []commerce.Customer{{
		ID: "cust_1", Email: "john.doe@example.com",
		Addresses: []commerce.Destination{
			{ID: "addr_1", Address: commerce.Address{StreetAddress: "123 Main St", AddressLocality: "Springfield", AddressRegion: "IL", PostalCode: "62704", AddressCountry: "US"}},
			{ID: "addr_2", Address: commerce.Address{StreetAddress: "456 Oak Ave", AddressLocality: "Metropolis", AddressRegion: "NY", PostalCode: "10012", AddressCountry: "US"}},
		},
	}}
	h.env.Policy.PaymentHandlers = []string{"mock_payment_handler"}
	return h
}

func roses(codes ...string) commerce.UpsertCheckout {
	return commerce.UpsertCheckout{Update: commerce.UpdateCheckout{
		LineItems:     []commerce.LineItemInput{{ItemID: "bouquet_roses", Quantity: 1}},
		DiscountCodes: codes,
	}}
}

// The suite's 10OFF then WELCOME20 on 3500: 3500 × 0.9 = 3150, then 3150 × 0.8 = 2520.
func TestStackedDiscountsCompoundInOrder(t *testing.T) {
	h := shopHarness(t)
	c := h.must(roses("10OFF", "WELCOME20")).Checkout
	if got := totals(c); got["discount"] != -980 || got["total"] != 2520 {
		t.Fatalf("totals %v, want discount -980 and total 2520", got)
	}
	a := c.Discounts.Applied
	if len(a) != 2 || a[0].Code != "10OFF" || a[0].Amount != -350 || a[1].Code != "WELCOME20" || a[1].Amount != -630 {
		t.Fatalf("applied %+v", a)
	}
	// The other order gives the same total here, but each code's share differs.
	c = h.must(roses("WELCOME20", "10OFF")).Checkout
	if a := c.Discounts.Applied; a[0].Amount != -700 || a[1].Amount != -280 {
		t.Fatalf("applied %+v", a)
	}
	// An invalid code among them is a warning and not applied.
	c = h.must(roses("10OFF", "INVALID_CODE")).Checkout
	if got := totals(c); got["total"] != 3150 || len(c.Discounts.Applied) != 1 || len(c.Discounts.Codes) != 1 {
		t.Fatalf("totals %v, discounts %+v", got, c.Discounts)
	}
	message(t, c, commerce.MsgDiscountInvalid)
	// A code past MaxCodes (2 here) is refused with a warning.
	c = h.must(roses("10OFF", "WELCOME20", "FIXED500")).Checkout
	if len(c.Discounts.Codes) != 2 || message(t, c, commerce.MsgDiscountCombination).Path != "$.discounts.codes[2]" {
		t.Fatalf("discounts %+v, messages %+v", c.Discounts, c.Messages)
	}
}

// Truncation: 10 % of 3333 is 333.3, taken as 333; half up would be 333 too, so use 3335
// (333.5): truncate takes 333, half up 334.
func TestDiscountRounding(t *testing.T) {
	for _, tc := range []struct {
		truncate bool
		want     int64
	}{{true, -333}, {false, -334}} {
		h := shopHarness(t)
		h.env = providers.Builtin{
			Items:     []providers.CatalogItem{{ID: "bouquet_roses", Title: "Roses", Price: 3335}},
			Discounts: []providers.DiscountCode{{Code: "10OFF", Title: "10% Off", Percent: 10}},
		}.Wire(h.env)
		h.env.Policy.Discounts.Truncate = tc.truncate
		c := h.must(roses("10OFF")).Checkout
		if got := totals(c)["discount"]; got != tc.want {
			t.Fatalf("truncate=%v: discount %d, want %d", tc.truncate, got, tc.want)
		}
	}
}

// Without stacking (the demo's rule) a second code is refused; without compounding every
// code is taken from the subtotal.
func TestDiscountRulesOff(t *testing.T) {
	h := shopHarness(t)
	h.env.Policy.Discounts = commerce.DiscountRules{}
	c := h.must(roses("10OFF", "WELCOME20")).Checkout
	if len(c.Discounts.Codes) != 1 || totals(c)["total"] != 3150 {
		t.Fatalf("discounts %+v, totals %v", c.Discounts, totals(c))
	}
	message(t, c, commerce.MsgDiscountCombination)

	h.env.Policy.Discounts = commerce.DiscountRules{Stacking: true}
	c = h.must(roses("10OFF", "WELCOME20")).Checkout
	if got := totals(c); got["discount"] != -1050 || got["total"] != 2450 {
		t.Fatalf("stacking on the subtotal: totals %v, want discount -1050", got)
	}
	// Fixed amounts never take the total below zero, however many stack.
	h.env.Policy.Discounts = commerce.DiscountRules{Stacking: true, MaxCodes: 5}
	h.env = providers.Builtin{
		Items:     []providers.CatalogItem{{ID: "bouquet_roses", Title: "Roses", Price: 700}},
		Discounts: []providers.DiscountCode{{Code: "A", Title: "A", Amount: 500}, {Code: "B", Title: "B", Amount: 500}},
	}.Wire(h.env)
	c = h.must(roses("A", "B")).Checkout
	if got := totals(c); got["discount"] != -700 || got["total"] != 0 || c.Discounts.Applied[1].Amount != -200 {
		t.Fatalf("totals %v, applied %+v", got, c.Discounts.Applied)
	}
}

// A known customer (by email, or by id) is offered the saved addresses as destinations,
// and may choose one by its id alone; an unknown buyer is offered none.
func TestKnownCustomerDestinations(t *testing.T) {
	h := shopHarness(t)
	up := roses()
	up.Update.Buyer = &commerce.Buyer{Email: "unknown@example.com"}
	up.Update.ShippingRequested = true
	c := h.must(up).Checkout
	if !c.Fulfillment.Requested || c.Fulfillment.Destinations != nil {
		t.Fatalf("unknown buyer: fulfillment %+v", c.Fulfillment)
	}

	up.Update.Buyer = &commerce.Buyer{Email: "John.Doe@example.com"}
	c = h.must(up).Checkout
	d := c.Fulfillment.Destinations
	if len(d) != 2 || d[0].ID != "addr_1" || d[1].ID != "addr_2" || !d[0].Saved || c.Fulfillment.Address != nil {
		t.Fatalf("known buyer: fulfillment %+v", c.Fulfillment)
	}

	up.Update.DestinationID = "addr_2"
	c = h.must(up).Checkout
	if f := c.Fulfillment; f.DestinationID != "addr_2" || f.Address == nil || f.Address.StreetAddress != "456 Oak Ave" || len(f.Options) != 1 {
		t.Fatalf("chosen addr_2: fulfillment %+v", f)
	}
	// Chosen by the customer id, without an email.
	up.Update.Buyer = &commerce.Buyer{CustomerID: "cust_1"}
	c = h.must(up).Checkout
	if c.Fulfillment.Address == nil || c.Fulfillment.Address.PostalCode != "10012" {
		t.Fatalf("by id: fulfillment %+v", c.Fulfillment)
	}
	// Destinations sent are all that is offered (the suite's known customer with a new
	// address): the saved ones are not, and an id sent is the agent's.
	sent := commerce.Address{StreetAddress: "123 New St", AddressLocality: "Toronto", PostalCode: "M5V 2H1", AddressCountry: "CA"}
	up.Update.Destinations = []commerce.Destination{{ID: "dest_new", Address: sent}, {ID: "addr_1", Address: sent}}
	up.Update.DestinationID, up.Update.Address = "dest_new", &sent
	c = h.must(up).Checkout
	d = c.Fulfillment.Destinations
	if len(d) != 2 || d[0].ID != "dest_new" || d[1].ID != "addr_1" || d[1].Saved || d[1].Address != sent {
		t.Fatalf("sent: %+v", d)
	}
	// An address sent without an id that is a saved one is that one, by its id, alone
	// (the suite's existing address reuse); another is the address set without an id.
	home := commerce.Address{StreetAddress: "123 MAIN ST", AddressLocality: "Springfield", AddressRegion: "IL", PostalCode: "62704", AddressCountry: "US"}
	up.Update.Destinations, up.Update.DestinationID, up.Update.Address = nil, "", &home
	c = h.must(up).Checkout
	if f := c.Fulfillment; f.DestinationID != "addr_1" || len(f.Destinations) != 1 || f.Destinations[0].ID != "addr_1" || f.Destinations[0].Saved || len(f.Options) != 1 {
		t.Fatalf("a saved address sent without its id: %+v", f)
	}
	up.Update.Address = &sent
	c = h.must(up).Checkout
	if f := c.Fulfillment; f.DestinationID != "" || f.Destinations != nil || *f.Address != sent {
		t.Fatalf("a new address sent without an id: %+v", f)
	}
	// A saved address of someone else, or none at all: refused.
	up.Update.Destinations, up.Update.Address, up.Update.DestinationID = nil, nil, "addr_9"
	h.fails(up, errInvalid, "fulfillment")
	up.Update.Buyer, up.Update.DestinationID = &commerce.Buyer{Email: "jane@example.com"}, "addr_1"
	h.fails(up, errInvalid, "fulfillment")

	// A buyer who stops being known loses the saved address chosen.
	up.Update.Buyer, up.Update.DestinationID = &commerce.Buyer{Email: "john.doe@example.com"}, "addr_1"
	h.must(up)
	c = h.must(commerce.SetBuyer{Buyer: commerce.Buyer{Email: "jane@example.com"}}).Checkout
	if f := c.Fulfillment; f.Address != nil || f.DestinationID != "" || f.Destinations != nil || !f.Requested {
		t.Fatalf("after the buyer changed: fulfillment %+v (the method stays, empty)", f)
	}
}

// An address chosen says shipping was asked for: Requested stays false beside it, so
// that such a checkout keeps to the store's older framing.
func TestRequestedOnlyWithoutAnAddress(t *testing.T) {
	h := shopHarness(t)
	up := roses()
	a := commerce.Address{StreetAddress: "1 Main St", AddressLocality: "Springfield", PostalCode: "62704", AddressCountry: "US"}
	up.Update.ShippingRequested, up.Update.Address = true, &a
	c := h.must(up).Checkout
	if f := c.Fulfillment; f.Requested || f.Address == nil || len(f.Options) == 0 || f.Destinations != nil || f.DestinationID != "" {
		t.Fatalf("fulfillment %+v", f)
	}
}

func TestBuyerConsentKept(t *testing.T) {
	h := shopHarness(t)
	yes, no := true, false
	up := roses()
	up.Update.Buyer = &commerce.Buyer{Email: "a@example.com", Consent: &commerce.Consent{Marketing: &no, Analytics: &yes}}
	c := h.must(up).Checkout
	got := c.Buyer.Consent
	if got == nil || *got.Marketing || !*got.Analytics || got.Preferences != nil || got.SaleOfData != nil {
		t.Fatalf("consent %+v", got)
	}
}

// The buyer's email: required by default (the contract's rule), not when the tenant's
// policy makes it optional, where a checkout without a buyer is ready and completes.
func TestBuyerEmailOptional(t *testing.T) {
	for _, optional := range []bool{false, true} {
		h := shopHarness(t)
		h.env.Policy.BuyerEmailOptional = optional
		up := roses()
		up.Update.Address = &commerce.Address{StreetAddress: "1 Main St", AddressLocality: "Springfield", PostalCode: "62704", AddressCountry: "US"}
		up.Update.SelectedOptionID = "std-ship"
		c := h.must(up).Checkout
		want := commerce.StatusIncomplete
		if optional {
			want = commerce.StatusReadyForComplete
		}
		if c.Status != want {
			t.Fatalf("optional %v: status %s, messages %+v", optional, c.Status, c.Messages)
		}
		if !optional {
			continue
		}
		done := h.must(flowerPay("mock_payment_handler", commerce.Credential{Type: "token", Token: "tok_visa"}))
		if done.Checkout.Status != commerce.StatusCompleted || done.Checkout.Order == nil {
			t.Fatalf("complete without an email: %s %+v", done.Checkout.Status, done.Checkout.Messages)
		}
	}
}

// A tenant that allows partial addresses: a country is enough to complete, with no
// address_incomplete message.
func TestPartialAddressOK(t *testing.T) {
	h := shopHarness(t)
	h.env.Policy.PartialAddressOK = true
	up := roses()
	up.Update.Buyer = &commerce.Buyer{Email: "jane@example.com"}
	a := commerce.Address{AddressCountry: "US"}
	up.Update.ShippingRequested, up.Update.Address, up.Update.SelectedOptionID = true, &a, "std-ship"
	up.Update.Destinations, up.Update.DestinationID = []commerce.Destination{{ID: "dest_1", Address: a}}, "dest_1"
	c := h.must(up).Checkout
	if c.Status != commerce.StatusReadyForComplete || len(c.Messages) != 0 || totals(c)["fulfillment"] != 500 {
		t.Fatalf("status %s, messages %v, totals %v", c.Status, messageCodes(c), totals(c))
	}
	if done := h.must(flowerPay("mock_payment_handler", commerce.Credential{Type: "token", Token: "tok_visa"})).Checkout; done.Status != commerce.StatusCompleted {
		t.Fatalf("complete: %s %v", done.Status, messageCodes(done))
	}
}

func flowerPay(handler string, cr commerce.Credential) commerce.CompleteCheckout {
	return commerce.CompleteCheckout{Instruments: []commerce.PaymentInstrument{{
		ID: "instr_1", HandlerID: handler, Type: "card", Selected: true, Credential: cr,
	}}}
}

// readyRoses makes a ready checkout of the shop, shipped to a saved address.
func readyRoses(h *harness) *commerce.Checkout {
	h.t.Helper()
	up := roses()
	up.Update.Buyer = &commerce.Buyer{Email: "john.doe@example.com"}
	up.Update.DestinationID = "addr_1"
	up.Update.SelectedOptionID = "std-ship"
	c := h.must(up).Checkout
	if c.Status != commerce.StatusReadyForComplete {
		h.t.Fatalf("status %s, messages %+v", c.Status, c.Messages)
	}
	return c
}

func TestPaymentHandlersAndBindings(t *testing.T) {
	h := shopHarness(t)
	c := readyRoses(h)
	// A handler the tenant does not list.
	h.fails(flowerPay("mock", commerce.Credential{Type: "token", Token: "tok_visa"}), errInvalid, "payment.instruments[0].handler_id")
	// A token bound to another checkout.
	bound := commerce.Credential{Type: "stripe_token", Token: "tok_visa", Binding: &commerce.Binding{CheckoutID: "chk_other", AccessToken: "user_access_token"}}
	h.fails(flowerPay("mock_payment_handler", bound), errInvalid, "payment.instruments[0].credential.binding.checkout_id")
	// Neither a token nor a card.
	h.fails(flowerPay("mock_payment_handler", commerce.Credential{Type: "card"}), errInvalid, "payment.instruments[0].credential.token")

	bound.Binding.CheckoutID = c.ID
	done := h.must(flowerPay("mock_payment_handler", bound)).Checkout
	if done.Status != commerce.StatusCompleted {
		t.Fatalf("status %s, messages %+v", done.Status, done.Messages)
	}
}

// recordingPayments approves everything and keeps what it was asked.
type recordingPayments struct {
	commerce.Payments
	got []commerce.PaymentRequest
}

func (r *recordingPayments) Authorize(_ context.Context, req commerce.PaymentRequest) (commerce.PaymentResult, error) {
	r.got = append(r.got, req)
	return commerce.PaymentResult{Approved: true, PaymentID: "pay_1"}, nil
}

// The card and the AP2 mandate reach the payment provider as they were sent.
func TestCardAndMandateReachTheProvider(t *testing.T) {
	h := shopHarness(t)
	rec := &recordingPayments{}
	h.env.Payments = rec
	readyRoses(h)
	card := &commerce.CardCredential{NumberType: "fpan", Number: "4242424242424242", ExpiryMonth: 12, ExpiryYear: 2030, CVC: "123", Name: "John Doe"}
	cmd := flowerPay("mock_payment_handler", commerce.Credential{Type: "card", Card: card})
	cmd.AP2 = &commerce.Mandate{CheckoutMandate: "header.payload.signature~kb_signature"}
	if c := h.must(cmd).Checkout; c.Status != commerce.StatusCompleted {
		t.Fatalf("status %s", c.Status)
	}
	if len(rec.got) != 1 || rec.got[0].Instrument.Credential.Card == nil || *rec.got[0].Instrument.Credential.Card != *card ||
		rec.got[0].Mandate != "header.payload.signature~kb_signature" {
		t.Fatalf("provider asked %+v", rec.got)
	}
}

// The suite's dynamic fulfillment: a destination of a country and a postal code alone is
// priced for its country, and its option may be chosen, but the checkout cannot complete
// until the address is whole.
func TestPartialDestinationPricedNotShipped(t *testing.T) {
	h := shopHarness(t)
	h.env = providers.Builtin{
		Items: []providers.CatalogItem{{ID: "bouquet_roses", Title: "Bouquet of Red Roses", Price: 3500}},
		Shipping: []providers.ShippingRate{
			{ID: "std-ship", Title: "Standard Shipping", Amount: 500},
			{ID: "exp-ship-us", Title: "Express Shipping (US)", Amount: 1500, Countries: []string{"US"}},
			{ID: "exp-ship-intl", Title: "International Express", Amount: 2500, Countries: []string{"CA"}},
		},
	}.Wire(h.env)
	ship := func(a commerce.Address, option string) *commerce.Checkout {
		up := roses()
		up.Update.Buyer = &commerce.Buyer{Email: "jane@example.com"}
		up.Update.ShippingRequested, up.Update.Address, up.Update.SelectedOptionID = true, &a, option
		up.Update.Destinations, up.Update.DestinationID = []commerce.Destination{{ID: "dest", Address: a}}, "dest"
		return h.must(up).Checkout
	}
	optionIDs := func(c *commerce.Checkout) (ids []string) {
		for _, o := range c.Fulfillment.Options {
			ids = append(ids, o.ID)
		}
		return ids
	}
	us := commerce.Address{PostalCode: "62704", AddressCountry: "US"}
	c := ship(us, "")
	if got := optionIDs(c); len(got) != 2 || got[1] != "exp-ship-us" {
		t.Fatalf("US options %v", got)
	}
	m := message(t, c, commerce.MsgAddressIncomplete)
	if m.Type != commerce.MessageError || m.Severity != commerce.SeverityRecoverable || m.Path != "$.fulfillment" {
		t.Fatalf("message %+v", m)
	}
	if got := optionIDs(ship(commerce.Address{PostalCode: "M5V 2H1", AddressCountry: "CA"}, "")); len(got) != 2 || got[1] != "exp-ship-intl" {
		t.Fatalf("CA options %v", got)
	}
	// Chosen, and priced, but held back from completing.
	c = ship(us, "exp-ship-us")
	if totals(c)["fulfillment"] != 1500 || c.Status != commerce.StatusIncomplete {
		t.Fatalf("status %s, totals %v", c.Status, totals(c))
	}
	h.fails(flowerPay("mock_payment_handler", commerce.Credential{Type: "token", Token: "tok_visa"}), commerce.ErrInvalidTransition, "")
	// The whole address: ready, and it completes.
	whole := commerce.Address{StreetAddress: "123 Main St", AddressLocality: "Springfield", AddressRegion: "IL", PostalCode: "62704", AddressCountry: "US"}
	c = ship(whole, "exp-ship-us")
	if c.Status != commerce.StatusReadyForComplete || len(c.Messages) != 0 {
		t.Fatalf("status %s, messages %v", c.Status, messageCodes(c))
	}
	h.must(flowerPay("mock_payment_handler", commerce.Credential{Type: "token", Token: "tok_visa"}))
}

// The items to ship reach the shipping provider: the suite's free shipping on rose
// bouquets holds for roses alone, not once a pot ships with them; a digital line does
// not count.
func TestShippingQuoteNamesTheItems(t *testing.T) {
	h := shopHarness(t)
	h.env = providers.Builtin{
		Items: []providers.CatalogItem{{ID: "bouquet_roses", Title: "Roses", Price: 3500},
			{ID: "pot_ceramic", Title: "Pot", Price: 1500}, {ID: "care_guide", Title: "Care guide", Price: 100, Digital: true}},
		Shipping: []providers.ShippingRate{{ID: "std-ship", Title: "Standard Shipping", Amount: 500,
			FreeItems: []string{"bouquet_roses"}, FreeTitle: "Free Shipping"}},
	}.Wire(h.env)
	a := commerce.Address{StreetAddress: "1 Main St", AddressLocality: "Springfield", PostalCode: "62704", AddressCountry: "US"}
	for _, tc := range []struct {
		items []string
		want  commerce.ShippingOption
	}{
		{[]string{"bouquet_roses", "care_guide"}, commerce.ShippingOption{ID: "std-ship", Title: "Free Shipping", Amount: 0}},
		{[]string{"bouquet_roses", "pot_ceramic"}, commerce.ShippingOption{ID: "std-ship", Title: "Standard Shipping", Amount: 500}},
	} {
		up := commerce.UpsertCheckout{Update: commerce.UpdateCheckout{Address: &a}}
		for _, id := range tc.items {
			up.Update.LineItems = append(up.Update.LineItems, commerce.LineItemInput{ItemID: id, Quantity: 1})
		}
		if o := h.must(up).Checkout.Fulfillment.Options; len(o) != 1 || o[0] != tc.want {
			t.Errorf("%v: options %+v", tc.items, o)
		}
	}
}
