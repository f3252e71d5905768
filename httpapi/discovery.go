package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/providers"
)

// The discovery documents an agent reads before it talks to a merchant (docs/agents.md):
//
//	GET /.well-known/ucp                          UCP business profile of the default tenant
//	GET /.well-known/agent-card.json              A2A agent card of the default tenant
//	GET /a2a/<tenant>/.well-known/ucp             the same, for any configured tenant
//	GET /a2a/<tenant>/.well-known/agent-card.json (the root ones also take ?tenant=<tenant>)
//	POST /a2a/<tenant>                            the A2A JSON-RPC bridge (bridge.go)
//
// Everything in them is derived from the configuration and the site's base URL: the
// functions below are pure, so that what is served is what the tests read.

// A2AProtocolVersion is the A2A version of the agent card and the bridge.
const A2AProtocolVersion = "0.3.0"

// UCPExtensionURI identifies UCP's A2A extension, for the UCP version cartwright speaks, in
// an agent card's capabilities.extensions and in the X-A2A-Extensions header.
const UCPExtensionURI = "https://ucp.dev/" + envelopes.UCPVersion + "/specification/reference"

// ServiceShopping is UCP's shopping service.
const ServiceShopping = "dev.ucp.shopping"

// MockPaymentHandlerName is the name (in cartwright's own namespace) under which the
// profile lists the mock payment handler, whose id is providers.MockHandlerID.
const MockPaymentHandlerName = "dev.cartwright.mock"

// ErrUnknownTenant is returned for a tenant that is not configured.
var ErrUnknownTenant = errors.New("httpapi: no such tenant")

// Site is where the HTTP listener is reached: the documents build their URLs from it.
type Site struct {
	// BaseURL is the listener's absolute URL, without a trailing slash.
	BaseURL string
	// Version is cartwright's version, stated in the agent card.
	Version string
}

// BaseURL returns the URL agents reach the HTTP listener at: publicURL when configured;
// else http://<listen>, with listen the address the listener is bound to, or loopback
// (127.0.0.1) with its port when that binds every interface (0.0.0.0, ::). Never the
// Host a request named: the documents are served Cache-Control: public, and a shared
// cache would hand a URL one caller chose to every other.
func BaseURL(publicURL, listen string) string {
	if publicURL != "" {
		return strings.TrimRight(publicURL, "/")
	}
	host, port, err := net.SplitHostPort(listen)
	if err == nil && (host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified()) {
		return "http://" + net.JoinHostPort("127.0.0.1", port)
	}
	return "http://" + listen
}

// BridgePath is the path of tenant's A2A JSON-RPC endpoint.
func BridgePath(tenant string) string { return "/a2a/" + url.PathEscape(tenant) }

// BridgeURL is the URL of tenant's A2A JSON-RPC endpoint: the agent card's url.
func (s Site) BridgeURL(tenant string) string { return s.BaseURL + BridgePath(tenant) }

// AgentCardURL is the URL of tenant's agent card, as the profile names it: the root
// /.well-known/agent-card.json for the default tenant, the per-tenant one for the others.
func (s Site) AgentCardURL(cfg *config.Config, tenant string) string {
	if tenant == cfg.Bridge.DefaultTenant {
		return s.BaseURL + "/.well-known/agent-card.json"
	}
	return s.BridgeURL(tenant) + "/.well-known/agent-card.json"
}

// ProfileURL is the URL of tenant's UCP business profile.
func (s Site) ProfileURL(cfg *config.Config, tenant string) string {
	if tenant == cfg.Bridge.DefaultTenant {
		return s.BaseURL + "/.well-known/ucp"
	}
	return s.BridgeURL(tenant) + "/.well-known/ucp"
}

// Profile20260111URL is the URL of tenant's UCP 2026-01-11 business profile.
func (s Site) Profile20260111URL(cfg *config.Config, tenant string) string {
	u := s.BaseURL + "/" + UCPVersion20260111 + "/.well-known/ucp"
	if tenant != cfg.Bridge.DefaultTenant {
		u += "?tenant=" + url.QueryEscape(tenant)
	}
	return u
}

// BusinessProfile is a UCP business profile, served at /.well-known/ucp. It follows UCP
// 2026-04-08's registry form: services, capabilities and payment handlers are keyed by
// their reverse-domain name, each with a list of versions or bindings.
type BusinessProfile struct {
	UCP ProfileUCP `json:"ucp"`
	// SigningKeys are the public keys that verify the business's signed messages: its
	// order webhooks (webhooks.signing_key_file).
	SigningKeys []map[string]string `json:"signing_keys,omitempty"`
}

// ProfileUCP is the ucp object of a business profile.
type ProfileUCP struct {
	Version string `json:"version"`
	// SupportedVersions maps each older version the business serves to its profile.
	SupportedVersions map[string]string            `json:"supported_versions,omitempty"`
	Services          map[string][]ServiceBinding  `json:"services"`
	Capabilities      map[string][]CapabilityEntry `json:"capabilities"`
	PaymentHandlers   map[string][]PaymentHandler  `json:"payment_handlers"`
}

// ServiceBinding is one transport of a service. For A2A the endpoint is the agent card;
// for REST the base URL of the operations (rest.go).
type ServiceBinding struct {
	Version   string `json:"version"`
	Spec      string `json:"spec"`
	Transport string `json:"transport"`
	Schema    string `json:"schema,omitempty"`
	Endpoint  string `json:"endpoint"`
}

// CapabilityEntry is one version of a capability or extension.
type CapabilityEntry struct {
	Version string `json:"version"`
	Spec    string `json:"spec"`
	Schema  string `json:"schema"`
	// Extends names the capability an extension extends.
	Extends string `json:"extends,omitempty"`
	Config  any    `json:"config,omitempty"`
}

// CapAP2Mandate is UCP's AP2 mandates extension, advertised by a tenant that checks
// mandates.
const CapAP2Mandate = "dev.ucp.shopping.ap2_mandate"

// CapBuyerConsent is UCP's buyer consent extension of the checkout: buyer.consent
// ({analytics, preferences, marketing, sale_of_data}) is kept and echoed for every tenant.
const CapBuyerConsent = "dev.ucp.shopping.buyer_consent"

// tenantCapabilities is capabilities() plus what tenant t adds by its settings.
func tenantCapabilities(t *config.Tenant) map[string][]CapabilityEntry {
	caps := capabilities()
	if len(t.AP2.Issuers) > 0 {
		v := envelopes.UCPVersion
		caps[CapAP2Mandate] = []CapabilityEntry{{
			Version: v,
			Spec:    "https://ucp.dev/" + v + "/specification/ap2-mandates",
			Schema:  "https://ucp.dev/" + v + "/schemas/shopping/ap2_mandate.json",
			Extends: envelopes.CapCheckout,
			Config:  map[string]any{"vp_formats_supported": map[string]any{"dc+sd-jwt": map[string]any{}}},
		}}
	}
	return caps
}

// PaymentHandler is a payment handler the business accepts: instruments completing a
// checkout name it by ID in their handler_id.
type PaymentHandler struct {
	ID                   string           `json:"id"`
	Version              string           `json:"version"`
	Spec                 string           `json:"spec"`
	Schema               string           `json:"schema,omitempty"`
	AvailableInstruments []InstrumentType `json:"available_instruments,omitempty"`
	Config               map[string]any   `json:"config,omitempty"`
}

// InstrumentType is a kind of payment instrument a handler takes.
type InstrumentType struct {
	Type string `json:"type"`
}

// DocsURL is where docs/agents.md is published: the specs of what is cartwright's own.
const DocsURL = "https://github.com/cartwright-dev/cartwright/blob/main/docs/agents.md"

// capabilities returns the UCP capabilities cartwright implements for every tenant: those
// its checkout and order resources declare (envelopes.CapCheckout, ...), in the registry
// form of profiles and of the agent card's UCP extension.
func capabilities() map[string][]CapabilityEntry {
	v := envelopes.UCPVersion
	entry := func(doc, extends string) []CapabilityEntry {
		return []CapabilityEntry{{
			Version: v,
			Spec:    "https://ucp.dev/" + v + "/specification/" + doc,
			Schema:  "https://ucp.dev/" + v + "/schemas/shopping/" + doc + ".json",
			Extends: extends,
		}}
	}
	return map[string][]CapabilityEntry{
		envelopes.CapCheckout:    entry("checkout", ""),
		envelopes.CapFulfillment: entry("fulfillment", envelopes.CapCheckout),
		envelopes.CapDiscount:    entry("discount", envelopes.CapCheckout),
		envelopes.CapOrder:       entry("order", ""),
		CapBuyerConsent:          entry("buyer_consent", envelopes.CapCheckout),
	}
}

// paymentHandlers lists the handlers tenant t takes: its payment_handlers when it lists
// any (as its checkouts do, handlers.PaymentHandlers), else as its providers.payments
// says. A tenant whose payments go to its own service (http) and lists no
// payment_handlers names its handlers there, unknown to cartwright: it lists none.
func paymentHandlers(t *config.Tenant) map[string][]PaymentHandler {
	out := map[string][]PaymentHandler{}
	if len(t.PaymentHandlers) > 0 {
		for _, h := range t.PaymentHandlers {
			ph := PaymentHandler{ID: h.ID, Version: h.Version, Spec: h.Spec, Schema: h.ConfigSchema, Config: h.Config}
			if ph.Version == "" {
				ph.Version = envelopes.UCPVersion
			}
			if ph.Spec == "" {
				ph.Spec = DocsURL + handlerSpecAnchor(h)
			}
			for _, typ := range h.Instruments {
				ph.AvailableInstruments = append(ph.AvailableInstruments, InstrumentType{Type: typ})
			}
			if ph.Config == nil {
				ph.Config = testTokens(h)
			}
			out[h.HandlerName()] = append(out[h.HandlerName()], ph)
		}
		return out
	}
	switch t.Providers.Payments.Kind() {
	case config.ProviderMock, "":
		out[MockPaymentHandlerName] = []PaymentHandler{{
			ID:                   providers.MockHandlerID,
			Version:              envelopes.UCPVersion,
			Spec:                 DocsURL + "#the-mock-payment-handler",
			AvailableInstruments: []InstrumentType{{Type: "card"}},
			Config: map[string]any{
				"credential_type": "token",
				"test_tokens": map[string]string{
					providers.TokenApproved: "approved",
					providers.TokenDeclined: "declined",
					providers.TokenFlaky:    "fails transiently twice, then approved",
				},
			},
		}}
	}
	return out
}

// handlerSpecAnchor is where docs/agents.md describes a configured handler without a
// spec of its own: the mock's section for one with test tokens.
func handlerSpecAnchor(h config.PaymentHandler) string {
	if len(h.ApproveTokens)+len(h.DeclineTokens) > 0 {
		return "#the-mock-payment-handler"
	}
	return "#5-ucp-over-rest"
}

// testTokens is the config a handler with test tokens and no config of its own shows:
// its tokens and what the mock does with them. Nil without tokens.
func testTokens(h config.PaymentHandler) map[string]any {
	if len(h.ApproveTokens)+len(h.DeclineTokens) == 0 {
		return nil
	}
	tokens := map[string]string{}
	for _, tok := range h.ApproveTokens {
		tokens[tok] = "approved"
	}
	for _, tok := range h.DeclineTokens {
		tokens[tok] = "declined"
	}
	return map[string]any{"credential_type": "token", "test_tokens": tokens}
}

func lookup(cfg *config.Config, tenant string) (*config.Tenant, error) {
	t := cfg.Tenants[tenant]
	if t == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTenant, tenant)
	}
	return t, nil
}

// ProfileFor returns tenant's UCP business profile.
func ProfileFor(cfg *config.Config, tenant string, site Site) (*BusinessProfile, error) {
	t, err := lookup(cfg, tenant)
	if err != nil {
		return nil, err
	}
	v := envelopes.UCPVersion
	jwk, err := cfg.Webhooks.PublicJWK()
	if err != nil {
		return nil, fmt.Errorf("webhooks.signing_key_file: %w", err)
	}
	var keys []map[string]string
	if jwk != nil {
		keys = []map[string]string{jwk}
	}
	return &BusinessProfile{SigningKeys: keys, UCP: ProfileUCP{
		Version: v,
		Services: map[string][]ServiceBinding{ServiceShopping: {{
			Version:   v,
			Spec:      "https://ucp.dev/" + v + "/specification/overview",
			Transport: "a2a",
			Endpoint:  site.AgentCardURL(cfg, tenant),
		}, {
			Version:   v,
			Spec:      "https://ucp.dev/" + v + "/specification/overview",
			Transport: "rest",
			Schema:    "https://ucp.dev/" + v + "/services/shopping/rest.openapi.json",
			Endpoint:  site.BaseURL + RESTPath(tenant),
		}}},
		SupportedVersions: map[string]string{UCPVersion20260111: site.Profile20260111URL(cfg, tenant)},
		Capabilities:      tenantCapabilities(t),
		PaymentHandlers:   paymentHandlers(t),
	}}, nil
}

// AgentCard is an A2A 0.3 agent card, served at /.well-known/agent-card.json.
type AgentCard struct {
	ProtocolVersion      string                    `json:"protocolVersion"`
	Name                 string                    `json:"name"`
	Description          string                    `json:"description"`
	URL                  string                    `json:"url"`
	PreferredTransport   string                    `json:"preferredTransport"`
	AdditionalInterfaces []AgentInterface          `json:"additionalInterfaces"`
	Version              string                    `json:"version"`
	DocumentationURL     string                    `json:"documentationUrl"`
	Capabilities         AgentCapabilities         `json:"capabilities"`
	SecuritySchemes      map[string]SecurityScheme `json:"securitySchemes,omitempty"`
	Security             []map[string][]string     `json:"security,omitempty"`
	DefaultInputModes    []string                  `json:"defaultInputModes"`
	DefaultOutputModes   []string                  `json:"defaultOutputModes"`
	Skills               []AgentSkill              `json:"skills"`
}

// AgentInterface is a URL and the transport spoken there.
type AgentInterface struct {
	URL       string `json:"url"`
	Transport string `json:"transport"`
}

// AgentCapabilities are the optional A2A features, and the extensions, the agent supports.
type AgentCapabilities struct {
	Streaming              bool             `json:"streaming"`
	PushNotifications      bool             `json:"pushNotifications"`
	StateTransitionHistory bool             `json:"stateTransitionHistory"`
	Extensions             []AgentExtension `json:"extensions"`
}

// AgentExtension declares an A2A extension, here UCP's.
type AgentExtension struct {
	URI         string         `json:"uri"`
	Description string         `json:"description"`
	Required    bool           `json:"required"`
	Params      map[string]any `json:"params,omitempty"`
}

// SecurityScheme is an OpenAPI-style security scheme; cartwright uses HTTP bearer.
type SecurityScheme struct {
	Type        string `json:"type"`
	Scheme      string `json:"scheme"`
	Description string `json:"description,omitempty"`
}

// AgentSkill is something the agent can do, with example requests.
type AgentSkill struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Tags        []string `json:"tags"`
	Examples    []string `json:"examples"`
	InputModes  []string `json:"inputModes"`
	OutputModes []string `json:"outputModes"`
}

const jsonMode = "application/json"

// AgentCardFor returns tenant's A2A agent card: the bridge's URL, the UCP extension with the
// capabilities of the profile, bearer authentication when the tenant has tokens, and skills
// whose examples are real requests for the tenant's own catalog, shipping, discounts and
// payment handlers.
func AgentCardFor(cfg *config.Config, tenant string, site Site) (*AgentCard, error) {
	t, err := lookup(cfg, tenant)
	if err != nil {
		return nil, err
	}
	bridge := site.BridgeURL(tenant)
	card := &AgentCard{
		ProtocolVersion: A2AProtocolVersion,
		Name:            tenant + " (cartwright)",
		Description: fmt.Sprintf("Merchant agent of %s: UCP %s checkouts and orders over A2A JSON-RPC "+
			"(message/send, one data part per message). Prices in %s minor units. "+
			"The messageId is the idempotency key: retry with the same one.", tenant, envelopes.UCPVersion, t.Currency),
		URL:                  bridge,
		PreferredTransport:   "JSONRPC",
		AdditionalInterfaces: []AgentInterface{{URL: bridge, Transport: "JSONRPC"}},
		Version:              site.Version,
		DocumentationURL:     DocsURL,
		Capabilities: AgentCapabilities{
			Extensions: []AgentExtension{{
				URI:         UCPExtensionURI,
				Description: "UCP " + envelopes.UCPVersion + " business agent: checkouts ride in data parts under a2a.ucp.checkout",
				Params:      map[string]any{"capabilities": capabilities()},
			}},
		},
		DefaultInputModes:  []string{jsonMode},
		DefaultOutputModes: []string{jsonMode},
		Skills:             skills(t),
	}
	if cfg.Bridge.Protected(tenant) {
		card.SecuritySchemes = map[string]SecurityScheme{"bearer": {
			Type: "http", Scheme: "bearer",
			Description: "a token the merchant issued for this tenant, as Authorization: Bearer <token>",
		}}
		card.Security = []map[string][]string{{"bearer": {}}}
	}
	return card, nil
}

// skills describes checkout and order management, with examples built from t's data.
func skills(t *config.Tenant) []AgentSkill {
	ex := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic("handlers: encoding an example: " + err.Error()) // maps of strings and ints
		}
		return string(b)
	}
	type obj = map[string]any
	checkout := []string{ex(obj{"action": "create_checkout"})}
	if id := sampleItem(t.Builtin); id != "" {
		checkout = append(checkout, ex(obj{"action": "add_item", "item_id": id, "quantity": 1}))
	}
	checkout = append(checkout, ex(obj{"action": "set_buyer", "buyer": obj{"email": "buyer@example.com"}}))
	if len(t.Builtin.Shipping) > 0 {
		checkout = append(checkout, ex(obj{"action": "select_shipping_option", "option_id": t.Builtin.Shipping[0].ID}))
	}
	if len(t.Builtin.Discounts) > 0 {
		checkout = append(checkout, ex(obj{"action": "apply_discount", "code": t.Builtin.Discounts[0].Code}))
	}
	names := make([]string, 0, 1)
	for _, hs := range paymentHandlers(t) {
		for _, h := range hs {
			names = append(names, h.ID)
		}
	}
	sort.Strings(names)
	for _, id := range names {
		token := "<token>"
		if id == providers.MockHandlerID {
			token = providers.TokenApproved
		}
		checkout = append(checkout, ex(obj{"action": "complete_checkout", "payment": obj{"instruments": []obj{{
			"id": "pi_1", "handler_id": id, "type": "card", "selected": true,
			"credential": obj{"type": "token", "token": token},
		}}}}))
	}
	return []AgentSkill{
		{
			ID:   "checkout",
			Name: "Checkout",
			Description: "Open a checkout in the message's context, add and change line items, set the buyer " +
				"and shipping address, choose a shipping option, apply discount codes, and pay. Actions: " +
				"create_checkout, get_checkout, update_checkout, add_item, update_item, remove_item, set_buyer, " +
				"set_shipping_address, list_shipping_options, select_shipping_option, apply_discount, " +
				"remove_discount, complete_checkout, cancel_checkout; or the UCP form a2a.ucp.checkout / " +
				"a2a.ucp.checkout.payment. The reply carries the checkout under a2a.ucp.checkout.",
			Tags:        []string{"ucp", "checkout", "shopping", "payment"},
			Examples:    checkout,
			InputModes:  []string{jsonMode},
			OutputModes: []string{jsonMode},
		},
		{
			ID:   "order_management",
			Name: "Order management",
			Description: "Read an order and move its payment along: get_order, cancel_order, capture_payment, " +
				"void_payment, refund_payment (with an optional amount in minor units). The reply carries " +
				"the order under a2a.ucp.order.",
			Tags: []string{"ucp", "order", "refund"},
			Examples: []string{
				ex(obj{"action": "get_order", "order_id": "ord_…"}),
				ex(obj{"action": "refund_payment", "order_id": "ord_…", "amount": 500}),
			},
			InputModes:  []string{jsonMode},
			OutputModes: []string{jsonMode},
		},
	}
}

// sampleItem returns an item of b that can be bought, preferring one that ships.
func sampleItem(b providers.Builtin) string {
	first := ""
	for _, it := range b.Items {
		if it.Stock != nil && *it.Stock <= 0 {
			continue
		}
		if !it.Digital {
			return it.ID
		}
		if first == "" {
			first = it.ID
		}
	}
	return first
}

// Tenants returns the configured tenants, sorted.
func Tenants(cfg *config.Config) []string {
	out := make([]string, 0, len(cfg.Tenants))
	for name := range cfg.Tenants {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
