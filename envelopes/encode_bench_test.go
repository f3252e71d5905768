package envelopes

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// completion is what a completion answers with: the checkout in the reply and in
// checkout.completed, the order in order.created and the payment events.
func completion() (*commerce.Checkout, []commerce.Event) {
	c, o := sampleCheckout(), sampleOrder()
	c.Status = commerce.StatusCompleted
	c.Order = &commerce.OrderRef{ID: o.ID, PermalinkURL: o.PermalinkURL}
	return c, []commerce.Event{
		{Type: commerce.EvtCheckoutCompleted, Checkout: c},
		{Type: commerce.EvtOrderCreated, Order: o},
		{Type: commerce.EvtPaymentAuthorized, Order: o, Amount: 9743},
		{Type: commerce.EvtPaymentCaptured, Order: o, Amount: 9743},
	}
}

// BenchmarkEncodeCompletion encodes the reply and the four events of a completion.
func BenchmarkEncodeCompletion(b *testing.B) {
	c, evs := completion()
	id := json.RawMessage(`"req-7"`)
	m := EventMeta{ID: "demo:msg-01J9Z:evt:0", Tenant: testTenant, Context: testContext, MessageID: "msg-01J9Z",
		OccurredAt: time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		Wrap(id, TenantResultBody("msg-01J9Z", testContext, c, nil, nil), false)
		for _, ev := range evs {
			EncodeEvent(m, ev)
		}
	}
}

func BenchmarkEncodeError(b *testing.B) {
	e := commerce.Invalid("$.parts[0].data.quantity", "quantity must be between 1 and 99")
	b.ReportAllocs()
	for b.Loop() {
		ErrorBody(e, "msg-01J9Z")
	}
}

// BenchmarkEncodeCompletionOnce is BenchmarkEncodeCompletion as the handler encodes it:
// one Resources for the envelope, the checkout and the order encoded once.
func BenchmarkEncodeCompletionOnce(b *testing.B) {
	c, evs := completion()
	id := json.RawMessage(`"req-7"`)
	m := EventMeta{ID: "demo:msg-01J9Z:evt:0", Tenant: testTenant, Context: testContext, MessageID: "msg-01J9Z",
		OccurredAt: time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC)}
	b.ReportAllocs()
	for b.Loop() {
		var r Resources
		for _, ev := range evs {
			r.Event(m, ev)
		}
		Wrap(id, r.ResultBody("msg-01J9Z", testContext, c, nil, nil), false)
		r.Release()
	}
}
