package bench

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/providers"
)

// streamNames are the streams a run creates: the worker's four, the stock bucket's, the
// group bucket's, the changelog's, the order webhooks' two (package webhooks: the
// redelivery stream and the bucket of platforms), the baseline's and the reply floor's two.
func (r *benchRun) streamNames() []string {
	t := r.topo
	floor := bus.Topology{Prefix: floorPrefix(t.Prefix)}
	return []string{t.InStream(), t.OutStream(), t.DLQStream(), t.EventStream(),
		"KV_" + strings.ToUpper(t.Prefix) + "_STOCK", "KV_" + strings.ToUpper(t.Prefix) + "_GROUP", t.ChangelogStream(),
		strings.ToUpper(t.Prefix) + "_WEBHOOK", "KV_" + strings.ToUpper(t.Prefix) + "_WEBHOOKS",
		bus.Topology{Prefix: baselinePrefix(t.Prefix)}.InStream(), floor.InStream(), floor.OutStream()}
}

// prepare provisions the streams as the worker does at start-up, so that the envelopes
// can be published before it starts, and restocks the basket's counted items.
func (r *benchRun) prepare(ctx context.Context) error {
	if !r.cfg.NATS.Embedded() {
		for _, name := range r.streamNames() {
			if _, err := r.js.Stream(ctx, name); err == nil {
				return usageErr("stream %s exists on %s: the bench measures on streams of its own; "+
					"use another --prefix or a server without them", name, r.o.redact(r.cfg.NATS.URL))
			} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
				return err
			}
		}
	}
	if err := bus.Provision(ctx, r.js, r.topo); err != nil {
		return err
	}
	return r.restock(ctx)
}

// restock sets the stock of the basket's counted items far above what the run buys, as
// an operator restocks: in the tenant's configuration (--inventory store or memory), or in
// the bucket the worker keeps stock in (`nats kv put`) with --inventory bucket. Otherwise the demo's 1000 tees sell
// out after 1000 checkouts and the rest of the run measures out_of_stock replies instead
// of purchases.
func (r *benchRun) restock(ctx context.Context) error {
	const plenty = 1 << 40
	stock := builtinStock(r.cfg)[r.tenant]
	var counted []string
	for _, it := range r.items {
		if s, ok := stock[it]; ok && s != nil && !slices.Contains(counted, it) && benchToken.MatchString(it) {
			counted = append(counted, it)
		}
	}
	if len(counted) == 0 {
		return nil
	}
	where := "the stock bucket"
	if r.o.Inventory != "bucket" {
		where = "the tenant's configuration (stock kept in the store)"
		if r.o.Inventory == "memory" {
			where = "the tenant's configuration (in-process stock)"
		}
		items := r.cfg.Tenants[r.tenant].Builtin.Items
		for i := range items {
			if slices.Contains(counted, items[i].ID) {
				n := int64(plenty)
				items[i].Stock = &n
			}
		}
	} else {
		kv, err := providers.StockBucket(ctx, r.js, r.topo.Prefix)
		if err != nil {
			return err
		}
		for _, it := range counted {
			if _, err := kv.Put(ctx, r.tenant+".item."+it, []byte(`{"remaining":`+strconv.Itoa(plenty)+`}`)); err != nil {
				return fmt.Errorf("restocking %s: %w", it, err)
			}
		}
	}
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf("stock of %s set to 2^40 in %s before the run, "+
		"so that every checkout completes (the demo has 1000 of each)", strings.Join(counted, ", "), where))
	return nil
}

var benchToken = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// removeStreams deletes what prepare created on a server the bench does not own.
func (r *benchRun) removeStreams() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range r.streamNames() {
		if err := r.js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			r.say("removing stream %s: %v", name, err)
		}
	}
}

// streamCounts records what the throughput phase dead-lettered and how many events it
// published.
func (r *benchRun) streamCounts(ctx context.Context) error {
	o := &r.rep.Outcomes
	for _, s := range []struct {
		name string
		n    *uint64
	}{{r.topo.DLQStream(), &o.DeadLetters}, {r.topo.EventStream(), &o.Events}} {
		st, err := r.js.Stream(ctx, s.name)
		if err != nil {
			return err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return err
		}
		*s.n = info.State.Msgs
	}
	return nil
}
