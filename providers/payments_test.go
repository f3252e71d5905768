package providers_test

import (
	"sync"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

func authorize(m *providers.MockPayments, key, token string, capture bool) (commerce.PaymentResult, error) {
	return m.Authorize(ctx, commerce.PaymentRequest{
		IdempotencyKey: key, CheckoutID: "chk_1", Currency: "USD", Amount: 1000, Capture: capture,
		Instrument: commerce.PaymentInstrument{HandlerID: providers.MockHandlerID, Credential: commerce.Credential{Type: "token", Token: token}},
	})
}

func TestMockTokens(t *testing.T) {
	m := providers.NewMockPayments()
	r, err := authorize(m, "k1", "tok_visa", true)
	if err != nil || !r.Approved || r.PaymentID != commerce.NewID("pay", "k1", 0) {
		t.Fatalf("tok_visa: %+v, %v", r, err)
	}
	r, err = authorize(m, "k2", "tok_decline", true)
	if err != nil || r.Approved || r.DeclineReason != "card declined" {
		t.Fatalf("tok_decline: %+v, %v", r, err)
	}
	r, err = authorize(m, "k3", "tok_other", true)
	if err != nil || r.Approved {
		t.Fatalf("tok_other: %+v, %v", r, err)
	}
	if s := m.Stats(); s != (providers.MockStats{Authorizations: 1, Declines: 2, Captures: 1}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestMockFlaky(t *testing.T) {
	m := providers.NewMockPayments()
	for i := range 2 {
		_, err := authorize(m, "k", "tok_flaky", false)
		if commerce.KindOf(err) != commerce.KindTransient {
			t.Fatalf("call %d: %v, want a transient error", i+1, err)
		}
	}
	first, err := authorize(m, "k", "tok_flaky", false)
	if err != nil || !first.Approved {
		t.Fatalf("call 3: %+v, %v", first, err)
	}
	again, err := authorize(m, "k", "tok_flaky", false)
	if err != nil || again != first {
		t.Fatalf("call 4: %+v, %v; want the first answer again", again, err)
	}
	// Another key starts over.
	if _, err := authorize(m, "k'", "tok_flaky", false); commerce.KindOf(err) != commerce.KindTransient {
		t.Fatalf("another key: %v", err)
	}
	if s := m.Stats(); s.Authorizations != 1 || s.TransientFailures != 3 || s.Captures != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMockIdempotentUnderConcurrency(t *testing.T) {
	m := providers.NewMockPayments()
	var wg sync.WaitGroup
	results := make([]commerce.PaymentResult, 32)
	for i := range results {
		wg.Go(func() {
			r, err := authorize(m, "same", "tok_visa", true)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
			op := commerce.PaymentOp{IdempotencyKey: "same:refund", PaymentID: r.PaymentID, Amount: 400}
			if err := m.Refund(ctx, op); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		if r != results[0] {
			t.Fatalf("answers differ: %+v, %+v", r, results[0])
		}
	}
	s := m.Stats()
	if s.Authorizations != 1 || s.Captures != 1 || s.Refunds != 1 {
		t.Fatalf("charged more than once: %+v", s)
	}
	if p, _ := m.Payment(results[0].PaymentID); p.Captured != 1000 || p.Refunded != 400 || m.Captured(p.ID) != 1000 {
		t.Fatalf("payment %+v", p)
	}
}

func TestMockFollowUps(t *testing.T) {
	m := providers.NewMockPayments()
	r, _ := authorize(m, "k", "tok_visa", false)
	op := func(key string, amount int64) commerce.PaymentOp {
		return commerce.PaymentOp{IdempotencyKey: key, PaymentID: r.PaymentID, Currency: "USD", Amount: amount}
	}
	if err := m.Refund(ctx, op("r0", 1)); commerce.KindOf(err) != commerce.KindConflict {
		t.Fatalf("refund before capture: %v", err)
	}
	if err := m.Capture(ctx, op("c0", 1001)); err == nil {
		t.Fatal("captured more than authorized")
	}
	if err := m.Capture(ctx, op("c1", 1000)); err != nil {
		t.Fatal(err)
	}
	if err := m.Capture(ctx, op("c1", 1000)); err != nil {
		t.Fatalf("a repeated capture is not answered as the first: %v", err)
	}
	if err := m.Void(ctx, op("v1", 1000)); err == nil {
		t.Fatal("voided a captured payment")
	}
	if err := m.Refund(ctx, op("r1", 600)); err != nil {
		t.Fatal(err)
	}
	if err := m.Refund(ctx, op("r2", 401)); err == nil {
		t.Fatal("refunded more than captured")
	}
	if err := m.Refund(ctx, op("r3", 400)); err != nil {
		t.Fatal(err)
	}
	if err := m.Capture(ctx, commerce.PaymentOp{IdempotencyKey: "x", PaymentID: "pay_nope", Amount: 1}); commerce.KindOf(err) != commerce.KindNotFound {
		t.Fatalf("unknown payment: %v", err)
	}
	if s := m.Stats(); s.Captures != 1 || s.Refunds != 2 || s.Voids != 0 {
		t.Fatalf("stats %+v", s)
	}

	r2, _ := authorize(m, "k2", "tok_visa", false)
	if err := m.Void(ctx, commerce.PaymentOp{IdempotencyKey: "v", PaymentID: r2.PaymentID}); err != nil {
		t.Fatal(err)
	}
	if err := m.Capture(ctx, commerce.PaymentOp{IdempotencyKey: "c", PaymentID: r2.PaymentID, Amount: 1}); err == nil {
		t.Fatal("captured a voided payment")
	}
}
