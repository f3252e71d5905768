package envelopes

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

// A card credential and a binding's access token never reach a dead letter.
func TestRedactCardAndBinding(t *testing.T) {
	raw := rpc(`{"a2a.ucp.checkout.payment":{"instruments":[{"id":"c","handler_id":"h","credential":{"type":"card",` +
		`"card_number_type":"fpan","number":"4242424242424242","cvc":"123"}},{"id":"t","handler_id":"h","credential":{"type":"token",` +
		`"token":"success_token","binding":{"checkout_id":"x","identity":{"access_token":"secret_at"}}}}]}}`)
	out, redacted := Redact([]byte(raw))
	for _, secret := range []string{"4242424242424242", "123", "success_token", "secret_at"} {
		if !redacted || strings.Contains(string(out), `"`+secret+`"`) {
			t.Fatalf("%s survives: %s", secret, out)
		}
	}
}

// The wider model on the wire: consent echoed, the customer id not; the destinations sent
// and saved with their ids and the chosen one; a method asked for with none chosen.
func TestEncodeDestinationsAndConsent(t *testing.T) {
	no := false
	home := commerce.Address{StreetAddress: "456 Oak Ave", AddressLocality: "Metropolis", AddressRegion: "NY", PostalCode: "10012", AddressCountry: "US"}
	c := &commerce.Checkout{ID: "chk_1", Status: commerce.StatusIncomplete, Currency: "USD",
		LineItems: []commerce.LineItem{{ID: "li_1", Item: commerce.Item{ID: "roses", Title: "Roses", Price: 3500}, Quantity: 1}},
		Buyer:     &commerce.Buyer{Email: "john.doe@example.com", CustomerID: "cust_1", Consent: &commerce.Consent{Marketing: &no}},
		Fulfillment: commerce.Fulfillment{Requested: true, Destinations: []commerce.Destination{
			{ID: "addr_1", Address: home, Saved: true}, {ID: "addr_2", Address: home, Saved: true}}},
	}
	enc := func() map[string]any {
		b, err := EncodeCheckout(c)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := enc()
	buyer := m["buyer"].(map[string]any)
	if consent, _ := buyer["consent"].(map[string]any); len(consent) != 1 || consent["marketing"] != false {
		t.Fatalf("buyer %v", buyer)
	}
	if _, ok := buyer["customer_id"]; ok {
		t.Fatalf("customer_id echoed: %v", buyer)
	}
	method := m["fulfillment"].(map[string]any)["methods"].([]any)[0].(map[string]any)
	if ds := method["destinations"].([]any); len(ds) != 2 || ds[1].(map[string]any)["id"] != "addr_2" {
		t.Fatalf("destinations %v", ds)
	}
	if _, ok := method["selected_destination_id"]; ok {
		t.Fatalf("a destination chosen: %v", method)
	}
	c.Fulfillment.Address, c.Fulfillment.DestinationID = &home, "addr_2"
	method = enc()["fulfillment"].(map[string]any)["methods"].([]any)[0].(map[string]any)
	if method["selected_destination_id"] != "addr_2" || len(method["destinations"].([]any)) != 2 {
		t.Fatalf("method %v", method)
	}
	// Asked for, with nothing to offer: the method, without a destinations field (the
	// UCP suite's unknown customer expects it absent, not empty).
	c.Fulfillment = commerce.Fulfillment{Requested: true}
	method = enc()["fulfillment"].(map[string]any)["methods"].([]any)[0].(map[string]any)
	if _, ok := method["destinations"]; method["type"] != "shipping" || ok {
		t.Fatalf("method %v", method)
	}
	// A partial address chosen: only the fields it has.
	partial := commerce.Address{PostalCode: "62704", AddressCountry: "US"}
	c.Fulfillment = commerce.Fulfillment{Address: &partial, DestinationID: "dest_us",
		Destinations: []commerce.Destination{{ID: "dest_us", Address: partial}}}
	b, err := EncodeCheckout(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"destinations":[{"id":"dest_us","postal_code":"62704","address_country":"US"}]`) {
		t.Fatalf("partial destination: %s", b)
	}
}

// A tenant's payment handlers ride on its checkouts, in replies and in events, and on no
// order; without them the checkout's ucp object is the demo's.
func TestPaymentHandlersListed(t *testing.T) {
	ph := PaymentHandlers{"dev.cartwright.payment": {{ID: "mock_payment_handler", Version: UCPVersion}}}
	const listed = `"payment_handlers":{"dev.cartwright.payment":[{"id":"mock_payment_handler","version":"2026-04-08"}]}`
	ev := commerce.Event{Type: commerce.EvtCheckoutCompleted, Checkout: sampleCheckout(), Order: sampleOrder()}
	for name, b := range map[string][]byte{
		"reply": TenantResultBody("m", "c", sampleCheckout(), nil, ph),
		"event": EncodeEvent(EventMeta{ID: "e", PaymentHandlers: ph}, ev),
	} {
		if strings.Count(string(b), listed) != 1 {
			t.Errorf("%s: %s", name, b)
		}
	}
	for name, b := range map[string][]byte{
		"no handlers": TenantResultBody("m", "c", sampleCheckout(), nil, nil),
		"order":       TenantResultBody("m", "c", nil, sampleOrder(), ph),
		"ResultBody":  ResultBody("m", "c", sampleCheckout(), nil),
	} {
		if strings.Contains(string(b), "payment_handlers") {
			t.Errorf("%s: %s", name, b)
		}
	}
}
