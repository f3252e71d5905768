package handlers

import (
	"context"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
)

// batchInventory is a tenant's built-in stock as one batch sees it (store.Stock): what a
// completion reserves, or a cancellation releases, is committed with the checkout.
type batchInventory struct {
	stock  *store.Stock
	b      *store.Batch
	tenant string
}

var _ commerce.Inventory = batchInventory{}

func (i batchInventory) Available(_ context.Context, item string) (int64, bool, error) {
	n, unlimited := i.stock.Available(i.tenant, item)
	return n, unlimited, nil
}

func (i batchInventory) Reserve(_ context.Context, checkoutID string, lines []commerce.Reservation) (bool, string, error) {
	ok, short, err := i.b.Reserve(i.stock, i.tenant, checkoutID, lines)
	if err != nil {
		return false, "", commerce.Transient("store read", err)
	}
	return ok, short, nil
}

func (i batchInventory) Release(_ context.Context, checkoutID string) error {
	if err := i.b.Release(i.stock, i.tenant, checkoutID); err != nil {
		return commerce.Transient("store read", err)
	}
	return nil
}

// envFor returns the tenant's providers for one envelope or expiry handled in b: the
// built-in stock and the mock's payments kept in the store are b's, so that what they
// write is committed, or rolled back, with the envelope.
func (h *Handler) envFor(t *tenant, b *store.Batch) commerce.Env {
	env := t.env
	if t.stock {
		env.Inventory = batchInventory{stock: h.stock, b: b, tenant: t.name}
	}
	if m, ok := env.Payments.(*providers.MockPayments); ok {
		if book, ok := m.Book().(store.MockPayments); ok {
			env.Payments = m.In(book.In(b))
		}
	}
	return env
}
