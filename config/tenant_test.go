package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
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
