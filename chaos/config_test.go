package chaos

import (
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/providers"
)

// chaosYAML is the demo merchant with stock that never runs out: which of two contexts
// gets the last unit depends on how partitions interleave, which the model cannot know.
// One worker, its stock in its store (checked there at the end), though it joins NATS
// with --nats-url, where the default would be the shared bucket.
const chaosYAML = `
http_listen: 127.0.0.1:0
stock: store
tenants:
  demo:
    currency: USD
    checkout_ttl: 6h
    escalation_limit: 100000
    builtin:
      items:
        - {id: sku_tee, title: Cartwright Tee, price: 2500, stock: 100000000}
        - {id: sku_mug, title: Enamel Mug, price: 1400, stock: 100000000}
        - {id: sku_poster, title: Retired Poster, price: 900, stock: 0}
        - {id: sku_gift, title: Gift Card, price: 5000, digital: true}
      ship_to: [US]
      shipping:
        - {id: std, title: Standard, amount: 500, free_from: 10000}
        - {id: exp, title: Express, amount: 1500}
      tax_rates:
        - {country: US, region: CA, basis_points: 825}
      discounts:
        - {code: SAVE10, title: 10% off, percent: 10}
        - {code: FLAT5, title: $5 off, amount: 500}
    providers:
      payments: {http: {base_url: PAYMENTS_URL, token_env: CHAOS_PAY_TOKEN}}
`

// payToken is the bearer token the worker sends the processor (via CHAOS_PAY_TOKEN).
const payToken = "chaos-test-token-0123456789"

// chaosConfigText is the configuration with the processor's URL filled in.
func chaosConfigText(paymentsURL string) string {
	return strings.Replace(chaosYAML, "PAYMENTS_URL", paymentsURL, 1)
}

func chaosConfig(paymentsURL string) *config.Config {
	cfg, err := config.Parse([]byte(chaosConfigText(paymentsURL)))
	if err != nil {
		panic(err)
	}
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return cfg
}

// buildEnv is the model's environment: the tenant's built-in data, and the mock payment
// handler, which answers the test tokens as the test's processor does.
func buildEnv(t *config.Tenant, cfg *config.Config) (commerce.Env, error) {
	return t.Builtin.Wire(commerce.Env{
		Tenant:   "demo",
		Policy:   t.Policy(cfg.Limits.MaxLineItems, cfg.Limits.MaxQuantity),
		Payments: providers.NewMockPayments(),
	}), nil
}
