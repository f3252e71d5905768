package app

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
)

// BuiltinStock returns the configured stock of every tenant whose stock the built-in
// provider counts, by item id (nil for items whose stock is not counted).
func BuiltinStock(cfg *config.Config) map[string]map[string]*int64 {
	out := make(map[string]map[string]*int64, len(cfg.Tenants))
	for name, t := range cfg.Tenants {
		if !t.BuiltinInventory() {
			continue // its own service, or none: the tenant's configuration decides
		}
		m := make(map[string]*int64, len(t.Builtin.Items))
		for _, it := range t.Builtin.Items {
			m[it.ID] = it.Stock
		}
		out[name] = m
	}
	return out
}

// withInventories returns o with every tenant's stock kept in JetStream
// (providers.KVInventory), unless o already gives that tenant (or every tenant) an
// inventory.
func withInventories(ctx context.Context, js jetstream.JetStream, cfg *config.Config, o handlers.Options) (handlers.Options, error) {
	if o.Providers.Inventory != nil {
		return o, nil
	}
	invs, err := providers.TenantInventoriesReplicas(ctx, js, cfg.Prefix, cfg.Replicas, BuiltinStock(cfg))
	if err != nil {
		return o, err
	}
	tenants := make(map[string]handlers.Providers, len(invs))
	for name, p := range o.Tenants {
		tenants[name] = p
	}
	for name, inv := range invs {
		p := tenants[name]
		if p.Inventory == nil {
			p.Inventory = inv
		}
		tenants[name] = p
	}
	o.Tenants = tenants
	return o, nil
}

// Allotment sizes of the shared stock (store.OpenSharedStock): a partition takes up to
// stockChunk units beyond what it reserves (an eighth at most of what remains above the
// low mark), and below stockLowPerPartition units per partition left in the bucket it
// reserves exactly, giving back its spare. A chunk of 64 cost the bench's worker about
// 20 ms more per batch of 128 than 1024 on a loaded machine (docs/workers.md).
const (
	stockChunk           = 1024
	stockLowPerPartition = 128
)

// WithStock returns o with every tenant's built-in stock kept where cfg.Stock says: in
// the store (store.Stock, the default on the embedded server), or in the JetStream
// bucket. With the bucket and the changelog on (a group, docs/workers.md "Stock across
// workers"), each partition reserves from an allotment it takes from the bucket in
// chunks, its reservations kept in the store and moved with the changelog
// (store.OpenSharedStock); with the bucket and no changelog, every reservation is a
// compare-and-set in the bucket (providers.KVInventory).
func WithStock(ctx context.Context, js jetstream.JetStream, st *store.Store, cfg *config.Config, o handlers.Options) (handlers.Options, error) {
	if o.Providers.Inventory != nil {
		return o, nil
	}
	if cfg.Stock == config.StockBucket && !cfg.Changelog {
		return withInventories(ctx, js, cfg, o)
	}
	limits := BuiltinStock(cfg)
	var (
		stock *store.Stock
		err   error
	)
	if cfg.Stock == config.StockBucket {
		var invs map[string]*providers.KVInventory
		invs, err = providers.TenantInventoriesReplicas(ctx, js, cfg.Prefix, cfg.Replicas, limits)
		if err != nil {
			return o, err
		}
		low := int64(stockLowPerPartition * max(cfg.Partitions, config.DefaultPartitions))
		stock, err = store.OpenSharedStock(st, limits, invs, stockChunk, low)
	} else {
		stock, err = store.OpenStock(st, limits)
	}
	if err != nil {
		return o, err
	}
	o.Stock = stock
	return o, nil
}
