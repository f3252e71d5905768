package commerce_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

// placed returns a harness holding one order of 5913 (two tees to California), its
// payment authorized only, or also captured.
func placed(t *testing.T, capture bool) (*harness, string) {
	t.Helper()
	h := newHarness(t)
	h.env.Policy.AutoCapture = capture
	h.ready()
	res := h.must(pay("tok_visa"))
	return h, res.Checkout.Order.ID
}

func TestGetOrder(t *testing.T) {
	h, id := placed(t, true)
	res := h.must(commerce.GetOrder{OrderID: id})
	if res.Changed || res.Order != h.st.Orders[0] || res.Checkout != nil {
		t.Fatalf("get: %+v", res)
	}
	h.fails(commerce.GetOrder{OrderID: "ord_nope"}, commerce.ErrNotFound, "order_id")
}

func TestCaptureThenRefund(t *testing.T) {
	h, id := placed(t, false)
	h.fails(commerce.RefundPayment{OrderID: id}, commerce.ErrInvalidTransition, "")
	h.fails(commerce.CapturePayment{OrderID: id, Amount: ptr[int64](0)}, errInvalid, "amount")
	h.fails(commerce.CapturePayment{OrderID: id, Amount: ptr[int64](5914)}, errInvalid, "amount")

	res := h.must(commerce.CapturePayment{OrderID: id})
	o := res.Order
	if o.Payment.Status != commerce.PaymentCaptured || o.Payment.Captured != 5913 || o.Status != commerce.OrderPlaced {
		t.Fatalf("captured %+v", o.Payment)
	}
	if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtPaymentCaptured}) || res.Events[0].Amount != 5913 {
		t.Fatalf("events %+v", res.Events)
	}
	h.fails(commerce.CapturePayment{OrderID: id}, commerce.ErrInvalidTransition, "")
	h.fails(commerce.VoidPayment{OrderID: id}, commerce.ErrInvalidTransition, "")

	o = h.must(commerce.RefundPayment{OrderID: id, Amount: ptr[int64](1000)}).Order
	if o.Payment.Status != commerce.PaymentPartiallyRefunded || o.Payment.Refunded != 1000 {
		t.Fatalf("partial refund %+v", o.Payment)
	}
	// A refund never exceeds what was captured.
	h.fails(commerce.RefundPayment{OrderID: id, Amount: ptr[int64](4914)}, commerce.ErrInvalidTransition, "")
	h.fails(commerce.RefundPayment{OrderID: id, Amount: ptr[int64](-1)}, errInvalid, "amount")
	res = h.must(commerce.RefundPayment{OrderID: id})
	if o := res.Order; o.Payment.Status != commerce.PaymentRefunded || o.Payment.Refunded != 5913 || res.Events[0].Amount != 4913 {
		t.Fatalf("refund of the rest %+v, events %+v", o.Payment, res.Events)
	}
	h.fails(commerce.RefundPayment{OrderID: id}, commerce.ErrInvalidTransition, "")

	s := h.pay.Stats()
	if s.Captures != 1 || s.Refunds != 2 || s.Voids != 0 {
		t.Fatalf("processor saw %+v", s)
	}
	p, _ := h.pay.Payment(res.Order.Payment.ID)
	if p.Captured != 5913 || p.Refunded != 5913 {
		t.Fatalf("processor payment %+v", p)
	}
}

func TestPartialCapture(t *testing.T) {
	h, id := placed(t, false)
	o := h.must(commerce.CapturePayment{OrderID: id, Amount: ptr[int64](3000)}).Order
	if o.Payment.Captured != 3000 || o.Payment.Status != commerce.PaymentCaptured {
		t.Fatalf("payment %+v", o.Payment)
	}
	h.fails(commerce.RefundPayment{OrderID: id, Amount: ptr[int64](3001)}, commerce.ErrInvalidTransition, "")
	// Canceling refunds what was captured, not what was authorized.
	res := h.must(commerce.CancelOrder{OrderID: id})
	if res.Events[0].Amount != 3000 || res.Order.Payment.Refunded != 3000 {
		t.Fatalf("cancel after a partial capture: %+v", res.Order.Payment)
	}
}

func TestVoid(t *testing.T) {
	h, id := placed(t, false)
	res := h.must(commerce.VoidPayment{OrderID: id})
	o := res.Order
	if o.Payment.Status != commerce.PaymentVoided || o.Status != commerce.OrderCanceled {
		t.Fatalf("voided %+v", o)
	}
	if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtPaymentVoided, commerce.EvtOrderCanceled}) {
		t.Fatalf("events %v", got)
	}
	if !reflect.DeepEqual(res.Release, []string{o.CheckoutID}) {
		t.Fatalf("release %v", res.Release)
	}
	for _, cmd := range []commerce.Command{
		commerce.VoidPayment{OrderID: id}, commerce.CapturePayment{OrderID: id},
		commerce.RefundPayment{OrderID: id}, commerce.CancelOrder{OrderID: id},
	} {
		if res := h.fails(cmd, commerce.ErrInvalidTransition, ""); res.Changed {
			t.Fatalf("%s after void changed something", cmd.Action())
		}
	}
	if s := h.pay.Stats(); s.Voids != 1 || s.Captures != 0 || s.Refunds != 0 {
		t.Fatalf("processor saw %+v", s)
	}
}

func TestCancelOrder(t *testing.T) {
	t.Run("authorized", func(t *testing.T) {
		h, id := placed(t, false)
		res := h.must(commerce.CancelOrder{OrderID: id})
		if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtPaymentVoided, commerce.EvtOrderCanceled}) {
			t.Fatalf("events %v", got)
		}
		if res.Order.Payment.Status != commerce.PaymentVoided || len(res.Release) != 1 {
			t.Fatalf("order %+v, release %v", res.Order, res.Release)
		}
	})
	t.Run("captured", func(t *testing.T) {
		h, id := placed(t, true)
		h.must(commerce.RefundPayment{OrderID: id, Amount: ptr[int64](13)})
		res := h.must(commerce.CancelOrder{OrderID: id})
		if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtPaymentRefunded, commerce.EvtOrderCanceled}) {
			t.Fatalf("events %v", got)
		}
		o := res.Order
		if o.Status != commerce.OrderCanceled || o.Payment.Status != commerce.PaymentRefunded || o.Payment.Refunded != 5913 || res.Events[0].Amount != 5900 {
			t.Fatalf("order %+v, events %+v", o, res.Events)
		}
		if !reflect.DeepEqual(res.Release, []string{o.CheckoutID}) {
			t.Fatalf("release %v", res.Release)
		}
		h.fails(commerce.CancelOrder{OrderID: id}, commerce.ErrInvalidTransition, "")
	})
	t.Run("refunded", func(t *testing.T) {
		h, id := placed(t, true)
		h.must(commerce.RefundPayment{OrderID: id})
		res := h.must(commerce.CancelOrder{OrderID: id})
		if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtOrderCanceled}) {
			t.Fatalf("events %v", got)
		}
		if s := h.pay.Stats(); s.Refunds != 1 {
			t.Fatalf("processor saw %+v", s)
		}
	})
}

// failingPayments fails every follow-up operation transiently.
type failingPayments struct{ commerce.Payments }

func (failingPayments) Capture(context.Context, commerce.PaymentOp) error { return errDown }
func (failingPayments) Void(context.Context, commerce.PaymentOp) error    { return errDown }
func (failingPayments) Refund(context.Context, commerce.PaymentOp) error  { return errDown }

var errDown = commerce.Transient("payment handler", errors.New("down"))

func TestPaymentFailureChangesNothing(t *testing.T) {
	h, id := placed(t, false)
	h.env.Payments = failingPayments{h.env.Payments}
	for _, cmd := range []commerce.Command{
		commerce.CapturePayment{OrderID: id}, commerce.VoidPayment{OrderID: id}, commerce.CancelOrder{OrderID: id},
	} {
		res, err := h.do(cmd)
		if commerce.KindOf(err) != commerce.KindTransient || res.Changed {
			t.Fatalf("%s: %v, changed %v", cmd.Action(), err, res.Changed)
		}
	}
}

func TestOrdersSurviveNewCheckouts(t *testing.T) {
	h, first := placed(t, true)
	h.ready()
	res := h.must(pay("tok_visa"))
	second := res.Checkout.Order.ID
	if first == second || len(h.st.Orders) != 2 {
		t.Fatalf("orders %s, %s", first, second)
	}
	h.must(commerce.RefundPayment{OrderID: first})
	if h.st.Orders[0].Payment.Status != commerce.PaymentRefunded || h.st.Orders[1].Payment.Status != commerce.PaymentCaptured {
		t.Fatal("a refund touched the wrong order")
	}
}

// TestShipOrder: a placed order is shipped once (order.shipped, ShippedAt the envelope's
// time); a second ship_order, or one of a canceled order, is invalid_transition.
func TestShipOrder(t *testing.T) {
	h, id := placed(t, true)
	h.fails(commerce.ShipOrder{OrderID: "ord_nope"}, commerce.ErrNotFound, "order_id")
	res := h.must(commerce.ShipOrder{OrderID: id})
	if !res.Changed || res.Order.ShippedAt.IsZero() || !res.Order.ShippedAt.Equal(h.env.Now) {
		t.Fatalf("shipped %+v", res.Order)
	}
	if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtOrderShipped}) {
		t.Fatalf("events %v", got)
	}
	h.fails(commerce.ShipOrder{OrderID: id}, commerce.ErrInvalidTransition, "")

	h2, id2 := placed(t, true)
	h2.must(commerce.CancelOrder{OrderID: id2})
	h2.fails(commerce.ShipOrder{OrderID: id2}, commerce.ErrInvalidTransition, "")
}
