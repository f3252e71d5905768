package config_test

import (
	"testing"

	"github.com/cartwright-dev/cartwright/config"
)

// The built-in stock is kept in the store on the embedded NATS server (one process) and
// in the shared bucket with nats.url (a group), unless the configuration says otherwise.
func TestStockDefault(t *testing.T) {
	for _, tc := range []struct {
		url, set, want string
	}{
		{"", "", config.StockStore},
		{"nats://nats-1:4222", "", config.StockBucket},
		{"nats://nats-1:4222", config.StockStore, config.StockStore},
		{"", config.StockBucket, config.StockBucket},
	} {
		c := &config.Config{Stock: tc.set}
		c.NATS.URL = tc.url
		c.SetDefaults()
		if c.Stock != tc.want {
			t.Errorf("nats.url %q, stock %q: default %q, want %q", tc.url, tc.set, c.Stock, tc.want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("nats.url %q, stock %q: %v", tc.url, tc.set, err)
		}
	}
}
