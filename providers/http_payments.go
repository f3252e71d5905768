package providers

import (
	"context"
	"net/http"

	"github.com/cartwright-dev/cartwright/commerce"
)

// HTTPPayments is a payment handler behind the merchant's (or its processor's) service
// (docs/providers.md):
//
//	POST {base}/payments/authorize          → 200 approved, 402 declined
//	POST {base}/payments/{payment_id}/capture
//	POST {base}/payments/{payment_id}/void
//	POST {base}/payments/{payment_id}/refund
//
// Every call carries the Idempotency-Key commerce chose for the step, the same on every
// retry of it, here and by the worker after a transient failure: the service must answer
// a key it has seen with its first answer, so that nothing is charged twice. That is what
// makes it safe to retry payment calls at all. Safe for concurrent use.
type HTTPPayments struct{ c *httpCore }

var _ commerce.Payments = (*HTTPPayments)(nil)

// NewHTTPPayments returns a payment handler that asks the service at o.BaseURL.
func NewHTTPPayments(o HTTPOptions) (*HTTPPayments, error) {
	c, err := newHTTPCore("payments", o)
	if err != nil {
		return nil, err
	}
	return &HTTPPayments{c: c}, nil
}

// Authorize implements commerce.Payments. A decline (402, or 200 with "approved": false)
// is a result, not an error.
func (h *HTTPPayments) Authorize(ctx context.Context, p commerce.PaymentRequest) (commerce.PaymentResult, error) {
	body := wireAuthorize{
		CheckoutID: p.CheckoutID, Amount: p.Amount, Currency: p.Currency, Capture: p.Capture,
		Instrument: wireInstrument{
			ID: p.Instrument.ID, HandlerID: p.Instrument.HandlerID, Type: p.Instrument.Type,
			Credential: credentialWire(p.Instrument.Credential),
		},
	}
	if p.Mandate != "" {
		body.AP2 = &wireAP2{CheckoutMandate: p.Mandate}
	}
	call := httpCall{method: http.MethodPost, path: "/payments/authorize", route: "/payments/authorize",
		key: p.IdempotencyKey, secrets: credentialSecrets(p), body: body}
	if call.key == "" {
		return commerce.PaymentResult{}, h.c.internal(call, "no idempotency key: refusing a payment call that could not be retried safely")
	}
	r, err := h.c.do(ctx, call)
	if err != nil {
		return commerce.PaymentResult{}, err
	}
	if r.status == http.StatusPaymentRequired {
		var w wireAuthorization
		_ = h.c.decode(call, r, &w) // a decline without a reason is still a decline
		return commerce.PaymentResult{DeclineReason: h.declineReason(call, w.DeclineReason)}, nil
	}
	if !r.ok() {
		return commerce.PaymentResult{}, h.c.refused(call, r)
	}
	var w wireAuthorization
	if err := h.c.decode(call, r, &w); err != nil {
		return commerce.PaymentResult{}, err
	}
	if !w.Approved {
		return commerce.PaymentResult{DeclineReason: h.declineReason(call, w.DeclineReason)}, nil
	}
	if w.PaymentID == "" {
		return commerce.PaymentResult{}, h.c.internal(call, "approved without a payment_id")
	}
	return commerce.PaymentResult{Approved: true, PaymentID: w.PaymentID}, nil
}

// declineReason is what the buyer is shown.
func (h *HTTPPayments) declineReason(call httpCall, s string) string {
	if s = h.c.redact(call, oneLine(s, 200)); s == "" {
		return "payment declined"
	}
	return s
}

// Capture implements commerce.Payments.
func (h *HTTPPayments) Capture(ctx context.Context, op commerce.PaymentOp) error {
	return h.follow(ctx, "capture", op)
}

// Void implements commerce.Payments.
func (h *HTTPPayments) Void(ctx context.Context, op commerce.PaymentOp) error {
	return h.follow(ctx, "void", op)
}

// Refund implements commerce.Payments.
func (h *HTTPPayments) Refund(ctx context.Context, op commerce.PaymentOp) error {
	return h.follow(ctx, "refund", op)
}

// follow makes a follow-up call on a payment. Any 2xx is success (its body is not read);
// 409 is a step the payment's state does not allow. A 404 means the service does not know
// a payment it approved: cartwright and the service disagree, which only an operator can
// sort out, so it is internal like any other unexpected answer.
func (h *HTTPPayments) follow(ctx context.Context, verb string, op commerce.PaymentOp) error {
	call := httpCall{method: http.MethodPost, path: "/payments/" + seg(op.PaymentID) + "/" + verb,
		route: "/payments/{payment_id}/" + verb, key: op.IdempotencyKey,
		body: wirePaymentOp{Amount: op.Amount, Currency: op.Currency}}
	switch {
	case op.IdempotencyKey == "":
		return h.c.internal(call, "no idempotency key: refusing a payment call that could not be retried safely")
	case op.PaymentID == "":
		return h.c.internal(call, "no payment id")
	}
	r, err := h.c.do(ctx, call)
	switch {
	case err != nil:
		return err
	case !r.ok():
		return h.c.refused(call, r)
	}
	return nil
}

// credentialWire is the credential as the service receives it: the token with its
// binding, or the card.
func credentialWire(c commerce.Credential) wireCredential {
	w := wireCredential{Type: c.Type, Token: c.Token}
	if b := c.Binding; b != nil {
		w.Binding = &wireBinding{CheckoutID: b.CheckoutID}
		if b.AccessToken != "" {
			w.Binding.Identity = &wireIdentity{AccessToken: b.AccessToken}
		}
	}
	if k := c.Card; k != nil {
		w.CardNumberType, w.Number, w.ExpiryMonth, w.ExpiryYear = k.NumberType, k.Number, k.ExpiryMonth, k.ExpiryYear
		w.Name, w.CVC, w.Cryptogram, w.ECIValue = k.Name, k.CVC, k.Cryptogram, k.ECIValue
	}
	return w
}

// credentialSecrets are the values of p that must never appear in a log or an error.
func credentialSecrets(p commerce.PaymentRequest) []string {
	c := p.Instrument.Credential
	s := []string{c.Token, p.Mandate}
	if c.Binding != nil {
		s = append(s, c.Binding.AccessToken)
	}
	if k := c.Card; k != nil {
		s = append(s, k.Number, k.CVC, k.Cryptogram)
	}
	return s
}
