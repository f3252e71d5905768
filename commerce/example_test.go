package commerce_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// A whole purchase from the demo tenant: each command is applied to the state the previous
// one produced, with the time and an id seed taken from its envelope.
func Example() {
	env := providers.Demo().Wire(commerce.Env{
		Tenant:   "demo",
		Context:  "ctx-42",
		Now:      time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC),
		Policy:   providers.DemoPolicy(),
		Payments: providers.NewMockPayments(),
	})
	var st commerce.State
	for i, cmd := range []commerce.Command{
		commerce.CreateCheckout{Buyer: &commerce.Buyer{Email: "ada@example.com"}},
		commerce.AddItem{ItemID: "sku_tee", Quantity: 2},
		commerce.SetShippingAddress{Address: commerce.Address{StreetAddress: "1 Market St", AddressLocality: "San Francisco",
			AddressRegion: "CA", PostalCode: "94105", AddressCountry: "US"}},
		commerce.SelectShippingOption{OptionID: "std"},
		commerce.ApplyDiscount{Code: "SAVE10"},
		commerce.CompleteCheckout{Instruments: []commerce.PaymentInstrument{{
			HandlerID: "mock", Credential: commerce.Credential{Type: "token", Token: "tok_visa"},
		}}},
	} {
		env.Seed = fmt.Sprintf("msg-%d", i)
		res, err := commerce.Apply(context.Background(), env, st, cmd)
		if err != nil {
			fmt.Println(cmd.Action(), err)
			return
		}
		st = res.State
		total, _ := commerce.TotalOf(res.Checkout.Totals, commerce.TotalTotal)
		fmt.Printf("%-22s %-18s total %5d %v\n", cmd.Action(), res.Checkout.Status, total, events(res))
	}
	o := st.Orders[0]
	fmt.Println(o.Status, o.Payment.Status, o.Payment.Captured)
	// Output:
	// create_checkout        incomplete         total     0 []
	// add_item               incomplete         total  5000 []
	// set_shipping_address   incomplete         total  5413 []
	// select_shipping_option ready_for_complete total  5913 []
	// apply_discount         ready_for_complete total  5371 []
	// complete_checkout      completed          total  5371 [checkout.completed order.created payment.authorized payment.captured]
	// placed captured 5371
}

func events(res commerce.Result) []commerce.EventType {
	var types []commerce.EventType
	for _, e := range res.Events {
		types = append(types, e.Type)
	}
	return types
}
