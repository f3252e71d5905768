package providers_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

var ctx = context.Background()

func TestDemoIsValid(t *testing.T) {
	if err := providers.Demo().Validate(); err != nil {
		t.Fatal(err)
	}
	// Each call is a fresh copy: changing one does not change the next.
	d := providers.Demo()
	*d.Items[0].Stock = 1
	d.Items[0].Title = "changed"
	if e := providers.Demo(); *e.Items[0].Stock != 1000 || e.Items[0].Title != "Cartwright Tee" {
		t.Fatal("Demo shares its data between calls")
	}
}

func TestValidateReportsEverything(t *testing.T) {
	b := providers.Builtin{
		Items:     []providers.CatalogItem{{ID: "a", Price: -1}, {ID: "a"}, {}},
		ShipTo:    []string{"USA"},
		Shipping:  []providers.ShippingRate{{ID: "x", Amount: -5}, {ID: "y", Countries: []string{"USA"}, FreeItems: []string{""}}},
		TaxRates:  []providers.TaxRate{{Country: "US", BasisPoints: 10001}},
		Discounts: []providers.DiscountCode{{Code: "A", Percent: 10, Amount: 5}, {Code: "a", Percent: 5}, {Code: "B"}},
	}
	err := b.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"items[0].price", "items[1].id \"a\" is a duplicate", "items[2].id is empty", "ship_to[0]",
		"shipping[0]", `shipping[1].countries[0] "USA"`, "shipping[1].free_items[0] is empty", "tax_rates[0].basis_points", "discounts[0]: set percent or amount, not both", "discounts[1].code", "discounts[2]: set percent or amount"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from\n%v", want, err)
		}
	}
	if (providers.Builtin{}).Validate() != nil {
		t.Error("the zero Builtin is not valid")
	}
}

func TestCatalog(t *testing.T) {
	c := providers.NewCatalog(providers.Demo().Items)
	item, ok, err := c.Item(ctx, "sku_gift")
	if err != nil || !ok || item != (commerce.Item{ID: "sku_gift", Title: "Gift Card", Price: 5000, Digital: true}) {
		t.Fatalf("Item(sku_gift) = %+v, %v, %v", item, ok, err)
	}
	if _, ok, _ := c.Item(ctx, "sku_nope"); ok {
		t.Fatal("found sku_nope")
	}
	for _, tc := range []struct {
		id        string
		n         int64
		unlimited bool
	}{{"sku_tee", 1000, false}, {"sku_cap", 5, false}, {"sku_poster", 0, false}, {"sku_gift", 0, true}, {"sku_nope", 0, false}} {
		n, unlimited, err := c.Available(ctx, tc.id)
		if err != nil || n != tc.n || unlimited != tc.unlimited {
			t.Errorf("Available(%s) = %d, %v, %v", tc.id, n, unlimited, err)
		}
	}
}

func TestShipping(t *testing.T) {
	d := providers.Demo()
	s := providers.NewShipping(d.ShipTo, d.Shipping)
	for _, tc := range []struct {
		country  string
		subtotal int64
		want     []commerce.ShippingOption
		ok       bool
	}{
		{"US", 9999, []commerce.ShippingOption{{ID: "std", Title: "Standard", Amount: 500}, {ID: "exp", Title: "Express", Amount: 1500}}, true},
		{"us", 10000, []commerce.ShippingOption{{ID: "std", Title: "Standard", Amount: 0}, {ID: "exp", Title: "Express", Amount: 1500}}, true},
		{"CA", 10000, nil, false},
		{"", 10000, nil, false},
	} {
		opts, ok, err := s.Options(ctx, commerce.ShippingQuote{Address: commerce.Address{AddressCountry: tc.country}, DiscountedSubtotal: tc.subtotal})
		if err != nil || ok != tc.ok || !reflect.DeepEqual(opts, tc.want) {
			t.Errorf("Options(%s, %d) = %+v, %v, %v", tc.country, tc.subtotal, opts, ok, err)
		}
	}
	// A rate for some countries only (the UCP suite's exp-ship-us); none for a country:
	// undeliverable there.
	byCountry := providers.NewShipping(nil, []providers.ShippingRate{
		{ID: "std-ship", Title: "Standard", Amount: 500, Countries: nil},
		{ID: "exp-ship-us", Title: "Express (US)", Amount: 1500, Countries: []string{"us"}},
		{ID: "exp-ship-intl", Title: "International Express", Amount: 2500, Countries: []string{"CA", "GB"}},
	})
	for country, want := range map[string][]string{"US": {"std-ship", "exp-ship-us"}, "ca": {"std-ship", "exp-ship-intl"}, "FR": {"std-ship"}} {
		opts, ok, err := byCountry.Options(ctx, commerce.ShippingQuote{Address: commerce.Address{AddressCountry: country}})
		var ids []string
		for _, o := range opts {
			ids = append(ids, o.ID)
		}
		if err != nil || !ok || !reflect.DeepEqual(ids, want) {
			t.Errorf("rates by country, %s: %v, %v, %v; want %v", country, ids, ok, err, want)
		}
	}
	// Free for some items: only when every item shipped is one of them, under its free title.
	roses := providers.NewShipping(nil, []providers.ShippingRate{{ID: "std-ship", Title: "Standard Shipping", Amount: 500,
		FreeItems: []string{"bouquet_roses"}, FreeTitle: "Free Standard Shipping", FreeFrom: 10000}})
	for _, tc := range []struct {
		items    []string
		subtotal int64
		want     commerce.ShippingOption
	}{
		{[]string{"bouquet_roses"}, 3500, commerce.ShippingOption{ID: "std-ship", Title: "Free Standard Shipping", Amount: 0}},
		{[]string{"bouquet_roses", "pot_ceramic"}, 5000, commerce.ShippingOption{ID: "std-ship", Title: "Standard Shipping", Amount: 500}},
		{[]string{"pot_ceramic"}, 10000, commerce.ShippingOption{ID: "std-ship", Title: "Free Standard Shipping", Amount: 0}},
		{nil, 0, commerce.ShippingOption{ID: "std-ship", Title: "Standard Shipping", Amount: 500}},
	} {
		opts, ok, err := roses.Options(ctx, commerce.ShippingQuote{Address: commerce.Address{AddressCountry: "US"}, ItemIDs: tc.items, DiscountedSubtotal: tc.subtotal})
		if err != nil || !ok || len(opts) != 1 || opts[0] != tc.want {
			t.Errorf("free items, %v at %d: %+v, %v, %v", tc.items, tc.subtotal, opts, ok, err)
		}
	}
	usOnly := providers.NewShipping(nil, []providers.ShippingRate{{ID: "us", Title: "US", Amount: 1, Countries: []string{"US"}}})
	if opts, ok, _ := usOnly.Options(ctx, commerce.ShippingQuote{Address: commerce.Address{AddressCountry: "FR"}}); ok || opts != nil {
		t.Errorf("no rate for FR: %v, %v", opts, ok)
	}
	anywhere := providers.NewShipping(nil, d.Shipping)
	if _, ok, _ := anywhere.Options(ctx, commerce.ShippingQuote{Address: commerce.Address{AddressCountry: "FR"}}); !ok {
		t.Error("no ship_to does not ship everywhere")
	}
}

func TestTax(t *testing.T) {
	tax := providers.NewTax(append(providers.Demo().TaxRates, providers.TaxRate{Country: "CA", BasisPoints: 500}))
	for _, tc := range []struct {
		country, region string
		subtotal, want  int64
	}{
		{"US", "CA", 4500, 371},  // 371.25
		{"US", "CA", 10300, 850}, // 849.75
		{"us", "ca", 5000, 413},  // 412.5
		{"US", "NY", 10300, 0},
		{"CA", "ON", 1000, 50}, // a country-wide rate
		{"US", "CA", 0, 0},
	} {
		a := &commerce.Address{AddressCountry: tc.country, AddressRegion: tc.region}
		got, err := tax.Tax(ctx, commerce.TaxQuote{Address: a, DiscountedSubtotal: tc.subtotal, Shipping: 500})
		if err != nil || got != tc.want {
			t.Errorf("Tax(%s/%s, %d) = %d, %v; want %d", tc.country, tc.region, tc.subtotal, got, err, tc.want)
		}
	}
	if got, _ := tax.Tax(ctx, commerce.TaxQuote{DiscountedSubtotal: 1000}); got != 0 {
		t.Errorf("tax without an address: %d", got)
	}
}

func TestDiscounts(t *testing.T) {
	d := providers.NewDiscounts(providers.Demo().Discounts)
	got, ok, err := d.Lookup(ctx, " save10 ")
	if err != nil || !ok || got != (commerce.Discount{Code: "SAVE10", Title: "10% off", Percent: 10}) {
		t.Fatalf("Lookup(save10) = %+v, %v, %v", got, ok, err)
	}
	if got, ok, _ := d.Lookup(ctx, "FLAT5"); !ok || got.Amount != 500 {
		t.Fatalf("Lookup(FLAT5) = %+v", got)
	}
	for _, code := range []string{"", "SAVE100", "nope"} {
		if _, ok, _ := d.Lookup(ctx, code); ok {
			t.Errorf("Lookup(%q) found a discount", code)
		}
	}
}

func TestWire(t *testing.T) {
	pay := providers.NewMockPayments()
	env := providers.Demo().Wire(commerce.Env{Tenant: "demo", Payments: pay})
	if env.Catalog == nil || env.Inventory == nil || env.Shipping == nil || env.Tax == nil || env.Discounts == nil || env.Payments != pay || env.Tenant != "demo" {
		t.Fatalf("wired %+v", env)
	}
}
