package providers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

func payRequest(key string) commerce.PaymentRequest {
	return commerce.PaymentRequest{
		IdempotencyKey: key, CheckoutID: "chk_1", Currency: "USD", Amount: 5371, Capture: true,
		Instrument: commerce.PaymentInstrument{ID: "pi_1", HandlerID: "acme_pay", Type: "card",
			Credential: commerce.Credential{Type: "token", Token: "tok_visa"}},
	}
}

func TestHTTPPayments(t *testing.T) {
	m := newMerchant(t)
	m.json("POST /v1/payments/authorize", 200, `{"approved":true,"payment_id":"pay_123"}`)
	for _, verb := range []string{"capture", "void", "refund"} {
		m.on("POST /v1/payments/pay_123/"+verb, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusNoContent) })
	}
	pay := must(providers.NewHTTPPayments(m.options()))

	r, err := pay.Authorize(ctx, payRequest("chk_1:seed:authorize"))
	if err != nil || r != (commerce.PaymentResult{Approved: true, PaymentID: "pay_123"}) {
		t.Fatalf("Authorize = %+v, %v", r, err)
	}
	op := func(verb string) commerce.PaymentOp {
		return commerce.PaymentOp{IdempotencyKey: "ord_1:seed:" + verb, PaymentID: "pay_123", Currency: "USD", Amount: 1000}
	}
	for verb, f := range map[string]func(commerce.PaymentOp) error{
		"capture": func(o commerce.PaymentOp) error { return pay.Capture(ctx, o) },
		"void":    func(o commerce.PaymentOp) error { return pay.Void(ctx, o) },
		"refund":  func(o commerce.PaymentOp) error { return pay.Refund(ctx, o) },
	} {
		if err := f(op(verb)); err != nil {
			t.Errorf("%s: %v", verb, err)
		}
	}

	hits := m.Hits()
	if len(hits) != 4 {
		t.Fatalf("%d hits, want 4", len(hits))
	}
	a := hits[0]
	inst, _ := a.Body["instrument"].(map[string]any)
	cred, _ := inst["credential"].(map[string]any)
	if a.Header.Get("Idempotency-Key") != "chk_1:seed:authorize" || a.Body["amount"] != 5371.0 ||
		a.Body["currency"] != "USD" || a.Body["capture"] != true || a.Body["checkout_id"] != "chk_1" ||
		inst["handler_id"] != "acme_pay" || cred["token"] != "tok_visa" {
		t.Errorf("authorize request: %+v %+v", a.Header, a.Body)
	}
	for _, h := range hits[1:] {
		verb := h.Path[strings.LastIndex(h.Path, "/")+1:]
		if h.Header.Get("Idempotency-Key") != "ord_1:seed:"+verb || h.Body["amount"] != 1000.0 || h.Body["currency"] != "USD" {
			t.Errorf("%s request: %+v %+v", verb, h.Header, h.Body)
		}
	}
}

// The acceptance scenario of the issue: 500, then a timeout, then an answer. The call
// succeeds within its budget, and every attempt carries the same Idempotency-Key.
func TestHTTPPaymentsRecover(t *testing.T) {
	m := newMerchant(t)
	m.on("POST /v1/payments/authorize", func(w http.ResponseWriter, r *http.Request, attempt int) {
		switch attempt {
		case 1:
			reply(w, 500, `{"error":{"message":"database is restarting"}}`)
		case 2:
			stall(w, r)
		default:
			reply(w, 201, `{"approved":true,"payment_id":"pay_9"}`)
		}
	})
	o := m.options()
	o.InitialBackoff = 0 // the default, 100 ms
	pay := must(providers.NewHTTPPayments(o))

	start := time.Now()
	r, err := pay.Authorize(ctx, payRequest("chk_1:m7:authorize"))
	if err != nil || !r.Approved || r.PaymentID != "pay_9" {
		t.Fatalf("Authorize = %+v, %v", r, err)
	}
	// One timeout (200 ms) and two waits (100 ms and 200 ms, ±50 %).
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %s", d)
	}
	hits := m.Hits()
	if len(hits) != 3 {
		t.Fatalf("%d attempts, want 3", len(hits))
	}
	for i, h := range hits {
		if k := h.Header.Get("Idempotency-Key"); k != "chk_1:m7:authorize" {
			t.Errorf("attempt %d: Idempotency-Key %q", i+1, k)
		}
	}
}

func TestHTTPPaymentsTransient(t *testing.T) {
	for name, f := range map[string]func(w http.ResponseWriter, r *http.Request, _ int){
		"5xx":     func(w http.ResponseWriter, _ *http.Request, _ int) { reply(w, 503, `{}`) },
		"timeout": func(w http.ResponseWriter, r *http.Request, _ int) { stall(w, r) },
		"429":     func(w http.ResponseWriter, _ *http.Request, _ int) { reply(w, 429, `{}`) },
		"mixed": func(w http.ResponseWriter, r *http.Request, n int) {
			if n%2 == 0 {
				stall(w, r)
				return
			}
			reply(w, 502, `bad gateway`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := newMerchant(t)
			m.on("POST /v1/payments/authorize", f)
			m.on("POST /v1/payments/pay_1/capture", f)
			pay := must(providers.NewHTTPPayments(m.options()))

			_, err := pay.Authorize(ctx, payRequest("k1"))
			if k := kindOf(t, err); k != commerce.KindTransient {
				t.Fatalf("Authorize: %v is %s, want transient", err, k)
			}
			err = pay.Capture(ctx, commerce.PaymentOp{IdempotencyKey: "k2", PaymentID: "pay_1", Currency: "USD", Amount: 1})
			if k := kindOf(t, err); k != commerce.KindTransient {
				t.Fatalf("Capture: %v is %s, want transient", err, k)
			}
			keys := map[string]int{}
			for _, h := range m.Hits() {
				keys[h.Header.Get("Idempotency-Key")]++
			}
			if keys["k1"] != providers.DefaultHTTPMaxAttempts || keys["k2"] != providers.DefaultHTTPMaxAttempts || len(keys) != 2 {
				t.Errorf("attempts by key: %v, want %d each", keys, providers.DefaultHTTPMaxAttempts)
			}
		})
	}
}

func TestHTTPPaymentsDeclined(t *testing.T) {
	m := newMerchant(t)
	m.json("POST /v1/payments/authorize", 402, `{"approved":false,"decline_reason":"insufficient\nfunds"}`)
	pay := must(providers.NewHTTPPayments(m.options()))
	r, err := pay.Authorize(ctx, payRequest("k"))
	if err != nil || r != (commerce.PaymentResult{DeclineReason: "insufficient funds"}) {
		t.Fatalf("402: %+v, %v", r, err)
	}
	m.json("POST /v1/payments/authorize", 402, ``)
	if r, err := pay.Authorize(ctx, payRequest("k")); err != nil || r != (commerce.PaymentResult{DeclineReason: "payment declined"}) {
		t.Fatalf("402 without a body: %+v, %v", r, err)
	}
	m.json("POST /v1/payments/authorize", 200, `{"approved":false,"decline_reason":"do not honor"}`)
	if r, err := pay.Authorize(ctx, payRequest("k")); err != nil || r != (commerce.PaymentResult{DeclineReason: "do not honor"}) {
		t.Fatalf("200 not approved: %+v, %v", r, err)
	}
	if n := len(m.Hits()); n != 3 {
		t.Errorf("%d hits for 3 declines", n)
	}
}

// Client errors are answers, not failures: never retried, and classified for the agent.
func TestHTTPPayments4xx(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		kind   commerce.Kind
		code   string
		shows  string // what the agent's message says
	}{
		{400, `{"error":{"message":"amount must be positive"}}`, commerce.KindInternal, commerce.CodeInternalError, "amount must be positive"},
		{401, `{"error":{"message":"bad token ` + testToken + `"}}`, commerce.KindInternal, commerce.CodeInternalError, "HTTP 401"},
		{403, ``, commerce.KindInternal, commerce.CodeInternalError, "HTTP 403"},
		{404, `{"error":{"message":"no such payment"}}`, commerce.KindInternal, commerce.CodeInternalError, "no such payment"},
		{409, `{"error":{"code":"already_captured","message":"payment pay_1 is already captured"}}`, commerce.KindConflict, commerce.CodeInvalidTransition, "payments provider refused: payment pay_1 is already captured"},
		{422, `{"error":{"message":"currency EUR is not enabled"}}`, commerce.KindInvalid, commerce.CodeInvalidParams, "payments provider refused: currency EUR is not enabled"},
		{301, ``, commerce.KindInternal, commerce.CodeInternalError, "HTTP 301"},
		{501, ``, commerce.KindInternal, commerce.CodeInternalError, "HTTP 501"},
	} {
		m := newMerchant(t)
		m.on("POST /v1/payments/pay_1/capture", func(w http.ResponseWriter, _ *http.Request, _ int) {
			if tc.status == 301 {
				w.Header().Set("Location", "/elsewhere")
			}
			reply(w, tc.status, tc.body)
		})
		pay := must(providers.NewHTTPPayments(m.options()))
		err := pay.Capture(ctx, commerce.PaymentOp{IdempotencyKey: "k", PaymentID: "pay_1", Currency: "USD", Amount: 1})
		ce := commerce.AsError(err)
		if kindOf(t, err) != tc.kind || ce.Code != tc.code || !strings.Contains(ce.Message, tc.shows) {
			t.Errorf("HTTP %d: %s %v, want %s %s showing %q", tc.status, ce.Kind, err, tc.kind, tc.code, tc.shows)
		}
		if n := len(m.Hits()); n != 1 {
			t.Errorf("HTTP %d: %d hits, want 1 (not retried)", tc.status, n)
		}
	}
}

func TestHTTPPaymentsMalformed(t *testing.T) {
	m := newMerchant(t)
	m.json("POST /v1/payments/authorize", 200, `{"approved":true}`)
	pay := must(providers.NewHTTPPayments(m.options()))
	if _, err := pay.Authorize(ctx, payRequest("k")); kindOf(t, err) != commerce.KindInternal {
		t.Errorf("approved without a payment id: %v", err)
	}
	// Without an idempotency key a payment call could not be retried safely: refused
	// before anything is sent.
	if _, err := pay.Authorize(ctx, payRequest("")); kindOf(t, err) != commerce.KindInternal {
		t.Errorf("no key: %v", err)
	}
	if err := pay.Void(ctx, commerce.PaymentOp{PaymentID: "pay_1"}); kindOf(t, err) != commerce.KindInternal {
		t.Errorf("no key: %v", err)
	}
	if n := len(m.Hits()); n != 1 {
		t.Errorf("%d hits, want 1", n)
	}
}
