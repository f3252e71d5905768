package providers_test

import (
	"context"
	"fmt"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// The demo tenant's providers answer the questions commerce asks.
func Example() {
	ctx := context.Background()
	demo := providers.Demo()
	shipping := providers.NewShipping(demo.ShipTo, demo.Shipping)
	tax := providers.NewTax(demo.TaxRates)
	to := commerce.Address{AddressRegion: "CA", AddressCountry: "US"}

	for _, subtotal := range []int64{4500, 10300} {
		opts, _, _ := shipping.Options(ctx, commerce.ShippingQuote{Address: to, DiscountedSubtotal: subtotal})
		t, _ := tax.Tax(ctx, commerce.TaxQuote{Address: &to, DiscountedSubtotal: subtotal})
		fmt.Printf("subtotal %d: %s %d, tax %d\n", subtotal, opts[0].ID, opts[0].Amount, t)
	}

	pay := providers.NewMockPayments()
	for _, token := range []string{"tok_visa", "tok_decline", "tok_flaky"} {
		r, err := pay.Authorize(ctx, commerce.PaymentRequest{
			IdempotencyKey: "key-" + token, Amount: 1000,
			Instrument: commerce.PaymentInstrument{HandlerID: "mock", Credential: commerce.Credential{Token: token}},
		})
		fmt.Printf("%s: approved %v %q, error %v\n", token, r.Approved, r.DeclineReason, err)
	}
	// Output:
	// subtotal 4500: std 500, tax 371
	// subtotal 10300: std 0, tax 850
	// tok_visa: approved true "", error <nil>
	// tok_decline: approved false "card declined", error <nil>
	// tok_flaky: approved false "", error temporarily_unavailable: payment handler mock is temporarily unavailable: simulated processor timeout
}
