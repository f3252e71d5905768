package envelopes

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

// What the UCP form reads back out of an encoded checkout is the checkout's own selection.
func TestCheckoutRoundTrip(t *testing.T) {
	digitalOnly := sampleCheckout()
	digitalOnly.LineItems = digitalOnly.LineItems[1:]
	digitalOnly.Fulfillment = commerce.Fulfillment{}
	digitalOnly.Buyer, digitalOnly.Context = nil, nil
	digitalOnly.Discounts = commerce.Discounts{}
	optionsOnly := sampleCheckout()
	optionsOnly.Fulfillment.Address = nil
	empty := &commerce.Checkout{ID: "chk_0", Status: commerce.StatusIncomplete, Currency: "USD", Buyer: &commerce.Buyer{}}

	for name, c := range map[string]*commerce.Checkout{
		"sample": sampleCheckout(), "digital only": digitalOnly, "options only": optionsOnly, "empty": empty,
	} {
		t.Run(name, func(t *testing.T) {
			enc, err := EncodeCheckout(c)
			if err != nil {
				t.Fatal(err)
			}
			req, err := Parse([]byte(rpc(`{"a2a.ucp.checkout":`+string(enc)+`}`)), testTenant, testContext, Limits{})
			if err != nil {
				t.Fatalf("Parse of the encoded checkout: %v\n%s", err, enc)
			}
			want := commerce.UpsertCheckout{Update: commerce.UpdateCheckout{
				Buyer:            c.Buyer,
				Context:          c.Context,
				Address:          c.Fulfillment.Address,
				SelectedOptionID: c.Fulfillment.SelectedOptionID,
				DiscountCodes:    c.Discounts.Codes,
				// A method is sent back whenever there is one; an address set without
				// an id goes out as the destination dest_1 and comes back without one.
				ShippingRequested: fulfillmentWire(c.Fulfillment, c.LineItems) != nil,
			}}
			for _, l := range c.LineItems {
				want.Update.LineItems = append(want.Update.LineItems, commerce.LineItemInput{ItemID: l.Item.ID, Quantity: l.Quantity})
			}
			if !reflect.DeepEqual(req.Command, want) {
				t.Errorf("round trip\n got %#v\nwant %#v", req.Command, want)
			}
			// update_checkout reads the same object the same way.
			req, err = Parse([]byte(rpc(`{"action":"update_checkout","checkout":`+string(enc)+`}`)), testTenant, testContext, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(req.Command, want.Update) {
				t.Errorf("update_checkout\n got %#v\nwant %#v", req.Command, want.Update)
			}
		})
	}
}

func TestEncodeDeterministic(t *testing.T) {
	a, _ := EncodeCheckout(sampleCheckout())
	b, _ := EncodeCheckout(sampleCheckout())
	if !bytes.Equal(a, b) {
		t.Error("EncodeCheckout is not deterministic")
	}
	o1, _ := EncodeOrder(sampleOrder())
	o2, _ := EncodeOrder(sampleOrder())
	if !bytes.Equal(o1, o2) {
		t.Error("EncodeOrder is not deterministic")
	}
	if _, err := EncodeCheckout(nil); err == nil {
		t.Error("EncodeCheckout(nil) succeeded")
	}
	if _, err := EncodeOrder(nil); err == nil {
		t.Error("EncodeOrder(nil) succeeded")
	}
}

// The checkout resource has the shape of CONTRACT.md section 5 and UCP.
func TestCheckoutShape(t *testing.T) {
	enc, _ := EncodeCheckout(sampleCheckout())
	var w Checkout
	if err := json.Unmarshal(enc, &w); err != nil {
		t.Fatal(err)
	}
	if w.UCP.Version != UCPVersion || len(w.UCP.Capabilities) != 3 || w.UCP.Capabilities[0].Name != CapCheckout {
		t.Errorf("ucp = %+v", w.UCP)
	}
	if w.Links == nil || w.ExpiresAt != "2026-04-08T18:00:00Z" || w.Status != "ready_for_complete" {
		t.Errorf("links %v expires_at %q status %q", w.Links, w.ExpiresAt, w.Status)
	}
	m := w.Fulfillment.Methods[0]
	if m.Type != "shipping" || !reflect.DeepEqual(m.LineItemIDs, []string{"li_1"}) ||
		m.SelectedDestinationID != m.Destinations[0].ID || m.Groups[0].SelectedOptionID != "std" ||
		len(m.Groups[0].Options) != 2 || m.Groups[0].Options[1].Totals[0].Amount != 1500 {
		t.Errorf("fulfillment = %+v", m)
	}
	if w.Discounts.Applied[0].Amount != 1000 {
		t.Errorf("applied discount = %+v", w.Discounts.Applied[0])
	}
	for _, k := range []string{`"buyer"`, `"context"`, `"messages"`} {
		if !bytes.Contains(enc, []byte(k)) {
			t.Errorf("missing %s", k)
		}
	}
	empty, _ := EncodeCheckout(&commerce.Checkout{ID: "chk_0", Status: commerce.StatusIncomplete})
	for _, k := range []string{`"buyer"`, `"context"`, `"messages"`, `"fulfillment"`, `"order"`, `"continue_url"`, `"expires_at"`, `null`} {
		if bytes.Contains(empty, []byte(k)) {
			t.Errorf("empty checkout has %s: %s", k, empty)
		}
	}
}
