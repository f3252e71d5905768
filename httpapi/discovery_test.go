package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

func TestBaseURL(t *testing.T) {
	for _, c := range []struct{ public, listen, want string }{
		{"https://shop.example.com/", "127.0.0.1:8080", "https://shop.example.com"},
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", "[::1]:8080", "http://[::1]:8080"},
		{"", "0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"", "[::]:9000", "http://127.0.0.1:9000"},
		{"", ":8080", "http://127.0.0.1:8080"},
	} {
		if got := httpapi.BaseURL(c.public, c.listen); got != c.want {
			t.Errorf("BaseURL(%q, %q) = %q, want %q", c.public, c.listen, got, c.want)
		}
	}
}

func twoTenants(t *testing.T) *config.Config {
	t.Helper()
	t.Setenv("CW_DISCOVERY_TOKEN", "0123456789abcdef")
	acme := &config.Tenant{Currency: "EUR", Builtin: providers.Builtin{
		Items:     []providers.CatalogItem{{ID: "sku_gift", Title: "Gift", Price: 100, Digital: true}, {ID: "sku_a", Title: "Anvil", Price: 900}},
		Shipping:  []providers.ShippingRate{{ID: "ground", Title: "Ground", Amount: 300}},
		Discounts: []providers.DiscountCode{{Code: "WELCOME", Title: "5 off", Amount: 500}},
	}}
	cfg := &config.Config{
		Tenants: map[string]*config.Tenant{"demo": config.Demo(), "acme": acme},
		Bridge:  config.Bridge{Tokens: map[string][]config.TokenRef{"acme": {{Env: "CW_DISCOVERY_TOKEN"}}}},
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestProfile(t *testing.T) {
	cfg := twoTenants(t)
	site := httpapi.Site{BaseURL: "https://shop.example.com", Version: "1.2.3"}
	if cfg.Bridge.DefaultTenant != "demo" {
		t.Fatalf("default tenant %q, want demo (two tenants, one of them demo)", cfg.Bridge.DefaultTenant)
	}

	p, err := httpapi.ProfileFor(cfg, "demo", site)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(p)
	for _, want := range []string{
		`"version":"2026-04-08"`,
		`"services":{"dev.ucp.shopping":[{"version":"2026-04-08","spec":"https://ucp.dev/2026-04-08/specification/overview","transport":"a2a","endpoint":"https://shop.example.com/.well-known/agent-card.json"},` +
			`{"version":"2026-04-08","spec":"https://ucp.dev/2026-04-08/specification/overview","transport":"rest",` +
			`"schema":"https://ucp.dev/2026-04-08/services/shopping/rest.openapi.json","endpoint":"https://shop.example.com/ucp/demo"}]}`,
		`"dev.ucp.shopping.checkout":[{"version":"2026-04-08","spec":"https://ucp.dev/2026-04-08/specification/checkout","schema":"https://ucp.dev/2026-04-08/schemas/shopping/checkout.json"}]`,
		`"dev.ucp.shopping.fulfillment":[{"version":"2026-04-08","spec":"https://ucp.dev/2026-04-08/specification/fulfillment","schema":"https://ucp.dev/2026-04-08/schemas/shopping/fulfillment.json","extends":"dev.ucp.shopping.checkout"}]`,
		`"dev.ucp.shopping.discount":[{"version":"2026-04-08"`,
		`"dev.ucp.shopping.order":[{"version":"2026-04-08"`,
		`"payment_handlers":{"dev.cartwright.mock":[{"id":"mock","version":"2026-04-08"`,
		`"available_instruments":[{"type":"card"}]`,
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("demo profile lacks %s\n%s", want, got)
		}
	}
	// The profile's capabilities are those the checkout and order resources declare.
	for _, name := range []string{envelopes.CapCheckout, envelopes.CapFulfillment, envelopes.CapDiscount, envelopes.CapOrder} {
		if len(p.UCP.Capabilities[name]) != 1 || p.UCP.Capabilities[name][0].Version != envelopes.UCPVersion {
			t.Errorf("capability %s: %+v", name, p.UCP.Capabilities[name])
		}
	}

	// Another tenant: its card is the per-tenant one.
	p, err = httpapi.ProfileFor(cfg, "acme", site)
	if err != nil {
		t.Fatal(err)
	}
	if ep := p.UCP.Services["dev.ucp.shopping"][0].Endpoint; ep != "https://shop.example.com/a2a/acme/.well-known/agent-card.json" {
		t.Errorf("acme: endpoint %q", ep)
	}
	if _, err := httpapi.ProfileFor(cfg, "nobody", site); !errors.Is(err, httpapi.ErrUnknownTenant) {
		t.Errorf("unknown tenant: %v", err)
	}
}

func TestProfilePaymentHandlersFollowConfig(t *testing.T) {
	cfg := &config.Config{Tenants: map[string]*config.Tenant{"demo": config.Demo()}}
	cfg.Tenants["demo"].Providers.Payments.HTTP = &config.HTTPProvider{BaseURL: "https://pay.example.com"}
	cfg.SetDefaults()
	p, err := httpapi.ProfileFor(cfg, "demo", httpapi.Site{BaseURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.UCP.PaymentHandlers) != 0 {
		t.Errorf("payments over http: the profile lists %+v, which cartwright cannot know", p.UCP.PaymentHandlers)
	}
	c, err := httpapi.AgentCardFor(cfg, "demo", httpapi.Site{BaseURL: "http://x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(c.Skills[0].Examples, " "), `"handler_id":"mock"`) {
		t.Errorf("examples pay with the mock handler the tenant does not have")
	}
}

func TestAgentCard(t *testing.T) {
	cfg := twoTenants(t)
	site := httpapi.Site{BaseURL: "https://shop.example.com", Version: "1.2.3"}

	c, err := httpapi.AgentCardFor(cfg, "acme", site)
	if err != nil {
		t.Fatal(err)
	}
	if c.ProtocolVersion != "0.3.0" || c.URL != "https://shop.example.com/a2a/acme" || c.PreferredTransport != "JSONRPC" ||
		c.Version != "1.2.3" || !strings.Contains(c.Description, "EUR") || !strings.Contains(c.Name, "acme") {
		t.Errorf("card: %+v", c)
	}
	if s := c.SecuritySchemes["bearer"]; s.Type != "http" || s.Scheme != "bearer" ||
		len(c.Security) != 1 || c.Security[0]["bearer"] == nil {
		t.Errorf("acme has tokens: security %+v %+v", c.SecuritySchemes, c.Security)
	}
	if len(c.Capabilities.Extensions) != 1 || c.Capabilities.Extensions[0].URI != httpapi.UCPExtensionURI ||
		httpapi.UCPExtensionURI != "https://ucp.dev/2026-04-08/specification/reference" {
		t.Errorf("extensions: %+v", c.Capabilities.Extensions)
	}
	ex := strings.Join(c.Skills[0].Examples, "\n")
	// The item example skips the digital one for one that ships; the rest is acme's own.
	for _, want := range []string{`"item_id":"sku_a"`, `"option_id":"ground"`, `"code":"WELCOME"`, `"handler_id":"mock"`} {
		if !strings.Contains(ex, want) {
			t.Errorf("acme's examples lack %s:\n%s", want, ex)
		}
	}
	for _, ex := range c.Skills[0].Examples {
		if !json.Valid([]byte(ex)) {
			t.Errorf("example is not JSON: %s", ex)
		}
	}

	demo, err := httpapi.AgentCardFor(cfg, "demo", site)
	if err != nil {
		t.Fatal(err)
	}
	if demo.SecuritySchemes != nil || demo.Security != nil {
		t.Errorf("demo has no tokens: %+v", demo.SecuritySchemes)
	}
	// sku_poster is out of stock: the demo's example adds sku_tee.
	if ex := strings.Join(demo.Skills[0].Examples, "\n"); !strings.Contains(ex, `"item_id":"sku_tee"`) {
		t.Errorf("demo examples:\n%s", ex)
	}
}

func TestDiscoveryHTTP(t *testing.T) {
	cfg := twoTenants(t)
	d := httpapi.NewDiscovery(cfg, "0.0.0.0:8080", "dev")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/ucp", d.Profile)
	mux.HandleFunc("GET /a2a/{tenant}/.well-known/agent-card.json", d.AgentCard)

	get := func(target string) (*httptest.ResponseRecorder, map[string]any) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Host = "shop.internal:8080"
		mux.ServeHTTP(rec, req)
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v: %s", target, err, rec.Body)
		}
		return rec, v
	}
	rec, _ := get("/.well-known/ucp")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("root profile: %d %v", rec.Code, rec.Header())
	}
	// Bound to every interface: the URLs name loopback, never the Host the request named.
	if !strings.Contains(rec.Body.String(), `"endpoint": "http://127.0.0.1:8080/.well-known/agent-card.json"`) {
		t.Errorf("root profile:\n%s", rec.Body)
	}
	rec, _ = get("/.well-known/ucp?tenant=acme")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "http://127.0.0.1:8080/a2a/acme/.well-known/agent-card.json") {
		t.Errorf("?tenant=acme: %d\n%s", rec.Code, rec.Body)
	}
	rec, v := get("/a2a/acme/.well-known/agent-card.json")
	if rec.Code != 200 || v["url"] != "http://127.0.0.1:8080/a2a/acme" {
		t.Errorf("acme card: %d %v", rec.Code, v["url"])
	}
	rec, _ = get("/a2a/nobody/.well-known/agent-card.json")
	if rec.Code != 404 {
		t.Errorf("unknown tenant: %d", rec.Code)
	}
}

// A tenant that checks mandates advertises UCP's AP2 extension in its profile; the demo,
// which does not, leaves it out.
func TestProfileAdvertisesAP2(t *testing.T) {
	cfg := config.Default()
	acme := config.Demo()
	acme.AP2.Issuers = []config.AP2Issuer{{Kid: "k", JWK: testenv.NewMandateIssuer("k").JWK()}}
	cfg.Tenants["acme"] = acme
	cfg.SetDefaults()
	for tenant, want := range map[string]bool{"acme": true, "demo": false} {
		p, err := httpapi.ProfileFor(cfg, tenant, httpapi.Site{BaseURL: "http://x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, got := p.UCP.Capabilities[httpapi.CapAP2Mandate]; got != want {
			t.Errorf("%s: ap2_mandate advertised %v, want %v", tenant, got, want)
		}
	}
}
