package commerce_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// The worked examples every implementation of the contract must reproduce.

func TestWorkedPurchaseWithDiscount(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 2})
	h.must(commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com"}})
	h.must(commerce.SetShippingAddress{Address: caAddress})
	h.must(commerce.SelectShippingOption{OptionID: "std"})
	c := h.must(commerce.ApplyDiscount{Code: "SAVE10"}).Checkout

	if c.Status != commerce.StatusReadyForComplete {
		t.Fatalf("status %s, want ready_for_complete; messages %+v", c.Status, c.Messages)
	}
	want := map[commerce.TotalType]int64{"subtotal": 5000, "discount": -500, "fulfillment": 500, "tax": 371, "total": 5371}
	if got := totals(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("totals %v, want %v", got, want)
	}
	wantOrder := []commerce.TotalType{"subtotal", "discount", "fulfillment", "tax", "total"}
	for i, x := range c.Totals {
		if x.Type != wantOrder[i] {
			t.Fatalf("totals in order %+v, want %v", c.Totals, wantOrder)
		}
	}

	res := h.must(pay("tok_visa"))
	c = res.Checkout
	if c.Status != commerce.StatusCompleted || c.Order == nil || !strings.HasPrefix(c.Order.ID, "ord_") {
		t.Fatalf("after paying: status %s, order %+v", c.Status, c.Order)
	}
	if c.Order.PermalinkURL != "http://127.0.0.1:8080/orders/demo/ctx-1/"+c.Order.ID {
		t.Fatalf("permalink %q", c.Order.PermalinkURL)
	}
}

func TestWorkedFreeShippingAndTax(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 3})
	h.must(commerce.AddItem{ItemID: "sku_mug", Quantity: 2})
	h.must(commerce.SetShippingAddress{Address: caAddress})
	c := h.must(commerce.SelectShippingOption{OptionID: "std"}).Checkout

	want := map[commerce.TotalType]int64{"subtotal": 10300, "fulfillment": 0, "tax": 850, "total": 11150}
	if got := totals(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("totals %v, want %v", got, want)
	}
	if c.Status != commerce.StatusIncomplete {
		t.Fatalf("status %s without a buyer email, want incomplete", c.Status)
	}
}

func TestWorkedEscalation(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_gift", Quantity: 21})
	c := h.must(commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com"}}).Checkout

	if c.Status != commerce.StatusRequiresEscalation {
		t.Fatalf("status %s, want requires_escalation", c.Status)
	}
	if total, _ := commerce.TotalOf(c.Totals, commerce.TotalTotal); total != 105000 {
		t.Fatalf("total %d, want 105000", total)
	}
	if c.ContinueURL != "http://127.0.0.1:8080/checkouts/"+c.ID {
		t.Fatalf("continue_url %q", c.ContinueURL)
	}
	if m := message(t, c, commerce.MsgEscalation); m.Type != commerce.MessageInfo {
		t.Fatalf("escalation message %+v", m)
	}
	h.fails(pay("tok_visa"), commerce.ErrInvalidTransition, "")

	// Back under the limit, the escalation and its URL go away.
	c = h.must(commerce.UpdateItem{LineItemID: c.LineItems[0].ID, Quantity: 20}).Checkout
	if c.Status != commerce.StatusReadyForComplete || c.ContinueURL != "" || len(c.Messages) != 0 {
		t.Fatalf("at the limit: status %s, continue_url %q, messages %v", c.Status, c.ContinueURL, messageCodes(c))
	}
}

func TestWorkedStockAndUnknownItem(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	c := h.must(commerce.AddItem{ItemID: "sku_poster", Quantity: 1}).Checkout
	m := message(t, c, commerce.MsgOutOfStock)
	if m.Type != commerce.MessageError || m.Severity != commerce.SeverityRequiresBuyerInput || len(c.LineItems) != 0 {
		t.Fatalf("out of stock: message %+v, lines %+v", m, c.LineItems)
	}
	if c.Status != commerce.StatusIncomplete {
		t.Fatalf("status %s, want incomplete", c.Status)
	}

	c = h.must(commerce.AddItem{ItemID: "sku_nope", Quantity: 1}).Checkout
	if got := messageCodes(c); !reflect.DeepEqual(got, []string{commerce.MsgItemUnavailable}) {
		t.Fatalf("messages %v, want only item_unavailable (messages are reset by each change)", got)
	}
	m = c.Messages[0]
	if m.Type != commerce.MessageError || m.Severity != commerce.SeverityRequiresBuyerInput || m.Path != "$.line_items" {
		t.Fatalf("item_unavailable message %+v", m)
	}
}

func TestWorkedDeclineThenPay(t *testing.T) {
	h := newHarness(t)
	h.ready()

	res := h.must(pay("tok_decline"))
	c := res.Checkout
	if !res.Changed || c.Status != commerce.StatusReadyForComplete || c.Order != nil {
		t.Fatalf("after a decline: changed %v, status %s, order %+v", res.Changed, c.Status, c.Order)
	}
	m := message(t, c, commerce.MsgPaymentFailed)
	if m.Type != commerce.MessageError || !strings.Contains(m.Content, "card declined") {
		t.Fatalf("payment_failed message %+v", m)
	}
	if len(res.Events) != 0 || len(h.st.Orders) != 0 || len(res.Reserve) != 0 {
		t.Fatalf("a decline produced events %v, orders %d, reservations %v", eventTypes(res), len(h.st.Orders), res.Reserve)
	}

	c = h.must(pay("tok_visa")).Checkout
	if c.Status != commerce.StatusCompleted || len(c.Messages) != 0 {
		t.Fatalf("after paying: status %s, messages %v", c.Status, messageCodes(c))
	}
	h.fails(commerce.AddItem{ItemID: "sku_tee", Quantity: 1}, commerce.ErrCheckoutImmutable, "")
	if s := h.pay.Stats(); s.Authorizations != 1 || s.Declines != 1 {
		t.Fatalf("payments %+v, want one authorization and one decline", s)
	}
}

func TestWorkedFlakyPayment(t *testing.T) {
	h := newHarness(t)
	h.ready()
	h.n++ // every attempt is a redelivery of the same envelope: the same seed
	env := h.env
	env.Seed = "msg-complete"
	cmd := pay("tok_flaky")

	for i := range 2 {
		res, err := commerce.Apply(t.Context(), env, h.st, cmd)
		if commerce.KindOf(err) != commerce.KindTransient {
			t.Fatalf("attempt %d: error %v, want a transient one", i+1, err)
		}
		if res.Changed || !reflect.DeepEqual(res.State, h.st) {
			t.Fatalf("attempt %d: a transient failure changed the state", i+1)
		}
	}
	res, err := commerce.Apply(t.Context(), env, h.st, cmd)
	if err != nil || res.Checkout.Status != commerce.StatusCompleted {
		t.Fatalf("attempt 3: %v, %+v", err, res.Checkout)
	}
	// A redelivery after success (the worker crashed before its commit) charges nothing more.
	again, err := commerce.Apply(t.Context(), env, h.st, cmd)
	if err != nil || !reflect.DeepEqual(again, res) {
		t.Fatalf("redelivery: %v; results differ: %v", err, !reflect.DeepEqual(again, res))
	}
	if s := h.pay.Stats(); s.Authorizations != 1 || s.Captures != 1 || s.TransientFailures != 2 {
		t.Fatalf("payments %+v, want one authorization and capture after two transient failures", s)
	}
	o := res.State.Orders[0]
	// Two tees, standard shipping, 8.25 % of 5000 (412.5, rounded up).
	if got := h.pay.Captured(o.Payment.ID); got != 5913 || o.Payment.Captured != 5913 || o.Payment.Authorized != 5913 {
		t.Fatalf("captured %d at the processor, order says %+v", got, o.Payment)
	}
}

func TestWorkedExpiry(t *testing.T) {
	h := newHarness(t)
	c := h.must(commerce.CreateCheckout{}).Checkout
	if !c.ExpiresAt.Equal(t0.Add(providers.DemoPolicy().CheckoutTTL)) {
		t.Fatalf("expires_at %s", c.ExpiresAt)
	}
	h.env.Now = c.ExpiresAt

	res := h.fails(commerce.AddItem{ItemID: "sku_tee", Quantity: 1}, commerce.ErrCheckoutExpired, "")
	if !res.Changed || res.State.Checkout.Status != commerce.StatusCanceled {
		t.Fatalf("expired: changed %v, state %+v", res.Changed, res.State.Checkout)
	}
	if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtCheckoutExpired}) {
		t.Fatalf("events %v", got)
	}
	if res.Events[0].Checkout.Status != commerce.StatusCanceled || !res.State.Checkout.Expired() {
		t.Fatalf("expired event carries %+v", res.Events[0].Checkout)
	}

	// Once committed, the expiry is not reported again; a change is still checkout_expired.
	res = h.fails(commerce.AddItem{ItemID: "sku_tee", Quantity: 1}, commerce.ErrCheckoutExpired, "")
	if res.Changed || len(res.Events) != 0 {
		t.Fatalf("second change: changed %v, events %v", res.Changed, eventTypes(res))
	}
	res = h.must(commerce.GetCheckout{})
	if res.Changed || res.Checkout.Status != commerce.StatusCanceled {
		t.Fatalf("get after expiry: %+v", res)
	}
	// A new checkout may be opened in its place.
	h.must(commerce.CreateCheckout{})
}

func TestExpiryOnRead(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.env.Now = t0.Add(7 * time.Hour)
	for _, cmd := range []commerce.Command{commerce.GetCheckout{}, commerce.ListShippingOptions{}} {
		env := h.env
		res, err := commerce.Apply(t.Context(), env, h.st, cmd)
		if err != nil || !res.Changed || res.Checkout.Status != commerce.StatusCanceled || len(res.Events) != 1 {
			t.Fatalf("%s after expiry: %v, %+v", cmd.Action(), err, res)
		}
	}
	// Creating replaces the expired checkout, and the expiry is reported with it.
	res := h.must(commerce.CreateCheckout{})
	if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtCheckoutExpired}) || res.Checkout.Status != commerce.StatusIncomplete {
		t.Fatalf("create after expiry: events %v, checkout %+v", got, res.Checkout)
	}
	if res.Events[0].Checkout.ID == res.Checkout.ID {
		t.Fatal("the new checkout has the expired one's id")
	}
}
