package handlers

import (
	"context"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/store"
)

// Expire cancels the context's open checkout if it has expired by now, releasing its
// stock, and queues its checkout.expired event in b. It is what happens when no envelope
// arrives for the checkout before its expires_at; an envelope that does arrive later is
// answered checkout_expired. It reports whether it expired anything.
//
// REQUIRES: called by the loop that owns the context's partition, like Handle, so that
// the context has one writer.
func (h *Handler) Expire(ctx context.Context, b *store.Batch, ref store.OpenRef, now time.Time) (bool, error) {
	tenant, contextID := ref.Tenant, ref.Context
	t := h.tenants[tenant]
	if t == nil {
		b.Forget(ref)
		return false, nil
	}
	st, err := b.State(tenant, contextID)
	if err != nil {
		return false, commerce.Transient("store read", err)
	}
	if st.Checkout == nil || st.Checkout.Status.Final() || !st.Checkout.ExpiresAt.Equal(ref.ExpiresAt) {
		b.Forget(ref) // a stale entry: the state moved on without it
		return false, nil
	}
	env := h.envFor(t, b)
	env.Context, env.Now, env.Seed = contextID, now, tenant+":expire:"+st.Checkout.ID
	res, err := commerce.Apply(ctx, env, st, commerce.GetCheckout{})
	if err != nil {
		return false, err
	}
	if !res.Changed {
		return false, nil // not yet: the index and the state disagree on nothing
	}
	b.PutState(tenant, contextID, res.State)
	req := &envelopes.Request{MessageID: "expire:" + st.Checkout.ID, ContextID: contextID}
	e := &Envelope{Tenant: tenant, Context: contextID, Time: now}
	defer e.enc.Release()
	for i, ev := range res.Events {
		h.queueEvent(b, e, req, i, ev)
	}
	return true, nil
}
