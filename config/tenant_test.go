package config_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	env, err := c.Tenants[name].Wire(commerce.Env{Tenant: name})
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

// Validate reports every problem of every tenant at once, and no secret.
func TestValidateTenantProblems(t *testing.T) {
	t.Setenv("SET_TOKEN", "hunter2-hunter2")
	c := load(t, `
tenants:
  bad:
    currency: US
    builtin:
      items:
        - {id: sku_1, title: A, price: -5}
        - {id: sku_1, title: B, price: 100, stock: -1}
      discounts: [{code: HALF, percent: 50, amount: 100}]
    providers:
      catalog: {builtin: true, http: {base_url: https://x.example}}
      inventory: {mock: true}
      shipping: {http: {timeout: -1s}}
      tax: {http: {base_url: "not a url"}}
      discounts: {http: {base_url: "https://user:hunter2@x.example", max_attempts: 99}}
      payments: {http: {base_url: http://pay.internal, token_env: NOT_SET_ANYWHERE, headers: {Authorization: Bearer hunter2, Idempotency-Key: x}}}
  worse:
    providers:
      catalog: {http: {base_url: https://shop.example}}
      payments: {builtin: true}
`)
	err := c.Validate()
	if err == nil {
		t.Fatal("valid")
	}
	got := err.Error()
	for _, want := range []string{
		`tenants.bad.currency: "US" is not an ISO 4217 code`,
		`tenants.bad.builtin.items[0].price -5 is negative`,
		`tenants.bad.builtin.items[1].id "sku_1" is a duplicate`,
		`tenants.bad.builtin.items[1].stock -1 is negative`,
		`tenants.bad.builtin.discounts[0]: set percent or amount, not both`,
		`tenants.bad.providers.catalog: set one of builtin, none and http`,
		`tenants.bad.providers.inventory: mock is a payment handler`,
		`tenants.bad.providers.shipping.http.base_url: missing`,
		`tenants.bad.providers.shipping.http.timeout: -1s is not between`,
		`tenants.bad.providers.tax.http.base_url: "not a url" is not an absolute http(s) URL`,
		`tenants.bad.providers.discounts.http.base_url: has credentials in it`,
		`tenants.bad.providers.discounts.http.max_attempts: 99 is not between`,
		`tenants.bad.providers.payments.http.base_url: "http://pay.internal" is plain http`,
		`tenants.bad.providers.payments.http.token_env: the environment variable NOT_SET_ANYWHERE is not set`,
		`tenants.bad.providers.payments.http.headers: Authorization carries a secret`,
		`tenants.bad.providers.payments.http.headers: Idempotency-Key is set by cartwright`,
		`tenants.worse.providers.payments: builtin is not a payment handler`,
		`tenants.worse.providers.inventory: the built-in inventory counts the stock of builtin.items`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(got, "hunter2") {
		t.Errorf("a secret is shown:\n%s", got)
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("Validate said:\n%s", got)
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
	env, err := config.Demo().Wire(commerce.Env{Tenant: "demo"})
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
	_, err := c.Tenants["acme"].Wire(commerce.Env{Tenant: "acme"})
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

// TestBaseURLDefault: order permalinks (and continue_url) are built on the tenant's
// base_url; by default it is where agents reach the HTTP listener, never 0.0.0.0.
func TestBaseURLDefault(t *testing.T) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "127.0.0.1"
	}
	for _, c := range []struct {
		listen, public, set, want string
	}{
		{listen: "127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{listen: "localhost:8080", want: "http://localhost:8080"},
		{listen: "[::1]:8080", want: "http://[::1]:8080"},
		{listen: "0.0.0.0:9000", want: "http://" + host + ":9000"},
		{listen: "[::]:9000", want: "http://" + host + ":9000"},
		{listen: ":9000", want: "http://" + host + ":9000"},
		{listen: "0.0.0.0:9000", public: "https://shop.example.com/", want: "https://shop.example.com"},
		{listen: "0.0.0.0:9000", public: "https://shop.example.com/cw", want: "https://shop.example.com/cw"},
		{listen: "0.0.0.0:9000", public: "https://shop.example.com", set: "https://orders.example.com", want: "https://orders.example.com"},
	} {
		demo := config.Demo()
		demo.BaseURL = c.set
		cfg := &config.Config{HTTPListen: c.listen, Bridge: config.Bridge{PublicURL: c.public},
			Tenants: map[string]*config.Tenant{"demo": demo}}
		cfg.SetDefaults()
		if got := cfg.Tenants["demo"].BaseURL; got != c.want {
			t.Errorf("http_listen %q, public_url %q, base_url %q: base_url %q, want %q", c.listen, c.public, c.set, got, c.want)
		}
	}
}
