package config

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
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
	// Providers says where each provider comes from: the built-in one over Builtin (the
	// default), the merchant's own service over HTTP, or none.
	Providers Providers `yaml:"providers"`
	// AP2 makes complete_checkout verify AP2 checkout mandates (docs/security.md).
	AP2 AP2 `yaml:"ap2"`
	// DiscountRules says how discount codes combine (default: one code per checkout).
	DiscountRules DiscountRules `yaml:"discount_rules"`
	// Customers are the known customers, whose saved addresses are offered.
	Customers []Customer `yaml:"customers"`
	// AddressBook keeps the shipping addresses buyers send, by email, to offer them
	// again in the same buyer's later checkouts: "bucket" keeps them in the JetStream
	// key-value bucket <PREFIX>_ADDRESSES, shared by every worker; "" (the default) keeps
	// none, and only the customers' configured addresses are offered.
	AddressBook string `yaml:"address_book"`
	// PaymentHandlers are the handler ids a completion may name (default: any).
	PaymentHandlers []PaymentHandler `yaml:"payment_handlers"`
	// RequireBuyerEmail keeps a checkout incomplete until the buyer's email is given (the
	// contract's rule; default true). False: a checkout without one can be completed.
	RequireBuyerEmail *bool `yaml:"require_buyer_email"`
	// RequireFullAddress keeps a checkout shipping to a partial address incomplete until
	// it has a street, a locality and a postal code (default true). False: a country is
	// enough to complete.
	RequireFullAddress *bool `yaml:"require_full_address"`
	// RequireRequestSignature refuses REST requests that carry no platform signature
	// (signature_missing, 401); a signature that is there is verified either way
	// (docs/security.md). Default false.
	RequireRequestSignature bool `yaml:"require_request_signature"`
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
		t.BaseURL = c.defaultBaseURL()
	}
	t.Providers.setDefaults()
}

// defaultBaseURL is where agents reach the HTTP listener, which serves the order
// permalinks built on it (GET /orders/<tenant>/<context>/<order>): bridge.public_url
// when set, else http://<http_listen>. A listener on every interface (0.0.0.0, ::, no
// host) is named by the machine's host name, since a permalink is kept and followed
// later, from anywhere: 0.0.0.0 reaches nothing. A port of 0 is not known until the
// listener is bound: set base_url or public_url then.
func (c *Config) defaultBaseURL() string {
	if c.Bridge.PublicURL != "" {
		return strings.TrimSuffix(c.Bridge.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(c.HTTPListen)
	if err != nil {
		return "http://" + c.HTTPListen // Validate says what is wrong with it
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host, err = os.Hostname()
		if err != nil || host == "" {
			host = "127.0.0.1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
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
	for _, err := range unjoin(t.Builtin.Validate()) {
		errs = append(errs, fmt.Errorf("builtin.%w", err))
	}
	errs = append(errs, t.Providers.validate(t)...)
	for _, err := range t.AP2.validate() {
		errs = append(errs, fmt.Errorf("ap2.%w", err))
	}
	errs = append(errs, t.validateUCP()...)
	return errs
}

// Policy is the tenant's business settings as the domain takes them.
func (t *Tenant) Policy(lim int, maxQty int) commerce.Policy {
	p := commerce.Policy{
		Currency:        t.Currency,
		CheckoutTTL:     t.CheckoutTTL,
		EscalationLimit: t.EscalationLimit,
		AutoCapture:     !t.ManualCapture,
		BaseURL:         t.BaseURL,
		MaxLineItems:    lim,
		MaxQuantity:     maxQty,
		MandateRequired: t.AP2.Required,
	}
	t.ucpPolicy(&p)
	return p
}

// The kinds of provider a tenant can choose.
const (
	ProviderBuiltin = "builtin" // over the tenant's builtin data (not for payments)
	ProviderMock    = "mock"    // the demo's mock payment handler (payments only)
	ProviderNone    = "none"    // no provider (not for payments)
	ProviderHTTP    = "http"    // the merchant's service, docs/providers.md
)

// Providers picks an implementation for each of a tenant's providers. A Provider left
// empty is the default: builtin for the catalog, inventory, shipping, tax and discounts,
// mock for payments. SetDefaults fills those in, so that after it every Provider's Kind
// is set.
//
// The built-in inventory counts the stock of builtin.items: with a catalog that is not
// built-in, choose an http inventory, or none when stock is not counted.
type Providers struct {
	Catalog   Provider `yaml:"catalog"`
	Inventory Provider `yaml:"inventory"`
	Shipping  Provider `yaml:"shipping"`
	Tax       Provider `yaml:"tax"`
	Discounts Provider `yaml:"discounts"`
	Payments  Provider `yaml:"payments"`
}

// AddressBookBucket is Tenant.AddressBook's value for the JetStream bucket.
const AddressBookBucket = "bucket"

// LearnsAddresses reports whether the tenant keeps an address book (Tenant.AddressBook).
func (t *Tenant) LearnsAddresses() bool { return t.AddressBook == AddressBookBucket }

// BuiltinInventory reports whether the tenant's stock is the built-in inventory's: the
// stock of builtin.items, which `serve` keeps in JetStream. A tenant whose inventory is
// http or none keeps no stock there.
func (t *Tenant) BuiltinInventory() bool {
	k := t.Providers.Inventory.Kind()
	return k == "" || k == ProviderBuiltin
}

// MockPayments reports whether the tenant's payment handler is the demo's mock, whose
// payments `serve` keeps in its store.
func (t *Tenant) MockPayments() bool {
	k := t.Providers.Payments.Kind()
	return k == "" || k == ProviderMock
}

// Provider chooses one implementation of a provider: set one field.
type Provider struct {
	Builtin bool          `yaml:"builtin"`
	Mock    bool          `yaml:"mock"`
	None    bool          `yaml:"none"`
	HTTP    *HTTPProvider `yaml:"http"`
}

// Kind is the kind chosen (ProviderBuiltin, ...), "" when none is, or "conflict" when
// more than one is.
func (p Provider) Kind() string {
	var kinds []string
	if p.Builtin {
		kinds = append(kinds, ProviderBuiltin)
	}
	if p.Mock {
		kinds = append(kinds, ProviderMock)
	}
	if p.None {
		kinds = append(kinds, ProviderNone)
	}
	if p.HTTP != nil {
		kinds = append(kinds, ProviderHTTP)
	}
	switch len(kinds) {
	case 0:
		return ""
	case 1:
		return kinds[0]
	}
	return "conflict"
}

// HTTPProvider is a provider behind the merchant's own service (docs/providers.md).
// Secrets are never written here: token_env and headers_env name environment variables
// that hold them.
type HTTPProvider struct {
	// BaseURL is the service's root: https, or http to a loopback address (or anywhere
	// with AllowHTTP).
	BaseURL string `yaml:"base_url"`
	// Timeout bounds one attempt (default 2 s).
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts is how often a call is tried before it fails as temporarily
	// unavailable (default 3; 1 disables retries).
	MaxAttempts int `yaml:"max_attempts"`
	// TokenEnv names the environment variable holding a bearer token.
	TokenEnv string `yaml:"token_env"`
	// Headers are sent on every request as they are (not secrets).
	Headers map[string]string `yaml:"headers"`
	// HeadersEnv are sent on every request with the value of the environment variable
	// named (header name → variable name), for keys that are not bearer tokens.
	HeadersEnv map[string]string `yaml:"headers_env"`
	// AllowHTTP permits a plain http base_url to a host that is not loopback, e.g. a
	// sidecar on a private network. Tokens and payment credentials then travel in clear.
	AllowHTTP bool `yaml:"allow_http"`
}

// slot is one of the six providers, by name.
type slot struct {
	name string
	p    *Provider
}

func (ps *Providers) slots() []slot {
	return []slot{
		{"catalog", &ps.Catalog},
		{"inventory", &ps.Inventory},
		{"shipping", &ps.Shipping},
		{"tax", &ps.Tax},
		{"discounts", &ps.Discounts},
		{"payments", &ps.Payments},
	}
}

func (ps *Providers) setDefaults() {
	for _, s := range ps.slots() {
		switch s.p.Kind() {
		case "":
			if s.name == "payments" {
				s.p.Mock = true
			} else {
				s.p.Builtin = true
			}
		case ProviderHTTP:
			if s.p.HTTP.Timeout == 0 {
				s.p.HTTP.Timeout = providers.DefaultHTTPTimeout
			}
			if s.p.HTTP.MaxAttempts == 0 {
				s.p.HTTP.MaxAttempts = providers.DefaultHTTPMaxAttempts
			}
		}
	}
}

func (ps *Providers) validate(t *Tenant) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, s := range ps.slots() {
		kind, payments := s.p.Kind(), s.name == "payments"
		switch {
		case kind == "conflict" && payments:
			bad("providers.payments: set one of mock and http")
		case kind == "conflict":
			bad("providers.%s: set one of builtin, none and http", s.name)
		case payments && (kind == ProviderBuiltin || kind == ProviderNone):
			bad("providers.payments: %s is not a payment handler: set mock or http", kind)
		case !payments && kind == ProviderMock:
			bad("providers.%s: mock is a payment handler: set builtin, none or http", s.name)
		}
		if s.p.HTTP != nil {
			for _, err := range s.p.HTTP.validate() {
				bad("providers.%s.http.%w", s.name, err)
			}
		}
	}
	builtin := func(p Provider) bool { return p.Kind() == ProviderBuiltin || p.Kind() == "" }
	if len(t.Builtin.Items) == 0 {
		if builtin(ps.Catalog) {
			bad("builtin.items: none, so the built-in catalog sells nothing: add items or choose another providers.catalog")
		} else if builtin(ps.Inventory) {
			bad("providers.inventory: the built-in inventory counts the stock of builtin.items, which has none, "+
				"so every item of the %s catalog would be out of stock: choose an http inventory, or none to count no stock", ps.Catalog.Kind())
		}
	}
	return errs
}

var (
	envNameRE    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	headerNameRE = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
)

// reservedHeaders are set by the adapters themselves.
var reservedHeaders = map[string]bool{
	"Accept": true, "Connection": true, "Content-Length": true, "Content-Type": true, "Host": true,
	"Transfer-Encoding": true, "User-Agent": true,
	http.CanonicalHeaderKey(providers.HeaderIdempotencyKey): true,
	http.CanonicalHeaderKey(providers.HeaderTenant):         true,
}

// secretHeaders carry credentials: their values belong in the environment.
var secretHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true}

// validate reports the problems of h, each naming its field. It reads the environment:
// a variable named but unset is a problem now rather than a 401 at the first checkout.
func (h *HTTPProvider) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if h.BaseURL == "" {
		bad("base_url: missing")
	} else if u, err := url.Parse(h.BaseURL); err != nil {
		bad("base_url: %v", unwrapURL(err))
	} else {
		switch {
		case u.User != nil:
			// Not echoed: it holds a secret.
			bad("base_url: has credentials in it: put the token in the environment and name it in token_env")
		case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
			bad("base_url: %q is not an absolute http(s) URL", h.BaseURL)
		case u.RawQuery != "" || u.Fragment != "":
			bad("base_url: %q has a query or a fragment", h.BaseURL)
		case u.Scheme == "http" && !loopback(u.Hostname()) && !h.AllowHTTP:
			bad("base_url: %q is plain http to a host that is not loopback: use https, or set allow_http on a private network", h.BaseURL)
		}
	}
	if h.Timeout < 0 || h.Timeout > time.Minute {
		bad("timeout: %s is not between 0 (the default, 2s) and 1m", h.Timeout)
	}
	if h.MaxAttempts < 0 || h.MaxAttempts > 10 {
		bad("max_attempts: %d is not between 0 (the default, 3) and 10", h.MaxAttempts)
	}
	if h.TokenEnv != "" {
		if err := CheckEnv(h.TokenEnv); err != nil {
			bad("token_env: %v", err)
		}
	}
	for name, value := range h.Headers {
		key := http.CanonicalHeaderKey(name)
		switch {
		case !headerNameRE.MatchString(name):
			bad("headers: %q is not a header name", name)
		case reservedHeaders[key]:
			bad("headers: %s is set by cartwright", key)
		case secretHeaders[key]:
			bad("headers: %s carries a secret: name the environment variable holding it in headers_env", key)
		case strings.ContainsAny(value, "\r\n"):
			bad("headers: the value of %s has a line break", key)
		}
		if _, ok := h.HeadersEnv[name]; ok {
			bad("headers: %s is in headers_env too", key)
		}
	}
	for name, env := range h.HeadersEnv {
		key := http.CanonicalHeaderKey(name)
		switch {
		case !headerNameRE.MatchString(name):
			bad("headers_env: %q is not a header name", name)
		case reservedHeaders[key]:
			bad("headers_env: %s is set by cartwright", key)
		case key == "Authorization" && h.TokenEnv != "":
			bad("headers_env: Authorization is token_env's: set one of them")
		}
		if err := CheckEnv(env); err != nil {
			bad("headers_env.%s: %v", name, err)
		}
	}
	return errs
}

// CheckEnv reports whether name is a variable set to something. Its value is never
// shown. Validate checks the variables a configuration names with it, and the process
// checks them again when it reads them.
func CheckEnv(name string) error {
	switch {
	case !envNameRE.MatchString(name):
		return fmt.Errorf("%q is not an environment variable name", name)
	case os.Getenv(name) == "":
		return fmt.Errorf("the environment variable %s is not set", name)
	}
	return nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func unwrapURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

// unjoin splits what errors.Join made.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
