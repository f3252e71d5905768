package providers

import (
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Demo returns the data of the built-in demo tenant (CONTRACT.md section 5). Every call
// returns a fresh copy.
func Demo() Builtin {
	stock := func(n int64) *int64 { return &n }
	return Builtin{
		Items: []CatalogItem{
			{ID: "sku_tee", Title: "Cartwright Tee", Price: 2500, Stock: stock(1000)},
			{ID: "sku_mug", Title: "Enamel Mug", Price: 1400, Stock: stock(1000)},
			{ID: "sku_cap", Title: "Canvas Cap", Price: 2000, Stock: stock(5)},
			{ID: "sku_poster", Title: "Retired Poster", Price: 900, Stock: stock(0)},
			{ID: "sku_gift", Title: "Gift Card", Price: 5000, Digital: true},
		},
		ShipTo: []string{"US"},
		Shipping: []ShippingRate{
			{ID: "std", Title: "Standard", Amount: 500, FreeFrom: 10000},
			{ID: "exp", Title: "Express", Amount: 1500},
		},
		TaxRates: []TaxRate{
			{Country: "US", Region: "CA", BasisPoints: 825},
		},
		Discounts: []DiscountCode{
			{Code: "SAVE10", Title: "10% off", Percent: 10},
			{Code: "FLAT5", Title: "$5 off", Amount: 500},
		},
	}
}

// DemoPolicy returns the demo tenant's policy: USD, checkouts open for 6 h, an agent limit
// of 100000 (a larger total requires escalation), payments captured at completion, links
// under http://127.0.0.1:8080 (the default --http-listen).
func DemoPolicy() commerce.Policy {
	return commerce.Policy{
		Currency:        "USD",
		CheckoutTTL:     6 * time.Hour,
		EscalationLimit: 100000,
		AutoCapture:     true,
		BaseURL:         "http://127.0.0.1:8080",
		MaxLineItems:    commerce.DefaultMaxLineItems,
		MaxQuantity:     commerce.DefaultMaxQuantity,
	}
}
