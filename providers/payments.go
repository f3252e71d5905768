package providers

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"sync"
	"time"

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

// CardDeclined is the test card MockPayments declines. Any other card number that passes
// the Luhn check is approved; one that does not is declined.
const CardDeclined = "4000000000000002"

// MockRetention is how long MockPayments remembers a payment after authorizing it. A
// capture, void or refund of a payment authorized longer ago is answered not_found, as a
// processor past its own refund window would. It is as long as a dead letter is kept
// (A2A_DLQ's max age), so that a redriven step still finds its payment; and it bounds what
// a long-running demo keeps.
const MockRetention = 30 * 24 * time.Hour

// MockPayments is the demo's payment handler, "mock". It behaves like a processor that
// honours idempotency keys: a step is done once per key, and a repeated call with the same
// key gets the first answer again. A transient failure is not an answer (it counts towards
// tok_flaky's two, in memory only), and neither is a refusal (a step the payment's state
// does not allow changes nothing, so asked again it is judged again). Payment ids are
// derived from the authorization's key, so the handler is deterministic. It counts what it
// did since it was made, so that tests can check that a payment was charged once. Safe for
// concurrent use.
//
// What it knows of each payment is in its MockBook: in memory ([NewMockPayments]), or in
// the worker's store, where it survives a restart ([NewMockPaymentsIn]). Over the store,
// the worker hands each envelope the handler over the envelope's batch ([MockPayments.In]),
// so that a payment is written with the batch and made durable by the batch's one fsync.
//
// INVARIANT: a step's effect and its idempotency key are written to the book together, in
// one value. Over a batch, the payment is durable exactly when the effects of the envelope
// that asked are: a worker killed before the batch commits loses both, and the redelivery
// asks afresh with the same key and is answered as the first time (the payment id comes
// from the key). Once the batch has committed, the step and its key are there, and a step
// asked again with its key is answered without being done twice. From the agent's side,
// which sees only what was committed, each step is done once.
type MockPayments struct {
	book MockBook
	*mockCore
}

// mockCore is what a handler shares with its views over other books (In).
type mockCore struct {
	now       func() time.Time
	retention time.Duration
	locks     [64]sync.Mutex // by payment id: a step reads, changes and writes its payment alone

	// approve and decline are a tenant's own test tokens (SetTokens), read-only once set.
	approve, decline map[string]bool

	mu       sync.Mutex
	attempts map[string]int // tok_flaky's failures so far, by idempotency key
	swept    time.Time      // when the book last forgot old payments
	stats    MockStats
}

// MockPayment is what MockPayments knows of one payment.
type MockPayment struct {
	ID         string
	Authorized int64
	Captured   int64
	Refunded   int64
	Voided     bool
	// Declined is why the authorization was declined: the answer kept for its key. Such a
	// payment cannot be captured, voided or refunded.
	Declined string
	// At is when it was authorized; it is forgotten MockRetention later.
	At time.Time
	// Steps are the idempotency keys of the captures, voids and refunds done, oldest first.
	Steps []string
}

// MockBook is where MockPayments keeps its payments.
type MockBook interface {
	// Payment returns the payment with id; ok is false when there is none.
	Payment(id string) (p MockPayment, ok bool, err error)
	// PutPayment writes p in place of the payment with its id, in one write: a later
	// Payment reads it. A book over a batch makes it durable when the batch commits.
	PutPayment(p MockPayment) error
	// ForgetPayments removes up to limit payments authorized before cutoff, oldest first,
	// and reports how many it removed.
	ForgetPayments(cutoff time.Time, limit int) (int, error)
}

// MockStats counts what MockPayments did. Repeated calls with a key already answered are
// not counted again. A step undone with its envelope (the batch rolled back, discarded or
// lost in a crash) was counted when it was done, and is counted again if asked again.
type MockStats struct {
	Authorizations    int // approved authorizations
	Declines          int
	TransientFailures int
	Captures          int // captures, including those at authorization
	Voids             int
	Refunds           int
}

var _ commerce.Payments = (*MockPayments)(nil)

// NewMockPayments returns a mock handler that keeps its payments in memory: a restart
// forgets them.
func NewMockPayments() *MockPayments { return NewMockPaymentsIn(NewMockMemory(), nil) }

// NewMockPaymentsIn returns a mock handler that keeps its payments in book. now is its
// clock (nil: time.Now), which dates payments for MockRetention.
func NewMockPaymentsIn(book MockBook, now func() time.Time) *MockPayments {
	if now == nil {
		now = time.Now
	}
	return &MockPayments{book: book, mockCore: &mockCore{now: now, retention: MockRetention, attempts: map[string]int{}}}
}

// SetTokens adds test tokens that m approves and declines besides its own, e.g. the UCP
// suite's success_token and fail_token. Call it before m is used; it returns m.
func (m *MockPayments) SetTokens(approve, decline []string) *MockPayments {
	m.approve, m.decline = map[string]bool{}, map[string]bool{}
	for _, t := range approve {
		m.approve[t] = true
	}
	for _, t := range decline {
		m.decline[t] = true
	}
	return m
}

// Book returns where the handler keeps its payments.
func (m *MockPayments) Book() MockBook { return m.book }

// In returns the same handler keeping its payments in book: its locks, tok_flaky's
// attempts, its sweeps and its counts are shared with m. The worker calls it once per
// envelope with the book of the envelope's batch.
func (m *MockPayments) In(book MockBook) *MockPayments {
	return &MockPayments{book: book, mockCore: m.mockCore}
}

// maxFlaky bounds the tok_flaky attempts kept: keys given up on before their third call
// would otherwise stay for ever.
const maxFlaky = 10000

// sweepEvery is how often Authorize asks the book to forget payments past retention, and
// sweepLimit how many it forgets at a time.
const (
	sweepEvery = time.Minute
	sweepLimit = 1000
)

// Authorize implements commerce.Payments.
func (m *MockPayments) Authorize(_ context.Context, r commerce.PaymentRequest) (commerce.PaymentResult, error) {
	now := m.now()
	m.forgetOld(now)
	id := commerce.NewID("pay", r.IdempotencyKey, 0)
	defer m.lock(id)()
	p, ok, err := m.book.Payment(id)
	if err != nil {
		return commerce.PaymentResult{}, bookFailed(err)
	}
	if ok {
		return result(p), nil
	}
	p = MockPayment{ID: id, At: now}
	switch token, card := r.Instrument.Credential.Token, r.Instrument.Credential.Card; {
	case card != nil && card.Number == CardDeclined:
		p.Declined = "card declined"
	case card != nil && !luhn(card.Number):
		p.Declined = "card declined (invalid number)"
	case card != nil, m.approve[token]:
		p.Authorized = r.Amount
		if r.Capture {
			p.Captured = r.Amount
		}
	case m.decline[token]:
		p.Declined = "card declined"
	case token == TokenFlaky && m.flaky(r.IdempotencyKey):
		return commerce.PaymentResult{}, commerce.Transient("payment handler mock", errors.New("simulated processor timeout"))
	case token == TokenApproved, token == TokenFlaky:
		p.Authorized = r.Amount
		if r.Capture {
			p.Captured = r.Amount
		}
	case token == TokenDeclined:
		p.Declined = "card declined"
	default:
		p.Declined = "card declined (unknown test token)"
	}
	if err := m.book.PutPayment(p); err != nil {
		return commerce.PaymentResult{}, bookFailed(err)
	}
	m.count(func(s *MockStats) {
		switch {
		case p.Declined != "":
			s.Declines++
		case p.Captured > 0:
			s.Authorizations++
			s.Captures++
		default:
			s.Authorizations++
		}
	})
	return result(p), nil
}

func result(p MockPayment) commerce.PaymentResult {
	if p.Declined != "" {
		return commerce.PaymentResult{DeclineReason: p.Declined}
	}
	return commerce.PaymentResult{Approved: true, PaymentID: p.ID}
}

// flaky reports whether this call with key is one of tok_flaky's two failures.
func (m *mockCore) flaky(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.attempts[key] >= 2 {
		delete(m.attempts, key)
		return false
	}
	if len(m.attempts) >= maxFlaky {
		clear(m.attempts)
	}
	m.attempts[key]++
	m.stats.TransientFailures++
	return true
}

// forgetOld has the book forget payments past retention, at most once per sweepEvery. A
// failure is not the caller's: the next sweep tries again.
func (m *MockPayments) forgetOld(now time.Time) {
	m.mu.Lock()
	due := now.Sub(m.swept) >= sweepEvery
	if due {
		m.swept = now
	}
	m.mu.Unlock()
	if due {
		_, _ = m.book.ForgetPayments(now.Add(-m.retention), sweepLimit)
	}
}

// Capture implements commerce.Payments.
func (m *MockPayments) Capture(_ context.Context, op commerce.PaymentOp) error {
	return m.once(op, func(p *MockPayment) string {
		switch {
		case p.Voided:
			return "is voided"
		case op.Amount <= 0 || p.Captured+op.Amount > p.Authorized:
			return "cannot capture more than was authorized"
		}
		p.Captured += op.Amount
		return ""
	}, func(s *MockStats) { s.Captures++ })
}

// Void implements commerce.Payments.
func (m *MockPayments) Void(_ context.Context, op commerce.PaymentOp) error {
	return m.once(op, func(p *MockPayment) string {
		switch {
		case p.Voided:
			return "is already voided"
		case p.Captured > 0:
			return "is captured; refund it instead"
		}
		p.Voided = true
		return ""
	}, func(s *MockStats) { s.Voids++ })
}

// Refund implements commerce.Payments.
func (m *MockPayments) Refund(_ context.Context, op commerce.PaymentOp) error {
	return m.once(op, func(p *MockPayment) string {
		if op.Amount <= 0 || p.Refunded+op.Amount > p.Captured {
			return "cannot refund more than was captured"
		}
		p.Refunded += op.Amount
		return ""
	}, func(s *MockStats) { s.Refunds++ })
}

// once applies step to op's payment unless op's key was done before, in which case it
// succeeds again without doing anything. step changes the payment and returns "", or
// returns why the payment's state refuses it; a refusal is not written. counted records
// a step done.
func (m *MockPayments) once(op commerce.PaymentOp, step func(p *MockPayment) string, counted func(*MockStats)) error {
	defer m.lock(op.PaymentID)()
	p, ok, err := m.book.Payment(op.PaymentID)
	if err != nil {
		return bookFailed(err)
	}
	if !ok || p.Declined != "" {
		return commerce.E(commerce.KindNotFound, commerce.CodeNotFound, "payment handler mock knows no payment %q", op.PaymentID)
	}
	if slices.Contains(p.Steps, op.IdempotencyKey) {
		return nil
	}
	if why := step(&p); why != "" {
		return commerce.E(commerce.KindConflict, commerce.CodeInvalidTransition, "payment %s %s", p.ID, why)
	}
	p.Steps = append(p.Steps, op.IdempotencyKey)
	if err := m.book.PutPayment(p); err != nil {
		return bookFailed(err)
	}
	m.count(counted)
	return nil
}

// bookFailed is a failure to read or write the book: the step may be tried again.
func bookFailed(err error) error { return commerce.Transient("payment handler mock", err) }

func (m *mockCore) lock(id string) (unlock func()) {
	h := fnv.New32a()
	h.Write([]byte(id))
	l := &m.locks[h.Sum32()%uint32(len(m.locks))]
	l.Lock()
	return l.Unlock
}

func (m *mockCore) count(f func(*MockStats)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(&m.stats)
}

// Stats returns what the handler, and its views over other books, have done since it was
// made.
func (m *MockPayments) Stats() MockStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Payment returns what the handler knows of the approved payment with id.
func (m *MockPayments) Payment(id string) (MockPayment, bool) {
	p, ok, err := m.book.Payment(id)
	if err != nil || !ok || p.Declined != "" {
		return MockPayment{}, false
	}
	return p, true
}

// Captured returns the amount captured of the payment with id (refunds not deducted; see
// Payment for them), 0 for an unknown payment.
func (m *MockPayments) Captured(id string) int64 {
	p, _ := m.Payment(id)
	return p.Captured
}

// MockMemory is a MockBook in memory.
type MockMemory struct {
	mu       sync.Mutex
	payments map[string]MockPayment
}

// NewMockMemory returns an empty MockMemory.
func NewMockMemory() *MockMemory { return &MockMemory{payments: map[string]MockPayment{}} }

// Payment implements MockBook.
func (b *MockMemory) Payment(id string) (MockPayment, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.payments[id]
	p.Steps = slices.Clone(p.Steps)
	return p, ok, nil
}

// PutPayment implements MockBook.
func (b *MockMemory) PutPayment(p MockPayment) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p.Steps = slices.Clone(p.Steps)
	b.payments[p.ID] = p
	return nil
}

// ForgetPayments implements MockBook.
func (b *MockMemory) ForgetPayments(cutoff time.Time, limit int) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var old []MockPayment
	for _, p := range b.payments {
		if p.At.Before(cutoff) {
			old = append(old, p)
		}
	}
	slices.SortFunc(old, func(a, b MockPayment) int { return a.At.Compare(b.At) })
	if len(old) > limit {
		old = old[:limit]
	}
	for _, p := range old {
		delete(b.payments, p.ID)
	}
	return len(old), nil
}

// luhn reports whether number (digits) passes the Luhn check, as every real card number
// does.
func luhn(number string) bool {
	if number == "" {
		return false
	}
	sum, double := 0, false
	for i := len(number) - 1; i >= 0; i-- {
		d := int(number[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
