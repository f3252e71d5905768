package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/store"
)

func mockAuthorize(t *testing.T, m *providers.MockPayments, key string) commerce.PaymentResult {
	t.Helper()
	r, err := m.Authorize(context.Background(), commerce.PaymentRequest{
		IdempotencyKey: key, CheckoutID: "chk_1", Currency: "USD", Amount: 1000, Capture: true,
		Instrument: commerce.PaymentInstrument{HandlerID: providers.MockHandlerID,
			Credential: commerce.Credential{Type: "token", Token: providers.TokenApproved}},
	})
	if err != nil || !r.Approved {
		t.Fatalf("authorize %s: %+v, %v", key, r, err)
	}
	return r
}

func refund(m *providers.MockPayments, id, key string, amount int64) error {
	return m.Refund(context.Background(), commerce.PaymentOp{IdempotencyKey: key, PaymentID: id, Currency: "USD", Amount: amount})
}

// A worker killed after the mock answered and before its batch committed asks again with
// the same keys after the restart: the answers are the first ones, and nothing is charged
// or refunded twice. Writes the store did not fsync are lost in the crash, as on a real
// disk.
func TestMockPaymentsSurviveACrash(t *testing.T) {
	fs := vfs.NewStrictMem()
	// The store's directory must outlive the crash as it would on disk.
	if err := fs.MkdirAll("db", 0o755); err != nil {
		t.Fatal(err)
	}
	if root, err := fs.OpenDir(""); err != nil || root.Sync() != nil {
		t.Fatalf("sync the root: %v", err)
	}
	s := open(t, fs)
	m := providers.NewMockPaymentsIn(s.MockPayments("demo"), nil)
	pay := mockAuthorize(t, m, "chk_1:demo:m7:authorize")
	if err := refund(m, pay.PaymentID, "ord_1:demo:m8:refund_payment", 400); err != nil {
		t.Fatal(err)
	}

	fs.SetIgnoreSyncs(true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fs.ResetToSyncedState()
	fs.SetIgnoreSyncs(false)
	s = open(t, fs)
	defer s.Close()

	m = providers.NewMockPaymentsIn(s.MockPayments("demo"), nil)
	if again := mockAuthorize(t, m, "chk_1:demo:m7:authorize"); again != pay {
		t.Fatalf("authorization asked again: %+v, first %+v", again, pay)
	}
	if err := refund(m, pay.PaymentID, "ord_1:demo:m8:refund_payment", 400); err != nil {
		t.Fatalf("refund asked again: %v", err)
	}
	if st := m.Stats(); st != (providers.MockStats{}) {
		t.Fatalf("steps asked again were done again: %+v", st)
	}
	p, ok := m.Payment(pay.PaymentID)
	if !ok || p.Captured != 1000 || p.Refunded != 400 || !slices.Equal(p.Steps, []string{"ord_1:demo:m8:refund_payment"}) {
		t.Fatalf("payment after the crash: %+v, %v", p, ok)
	}
	// What is left can be refunded, and no more.
	if err := refund(m, pay.PaymentID, "ord_1:demo:m9:refund_payment", 600); err != nil {
		t.Fatal(err)
	}
	if err := refund(m, pay.PaymentID, "ord_1:demo:m10:refund_payment", 1); commerce.KindOf(err) != commerce.KindConflict {
		t.Fatalf("refund past the capture: %v", err)
	}
	if st := m.Stats(); st.Refunds != 1 {
		t.Fatalf("stats %+v, want one refund", st)
	}
}

// The mock forgets a payment MockRetention after authorizing it, so that a long-running
// demo does not keep every payment for ever; the others, and other tenants', stay.
func TestMockPaymentsForgottenAfterRetention(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	m := providers.NewMockPaymentsIn(s.MockPayments("demo"), clock)
	other := providers.NewMockPaymentsIn(s.MockPayments("other"), clock)
	old := mockAuthorize(t, m, "old")
	otherOld := mockAuthorize(t, other, "old")
	if old.PaymentID != otherOld.PaymentID {
		t.Fatalf("same key, different ids: %s %s", old.PaymentID, otherOld.PaymentID)
	}

	now = now.Add(providers.MockRetention - time.Minute)
	kept := mockAuthorize(t, m, "kept")
	if err := refund(m, old.PaymentID, "r-old", 1); err != nil {
		t.Fatalf("refund within the retention: %v", err)
	}

	now = now.Add(2 * time.Minute)
	mockAuthorize(t, m, "new") // forgets what is past the retention
	if err := refund(m, old.PaymentID, "r-old-2", 1); commerce.KindOf(err) != commerce.KindNotFound {
		t.Fatalf("refund past the retention: %v, want not_found", err)
	}
	if err := refund(m, kept.PaymentID, "r-kept", 1); err != nil {
		t.Fatalf("a payment within the retention: %v", err)
	}
	if _, ok := other.Payment(otherOld.PaymentID); !ok {
		t.Fatal("another tenant's payment was forgotten with this tenant's")
	}
	// Only "kept" and "new" are left, in the index too.
	if n, err := s.MockPayments("demo").ForgetPayments(now.Add(time.Hour), 100); err != nil || n != 2 {
		t.Fatalf("forgot %d (%v) of what was left, want 2", n, err)
	}
}

// A payment reads back as it was written.
func TestMockPaymentRoundTrip(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	b := s.MockPayments("demo")
	want := providers.MockPayment{ID: "pay_1", Authorized: 5000, Captured: 4000, Refunded: 1000, Voided: true,
		Declined: "card declined", At: time.Unix(1700000000, 5).UTC(), Steps: []string{"a", "b:c"}}
	if err := b.PutPayment(want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := b.Payment("pay_1")
	if err != nil || !ok || got.ID != want.ID || got.Authorized != want.Authorized || got.Captured != want.Captured ||
		got.Refunded != want.Refunded || got.Voided != want.Voided || got.Declined != want.Declined ||
		!got.At.Equal(want.At) || !slices.Equal(got.Steps, want.Steps) {
		t.Fatalf("got %+v, %v, %v\nwant %+v", got, ok, err, want)
	}
	if _, ok, err := b.Payment("pay_2"); ok || err != nil {
		t.Fatalf("unknown payment: %v, %v", ok, err)
	}
	var _ providers.MockBook = store.MockPayments{}
}
