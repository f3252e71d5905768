package commerce

import (
	"fmt"
	"slices"
)

// Orders and their payments. Each command names an order of this context; its reply is
// the order. A step the order's state does not allow is invalid_transition and changes
// nothing, and so is a payment handler's failure (the worker retries a transient one with
// the same idempotency key, so the processor acts once).

// order finds the order with id.
func (s *step) order(id string) (int, *Order, error) {
	for i, o := range s.prior.State.Orders {
		if o.ID == id {
			return i, o, nil
		}
	}
	e := E(KindNotFound, CodeNotFound, "no order %q in this context", id)
	e.Path = "order_id"
	return 0, nil, e
}

func (s *step) getOrder(cmd GetOrder) (Result, error) {
	_, o, err := s.order(cmd.OrderID)
	if err != nil {
		return Result{}, err
	}
	res := s.prior
	res.Checkout = nil
	res.Order = o
	return res, nil
}

// paymentOp is the request for one step on o's payment. The key is the same on every
// retry of this envelope, and differs between envelopes.
func (s *step) paymentOp(o *Order, step string, amount int64) PaymentOp {
	return PaymentOp{
		IdempotencyKey: o.ID + ":" + s.env.Seed + ":" + step,
		PaymentID:      o.Payment.ID,
		Currency:       o.Currency,
		Amount:         amount,
	}
}

func transition(o *Order, format string, args ...any) *Error {
	return E(KindConflict, CodeInvalidTransition, "order %s (%s, payment %s): %s",
		o.ID, o.Status, o.Payment.Status, fmt.Sprintf(format, args...))
}

// cancelOrder cancels a placed order, giving the money back: an authorized payment is
// voided, a captured one refunded for whatever is not refunded yet. The checkout's stock
// reservation is released.
func (s *step) cancelOrder(cmd CancelOrder) (Result, error) {
	i, prev, err := s.order(cmd.OrderID)
	if err != nil {
		return Result{}, err
	}
	if prev.Status != OrderPlaced {
		return Result{}, transition(prev, "the order is already canceled")
	}
	switch prev.Payment.Status {
	case PaymentAuthorized:
		return s.voidAt(i, prev)
	case PaymentCaptured, PaymentPartiallyRefunded, PaymentRefunded:
	default:
		return Result{}, transition(prev, "the payment cannot be given back")
	}
	o := prev.Clone()
	var events []Event
	if left := o.Payment.Captured - o.Payment.Refunded; left > 0 {
		refunded, err := s.refundAmount(o, left)
		if err != nil {
			return Result{}, err
		}
		events = append(events, refunded)
	}
	if err := s.release(prev.CheckoutID); err != nil {
		return Result{}, err
	}
	o.Status = OrderCanceled
	events = append(events, Event{Type: EvtOrderCanceled, Order: o})
	res := s.commitOrder(i, o, events...)
	res.Release = []string{o.CheckoutID}
	return res, nil
}

// shipOrder marks a placed order shipped, once: a second ship_order, or one of a canceled
// order, is invalid_transition.
func (s *step) shipOrder(cmd ShipOrder) (Result, error) {
	i, prev, err := s.order(cmd.OrderID)
	if err != nil {
		return Result{}, err
	}
	switch {
	case prev.Status != OrderPlaced:
		return Result{}, transition(prev, "a canceled order is not shipped")
	case !prev.ShippedAt.IsZero():
		return Result{}, transition(prev, "the order was shipped already")
	}
	o := prev.Clone()
	o.ShippedAt = s.env.Now
	return s.commitOrder(i, o, Event{Type: EvtOrderShipped, Order: o}), nil
}

// Bounds on what update_order records.
const (
	MaxOrderEvents      = 50
	MaxOrderAdjustments = 50
)

// updateOrder records the fulfillment events and adjustments the platform reports of an
// order (UCP's order update): each list sent replaces the one before; cartwright's own
// shipped event (ShippedEventID), sent back with the rest, is left out, as ShippedAt
// makes it. A line named must be one of the order's; an adjustment's status is pending,
// completed or failed.
func (s *step) updateOrder(cmd UpdateOrder) (Result, error) {
	i, prev, err := s.order(cmd.OrderID)
	if err != nil {
		return Result{}, err
	}
	lines := map[string]bool{}
	for _, l := range prev.LineItems {
		lines[l.ID] = true
	}
	checkLines := func(at string, ls []LineQuantity) error {
		for j, l := range ls {
			if !lines[l.ID] {
				return Invalid(fmt.Sprintf("%s.line_items[%d].id", at, j), "no line %q in this order", l.ID)
			}
			if l.Quantity < 0 {
				return Invalid(fmt.Sprintf("%s.line_items[%d].quantity", at, j), "a quantity is not negative")
			}
		}
		return nil
	}
	o := prev.Clone()
	if cmd.Events != nil {
		if len(cmd.Events) > MaxOrderEvents {
			return Result{}, Invalid("events", "at most %d events", MaxOrderEvents)
		}
		o.Events = []OrderEvent{}
		for j, e := range cmd.Events {
			at := fmt.Sprintf("events[%d]", j)
			switch {
			case e.ID == ShippedEventID:
				continue
			case e.ID == "" || e.Type == "":
				return Result{}, Invalid(at, "an event needs an id and a type")
			}
			if err := checkLines(at, e.LineItems); err != nil {
				return Result{}, err
			}
			o.Events = append(o.Events, e)
		}
	}
	if cmd.Adjustments != nil {
		if len(cmd.Adjustments) > MaxOrderAdjustments {
			return Result{}, Invalid("adjustments", "at most %d adjustments", MaxOrderAdjustments)
		}
		for j, a := range cmd.Adjustments {
			at := fmt.Sprintf("adjustments[%d]", j)
			switch {
			case a.ID == "" || a.Type == "":
				return Result{}, Invalid(at, "an adjustment needs an id and a type")
			case a.Status != AdjustmentPending && a.Status != AdjustmentCompleted && a.Status != AdjustmentFailed:
				return Result{}, Invalid(at+".status", "status %q is not one of pending, completed, failed", a.Status)
			case a.Amount < 0 || a.Amount > MaxAmount:
				return Result{}, Invalid(at+".amount", "amount %d is not between 0 and %d", a.Amount, MaxAmount)
			}
			if err := checkLines(at, a.LineItems); err != nil {
				return Result{}, err
			}
		}
		o.Adjustments = slices.Clone(cmd.Adjustments)
	}
	return s.commitOrder(i, o, Event{Type: EvtOrderUpdated, Order: o}), nil
}
