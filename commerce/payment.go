package commerce

// capture captures an authorized payment, all of it unless an amount is given.
func (s *step) capture(cmd CapturePayment) (Result, error) {
	i, prev, err := s.order(cmd.OrderID)
	if err != nil {
		return Result{}, err
	}
	if prev.Payment.Status != PaymentAuthorized {
		return Result{}, transition(prev, "only an authorized payment can be captured")
	}
	amount := prev.Payment.Authorized
	if cmd.Amount != nil {
		amount = *cmd.Amount
	}
	if amount <= 0 || amount > prev.Payment.Authorized {
		return Result{}, Invalid("amount", "amount must be between 1 and the %d authorized, got %d", prev.Payment.Authorized, amount)
	}
	pay, err := s.payments()
	if err != nil {
		return Result{}, err
	}
	if err := pay.Capture(s.ctx, s.paymentOp(prev, "capture", amount)); err != nil {
		return Result{}, err
	}
	o := prev.Clone()
	o.Payment.Status = PaymentCaptured
	o.Payment.Captured = amount
	return s.commitOrder(i, o, Event{Type: EvtPaymentCaptured, Order: o, Amount: amount}), nil
}

// void voids an authorized payment, which cancels the order and releases its stock.
func (s *step) void(cmd VoidPayment) (Result, error) {
	i, prev, err := s.order(cmd.OrderID)
	if err != nil {
		return Result{}, err
	}
	if prev.Payment.Status != PaymentAuthorized {
		return Result{}, transition(prev, "only an authorized payment can be voided")
	}
	return s.voidAt(i, prev)
}

func (s *step) voidAt(i int, prev *Order) (Result, error) {
	pay, err := s.payments()
	if err != nil {
		return Result{}, err
	}
	amount := prev.Payment.Authorized
	if err := pay.Void(s.ctx, s.paymentOp(prev, "void", amount)); err != nil {
		return Result{}, err
	}
	if err := s.release(prev.CheckoutID); err != nil {
		return Result{}, err
	}
	o := prev.Clone()
	o.Payment.Status = PaymentVoided
	o.Status = OrderCanceled
	res := s.commitOrder(i, o,
		Event{Type: EvtPaymentVoided, Order: o, Amount: amount},
		Event{Type: EvtOrderCanceled, Order: o})
	res.Release = []string{o.CheckoutID}
	return res, nil
}

// refund refunds a captured payment, all that is left unless an amount is given. A refund
// never exceeds what was captured and not yet refunded.
func (s *step) refund(cmd RefundPayment) (Result, error) {
	i, prev, err := s.order(cmd.OrderID)
	if err != nil {
		return Result{}, err
	}
	switch prev.Payment.Status {
	case PaymentCaptured, PaymentPartiallyRefunded:
	default:
		return Result{}, transition(prev, "only a captured payment can be refunded")
	}
	left := prev.Payment.Captured - prev.Payment.Refunded
	amount := left
	if cmd.Amount != nil {
		amount = *cmd.Amount
	}
	if amount <= 0 {
		return Result{}, Invalid("amount", "amount must be positive, got %d", amount)
	}
	if amount > left {
		return Result{}, transition(prev, "a refund of %d exceeds the %d captured and not refunded", amount, left)
	}
	o := prev.Clone()
	ev, err := s.refundAmount(o, amount)
	if err != nil {
		return Result{}, err
	}
	return s.commitOrder(i, o, ev), nil
}

// refundAmount refunds amount of o's payment and records it on o (a copy).
//
// REQUIRES: 0 < amount <= o.Payment.Captured - o.Payment.Refunded.
func (s *step) refundAmount(o *Order, amount int64) (Event, error) {
	pay, err := s.payments()
	if err != nil {
		return Event{}, err
	}
	if err := pay.Refund(s.ctx, s.paymentOp(o, "refund", amount)); err != nil {
		return Event{}, err
	}
	o.Payment.Refunded += amount
	o.Payment.Status = PaymentPartiallyRefunded
	if o.Payment.Refunded == o.Payment.Captured {
		o.Payment.Status = PaymentRefunded
	}
	return Event{Type: EvtPaymentRefunded, Order: o, Amount: amount}, nil
}
