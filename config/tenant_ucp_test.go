package config_test

import (
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
)

// The wider UCP settings as YAML reach the tenant's policy and the mock's tokens.
func TestUCPSettingsLoad(t *testing.T) {
	c := load(t, `
tenants:
  flower_shop:
    builtin:
      items: [{id: bouquet_roses, title: Roses, price: 3500}]
    discount_rules: {stacking: true, max_codes: 3, compound: true, rounding: truncate}
    customers:
      - id: cust_1
        email: john.doe@example.com
        addresses:
          - {id: addr_1, street_address: 123 Main St, address_locality: Springfield, address_region: IL, postal_code: "62704", address_country: US}
    payment_handlers:
      - {id: mock_payment_handler, approve_tokens: [success_token], decline_tokens: [fail_token]}
      - id: shop_pay
        name: com.shopify.shop_pay
        version: "2026-01-11"
        spec: https://shopify.dev/ucp/shop-pay
        config_schema: https://shopify.dev/ucp/shop-pay/config.json
        instrument_schemas: [https://shopify.dev/ucp/shop-pay/instrument.json]
        instruments: [shop_pay]
        config: {shop_id: "12345", networks: [visa, mastercard]}
`)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ten := c.Tenants["flower_shop"]
	sp := ten.PaymentHandlers[1]
	if sp.HandlerName() != "com.shopify.shop_pay" || sp.Version != "2026-01-11" || sp.ConfigSchema == "" || len(sp.InstrumentSchemas) != 1 ||
		sp.Instruments[0] != "shop_pay" || sp.Config["shop_id"] != "12345" || len(sp.Config["networks"].([]any)) != 2 {
		t.Errorf("shop_pay %+v", sp)
	}
	if n := ten.PaymentHandlers[0].HandlerName(); n != config.DefaultPaymentHandlerName {
		t.Errorf("default name %q", n)
	}
	p := ten.Policy(100, 999)
	if d := p.Discounts; !d.Stacking || d.MaxCodes != 3 || !d.Compound || !d.Truncate {
		t.Errorf("discount rules %+v", d)
	}
	if len(p.Customers) != 1 || p.Customers[0].Addresses[0].ID != "addr_1" || p.Customers[0].Addresses[0].Address.PostalCode != "62704" {
		t.Errorf("customers %+v", p.Customers)
	}
	if len(p.PaymentHandlers) != 2 || p.PaymentHandlers[0] != "mock_payment_handler" {
		t.Errorf("payment handlers %v", p.PaymentHandlers)
	}
	if a, d := ten.MockTokens(); len(a) != 1 || a[0] != "success_token" || len(d) != 1 || d[0] != "fail_token" {
		t.Errorf("tokens %v %v", a, d)
	}
	// The buyer's email is required unless require_buyer_email is false.
	if p.BuyerEmailOptional {
		t.Errorf("require_buyer_email unset: the email is optional")
	}
	if p.PartialAddressOK {
		t.Errorf("require_full_address unset: a partial address completes")
	}
	if ten.LearnsAddresses() || config.Demo().LearnsAddresses() {
		t.Errorf("address_book unset: an address book is kept")
	}
	off := load(t, "tenants:\n  shop:\n    builtin: {items: [{id: a, title: A, price: 1}]}\n    require_buyer_email: false\n    require_full_address: false\n    address_book: bucket\n")
	if !off.Tenants["shop"].LearnsAddresses() {
		t.Errorf("address_book: bucket: no address book")
	}
	if p := off.Tenants["shop"].Policy(100, 999); !p.BuyerEmailOptional || !p.PartialAddressOK {
		t.Errorf("require_buyer_email and require_full_address false: %+v", p)
	}
	// The demo tenant's rules stay the demo's.
	if d := config.Demo().Policy(100, 999); d.Discounts.Stacking || d.Customers != nil || d.PaymentHandlers != nil || d.BuyerEmailOptional || d.PartialAddressOK {
		t.Errorf("demo policy %+v", d)
	}
}

func TestUCPSettingsProblems(t *testing.T) {
	c := load(t, `
tenants:
  bad:
    builtin:
      items: [{id: a, title: A, price: 1}]
    discount_rules: {max_codes: 99, rounding: down}
    address_book: memory
    customers:
      - {id: c1, email: A@example.com}
      - {id: c1, email: a@example.com}
      - addresses: [{id: x, street_address: "1 A St", address_locality: Austin, postal_code: "73301", address_country: usa}, {id: x}]
    payment_handlers:
      - {id: h}
      - {id: h}
      - {id: shop_pay, name: Shop.Pay, version: "2026-1-11", spec: "ftp://x", instruments: [""]}
  http:
    builtin:
      items: [{id: a, title: A, price: 1}]
    providers:
      payments: {http: {base_url: https://pay.example}}
    payment_handlers:
      - {id: card, approve_tokens: [ok]}
`)
	err := c.Validate()
	if err == nil {
		t.Fatal("valid")
	}
	got := err.Error()
	for _, want := range []string{
		`tenants.bad.discount_rules.max_codes: 99 is not between`,
		`tenants.bad.discount_rules.max_codes: set without stacking`,
		`tenants.bad.discount_rules.rounding: "down" is neither half_up nor truncate`,
		`tenants.bad.address_book: "memory" is neither empty (none) nor "bucket"`,
		`tenants.bad.customers[1].id: "c1" is listed twice`,
		`tenants.bad.customers[2]: set id, email or both`,
		`tenants.bad.customers[2].addresses[0].address_country: "usa" is not a two-letter`,
		`tenants.bad.customers[2].addresses[1].id: missing or listed twice`,
		`tenants.bad.customers[2].addresses[1]: street_address, address_locality and postal_code are required`,
		`tenants.bad.payment_handlers[1].id: missing or listed twice`,
		`tenants.bad.payment_handlers[2].name: "Shop.Pay" is not a reverse-domain name`,
		`tenants.bad.payment_handlers[2].version: "2026-1-11" is not a date`,
		`tenants.bad.payment_handlers[2]: "ftp://x" is not an http(s) URL`,
		`tenants.bad.payment_handlers[2].instruments: an empty type`,
		`tenants.http.payment_handlers[0]: approve_tokens and decline_tokens are the mock payment provider's`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q", want)
		}
	}
	if t.Failed() {
		t.Logf("Validate said:\n%s", got)
	}
}
