package app

import (
	"context"
	"log/slog"
	"maps"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
)

// WithAddressBooks returns o with an address book (providers.KVAddressBook, in the bucket
// <PREFIX>_ADDRESSES with cfg.Replicas replicas) for every tenant whose configuration
// keeps one (address_book: bucket), unless o already gives that tenant (or every tenant)
// one. Without such a tenant it creates no bucket. reg (may be nil) receives
// cartwright_address_book_failures_total, the books' failed reads and writes.
func WithAddressBooks(ctx context.Context, js jetstream.JetStream, cfg *config.Config, o handlers.Options, log *slog.Logger, reg prometheus.Registerer) (handlers.Options, error) {
	var (
		kv    jetstream.KeyValue
		books []*providers.KVAddressBook
	)
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
		book := providers.NewKVAddressBook(kv, name, log)
		p.Addresses = book
		tenants[name] = p
		books = append(books, book)
	}
	o.Tenants = tenants
	if reg != nil && len(books) > 0 {
		for op, count := range map[string]func(*providers.KVAddressBook) int64{
			"read":  (*providers.KVAddressBook).FailedReads,
			"write": (*providers.KVAddressBook).FailedWrites,
		} {
			c := prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "cartwright_address_book_failures_total",
				Help:        "Reads and writes of the tenants' address books (address_book: bucket) that failed; the checkouts went on without them.",
				ConstLabels: prometheus.Labels{"op": op},
			}, func() float64 {
				var n int64
				for _, b := range books {
					n += count(b)
				}
				return float64(n)
			})
			if err := reg.Register(c); err != nil {
				return o, err
			}
		}
	}
	return o, nil
}
