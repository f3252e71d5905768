package store

import (
	"encoding/binary"
	"time"

	"github.com/cockroachdb/pebble"

	"github.com/cartwright-dev/cartwright/providers"
)

// MockPayments is the book of one tenant's mock payment handler (providers.MockBook): the
// payments the demo's simulated processor knows, kept here so that an order placed before
// a restart can be captured and refunded after it.
//
// The processor is outside the worker's batches, as a real one would be: a payment is
// written when the handler answers, in a write of its own that is fsync'd before the
// handler returns, so before the reply of the envelope that asked is published. A payment
// and the keys of the steps done on it are one value, so that a step's effect and its
// idempotency key are durable together or not at all.
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

// MockPayments returns the book of tenant's mock payment handler.
func (s *Store) MockPayments(tenant string) MockPayments { return MockPayments{s: s, tenant: tenant} }

// Payment implements providers.MockBook.
func (m MockPayments) Payment(id string) (providers.MockPayment, bool, error) {
	v, err := m.s.get(mockPaymentKey(m.tenant, id))
	if err != nil || v == nil {
		return providers.MockPayment{}, false, err
	}
	p, err := decodeMockPayment(v)
	if err != nil {
		return providers.MockPayment{}, false, err
	}
	p.ID = id
	return p, true, nil
}

// PutPayment implements providers.MockBook: the payment and its entry in the by-time
// index, in one fsync'd write.
//
// REQUIRES: p.At is the same on every put of p.ID (the index entry is not moved).
func (m MockPayments) PutPayment(p providers.MockPayment) error {
	b := m.s.db.NewBatch()
	defer b.Close()
	if err := b.Set(mockPaymentKey(m.tenant, p.ID), appendMockPayment(nil, p), nil); err != nil {
		return err
	}
	if err := b.Set(mockByTimeKey(m.tenant, p.At.UnixNano(), p.ID), nil, nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

// ForgetPayments implements providers.MockBook. It writes without fsync: a removal lost
// in a crash is redone by the next call.
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
