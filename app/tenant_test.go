package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/providers"
)

func load(t *testing.T, yaml string) *config.Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cartwright.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	return c
}

func wire(t *testing.T, c *config.Config, name string) commerce.Env {
	t.Helper()
	env, err := app.Wire(c.Tenants[name], commerce.Env{Tenant: name})
	if err != nil {
		t.Fatalf("Wire(%s): %v", name, err)
	}
	return env
}

// A file with two tenants: one on the built-in providers with its payments over HTTP, one
// entirely behind its own service. The providers built from it ask that service, with the
// token from the environment.
func TestTenantProviders(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+
			r.Header.Get("Cartwright-Tenant")+" "+r.Header.Get("X-Api-Key")+" "+r.Header.Get("X-Region"))
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/pay/payments/authorize":
			w.Write([]byte(`{"approved":true,"payment_id":"pay_1"}`))
		case "/shop/items/sku_1":
			w.Write([]byte(`{"id":"sku_1","title":"Widget","price":1999}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	t.Setenv("ACME_PAY_TOKEN", "pay-token")
	t.Setenv("MALL_KEY", "mall-key")

	c := load(t, `
tenants:
  acme:
    currency: USD
    checkout_ttl: 6h
    escalation_limit: 100000
    manual_capture: false
    base_url: https://shop.acme.example
    builtin:
      items: [{id: sku_1, title: Widget, price: 1999, stock: 10}]
      ship_to: [US]
      shipping: [{id: std, title: Standard, amount: 500, free_from: 10000}]
      tax_rates: [{country: US, region: CA, basis_points: 825}]
      discounts: [{code: WELCOME, title: Welcome, percent: 10}]
    providers:
      payments: {http: {base_url: `+srv.URL+`/pay, timeout: 3s, token_env: ACME_PAY_TOKEN}}
  mall:
    currency: EUR
    providers:
      catalog:   {http: &mall {base_url: `+srv.URL+`/shop, headers: {X-Region: eu}, headers_env: {X-Api-Key: MALL_KEY}}}
      inventory: {none: true}
      shipping:  {http: *mall}
      tax:       {none: true}
      discounts: {http: *mall}
      payments:  {mock: true}
`)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	acme := wire(t, c, "acme")
	if _, ok := acme.Catalog.(*providers.Catalog); !ok {
		t.Errorf("acme catalog is %T, want the built-in one", acme.Catalog)
	}
	if acme.Inventory == nil || acme.Shipping == nil || acme.Tax == nil || acme.Discounts == nil {
		t.Errorf("acme built-in providers: %+v", acme)
	}
	if it, ok, err := acme.Catalog.Item(ctx, "sku_1"); !ok || err != nil || it.Price != 1999 {
		t.Errorf("acme sku_1: %+v %v %v", it, ok, err)
	}
	if !c.Tenants["acme"].BuiltinInventory() || c.Tenants["mall"].BuiltinInventory() {
		t.Error("BuiltinInventory")
	}
	r, err := acme.Payments.Authorize(ctx, commerce.PaymentRequest{IdempotencyKey: "k", Amount: 100, Currency: "USD",
		Instrument: commerce.PaymentInstrument{Credential: commerce.Credential{Token: "tok"}}})
	if err != nil || !r.Approved || r.PaymentID != "pay_1" {
		t.Fatalf("acme authorize: %+v, %v", r, err)
	}

	mall := wire(t, c, "mall")
	if mall.Inventory != nil || mall.Tax != nil {
		t.Errorf("mall: none is not nil: %+v", mall)
	}
	if _, ok := mall.Payments.(*providers.MockPayments); !ok {
		t.Errorf("mall payments is %T", mall.Payments)
	}
	if it, ok, err := mall.Catalog.Item(ctx, "sku_1"); !ok || err != nil || it.Title != "Widget" {
		t.Errorf("mall sku_1: %+v %v %v", it, ok, err)
	}
	if _, ok, err := mall.Discounts.Lookup(ctx, "NOPE"); ok || err != nil {
		t.Errorf("mall NOPE: %v %v", ok, err)
	}

	want := []string{
		"POST /pay/payments/authorize Bearer pay-token acme  ",
		"GET /shop/items/sku_1  mall mall-key eu",
		"GET /shop/discounts/NOPE  mall mall-key eu",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("the service saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

func TestDefaultProviders(t *testing.T) {
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := c.Tenants[config.DemoTenant].Providers
	if p.Catalog.Kind() != config.ProviderBuiltin || p.Inventory.Kind() != config.ProviderBuiltin ||
		p.Payments.Kind() != config.ProviderMock {
		t.Errorf("defaults: %+v", p)
	}
	env := wire(t, c, config.DemoTenant)
	if _, ok := env.Payments.(*providers.MockPayments); !ok {
		t.Errorf("demo payments is %T", env.Payments)
	}
	if it, ok, _ := env.Catalog.Item(context.Background(), "sku_tee"); !ok || it.Price != 2500 {
		t.Errorf("demo sku_tee: %+v", it)
	}
	// A tenant built without SetDefaults wires the same way.
	env, err := app.Wire(config.Demo(), commerce.Env{Tenant: "demo"})
	if _, ok := env.Payments.(*providers.MockPayments); !ok || err != nil || env.Catalog == nil {
		t.Errorf("Demo().Wire: %+v, %v", env, err)
	}
}

// An environment variable unset after Validate: Wire says which, without a value.
func TestWireMissingSecret(t *testing.T) {
	t.Setenv("GONE_TOKEN", "x")
	c := load(t, `
tenants:
  acme:
    builtin: {items: [{id: sku_1, title: A, price: 1}]}
    providers: {payments: {http: {base_url: https://pay.example, token_env: GONE_TOKEN}}}
`)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("GONE_TOKEN")
	_, err := app.Wire(c.Tenants["acme"], commerce.Env{Tenant: "acme"})
	if err == nil || !strings.Contains(err.Error(), "providers.payments.http.token_env: the environment variable GONE_TOKEN is not set") {
		t.Fatalf("Wire: %v", err)
	}
}

func TestExampleMerchant(t *testing.T) {
	t.Setenv("ACME_PAY_TOKEN", "dev-only-token")
	c, err := config.Load("../examples/merchant.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	acme := c.Tenants["acme"]
	if acme == nil || len(c.Tenants) != 1 || len(acme.Builtin.Items) == 0 || acme.Providers.Payments.Kind() != config.ProviderHTTP {
		t.Fatalf("example: %+v", c.Tenants)
	}
	env := wire(t, c, "acme")
	if _, ok := env.Payments.(*providers.HTTPPayments); !ok {
		t.Errorf("payments is %T", env.Payments)
	}
}

// A tenant whose providers cannot be built (here a secret unset after Validate) still gets
// an env from Envs: its every provider fails with the reason, as an internal error, and
// the other tenants are built as usual.
func TestEnvsMisconfigured(t *testing.T) {
	t.Setenv("GONE_TOKEN", "x")
	c := load(t, `
tenants:
  acme:
    builtin: {items: [{id: sku_1, title: A, price: 1}]}
    providers: {payments: {http: {base_url: https://pay.example, token_env: GONE_TOKEN}}}
  shop:
    builtin: {items: [{id: sku_1, title: A, price: 1}]}
`)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	os.Unsetenv("GONE_TOKEN")
	envs := app.Envs(c)
	_, _, err := envs["acme"].Catalog.Item(context.Background(), "sku_1")
	var ce *commerce.Error
	if !errors.As(err, &ce) || ce.Kind != commerce.KindInternal || !strings.Contains(err.Error(), "tenant acme is misconfigured") ||
		!strings.Contains(err.Error(), "GONE_TOKEN is not set") {
		t.Fatalf("acme's catalog: %v", err)
	}
	if it, ok, err := envs["shop"].Catalog.Item(context.Background(), "sku_1"); !ok || err != nil || it.Price != 1 {
		t.Fatalf("shop's catalog: %+v %v %v", it, ok, err)
	}
	if envs["shop"].Tenant != "shop" || envs["shop"].Policy.Currency != "USD" {
		t.Fatalf("shop's env: %+v", envs["shop"])
	}
}
