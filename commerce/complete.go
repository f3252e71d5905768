package commerce

import (
	"fmt"
	"slices"
	"strings"
)

// complete pays for a ready checkout and places its order.
//
// The outcomes, in the order they are checked:
//   - the checkout is not ready_for_complete: invalid_transition, saying why;
//   - no instrument, one without a token or card, one naming a handler the tenant does not
//     list, or a token bound to another checkout: invalid_params;
//   - the tenant checks AP2 mandates and the mandate is missing, invalid, expired, bound to
//     another merchant, checkout or total, or was used before: its mandate_* error;
//   - a line's stock has run short since it was added, or cannot be reserved: an
//     out_of_stock message, nothing charged;
//   - the payment handler fails: its (already classified) error, nothing changed; a
//     transient one is retried by the worker with the same idempotency key;
//   - declined: a payment_failed message, nothing charged;
//   - approved: the checkout is completed, the order placed, its stock to be reserved.
//
// After a short stock or a decline the status is left as it was, so the checkout stays
// payable: the buyer may retry with another instrument.
func (s *step) complete(cmd CompleteCheckout) (Result, error) {
	before, err := s.editable()
	if err != nil {
		return Result{}, err
	}
	if before.Status != StatusReadyForComplete {
		why := "it is " + string(before.Status)
		if st, reason := s.readiness(before); st != StatusReadyForComplete {
			why = reason
		}
		return Result{}, E(KindConflict, CodeInvalidTransition, "checkout %s cannot be completed: %s", before.ID, why)
	}
	in, err := s.instrument(before, cmd)
	if err != nil {
		return Result{}, err
	}
	// Repricing keeps the total within bounds; a checkout stored before they were checked
	// might not be, and nothing negative or absurd is ever held for or charged.
	total, _ := TotalOf(before.Totals, TotalTotal)
	if !inBounds(total, MaxAmount) {
		return Result{}, errAmount("the total of checkout "+before.ID, total, MaxAmount)
	}
	mandate, err := s.mandate(before, cmd)
	if err != nil {
		return Result{}, err
	}
	pay, err := s.payments()
	if err != nil {
		return Result{}, err
	}

	c := before.Clone()
	c.Messages = nil
	if mandate != "" {
		// Spent once it gets this far, whatever the payment makes of it.
		c.UsedMandates = append(c.UsedMandates, mandate)
	}
	var reserve []Reservation
	for i, l := range c.LineItems {
		n, unlimited, err := s.available(l.Item.ID)
		if err != nil {
			return Result{}, err
		}
		// Every counted line is reserved, digital or not: a digital item with a stock
		// (tickets, say) can be oversold as easily as a physical one.
		if unlimited {
			continue
		}
		if n < int64(l.Quantity) {
			addMessage(c, msgOutOfStock(fmt.Sprintf("$.line_items[%d].quantity", i), l.Item, l.Quantity, n))
		}
		reserve = append(reserve, Reservation{CheckoutID: c.ID, ItemID: l.Item.ID, Quantity: int64(l.Quantity)})
	}
	// Hold the stock before charging, so that two buyers of the last unit are never both
	// charged. A failure of the payment handler keeps the hold: the retry (same checkout)
	// finds it, and a checkout that never completes releases it when canceled or expired.
	ok, short, err := s.reserve(c.ID, reserve)
	if err != nil {
		return Result{}, err
	}
	if len(c.Messages) > 0 {
		// The count left for others says short, but the inventory, which decides, held the
		// stock: for this checkout, by an earlier attempt that went no further (a
		// transient payment failure, or a worker killed before it committed while the
		// stock is kept outside its store). The units are this checkout's: go on.
		if ok {
			c.Messages = nil
		} else {
			return s.commitCheckout(before, c), nil
		}
	}
	if !ok {
		for i, l := range c.LineItems {
			if l.Item.ID == short {
				n, _, _ := s.available(short)
				addMessage(c, msgOutOfStock(fmt.Sprintf("$.line_items[%d].quantity", i), l.Item, l.Quantity, n))
			}
		}
		return s.commitCheckout(before, c), nil
	}

	p := s.env.Policy
	r, err := pay.Authorize(s.ctx, PaymentRequest{
		IdempotencyKey: c.ID + ":" + s.env.Seed + ":authorize",
		CheckoutID:     c.ID,
		Instrument:     in,
		Currency:       c.Currency,
		Amount:         total,
		Capture:        p.AutoCapture,
		Mandate:        mandateOf(cmd),
	})
	if err != nil {
		return Result{}, err
	}
	if !r.Approved {
		if err := s.release(c.ID); err != nil {
			return Result{}, err
		}
		addMessage(c, msgPaymentFailed(r.DeclineReason))
		return s.commitCheckout(before, c), nil
	}

	o := &Order{
		ID:          NewID("ord", s.env.Seed, 0),
		CheckoutID:  c.ID,
		Status:      OrderPlaced,
		Currency:    c.Currency,
		LineItems:   cloneLines(c.LineItems),
		Buyer:       clonePtr(c.Buyer),
		Fulfillment: c.Fulfillment.clone(),
		Totals:      append([]Total(nil), c.Totals...),
		Payment:     Payment{ID: r.PaymentID, HandlerID: in.HandlerID, Status: PaymentAuthorized, Authorized: total},
		CreatedAt:   s.env.Now,
		UpdatedAt:   s.env.Now,
	}
	// The order lives in its context: the link names tenant and context, so that
	// whoever serves it (httpapi, GET /orders/...) can ask for the order there.
	o.PermalinkURL = p.BaseURL + "/orders/" + s.env.Tenant + "/" + s.env.Context + "/" + o.ID
	if p.AutoCapture {
		o.Payment.Status = PaymentCaptured
		o.Payment.Captured = total
	}
	c.Status = StatusCompleted
	c.ContinueURL = ""
	c.Order = &OrderRef{ID: o.ID, PermalinkURL: o.PermalinkURL}

	events := []Event{
		{Type: EvtCheckoutCompleted, Checkout: c},
		{Type: EvtOrderCreated, Order: o},
		{Type: EvtPaymentAuthorized, Order: o, Amount: total},
	}
	if p.AutoCapture {
		events = append(events, Event{Type: EvtPaymentCaptured, Order: o, Amount: total})
	}
	res := s.commitCheckout(before, c, events...)
	res.State.Orders = append(slices.Clip(res.State.Orders), o)
	res.Reserve = reserve
	return res, nil
}

// instrument returns the instrument to charge (see CompleteCheckout.Selected): it must
// carry a token or a card, name a handler the tenant lists (when it lists any), and a
// token bound to a checkout must be bound to c.
func (s *step) instrument(c *Checkout, cmd CompleteCheckout) (PaymentInstrument, error) {
	in, ok := cmd.Selected()
	if !ok {
		return PaymentInstrument{}, Invalid("payment.instruments", "a payment instrument is required")
	}
	i := 0
	for j, x := range cmd.Instruments {
		if x.Selected {
			i = j
			break
		}
	}
	at := fmt.Sprintf("payment.instruments[%d]", i)
	if hs := s.env.Policy.PaymentHandlers; len(hs) > 0 && !slices.Contains(hs, in.HandlerID) {
		return PaymentInstrument{}, Invalid(at+".handler_id", "unknown payment handler %q; this merchant takes: %s", in.HandlerID, strings.Join(hs, ", "))
	}
	cr := in.Credential
	if cr.Token == "" && cr.Card == nil {
		return PaymentInstrument{}, Invalid(at+".credential.token", "the instrument has no credential token")
	}
	if b := cr.Binding; b != nil && b.CheckoutID != c.ID {
		return PaymentInstrument{}, Invalid(at+".credential.binding.checkout_id", "the token is bound to checkout %q, not %s", b.CheckoutID, c.ID)
	}
	return in, nil
}

// mandateOf is the AP2 checkout mandate the completion carries, "" without one.
func mandateOf(cmd CompleteCheckout) string {
	if cmd.AP2 == nil {
		return ""
	}
	return cmd.AP2.CheckoutMandate
}

// mandate verifies the completion's AP2 checkout mandate against c when the tenant checks
// mandates, and returns the mandate's id ("" when none was checked).
func (s *step) mandate(c *Checkout, cmd CompleteCheckout) (string, error) {
	const path = "ap2.checkout_mandate"
	if cmd.AP2 == nil || cmd.AP2.CheckoutMandate == "" {
		if s.env.Policy.MandateRequired {
			err := E(KindInvalid, CodeMandateRequired, "this merchant completes a checkout only with an AP2 checkout mandate (ap2.checkout_mandate)")
			err.Path = path
			return "", err
		}
		return "", nil
	}
	if s.env.Mandates == nil {
		return "", nil // the tenant does not check mandates: it ignores them
	}
	total, _ := TotalOf(c.Totals, TotalTotal)
	id, err := s.env.Mandates.Verify(s.ctx, MandateCheck{
		Mandate: cmd.AP2.CheckoutMandate, CheckoutID: c.ID, Currency: c.Currency, Total: total, Now: s.env.Now,
	})
	if err != nil {
		ce := AsError(err)
		if ce.Path == "" && ce.Kind == KindInvalid {
			ce.Path = path
		}
		return "", ce
	}
	if slices.Contains(c.UsedMandates, id) {
		err := E(KindInvalid, CodeMandateExpired, "this mandate was already presented for checkout %s; a mandate pays once: present a new one", c.ID)
		err.Path = path
		return "", err
	}
	return id, nil
}
