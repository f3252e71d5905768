package app

import (
	"context"
	"log/slog"
	"maps"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
)

// WithAddressBooks returns o with an address book (providers.KVAddressBook, in the bucket
// <PREFIX>_ADDRESSES with cfg.Replicas replicas) for every tenant whose configuration
// keeps one (address_book: bucket), unless o already gives that tenant (or every tenant)
// one. Without such a tenant it creates no bucket.
func WithAddressBooks(ctx context.Context, js jetstream.JetStream, cfg *config.Config, o handlers.Options, log *slog.Logger) (handlers.Options, error) {
	var kv jetstream.KeyValue
	tenants := make(map[string]handlers.Providers, len(cfg.Tenants))
	maps.Copy(tenants, o.Tenants)
	for name, t := range cfg.Tenants {
		p := tenants[name]
		if !t.LearnsAddresses() || o.Providers.Addresses != nil || p.Addresses != nil {
			continue
		}
		if kv == nil {
			var err error
			if kv, err = providers.AddressBucket(ctx, js, cfg.Prefix, cfg.Replicas); err != nil {
				return o, err
			}
		}
		p.Addresses = providers.NewKVAddressBook(kv, name, log)
		tenants[name] = p
	}
	o.Tenants = tenants
	return o, nil
}
