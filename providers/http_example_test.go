package providers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// A payment service on the contract of docs/providers.md, and the adapter that calls it.
func ExampleNewHTTPPayments() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"approved":true,"payment_id":"pay_1"}`))
	}))
	defer srv.Close()

	pay, err := providers.NewHTTPPayments(providers.HTTPOptions{BaseURL: srv.URL, Token: "secret", Tenant: "acme"})
	if err != nil {
		panic(err)
	}
	r, err := pay.Authorize(context.Background(), commerce.PaymentRequest{
		IdempotencyKey: "chk_1:acme:m7:authorize", CheckoutID: "chk_1", Currency: "USD", Amount: 5371, Capture: true,
		Instrument: commerce.PaymentInstrument{HandlerID: "acme_pay", Credential: commerce.Credential{Type: "token", Token: "tok_visa"}},
	})
	fmt.Printf("approved %v, payment %s, error %v\n", r.Approved, r.PaymentID, err)
	// Output:
	// POST /payments/authorize chk_1:acme:m7:authorize Bearer secret
	// approved true, payment pay_1, error <nil>
}
