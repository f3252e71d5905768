package providers_test

import (
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// An HTTP provider's amount out of bounds (commerce.MaxPrice for a price, a shipping
// option or a fixed discount, commerce.MaxAmount for tax) is a malformed answer: internal,
// not retried, named in the error. Amounts at the bound are fine.
func TestHTTPAmountBounds(t *testing.T) {
	m := newMerchant(t)
	m.json("GET /v1/items/max", 200, `{"id":"max","price":1000000000000}`)
	m.json("GET /v1/items/big", 200, `{"id":"big","price":9223372036854774309}`)
	m.json("GET /v1/items/over", 200, `{"id":"over","price":1000000000001}`)
	m.json("POST /v1/shipping/quote", 200, `{"options":[{"id":"std","amount":500},{"id":"exp","amount":1000000000001}]}`)
	m.json("POST /v1/tax/quote", 200, `{"tax":1000000000000000001}`)
	m.json("GET /v1/discounts/LOTS", 200, `{"amount":1000000000001}`)
	cat := must(providers.NewHTTPCatalog(m.options()))
	if it, ok, err := cat.Item(ctx, "max"); err != nil || !ok || it.Price != 1_000_000_000_000 {
		t.Fatalf("Item(max) = %+v, %v, %v", it, ok, err)
	}
	check := func(what string, err error, want string) {
		t.Helper()
		if k := kindOf(t, err); k != commerce.KindInternal {
			t.Errorf("%s: %v is %s, want internal", what, err, k)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v does not say %q", what, err, want)
		}
	}
	for _, id := range []string{"big", "over"} {
		_, _, err := cat.Item(ctx, id)
		check("Item("+id+")", err, `item "`+id+`"`)
	}
	ship := must(providers.NewHTTPShipping(m.options()))
	_, _, err := ship.Options(ctx, commerce.ShippingQuote{Currency: "USD", Address: commerce.Address{AddressCountry: "US"}})
	check("Options", err, "options[1]")
	tax := must(providers.NewHTTPTax(m.options()))
	_, err = tax.Tax(ctx, commerce.TaxQuote{Currency: "USD", DiscountedSubtotal: 4500})
	check("Tax", err, "1000000000000000001")
	d := must(providers.NewHTTPDiscounts(m.options()))
	_, _, err = d.Lookup(ctx, "LOTS")
	check("Lookup(LOTS)", err, "1000000000001")
	if n := len(m.Hits()); n != 6 {
		t.Errorf("%d hits for 6 calls: a malformed answer was retried", n)
	}
}

// The built-in data is held to the same bounds as the HTTP answers.
func TestValidateMoneyBounds(t *testing.T) {
	b := providers.Builtin{
		Items:     []providers.CatalogItem{{ID: "ok", Price: 1_000_000_000_000}, {ID: "big", Price: 1 << 62}},
		Shipping:  []providers.ShippingRate{{ID: "exp", Amount: 1_000_000_000_001}},
		Discounts: []providers.DiscountCode{{Code: "LOTS", Amount: 1_000_000_000_001}},
	}
	err := b.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`items[1].price 4611686018427387904 of "big"`, `shipping[0].amount 1000000000001 of "exp"`, `discounts[0].amount 1000000000001 of "LOTS"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), `"ok"`) {
		t.Errorf("a price at the bound is refused:\n%v", err)
	}
}
