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
