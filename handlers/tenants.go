package handlers

import (
	"context"
	"errors"
	"maps"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
)

// tenant is a configured tenant ready to serve: its policy and providers, built once.
type tenant struct {
	name string
	env  commerce.Env // Tenant, Policy and providers set; the per-envelope fields are not
	// stock: the tenant's inventory is the built-in one, kept in the store (Options.Stock)
	// within each batch rather than by env.Inventory.
	stock bool
	// paymentHandlers are the tenant's payment handlers as its checkouts list them (nil
	// when it lists none).
	paymentHandlers envelopes.PaymentHandlers
}

// PaymentHandlers returns tenant t's payment handlers as its checkouts list them in
// ucp.payment_handlers (UCP 2026-04-08's registry form, keyed by name): nil when it lists
// none. A business profile may list the same.
func PaymentHandlers(t *config.Tenant) envelopes.PaymentHandlers {
	if len(t.PaymentHandlers) == 0 {
		return nil
	}
	out := envelopes.PaymentHandlers{}
	for _, h := range t.PaymentHandlers {
		w := envelopes.PaymentHandler{ID: h.ID, Version: h.Version, Spec: h.Spec, Schema: h.ConfigSchema, Config: h.Config}
		if w.Version == "" {
			w.Version = envelopes.UCPVersion
		}
		for _, typ := range h.Instruments {
			w.AvailableInstruments = append(w.AvailableInstruments, envelopes.AvailableInstrument{Type: typ})
		}
		out[h.HandlerName()] = append(out[h.HandlerName()], w)
	}
	return out
}

// Providers lets a caller replace a tenant's providers, e.g. a test that wants a payment
// provider it controls. Nil fields keep the configured ones.
type Providers struct {
	Catalog   commerce.Catalog
	Inventory commerce.Inventory
	Shipping  commerce.Shipping
	Tax       commerce.Tax
	Discounts commerce.DiscountBook
	Payments  commerce.Payments
	// Addresses is the tenant's address book (e.g. providers.KVAddressBook); an
	// implementation with a Save method (AddressSaver) is also given the addresses
	// buyers send.
	Addresses commerce.AddressBook
}

// AddressSaver is an address book that keeps what buyers send: the Handler saves a
// checkout's address when an envelope gives the checkout one to keep (commerce.Learned),
// before the envelope's batch commits. Save must be idempotent (a redelivered envelope
// saves again); its failure does not fail the envelope.
type AddressSaver interface {
	Save(ctx context.Context, email string, d commerce.Destination) error
}

// WithMockPayments returns o with a mock payment handler that keeps its payments in st
// (store.MockPayments) for every tenant whose payments are the mock, so that an order
// placed before a restart can still be captured, voided and refunded after it. A tenant
// that o already gives a payment provider keeps it.
//
// The Handler gives each envelope the mock over the envelope's batch (envFor): a payment
// is committed with the envelope, by the batch's fsync. Called outside a Handler, the mock
// reads the store and fails, as transient, every step that would write.
func WithMockPayments(st *store.Store, cfg *config.Config, o Options) Options {
	tenants := make(map[string]Providers, len(cfg.Tenants))
	maps.Copy(tenants, o.Tenants)
	for name, t := range cfg.Tenants {
		p := tenants[name]
		if !t.MockPayments() || o.Providers.Payments != nil || p.Payments != nil {
			continue
		}
		p.Payments = providers.NewMockPaymentsIn(st.MockPayments(name), nil).SetTokens(t.MockTokens())
		tenants[name] = p
	}
	o.Tenants = tenants
	return o
}

// buildTenant takes the tenant's providers from envs (built by the caller from the
// configuration, app.Envs), then puts the non-nil ones of override in their place.
func buildTenant(name string, t *config.Tenant, cfg *config.Config, envs map[string]commerce.Env, overrides ...Providers) *tenant {
	env, ok := envs[name]
	// The name and policy are the configuration's, whatever the caller built.
	env.Tenant, env.Policy = name, t.Policy(cfg.Limits.MaxLineItems, cfg.Limits.MaxQuantity)
	if !ok {
		env = Misconfigured(env, errors.New("its providers were not built"))
	}
	for _, o := range overrides {
		o.applyTo(&env)
	}
	return &tenant{name: name, env: env, paymentHandlers: PaymentHandlers(t)}
}

// Misconfigured returns env with every provider replaced by one that fails with err, for
// a tenant whose providers could not be built. config.Validate reports such problems at
// start-up. A configuration that skipped it gets a tenant whose every provider call fails
// with the reason (an internal error, so dead-lettered and redrivable once fixed) rather
// than a worker that will not start for the sake of one tenant.
func Misconfigured(env commerce.Env, err error) commerce.Env {
	m := misconfigured{commerce.E(commerce.KindInternal, commerce.CodeInternalError,
		"tenant %s is misconfigured: %s", env.Tenant, strings.ReplaceAll(err.Error(), "\n", "; "))}
	env.Catalog, env.Inventory, env.Shipping, env.Tax, env.Discounts, env.Payments = m, m, m, m, m, m
	return env
}

// misconfigured is every provider of a tenant whose providers could not be built.
type misconfigured struct{ err *commerce.Error }

func (m misconfigured) Item(context.Context, string) (commerce.Item, bool, error) {
	return commerce.Item{}, false, m.err
}

func (m misconfigured) Available(context.Context, string) (int64, bool, error) {
	return 0, false, m.err
}

func (m misconfigured) Reserve(context.Context, string, []commerce.Reservation) (bool, string, error) {
	return false, "", m.err
}

func (m misconfigured) Release(context.Context, string) error { return m.err }

func (m misconfigured) Options(context.Context, commerce.ShippingQuote) ([]commerce.ShippingOption, bool, error) {
	return nil, false, m.err
}

func (m misconfigured) Tax(context.Context, commerce.TaxQuote) (int64, error) { return 0, m.err }

func (m misconfigured) Lookup(context.Context, string) (commerce.Discount, bool, error) {
	return commerce.Discount{}, false, m.err
}

func (m misconfigured) Authorize(context.Context, commerce.PaymentRequest) (commerce.PaymentResult, error) {
	return commerce.PaymentResult{}, m.err
}

func (m misconfigured) Capture(context.Context, commerce.PaymentOp) error { return m.err }
func (m misconfigured) Void(context.Context, commerce.PaymentOp) error    { return m.err }
func (m misconfigured) Refund(context.Context, commerce.PaymentOp) error  { return m.err }

// applyTo puts p's non-nil providers in env, in place of what it has.
func (p Providers) applyTo(env *commerce.Env) {
	if p.Catalog != nil {
		env.Catalog = p.Catalog
	}
	if p.Inventory != nil {
		env.Inventory = p.Inventory
	}
	if p.Shipping != nil {
		env.Shipping = p.Shipping
	}
	if p.Tax != nil {
		env.Tax = p.Tax
	}
	if p.Discounts != nil {
		env.Discounts = p.Discounts
	}
	if p.Payments != nil {
		env.Payments = p.Payments
	}
	if p.Addresses != nil {
		env.Addresses = p.Addresses
	}
}
