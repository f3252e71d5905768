package config_test

import (
	"fmt"

	"github.com/cartwright-dev/cartwright/config"
)

// The zero configuration is the demo: an embedded NATS, the demo tenant, 4 partitions.
func Example() {
	cfg := config.Default()
	fmt.Println(cfg.Validate() == nil, cfg.NATS.Embedded(), cfg.Partitions, cfg.Tenants["demo"].Currency)

	bad := &config.Config{Partitions: 5000, Prefix: "a.b"}
	bad.SetDefaults()
	fmt.Println(bad.Validate())
	// Output:
	// true true 4 USD
	// partitions: 5000 is not between 1 and 1024
	// prefix: "a.b" is not a NATS token of [A-Za-z0-9_-]
}
