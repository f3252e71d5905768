package config_test

import (
	"strings"
	"testing"
)

// A configured price near 2^63 used to be accepted, and two of the item made a negative
// total that was charged. Prices, shipping amounts and fixed discounts beyond the bound are
// refused at start-up, each named by its tenant, its place and its id.
func TestValidateMoneyBounds(t *testing.T) {
	c := load(t, `
tenants:
  acme:
    builtin:
      items:
        - {id: sku_ok, title: Fine, price: 1000000000000}
        - {id: sku_big, title: Huge, price: 9223372036854774309}
      shipping:
        - {id: std, title: Standard, amount: 500}
        - {id: exp, title: Express, amount: 1000000000001}
      discounts:
        - {code: OK, percent: 10}
        - {code: LOTS, amount: 1000000000001}
`)
	err := c.Validate()
	if err == nil {
		t.Fatal("a price of 9223372036854774309 was accepted")
	}
	got := err.Error()
	for _, want := range []string{
		`tenants.acme.builtin.items[1].price 9223372036854774309 of "sku_big" is more than 1000000000000`,
		`tenants.acme.builtin.shipping[1].amount 1000000000001 of "exp" is more than 1000000000000`,
		`tenants.acme.builtin.discounts[1].amount 1000000000001 of "LOTS" is more than 1000000000000`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q", want)
		}
	}
	for _, ok := range []string{"sku_ok", `"std"`, `"OK"`} {
		if strings.Contains(got, ok) {
			t.Errorf("%s is within bounds, yet mentioned", ok)
		}
	}
	if t.Failed() {
		t.Logf("Validate said:\n%s", got)
	}
}
