package app

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
)

// Envs builds every tenant's providers as its configuration says (Wire), with the
// tenant's name and policy, ready for handlers.Options.Envs. A tenant whose providers
// cannot be built gets providers that fail every call with the reason
// (handlers.Misconfigured): config.Validate reports the problem at start-up, and a
// configuration that skipped it still gets a worker that starts for its other tenants.
func Envs(cfg *config.Config) map[string]commerce.Env {
	out := make(map[string]commerce.Env, len(cfg.Tenants))
	for name, t := range cfg.Tenants {
		env, err := Wire(t, commerce.Env{
			Tenant: name,
			Policy: t.Policy(cfg.Limits.MaxLineItems, cfg.Limits.MaxQuantity),
		})
		if err != nil {
			env = handlers.Misconfigured(env, err)
		}
		out[name] = env
	}
	return out
}

// WithEnvs returns o with every tenant's providers built from cfg (Envs), unless o has
// them already: what handlers.New needs besides cfg.
func WithEnvs(cfg *config.Config, o handlers.Options) handlers.Options {
	if o.Envs == nil {
		o.Envs = Envs(cfg)
	}
	return o
}

// Wire returns env with the tenant's six providers set as its providers section says:
// the built-in ones over its builtin data, HTTP adapters (sending env.Tenant as the
// Cartwright-Tenant header, with the secrets read from the environment now), a fresh mock
// payment handler that keeps its payments in memory (`serve` gives it one that keeps them
// in its store: handlers.WithMockPayments), or none (nil: see commerce/calls.go for what
// a missing provider means). Everything else in env is kept. It fails only on what
// config.Validate reports.
func Wire(t *config.Tenant, env commerce.Env) (commerce.Env, error) {
	env = t.Builtin.Wire(env) // the catalog, inventory, shipping, tax and discounts
	env.Payments = providers.NewMockPayments().SetTokens(t.MockTokens())
	var errs []error
	if mv, err := verifier(t.AP2, env.Tenant); err != nil {
		errs = append(errs, fmt.Errorf("ap2.%w", err))
	} else if mv != nil {
		env.Mandates = mv
	}
	for _, s := range slots(&t.Providers) {
		kind, payments := s.p.Kind(), s.name == "payments"
		switch {
		case kind == "" || kind == config.ProviderBuiltin && !payments || kind == config.ProviderMock && payments:
			// the default, wired above
		case kind == config.ProviderNone && !payments:
			s.set(&env, nil)
		case kind == config.ProviderHTTP:
			p, err := buildHTTP(s.p.HTTP, s.name, env.Tenant)
			if err != nil {
				for _, err := range unjoin(err) {
					errs = append(errs, fmt.Errorf("providers.%s.http.%w", s.name, err))
				}
				continue
			}
			s.set(&env, p)
		default:
			errs = append(errs, fmt.Errorf("providers.%s: %s is not a kind it can be", s.name, kind))
		}
	}
	return env, errors.Join(errs...)
}

// slot is one of the six providers, by name.
type slot struct {
	name string
	p    *config.Provider
	set  func(env *commerce.Env, p any)
}

func slots(ps *config.Providers) []slot {
	return []slot{
		{"catalog", &ps.Catalog, func(e *commerce.Env, p any) { e.Catalog, _ = p.(commerce.Catalog) }},
		{"inventory", &ps.Inventory, func(e *commerce.Env, p any) { e.Inventory, _ = p.(commerce.Inventory) }},
		{"shipping", &ps.Shipping, func(e *commerce.Env, p any) { e.Shipping, _ = p.(commerce.Shipping) }},
		{"tax", &ps.Tax, func(e *commerce.Env, p any) { e.Tax, _ = p.(commerce.Tax) }},
		{"discounts", &ps.Discounts, func(e *commerce.Env, p any) { e.Discounts, _ = p.(commerce.DiscountBook) }},
		{"payments", &ps.Payments, func(e *commerce.Env, p any) { e.Payments, _ = p.(commerce.Payments) }},
	}
}

// buildHTTP makes the HTTP adapter of the named provider.
func buildHTTP(h *config.HTTPProvider, name, tenant string) (any, error) {
	o, err := httpOptions(h, tenant)
	if err != nil {
		return nil, err
	}
	var p any
	switch name {
	case "catalog":
		p, err = providers.NewHTTPCatalog(o)
	case "inventory":
		p, err = providers.NewHTTPInventory(o)
	case "shipping":
		p, err = providers.NewHTTPShipping(o)
	case "tax":
		p, err = providers.NewHTTPTax(o)
	case "discounts":
		p, err = providers.NewHTTPDiscounts(o)
	case "payments":
		p, err = providers.NewHTTPPayments(o)
	default:
		err = fmt.Errorf("no such provider as %s", name)
	}
	if err != nil {
		return nil, fmt.Errorf("base_url: %w", err) // the only thing the adapters check
	}
	return p, nil
}

// httpOptions resolves h into the adapters' options, reading the secrets from the
// environment.
func httpOptions(h *config.HTTPProvider, tenant string) (providers.HTTPOptions, error) {
	o := providers.HTTPOptions{
		BaseURL:     h.BaseURL,
		Timeout:     h.Timeout,
		MaxAttempts: h.MaxAttempts,
		Tenant:      tenant,
		Header:      http.Header{},
	}
	var errs []error
	if h.TokenEnv != "" {
		if err := config.CheckEnv(h.TokenEnv); err != nil {
			errs = append(errs, fmt.Errorf("token_env: %w", err))
		}
		o.Token = os.Getenv(h.TokenEnv)
	}
	for name, value := range h.Headers {
		o.Header.Set(name, value)
	}
	for name, env := range h.HeadersEnv {
		if err := config.CheckEnv(env); err != nil {
			errs = append(errs, fmt.Errorf("headers_env.%s: %w", name, err))
		}
		o.Header.Set(name, os.Getenv(env))
	}
	return o, errors.Join(errs...)
}

// verifier builds the tenant's mandate verifier, nil when it checks no mandates.
func verifier(a config.AP2, tenant string) (*providers.MandateVerifier, error) {
	if len(a.Issuers) == 0 {
		return nil, nil
	}
	keys, err := a.Keys()
	if err != nil {
		return nil, err
	}
	merchant := a.Merchant
	if merchant == "" {
		merchant = tenant
	}
	return &providers.MandateVerifier{Merchant: merchant, Issuers: keys}, nil
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
