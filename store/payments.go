package store

import (
	"encoding/binary"
	"errors"
	"slices"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/cartwright-dev/cartwright/providers"
)

// MockPayments is the book of one tenant's mock payment handler (providers.MockBook): the
// payments the demo's simulated processor knows, kept here so that an order placed before
// a restart can be captured and refunded after it.
//
// The book is written only within a batch (MockPayments.In, BatchMockPayments), like the
// built-in stock: a payment is committed with the envelope that made or changed it, by the
// batch's one fsync, instead of a write and an fsync of its own on the envelope's path. A
// payment and the keys of the steps done on it are one value, so that a step's effect and
// its idempotency key are durable together or not at all; see providers.MockPayments for
// why losing both in a crash is safe.
//
// What the envelope wrote is undone with it: Batch.Rollback (a panic) drops the payments it
// wrote, as it drops the rest. Batch.RollbackExceptStock (a transient or internal failure)
// keeps them, as a processor keeps an authorization made before the caller failed: the
// retry, with the same idempotency key, finds it and is answered as the first call was,
// without a second charge or a second count.
//
// INVARIANT: each payment is written by one partition's batches: its steps come from the
// state of the context whose checkout authorized it, and a context maps to one partition.
// Two batches never stage the same payment at once.
//
// Record framing:
//
//	version(1)=1 | flags(1: bit0 voided) | authorized, captured, refunded (varint each) |
//	authorized-at unix nanos (varint) | declined (uvarint len, bytes) |
//	steps count (uvarint), then each key (uvarint len, bytes)
type MockPayments struct {
	s      *Store
	tenant string
}

var _ providers.MockBook = MockPayments{}

// errMockOutsideBatch refuses a write of the mock outside a batch: it would need an fsync of
// its own, or be lost unseen.
var errMockOutsideBatch = errors.New("store: the mock's payments are written within a batch (MockPayments.In)")

// MockPayments returns the book of tenant's mock payment handler.
func (s *Store) MockPayments(tenant string) MockPayments { return MockPayments{s: s, tenant: tenant} }

// Payment implements providers.MockBook.
func (m MockPayments) Payment(id string) (providers.MockPayment, bool, error) {
	var p providers.MockPayment
	key := mockPaymentKey(m.tenant, id)
	if !m.s.present.mayHave(key) {
		return providers.MockPayment{}, false, nil
	}
	found := false
	err := m.s.view(key, func(v []byte) error {
		if v == nil {
			return nil
		}
		var err error
		p, err = decodeMockPayment(v) // copies what it keeps
		found = err == nil
		return err
	})
	if err != nil || !found {
		return providers.MockPayment{}, false, err
	}
	p.ID = id
	return p, true, nil
}

// PutPayment implements providers.MockBook by refusing: the committed book is read-only,
// and a mock over it answers every step that would write with a transient failure.
func (MockPayments) PutPayment(providers.MockPayment) error { return errMockOutsideBatch }

// In returns the book as batch b sees it.
func (m MockPayments) In(b *Batch) BatchMockPayments {
	if b.s != m.s {
		panic("store: the mock's book of one store, a batch of another")
	}
	return BatchMockPayments{b: b, tenant: m.tenant}
}

// ForgetPayments implements providers.MockBook. It writes at once, outside any batch and
// without fsync: a removal lost in a crash is redone by the next call, and a batch that
// writes a payment being forgotten writes its index entry again, so that the next call
// forgets it.
func (m MockPayments) ForgetPayments(cutoff time.Time, limit int) (int, error) {
	hi := mockByTimeKey(m.tenant, cutoff.UnixNano(), "")
	lo := hi[:len(hi)-8]
	it, err := m.s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	b := m.s.db.NewBatch()
	defer b.Close()
	n := 0
	for it.First(); it.Valid() && n < limit; it.Next() {
		k := it.Key()
		if err := b.Delete(k, nil); err != nil {
			it.Close()
			return 0, err
		}
		if err := b.Delete(mockPaymentKey(m.tenant, string(k[len(hi):])), nil); err != nil {
			it.Close()
			return 0, err
		}
		n++
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	return n, b.Commit(pebble.NoSync)
}

func mockPaymentKey(tenant, id string) []byte {
	k := make([]byte, 0, 2+len(tenant)+len(id))
	k = append(k, tagMockPayment)
	k = append(k, tenant...)
	k = append(k, 0)
	return append(k, id...)
}

// mockByTimeKey indexes a payment by when it was authorized; with id "" it is the bound
// of the tenant's entries before atNanos.
func mockByTimeKey(tenant string, atNanos int64, id string) []byte {
	k := make([]byte, 0, 10+len(tenant)+len(id))
	k = append(k, tagMockByTime)
	k = append(k, tenant...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(atNanos))
	return append(k, id...)
}

func appendMockPayment(b []byte, p providers.MockPayment) []byte {
	b = append(b, codecVersion)
	var flags byte
	if p.Voided {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, p.Authorized)
	b = binary.AppendVarint(b, p.Captured)
	b = binary.AppendVarint(b, p.Refunded)
	b = binary.AppendVarint(b, p.At.UnixNano())
	b = appendString(b, p.Declined)
	b = binary.AppendUvarint(b, uint64(len(p.Steps)))
	for _, s := range p.Steps {
		b = appendString(b, s)
	}
	return b
}

func decodeMockPayment(v []byte) (providers.MockPayment, error) {
	r := &reader{b: v}
	if r.byte1() != codecVersion {
		return providers.MockPayment{}, errCorrupt
	}
	p := providers.MockPayment{Voided: r.byte1()&1 != 0}
	p.Authorized, p.Captured, p.Refunded = r.varint(), r.varint(), r.varint()
	p.At = time.Unix(0, r.varint()).UTC()
	p.Declined = r.string()
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		return providers.MockPayment{}, errCorrupt
	}
	for i := uint64(0); i < n && r.err == nil; i++ {
		p.Steps = append(p.Steps, r.string())
	}
	if r.err != nil || len(r.b) != 0 {
		return providers.MockPayment{}, errCorrupt
	}
	return p, nil
}

// BatchMockPayments is the book of a tenant's mock payment handler as one batch sees it: the
// payments the batch wrote, else the committed ones. What it writes is staged in the batch
// and committed with it (see MockPayments).
type BatchMockPayments struct {
	b      *Batch
	tenant string
}

var _ providers.MockBook = BatchMockPayments{}

// Payment implements providers.MockBook.
func (m BatchMockPayments) Payment(id string) (providers.MockPayment, bool, error) {
	if p, ok := m.b.pays[string(mockPaymentKey(m.tenant, id))]; ok {
		q := *p
		q.Steps = slices.Clone(p.Steps)
		return q, true, nil
	}
	return MockPayments{s: m.b.s, tenant: m.tenant}.Payment(id)
}

// PutPayment implements providers.MockBook: the payment and its entry in the by-time index
// are staged in the batch.
//
// REQUIRES: p.At is the same on every put of p.ID (the index entry is not moved).
func (m BatchMockPayments) PutPayment(p providers.MockPayment) error {
	p.Steps = slices.Clone(p.Steps)
	m.b.putMockPayment(m.tenant, &p)
	return nil
}

// ForgetPayments implements providers.MockBook, as MockPayments.ForgetPayments does.
func (m BatchMockPayments) ForgetPayments(cutoff time.Time, limit int) (int, error) {
	return MockPayments{s: m.b.s, tenant: m.tenant}.ForgetPayments(cutoff, limit)
}

// putMockPayment stages p, for Rollback to take back.
func (b *Batch) putMockPayment(tenant string, p *providers.MockPayment) {
	if b.pays == nil {
		b.pays = map[string]*providers.MockPayment{}
	}
	key := mockPaymentKey(tenant, p.ID)
	prev, had := b.pays[string(key)]
	b.staged = append(b.staged, staged{kind: stagedMockPayment, key: key, had: had, tenant: tenant, pay: prev})
	b.pays[string(key)] = p
}

func (b *Batch) undoMockPayment(w *staged) {
	if w.had {
		b.pays[string(w.key)] = w.pay
	} else {
		delete(b.pays, string(w.key))
	}
}

func (b *Batch) flushMockPayment(w *staged) {
	p := b.pays[string(w.key)]
	b.scratch = appendMockPayment(b.scratch[:0], *p)
	b.s.present.add(w.key) // before the commit: presenceFilter's invariant
	b.b.Set(w.key, b.scratch, nil)
	b.b.Set(mockByTimeKey(w.tenant, p.At.UnixNano(), p.ID), nil, nil)
}
