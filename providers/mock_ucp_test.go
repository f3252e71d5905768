package providers_test

import (
	"context"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// A tenant's own test tokens, and cards: a Luhn-valid number is approved except the
// declined test card; an invalid number is declined.
func TestMockTokensAndCards(t *testing.T) {
	m := providers.NewMockPayments().SetTokens([]string{"success_token"}, []string{"fail_token"})
	plain := providers.NewMockPayments()
	card := func(n string) commerce.Credential {
		return commerce.Credential{Type: "card", Card: &commerce.CardCredential{NumberType: "fpan", Number: n}}
	}
	for i, tc := range []struct {
		m    *providers.MockPayments
		cr   commerce.Credential
		want bool
	}{
		{m, commerce.Credential{Token: "success_token"}, true},
		{m, commerce.Credential{Token: "fail_token"}, false},
		{m, commerce.Credential{Token: providers.TokenApproved}, true},
		{plain, commerce.Credential{Token: "success_token"}, false},
		{m, card("4242424242424242"), true},
		{m, card("4242424242424241"), false},
		{m, card(providers.CardDeclined), false},
	} {
		r, err := tc.m.Authorize(context.Background(), commerce.PaymentRequest{
			IdempotencyKey: "k" + string(rune('a'+i)), Amount: 100, Capture: true,
			Instrument: commerce.PaymentInstrument{HandlerID: "mock_payment_handler", Credential: tc.cr},
		})
		if err != nil || r.Approved != tc.want {
			t.Errorf("case %d (%+v): approved %v, %v; want %v", i, tc.cr, r.Approved, err, tc.want)
		}
	}
}

// The HTTP payment provider receives a card, a token's binding and the AP2 mandate as
// the agent sent them; without them the body has none of those keys.
func TestHTTPPaymentsCardBindingMandate(t *testing.T) {
	m := newMerchant(t)
	m.json("POST /v1/payments/authorize", 200, `{"approved":true,"payment_id":"pay_123"}`)
	pay := must(providers.NewHTTPPayments(m.options()))

	card := payRequest("k1")
	card.Instrument.Credential = commerce.Credential{Type: "card", Card: &commerce.CardCredential{
		NumberType: "fpan", Number: "4242424242424242", ExpiryMonth: 12, ExpiryYear: 2030, CVC: "123", Name: "John Doe"}}
	card.Mandate = "header.payload.signature~kb_signature"
	bound := payRequest("k2")
	bound.Instrument.Credential.Binding = &commerce.Binding{CheckoutID: "chk_1", AccessToken: "user_access_token"}
	for _, r := range []commerce.PaymentRequest{card, bound, payRequest("k3")} {
		if _, err := pay.Authorize(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	hits := m.Hits()
	cred := func(i int) map[string]any {
		return hits[i].Body["instrument"].(map[string]any)["credential"].(map[string]any)
	}
	if c := cred(0); c["type"] != "card" || c["number"] != "4242424242424242" || c["expiry_month"] != 12.0 ||
		c["cvc"] != "123" || c["card_number_type"] != "fpan" || c["token"] != nil {
		t.Errorf("card: %v", c)
	}
	if ap2, _ := hits[0].Body["ap2"].(map[string]any); ap2["checkout_mandate"] != "header.payload.signature~kb_signature" {
		t.Errorf("ap2: %v", hits[0].Body)
	}
	b, _ := cred(1)["binding"].(map[string]any)
	if id, _ := b["identity"].(map[string]any); b["checkout_id"] != "chk_1" || id["access_token"] != "user_access_token" {
		t.Errorf("binding: %v", cred(1))
	}
	if _, ok := hits[2].Body["ap2"]; ok || cred(2)["binding"] != nil || cred(2)["number"] != nil {
		t.Errorf("plain token: %v", hits[2].Body)
	}
}
