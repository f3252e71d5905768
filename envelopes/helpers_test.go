package envelopes

import (
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

const (
	testTenant  = "demo"
	testContext = "ctx-42"
)

// rpc wraps a data object in a JSON-RPC message/send request.
func rpc(data string) string {
	return `{"jsonrpc":"2.0","id":"req-7","method":"message/send","params":{"message":` + msg(data) + `}}`
}

// msg is a user message whose only part is a data part holding data.
func msg(data string) string {
	return `{"kind":"message","role":"user","messageId":"msg-01J9Z","contextId":"ctx-42",` +
		`"parts":[{"kind":"data","data":` + data + `}]}`
}

// rpcMsg wraps a message object in a JSON-RPC message/send request.
func rpcMsg(m string) string {
	return `{"jsonrpc":"2.0","id":"req-7","method":"message/send","params":{"message":` + m + `}}`
}

func int64p(n int64) *int64 { return &n }

// sampleCheckout is a checkout with a bit of everything.
func sampleCheckout() *commerce.Checkout {
	created := time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC)
	return &commerce.Checkout{
		ID:       "chk_7f3a",
		Status:   commerce.StatusReadyForComplete,
		Currency: "USD",
		LineItems: []commerce.LineItem{
			{ID: "li_1", Item: commerce.Item{ID: "sku_tee", Title: "Cartwright Tee", Price: 2500}, Quantity: 2,
				Totals: []commerce.Total{{Type: commerce.TotalSubtotal, Amount: 5000}, {Type: commerce.TotalTotal, Amount: 5000}}},
			{ID: "li_2", Item: commerce.Item{ID: "sku_gift", Title: "Gift Card", Price: 5000, Digital: true}, Quantity: 1,
				Totals: []commerce.Total{{Type: commerce.TotalSubtotal, Amount: 5000}, {Type: commerce.TotalTotal, Amount: 5000}}},
		},
		Buyer:   &commerce.Buyer{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"},
		Context: &commerce.BuyerContext{AddressCountry: "US", AddressRegion: "CA", PostalCode: "94107"},
		Fulfillment: commerce.Fulfillment{
			Address: &commerce.Address{StreetAddress: "1 Market St", AddressLocality: "San Francisco",
				AddressRegion: "CA", PostalCode: "94107", AddressCountry: "US"},
			Options: []commerce.ShippingOption{
				{ID: "std", Title: "Standard", Amount: 0},
				{ID: "exp", Title: "Express", Amount: 1500},
			},
			SelectedOptionID: "std",
		},
		Discounts: commerce.Discounts{
			Codes:   []string{"SAVE10"},
			Applied: []commerce.AppliedDiscount{{Code: "SAVE10", Title: "10% off", Amount: -1000}},
		},
		Totals: []commerce.Total{
			{Type: commerce.TotalSubtotal, DisplayText: "Subtotal", Amount: 10000},
			{Type: commerce.TotalDiscount, DisplayText: "SAVE10", Amount: -1000},
			{Type: commerce.TotalFulfillment, DisplayText: "Standard", Amount: 0},
			{Type: commerce.TotalTax, DisplayText: "Tax", Amount: 743},
			{Type: commerce.TotalTotal, DisplayText: "Total", Amount: 9743},
		},
		Messages: []commerce.Message{{Type: commerce.MessageWarning, Code: commerce.MsgDiscountCombination,
			Path: "$.discounts.codes[1]", Content: "only one discount code applies"}},
		CreatedAt: created,
		UpdatedAt: created.Add(time.Minute),
		ExpiresAt: created.Add(6 * time.Hour),
		NextLine:  3,
	}
}

func sampleOrder() *commerce.Order {
	c := sampleCheckout()
	return &commerce.Order{
		ID:          "ord_91c2",
		CheckoutID:  c.ID,
		Status:      commerce.OrderPlaced,
		Currency:    c.Currency,
		LineItems:   c.LineItems,
		Buyer:       c.Buyer,
		Fulfillment: commerce.Fulfillment{Address: c.Fulfillment.Address, Options: c.Fulfillment.Options[:1], SelectedOptionID: "std"},
		Totals:      c.Totals,
		Payment: commerce.Payment{ID: "pay_mock_1", HandlerID: "mock", Status: commerce.PaymentCaptured,
			Authorized: 9743, Captured: 9743},
		PermalinkURL: "https://shop.example/orders/ord_91c2",
		CreatedAt:    c.UpdatedAt,
		UpdatedAt:    c.UpdatedAt,
	}
}
