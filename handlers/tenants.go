package handlers

import (
	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/providers"
)

// tenant is a configured tenant ready to serve: its policy and providers, built once.
type tenant struct {
	name string
	env  commerce.Env // Tenant, Policy and providers set; the per-envelope fields are not
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
}

func buildTenant(name string, t *config.Tenant, cfg *config.Config, override Providers) *tenant {
	env := t.Builtin.Wire(commerce.Env{
		Tenant:   name,
		Policy:   t.Policy(cfg.Limits.MaxLineItems, cfg.Limits.MaxQuantity),
		Payments: providers.NewMockPayments(),
	})
	if override.Catalog != nil {
		env.Catalog = override.Catalog
	}
	if override.Inventory != nil {
		env.Inventory = override.Inventory
	}
	if override.Shipping != nil {
		env.Shipping = override.Shipping
	}
	if override.Tax != nil {
		env.Tax = override.Tax
	}
	if override.Discounts != nil {
		env.Discounts = override.Discounts
	}
	if override.Payments != nil {
		env.Payments = override.Payments
	}
	return &tenant{name: name, env: env}
}
