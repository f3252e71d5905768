package bench

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// The bench measures the worker as serve assembles it, so the calls that assemble it are
// app's, as serve's are.

// newWorker wires a worker as serve does, stock kept where --inventory says; ctx bounds
// the stock bucket's watch.
func (r *benchRun) newWorker(ctx context.Context, reg *prometheus.Registry) (w *bus.Worker, err error) {
	hopts := handlers.Options{Logger: r.log}
	if r.o.Inventory != "memory" {
		r.cfg.Stock = r.o.Inventory
		if hopts, err = app.WithStock(ctx, r.js, r.st, r.cfg, hopts); err != nil {
			return nil, err
		}
	}
	hopts = handlers.WithMockPayments(r.st, r.cfg, hopts)
	return bus.New(r.cfg, r.nc, r.st, handlers.New(r.cfg, app.WithEnvs(r.cfg, hopts)), bus.NewMetrics(reg), r.log)
}

// openStore opens the store at path as serve opens its own.
func openStore(path string, cfg *config.Config) (*store.Store, error) {
	return store.Open(path, app.StoreOptions(cfg.Store))
}

// builtinStock is the stock that the tenants' configuration sets, per tenant and item.
func builtinStock(cfg *config.Config) map[string]map[string]*int64 {
	return app.BuiltinStock(cfg)
}
