package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/store"
)

// benchFlows is how many purchases the preload's templates come from.
const benchFlows = 16

// preloadTemplates drives benchFlows purchases through the real domain (commerce.Apply
// with the tenant's built-in providers) and returns the state after each of their eight
// steps: templates[f][s] is flow f after step s.
func preloadTemplates(cfg *config.Config, tenant string, items [3]string, now time.Time) ([][]commerce.State, error) {
	t := cfg.Tenants[tenant]
	if t == nil {
		return nil, fmt.Errorf("no tenant %q", tenant)
	}
	env, err := app.Wire(t, commerce.Env{Tenant: tenant, Policy: t.Policy(cfg.Limits.MaxLineItems, cfg.Limits.MaxQuantity)})
	if err != nil {
		return nil, err
	}
	cmds := []commerce.Command{
		commerce.CreateCheckout{},
		commerce.AddItem{ItemID: items[0], Quantity: 1},
		commerce.AddItem{ItemID: items[1], Quantity: 1},
		commerce.AddItem{ItemID: items[2], Quantity: 1},
		nil, // set_buyer, per flow
		commerce.SetShippingAddress{Address: commerce.Address{StreetAddress: "1 Market St", AddressLocality: "San Francisco",
			AddressRegion: "CA", PostalCode: "94105", AddressCountry: "US"}},
		commerce.SelectShippingOption{OptionID: "std"},
		commerce.CompleteCheckout{Instruments: []commerce.PaymentInstrument{{ID: "pi_1", HandlerID: "mock", Type: "card",
			Selected: true, Credential: commerce.Credential{Type: "token", Token: "tok_visa"}}}},
	}
	out := make([][]commerce.State, benchFlows)
	for f := range out {
		ctx := benchContextID('f', f)
		cmds[4] = commerce.SetBuyer{Buyer: commerce.Buyer{FirstName: "Ada", LastName: "Lovelace", Email: "ada." + ctx[4:] + "@example.com"}}
		var st commerce.State
		for s, cmd := range cmds {
			e := env
			e.Context, e.Now, e.Seed = ctx, now.Add(time.Duration(s)*time.Second), tenant+":f-"+strconv.Itoa(f)+"-"+strconv.Itoa(s)
			res, err := commerce.Apply(context.Background(), e, st, cmd)
			if err != nil {
				return nil, fmt.Errorf("preload template, step %d (%s): %w", s, cmd.Action(), err)
			}
			st = res.State
			out[f] = append(out[f], st)
		}
		if c := st.Checkout; c.Status != commerce.StatusCompleted {
			return nil, fmt.Errorf("preload template ended %s, not completed (messages %+v)", c.Status, c.Messages)
		}
	}
	return out, nil
}

// preloadState is stored checkout i: half are completed purchases with their order, the
// other half carts abandoned after one of the earlier steps. Each gets its own ids,
// buyer and times, so that the store holds as many distinct values as it has checkouts.
func preloadState(templates [][]commerce.State, i int, now time.Time) commerce.State {
	step := StepsPerContext - 1
	if i%2 == 1 {
		step = (i / 2) % (StepsPerContext - 1)
	}
	st := templates[i%len(templates)][step].Clone()
	seed := "p:" + strconv.Itoa(i)
	// Up to 5 h old: open carts expire (6 h after creation) after the run, not during it,
	// so that the partitions' expiry sweeps find nothing to do.
	shift := time.Duration(i%18000) * time.Second
	c := st.Checkout
	c.ID = commerce.NewID("chk", seed, 0)
	c.CreatedAt, c.UpdatedAt, c.ExpiresAt = c.CreatedAt.Add(-shift), c.UpdatedAt.Add(-shift), c.ExpiresAt.Add(-shift)
	if c.Buyer != nil {
		c.Buyer.Email = "buyer." + strconv.Itoa(i) + "@example.com"
	}
	for _, o := range st.Orders {
		o.ID = commerce.NewID("ord", seed, 0)
		o.CheckoutID = c.ID
		o.Payment.ID = commerce.NewID("pay", seed, 0)
		o.Buyer = c.Buyer
		o.CreatedAt, o.UpdatedAt = o.CreatedAt.Add(-shift), o.UpdatedAt.Add(-shift)
		if c.Order != nil {
			o.PermalinkURL = c.Order.PermalinkURL[:len(c.Order.PermalinkURL)-len(c.Order.ID)] + o.ID
			c.Order.ID, c.Order.PermalinkURL = o.ID, o.PermalinkURL
		}
	}
	return st
}

// preloadStore writes m checkouts of tenant straight into the store, in batches of
// preloadBatch committed (and fsync'd) one at a time. The open ones are filed under
// partition 0 of the expiry index (the bench cannot compute the server's partition of a
// context); they expire hours after the run.
func preloadStore(ctx context.Context, st *store.Store, cfg *config.Config, tenant string, items [3]string, m int, progress *benchProgress) error {
	now := time.Now()
	templates, err := preloadTemplates(cfg, tenant, items, now)
	if err != nil {
		return err
	}
	const preloadBatch = 10000
	for done := 0; done < m; {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b := st.NewBatch()
		end := min(m, done+preloadBatch)
		for i := done; i < end; i++ {
			b.PutState(tenant, benchContextID('p', i), preloadState(templates, i, now))
		}
		if err := b.Commit(); err != nil {
			return err
		}
		done = end
		progress.tick(done)
	}
	return nil
}
