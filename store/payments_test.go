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

// inBatch runs f with m, demo's mock, over a new batch of s, then commits the batch.
func inBatch(t *testing.T, s *store.Store, m *providers.MockPayments, f func(m *providers.MockPayments)) {
	t.Helper()
	inTenantBatch(t, s, "demo", m, f)
}

func inTenantBatch(t *testing.T, s *store.Store, tenant string, m *providers.MockPayments, f func(m *providers.MockPayments)) {
	t.Helper()
	b := s.NewBatch()
	f(m.In(s.MockPayments(tenant).In(b)))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

// crash closes s as a killed process would leave it: what was not fsync'd is lost, as on
// a real disk. It returns the store opened again.
func crash(t *testing.T, fs *vfs.MemFS, s *store.Store) *store.Store {
	t.Helper()
	fs.SetIgnoreSyncs(true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fs.ResetToSyncedState()
	fs.SetIgnoreSyncs(false)
	return open(t, fs)
}

// strictFS is a file system that loses what was not fsync'd in a crash.
func strictFS(t *testing.T) *vfs.MemFS {
	fs := vfs.NewStrictMem()
	// The store's directory must outlive the crash as it would on disk.
	if err := fs.MkdirAll("db", 0o755); err != nil {
		t.Fatal(err)
	}
	if root, err := fs.OpenDir(""); err != nil || root.Sync() != nil {
		t.Fatalf("sync the root: %v", err)
	}
	return fs
}

// A worker killed before its batch committed loses the mock's steps with the rest of the
// batch; a step asked again with the same key after the restart is then done once, and a
// step whose batch committed (what the worker acknowledged) is kept and not done again.
func TestMockPaymentsSurviveACrash(t *testing.T) {
	fs := strictFS(t)
	s := open(t, fs)
	m := providers.NewMockPaymentsIn(s.MockPayments("demo"), nil)
	var pay commerce.PaymentResult
	inBatch(t, s, m, func(m *providers.MockPayments) { pay = mockAuthorize(t, m, "chk_1:demo:m7:authorize") })
	b := s.NewBatch()
	if err := refund(m.In(s.MockPayments("demo").In(b)), pay.PaymentID, "ord_1:demo:m8:refund_payment", 400); err != nil {
		t.Fatal(err)
	}
	s = crash(t, fs, s) // before b commits
	defer func() { s.Close() }()

	m = providers.NewMockPaymentsIn(s.MockPayments("demo"), nil)
	if p, ok := m.Payment(pay.PaymentID); !ok || p.Captured != 1000 || p.Refunded != 0 || len(p.Steps) != 0 {
		t.Fatalf("payment after the crash: %+v, %v; want the committed authorization, without the refund", p, ok)
	}
	inBatch(t, s, m, func(m *providers.MockPayments) {
		if again := mockAuthorize(t, m, "chk_1:demo:m7:authorize"); again != pay {
			t.Fatalf("authorization asked again: %+v, first %+v", again, pay)
		}
		for range 2 { // the redelivery, then the same step in a second envelope
			if err := refund(m, pay.PaymentID, "ord_1:demo:m8:refund_payment", 400); err != nil {
				t.Fatalf("refund asked again: %v", err)
			}
		}
	})
	if st := m.Stats(); st != (providers.MockStats{Refunds: 1}) {
		t.Fatalf("stats %+v: want the lost refund done once, and the committed authorization not again", st)
	}
	s = crash(t, fs, s) // after the commit
	m = providers.NewMockPaymentsIn(s.MockPayments("demo"), nil)
	p, ok := m.Payment(pay.PaymentID)
	if !ok || p.Captured != 1000 || p.Refunded != 400 || !slices.Equal(p.Steps, []string{"ord_1:demo:m8:refund_payment"}) {
		t.Fatalf("payment after the second crash: %+v, %v", p, ok)
	}
	inBatch(t, s, m, func(m *providers.MockPayments) {
		if err := refund(m, pay.PaymentID, "ord_1:demo:m8:refund_payment", 400); err != nil {
			t.Fatalf("refund asked again: %v", err)
		}
		// What is left can be refunded, and no more.
		if err := refund(m, pay.PaymentID, "ord_1:demo:m9:refund_payment", 600); err != nil {
			t.Fatal(err)
		}
		if err := refund(m, pay.PaymentID, "ord_1:demo:m10:refund_payment", 1); commerce.KindOf(err) != commerce.KindConflict {
			t.Fatalf("refund past the capture: %v", err)
		}
	})
	if st := m.Stats(); st != (providers.MockStats{Refunds: 1}) {
		t.Fatalf("stats %+v, want one refund", st)
	}
}

// The mock writes nothing durable of its own: a payment is staged in the batch, seen by the
// batch's later envelopes (authorize, then refund in the next envelope), and in the store
// only once the batch commits. A crash before the commit loses it; none of its writes was
// fsync'd on its own.
func TestMockPaymentsWithinABatch(t *testing.T) {
	fs := strictFS(t)
	s := open(t, fs)
	m := providers.NewMockPaymentsIn(s.MockPayments("demo"), nil)
	if _, err := m.Authorize(context.Background(), commerce.PaymentRequest{IdempotencyKey: "k", Amount: 1,
		Instrument: commerce.PaymentInstrument{Credential: commerce.Credential{Token: providers.TokenApproved}}}); commerce.KindOf(err) != commerce.KindTransient {
		t.Fatalf("authorize outside a batch: %v, want a transient failure", err)
	}
	if err := s.MockPayments("demo").PutPayment(providers.MockPayment{ID: "pay_x"}); err == nil {
		t.Fatal("the store's book wrote a payment outside a batch")
	}

	b := s.NewBatch()
	in := m.In(s.MockPayments("demo").In(b))
	b.Mark()
	pay := mockAuthorize(t, in, "chk_1:demo:m7:authorize")
	b.Mark()
	if err := refund(in, pay.PaymentID, "ord_1:demo:m8:refund_payment", 300); err != nil {
		t.Fatalf("refund in the same batch as the authorization: %v", err)
	}
	b.Mark()
	if p, ok, err := s.MockPayments("demo").Payment(pay.PaymentID); ok || err != nil {
		t.Fatalf("in the store before the commit: %+v, %v, %v", p, ok, err)
	}
	s = crash(t, fs, s)
	if _, ok, _ := s.MockPayments("demo").Payment(pay.PaymentID); ok {
		t.Fatal("a payment of a batch that never committed survived the crash")
	}

	m = providers.NewMockPaymentsIn(s.MockPayments("demo"), nil)
	inBatch(t, s, m, func(in *providers.MockPayments) {
		mockAuthorize(t, in, "chk_1:demo:m7:authorize")
		if err := refund(in, pay.PaymentID, "ord_1:demo:m8:refund_payment", 300); err != nil {
			t.Fatal(err)
		}
	})
	s = crash(t, fs, s)
	defer s.Close()
	p, ok := providers.NewMockPaymentsIn(s.MockPayments("demo"), nil).Payment(pay.PaymentID)
	if !ok || p.Captured != 1000 || p.Refunded != 300 {
		t.Fatalf("after the commit and a crash: %+v, %v", p, ok)
	}
}

// A panicking envelope's payments are dropped with the rest of its writes (Rollback): its
// redrive authorizes afresh. A transient failure keeps them (RollbackExceptStock), as a
// processor keeps an authorization made before its caller failed: the retry with the same
// key finds it, and nothing is authorized or counted twice.
func TestMockPaymentsRollback(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	m := providers.NewMockPaymentsIn(s.MockPayments("demo"), nil)
	b := s.NewBatch()
	in := m.In(s.MockPayments("demo").In(b))

	mark := b.Mark()
	dropped := mockAuthorize(t, in, "panicked")
	b.Rollback(mark)
	if _, ok, err := in.Book().Payment(dropped.PaymentID); ok || err != nil {
		t.Fatalf("a rolled back payment is still seen by the batch: %v, %v", ok, err)
	}

	mark = b.Mark()
	kept := mockAuthorize(t, in, "failed")
	b.RollbackExceptStock(mark)
	b.Mark()
	if again := mockAuthorize(t, in, "failed"); again != kept {
		t.Fatalf("the retry: %+v, first %+v", again, kept)
	}
	if st := m.Stats(); st.Authorizations != 2 || st.Captures != 2 {
		t.Fatalf("stats %+v: want the dropped authorization and the kept one, each once", st)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Payment(dropped.PaymentID); ok {
		t.Fatal("a rolled back payment was committed")
	}
	if p, ok := m.Payment(kept.PaymentID); !ok || p.Captured != 1000 {
		t.Fatalf("the payment kept through a transient failure: %+v, %v", p, ok)
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
	var old, otherOld, kept commerce.PaymentResult
	inBatch(t, s, m, func(m *providers.MockPayments) { old = mockAuthorize(t, m, "old") })
	inTenantBatch(t, s, "other", other, func(m *providers.MockPayments) { otherOld = mockAuthorize(t, m, "old") })
	if old.PaymentID != otherOld.PaymentID {
		t.Fatalf("same key, different ids: %s %s", old.PaymentID, otherOld.PaymentID)
	}

	now = now.Add(providers.MockRetention - time.Minute)
	inBatch(t, s, m, func(m *providers.MockPayments) {
		kept = mockAuthorize(t, m, "kept")
		if err := refund(m, old.PaymentID, "r-old", 1); err != nil {
			t.Fatalf("refund within the retention: %v", err)
		}
	})

	now = now.Add(2 * time.Minute)
	inBatch(t, s, m, func(m *providers.MockPayments) {
		mockAuthorize(t, m, "new") // forgets what is past the retention
		if err := refund(m, old.PaymentID, "r-old-2", 1); commerce.KindOf(err) != commerce.KindNotFound {
			t.Fatalf("refund past the retention: %v, want not_found", err)
		}
		if err := refund(m, kept.PaymentID, "r-kept", 1); err != nil {
			t.Fatalf("a payment within the retention: %v", err)
		}
	})
	if _, ok := other.Payment(otherOld.PaymentID); !ok {
		t.Fatal("another tenant's payment was forgotten with this tenant's")
	}
	// Only "kept" and "new" are left, in the index too.
	if n, err := s.MockPayments("demo").ForgetPayments(now.Add(time.Hour), 100); err != nil || n != 2 {
		t.Fatalf("forgot %d (%v) of what was left, want 2", n, err)
	}
}

// A payment reads back as it was written: within its batch, and from the store once the
// batch is committed.
func TestMockPaymentRoundTrip(t *testing.T) {
	s := open(t, vfs.NewMem())
	defer s.Close()
	batch := s.NewBatch()
	want := providers.MockPayment{ID: "pay_1", Authorized: 5000, Captured: 4000, Refunded: 1000, Voided: true,
		Declined: "card declined", At: time.Unix(1700000000, 5).UTC(), Steps: []string{"a", "b:c"}}
	if err := s.MockPayments("demo").In(batch).PutPayment(want); err != nil {
		t.Fatal(err)
	}
	check := func(b providers.MockBook) {
		t.Helper()
		got, ok, err := b.Payment("pay_1")
		if err != nil || !ok || got.ID != want.ID || got.Authorized != want.Authorized || got.Captured != want.Captured ||
			got.Refunded != want.Refunded || got.Voided != want.Voided || got.Declined != want.Declined ||
			!got.At.Equal(want.At) || !slices.Equal(got.Steps, want.Steps) {
			t.Fatalf("%T: got %+v, %v, %v\nwant %+v", b, got, ok, err, want)
		}
		if _, ok, err := b.Payment("pay_2"); ok || err != nil {
			t.Fatalf("%T: unknown payment: %v, %v", b, ok, err)
		}
	}
	check(s.MockPayments("demo").In(batch))
	if err := batch.Commit(); err != nil {
		t.Fatal(err)
	}
	check(s.MockPayments("demo"))
}
