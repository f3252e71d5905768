package config

import (
	"fmt"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// DemoTenant is the name of the built-in tenant served when nothing is configured.
const DemoTenant = "demo"

// Tenant is one merchant: its business rules and where its catalog, prices, tax, shipping
// and payments come from.
type Tenant struct {
	Currency string `yaml:"currency"`
	// CheckoutTTL: a checkout not completed within it is canceled (default 6 h).
	CheckoutTTL time.Duration `yaml:"checkout_ttl"`
	// EscalationLimit: a total above it needs a human (0: never).
	EscalationLimit int64 `yaml:"escalation_limit"`
	// ManualCapture leaves payments authorized at completion, to be captured later;
	// by default they are captured at once.
	ManualCapture bool `yaml:"manual_capture"`
	// BaseURL prefixes continue_url and order permalinks.
	BaseURL string `yaml:"base_url"`
	// Builtin holds the tenant's data when it uses the built-in providers.
	Builtin providers.Builtin `yaml:"builtin"`
}

// Demo returns the demo tenant of CONTRACT.md section 5.
func Demo() *Tenant {
	return &Tenant{
		Currency:        "USD",
		CheckoutTTL:     6 * time.Hour,
		EscalationLimit: 100000,
		Builtin:         providers.Demo(),
	}
}

func (t *Tenant) setDefaults(c *Config) {
	if t.Currency == "" {
		t.Currency = "USD"
	}
	if t.CheckoutTTL == 0 {
		t.CheckoutTTL = 6 * time.Hour
	}
	if t.BaseURL == "" {
		t.BaseURL = "http://" + c.HTTPListen
	}
}

func (t *Tenant) validate() []error {
	var errs []error
	if len(t.Currency) != 3 {
		errs = append(errs, fmt.Errorf("currency: %q is not an ISO 4217 code", t.Currency))
	}
	if t.CheckoutTTL < time.Minute {
		errs = append(errs, fmt.Errorf("checkout_ttl: %s is shorter than 1m", t.CheckoutTTL))
	}
	if t.EscalationLimit < 0 {
		errs = append(errs, fmt.Errorf("escalation_limit: %d is negative", t.EscalationLimit))
	}
	return errs
}

// Policy is the tenant's business settings as the domain takes them.
func (t *Tenant) Policy(lim int, maxQty int) commerce.Policy {
	return commerce.Policy{
		Currency:        t.Currency,
		CheckoutTTL:     t.CheckoutTTL,
		EscalationLimit: t.EscalationLimit,
		AutoCapture:     !t.ManualCapture,
		BaseURL:         t.BaseURL,
		MaxLineItems:    lim,
		MaxQuantity:     maxQty,
	}
}
