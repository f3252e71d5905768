package providers

import (
	"context"
	"errors"
	"sync"

	"github.com/cartwright-dev/cartwright/commerce"
)

// MockHandlerID is the payment handler id of MockPayments.
const MockHandlerID = "mock"

// Test tokens MockPayments understands. Any other token is declined.
const (
	TokenApproved = "tok_visa"    // approved
	TokenDeclined = "tok_decline" // declined: "card declined"
	TokenFlaky    = "tok_flaky"   // a transient error twice per idempotency key, then approved
)

// MockPayments is the demo's payment handler, "mock". It behaves like a processor that
// honours idempotency keys: a step is done once per key, and a repeated call with the same
// key gets the first answer again (a transient failure is not an answer: it is not
// remembered, except that it counts towards tok_flaky's two). Payment ids are derived from
// the authorization's key, so the handler is deterministic. It counts what it did, so that
// tests can check that a payment was charged once. Safe for concurrent use.
type MockPayments struct {
	mu       sync.Mutex
	auths    map[string]*mockAuth    // by idempotency key
	ops      map[string]error        // capture, void and refund answers by idempotency key
	payments map[string]*MockPayment // by payment id
	stats    MockStats
}

type mockAuth struct {
	attempts int
	done     bool
	result   commerce.PaymentResult
}

// MockPayment is what MockPayments knows of one approved payment.
type MockPayment struct {
	ID         string
	Authorized int64
	Captured   int64
	Refunded   int64
	Voided     bool
}

// MockStats counts what MockPayments did. Repeated calls with a key already answered are
// not counted again.
type MockStats struct {
	Authorizations    int // approved authorizations
	Declines          int
	TransientFailures int
	Captures          int // captures, including those at authorization
	Voids             int
	Refunds           int
}

var _ commerce.Payments = (*MockPayments)(nil)

// NewMockPayments returns a mock handler with nothing authorized yet.
func NewMockPayments() *MockPayments {
	return &MockPayments{
		auths:    map[string]*mockAuth{},
		ops:      map[string]error{},
		payments: map[string]*MockPayment{},
	}
}

// Authorize implements commerce.Payments.
func (m *MockPayments) Authorize(_ context.Context, r commerce.PaymentRequest) (commerce.PaymentResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.auths[r.IdempotencyKey]
	if a == nil {
		a = &mockAuth{}
		m.auths[r.IdempotencyKey] = a
	}
	if a.done {
		return a.result, nil
	}
	a.attempts++
	switch token := r.Instrument.Credential.Token; {
	case token == TokenFlaky && a.attempts <= 2:
		m.stats.TransientFailures++
		return commerce.PaymentResult{}, commerce.Transient("payment handler mock", errors.New("simulated processor timeout"))
	case token == TokenApproved, token == TokenFlaky:
		p := &MockPayment{ID: commerce.NewID("pay", r.IdempotencyKey, 0), Authorized: r.Amount}
		if r.Capture {
			p.Captured = r.Amount
			m.stats.Captures++
		}
		m.payments[p.ID] = p
		m.stats.Authorizations++
		a.result = commerce.PaymentResult{Approved: true, PaymentID: p.ID}
	case token == TokenDeclined:
		m.stats.Declines++
		a.result = commerce.PaymentResult{DeclineReason: "card declined"}
	default:
		m.stats.Declines++
		a.result = commerce.PaymentResult{DeclineReason: "card declined (unknown test token)"}
	}
	a.done = true
	return a.result, nil
}

// Capture implements commerce.Payments.
func (m *MockPayments) Capture(_ context.Context, op commerce.PaymentOp) error {
	return m.once(op, func(p *MockPayment) error {
		switch {
		case p.Voided:
			return refused(p, "is voided")
		case op.Amount <= 0 || p.Captured+op.Amount > p.Authorized:
			return refused(p, "cannot capture more than was authorized")
		}
		p.Captured += op.Amount
		m.stats.Captures++
		return nil
	})
}

// Void implements commerce.Payments.
func (m *MockPayments) Void(_ context.Context, op commerce.PaymentOp) error {
	return m.once(op, func(p *MockPayment) error {
		switch {
		case p.Voided:
			return refused(p, "is already voided")
		case p.Captured > 0:
			return refused(p, "is captured; refund it instead")
		}
		p.Voided = true
		m.stats.Voids++
		return nil
	})
}

// Refund implements commerce.Payments.
func (m *MockPayments) Refund(_ context.Context, op commerce.PaymentOp) error {
	return m.once(op, func(p *MockPayment) error {
		if op.Amount <= 0 || p.Refunded+op.Amount > p.Captured {
			return refused(p, "cannot refund more than was captured")
		}
		p.Refunded += op.Amount
		m.stats.Refunds++
		return nil
	})
}

// once runs f on op's payment unless op's key was answered before, in which case it
// returns that answer.
func (m *MockPayments) once(op commerce.PaymentOp, f func(p *MockPayment) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, ok := m.ops[op.IdempotencyKey]; ok {
		return err
	}
	var err error
	if p := m.payments[op.PaymentID]; p == nil {
		err = commerce.E(commerce.KindNotFound, commerce.CodeNotFound, "payment handler mock knows no payment %q", op.PaymentID)
	} else {
		err = f(p)
	}
	m.ops[op.IdempotencyKey] = err
	return err
}

func refused(p *MockPayment, why string) error {
	return commerce.E(commerce.KindConflict, commerce.CodeInvalidTransition, "payment %s %s", p.ID, why)
}

// Stats returns what the handler has done so far.
func (m *MockPayments) Stats() MockStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Payment returns what the handler knows of the payment with id.
func (m *MockPayments) Payment(id string) (MockPayment, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.payments[id]
	if !ok {
		return MockPayment{}, false
	}
	return *p, true
}

// Captured returns the amount captured of the payment with id (refunds not deducted; see
// Payment for them), 0 for an unknown payment.
func (m *MockPayments) Captured(id string) int64 {
	p, _ := m.Payment(id)
	return p.Captured
}
