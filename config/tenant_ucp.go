package config

import (
	"fmt"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
)

// DiscountRules says how a tenant's discount codes combine. The zero value is the demo's
// rule: one code per checkout, a percentage of the subtotal rounded half up.
type DiscountRules struct {
	// Stacking lets several codes apply together, in the order the agent lists them.
	Stacking bool `yaml:"stacking"`
	// MaxCodes bounds the codes that stack (1..20, default 5).
	MaxCodes int `yaml:"max_codes"`
	// Compound takes each code from what the codes before it left rather than from the
	// subtotal: 10 % then 20 % of 3500 is 3500 → 3150 → 2520.
	Compound bool `yaml:"compound"`
	// Rounding of a percentage: half_up (the default) or truncate (toward zero).
	Rounding string `yaml:"rounding"`
}

// Customer is a known customer of the tenant: a buyer with this email (without regard to
// case) or this id (buyer.customer_id) is offered the saved addresses as shipping
// destinations.
type Customer struct {
	ID        string         `yaml:"id"`
	Email     string         `yaml:"email"`
	Addresses []SavedAddress `yaml:"addresses"`
}

// SavedAddress is a customer's address, offered with its id.
type SavedAddress struct {
	ID              string `yaml:"id"`
	StreetAddress   string `yaml:"street_address"`
	AddressLocality string `yaml:"address_locality"`
	AddressRegion   string `yaml:"address_region"`
	PostalCode      string `yaml:"postal_code"`
	AddressCountry  string `yaml:"address_country"`
}

// PaymentHandler is a payment handler the tenant takes, by the id instruments name. With
// the mock payment provider, ApproveTokens and DeclineTokens are test tokens it approves
// and declines besides its own (tok_visa, tok_decline, tok_flaky).
//
// The rest describes the handler to agents, as UCP's payment handler declaration does: a
// checkout lists the tenant's handlers in its ucp.payment_handlers, keyed by Name, and a
// business profile may list them too. Only ID is required.
type PaymentHandler struct {
	ID            string   `yaml:"id"`
	ApproveTokens []string `yaml:"approve_tokens"`
	DeclineTokens []string `yaml:"decline_tokens"`

	// Name is the handler's specification, a reverse-domain name (com.shopify.shop_pay);
	// default DefaultPaymentHandlerName.
	Name string `yaml:"name"`
	// Version is the handler's version (YYYY-MM-DD); default the UCP version of the reply.
	Version string `yaml:"version"`
	// Spec is the URL of the handler's specification.
	Spec string `yaml:"spec"`
	// ConfigSchema is the URL of the JSON Schema of Config (UCP 2026-04-08's schema,
	// 2026-01-11's config_schema).
	ConfigSchema string `yaml:"config_schema"`
	// InstrumentSchemas are URLs of the schemas of its instruments (UCP 2026-01-11).
	InstrumentSchemas []string `yaml:"instrument_schemas"`
	// Instruments are the instrument types it takes (card, ...): UCP 2026-04-08's
	// available_instruments; none listed means any.
	Instruments []string `yaml:"instruments"`
	// Config is the handler's configuration as agents see it (merchant ids, networks);
	// never a secret.
	Config map[string]any `yaml:"config"`
}

// DefaultPaymentHandlerName is the name a payment handler without one is listed under.
const DefaultPaymentHandlerName = "dev.cartwright.payment"

// HandlerName returns h's name, DefaultPaymentHandlerName when it has none.
func (h PaymentHandler) HandlerName() string {
	if h.Name == "" {
		return DefaultPaymentHandlerName
	}
	return h.Name
}

// Bounds on what a tenant's configuration may list.
const (
	maxCustomers       = 10000
	maxSavedAddresses  = 20
	maxPaymentHandlers = 16
	maxTestTokens      = 100
)

// Rounding rules of DiscountRules.
const (
	RoundingHalfUp   = "half_up"
	RoundingTruncate = "truncate"
)

func (t *Tenant) validateUCP() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	d := t.DiscountRules
	if d.MaxCodes < 0 || d.MaxCodes > commerce.MaxDiscountCodes {
		bad("discount_rules.max_codes: %d is not between 0 (the default, %d) and %d", d.MaxCodes, commerce.DefaultMaxDiscountCodes, commerce.MaxDiscountCodes)
	}
	if d.MaxCodes > 0 && !d.Stacking {
		bad("discount_rules.max_codes: set without stacking, which allows one code")
	}
	switch d.Rounding {
	case "", RoundingHalfUp, RoundingTruncate:
	default:
		bad("discount_rules.rounding: %q is neither %s nor %s", d.Rounding, RoundingHalfUp, RoundingTruncate)
	}

	if t.AddressBook != "" && t.AddressBook != AddressBookBucket {
		bad("address_book: %q is neither empty (none) nor %q", t.AddressBook, AddressBookBucket)
	}
	if len(t.Customers) > maxCustomers {
		bad("customers: %d, at most %d", len(t.Customers), maxCustomers)
	}
	ids, emails := map[string]bool{}, map[string]bool{}
	for i, c := range t.Customers {
		at := fmt.Sprintf("customers[%d]", i)
		switch {
		case c.ID == "" && c.Email == "":
			bad("%s: set id, email or both", at)
		case c.ID != "" && ids[c.ID]:
			bad("%s.id: %q is listed twice", at, c.ID)
		case c.Email != "" && emails[strings.ToLower(c.Email)]:
			bad("%s.email: %q is listed twice", at, c.Email)
		}
		ids[c.ID], emails[strings.ToLower(c.Email)] = c.ID != "", c.Email != ""
		if len(c.Addresses) > maxSavedAddresses {
			bad("%s.addresses: %d, at most %d", at, len(c.Addresses), maxSavedAddresses)
		}
		seen := map[string]bool{}
		for j, a := range c.Addresses {
			aat := fmt.Sprintf("%s.addresses[%d]", at, j)
			if a.ID == "" || seen[a.ID] {
				bad("%s.id: missing or listed twice", aat)
			}
			seen[a.ID] = true
			if a.StreetAddress == "" || a.AddressLocality == "" || a.PostalCode == "" {
				bad("%s: street_address, address_locality and postal_code are required", aat)
			}
			if !isCountry(a.AddressCountry) {
				bad("%s.address_country: %q is not a two-letter ISO 3166-1 code", aat, a.AddressCountry)
			}
		}
	}

	if len(t.PaymentHandlers) > maxPaymentHandlers {
		bad("payment_handlers: %d, at most %d", len(t.PaymentHandlers), maxPaymentHandlers)
	}
	handlers := map[string]bool{}
	for i, h := range t.PaymentHandlers {
		at := fmt.Sprintf("payment_handlers[%d]", i)
		if h.ID == "" || handlers[h.ID] {
			bad("%s.id: missing or listed twice", at)
		}
		handlers[h.ID] = true
		if h.Name != "" && !isReverseDomain(h.Name) {
			bad("%s.name: %q is not a reverse-domain name (lower case, two or more dot-separated segments)", at, h.Name)
		}
		if h.Version != "" && !isDate(h.Version) {
			bad("%s.version: %q is not a date (YYYY-MM-DD)", at, h.Version)
		}
		for _, u := range append([]string{h.Spec, h.ConfigSchema}, h.InstrumentSchemas...) {
			if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
				bad("%s: %q is not an http(s) URL", at, u)
			}
		}
		for _, typ := range h.Instruments {
			if typ == "" {
				bad("%s.instruments: an empty type", at)
			}
		}
		tokens := len(h.ApproveTokens) + len(h.DeclineTokens)
		if tokens > maxTestTokens {
			bad("%s: %d test tokens, at most %d", at, tokens, maxTestTokens)
		}
		if tokens > 0 && !t.MockPayments() {
			bad("%s: approve_tokens and decline_tokens are the mock payment provider's, and providers.payments is not the mock", at)
		}
		for _, tok := range h.ApproveTokens {
			if tok == "" {
				bad("%s.approve_tokens: an empty token", at)
			}
		}
		for _, tok := range h.DeclineTokens {
			if tok == "" {
				bad("%s.decline_tokens: an empty token", at)
			}
		}
	}
	return errs
}

// isReverseDomain matches UCP's reverse-domain name: ^[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*)+$.
func isReverseDomain(s string) bool {
	segs := strings.Split(s, ".")
	if len(segs) < 2 {
		return false
	}
	for i, seg := range segs {
		if seg == "" || seg[0] < 'a' || seg[0] > 'z' {
			return false
		}
		for _, c := range seg[1:] {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' && i > 0) {
				return false
			}
		}
	}
	return true
}

// isDate matches YYYY-MM-DD.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i, c := range s {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func isCountry(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// ucpPolicy fills in p what the wider UCP settings decide.
func (t *Tenant) ucpPolicy(p *commerce.Policy) {
	p.Discounts = commerce.DiscountRules{
		Stacking: t.DiscountRules.Stacking,
		MaxCodes: t.DiscountRules.MaxCodes,
		Compound: t.DiscountRules.Compound,
		Truncate: t.DiscountRules.Rounding == RoundingTruncate,
	}
	for _, c := range t.Customers {
		cu := commerce.Customer{ID: c.ID, Email: c.Email}
		for _, a := range c.Addresses {
			cu.Addresses = append(cu.Addresses, commerce.Destination{ID: a.ID, Address: commerce.Address{
				StreetAddress: a.StreetAddress, AddressLocality: a.AddressLocality, AddressRegion: a.AddressRegion,
				PostalCode: a.PostalCode, AddressCountry: a.AddressCountry,
			}})
		}
		p.Customers = append(p.Customers, cu)
	}
	for _, h := range t.PaymentHandlers {
		p.PaymentHandlers = append(p.PaymentHandlers, h.ID)
	}
	p.BuyerEmailOptional = t.RequireBuyerEmail != nil && !*t.RequireBuyerEmail
	p.PartialAddressOK = t.RequireFullAddress != nil && !*t.RequireFullAddress
}

// MockTokens returns the test tokens the tenant's payment handlers add to the mock's:
// those approved and those declined.
func (t *Tenant) MockTokens() (approve, decline []string) {
	for _, h := range t.PaymentHandlers {
		approve = append(approve, h.ApproveTokens...)
		decline = append(decline, h.DeclineTokens...)
	}
	return approve, decline
}
