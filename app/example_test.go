package app_test

import (
	"context"
	"fmt"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/config"
)

// The demo tenant's providers, built from the default configuration.
func ExampleEnvs() {
	cfg := config.Default()
	env := app.Envs(cfg)[config.DemoTenant]
	it, ok, _ := env.Catalog.Item(context.Background(), "sku_tee")
	fmt.Println(env.Tenant, it.ID, ok, env.Policy.Currency)
	// Output: demo sku_tee true USD
}
