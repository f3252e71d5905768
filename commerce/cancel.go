package commerce

// cancel cancels an open checkout and releases any stock a completion that did not go
// through left held (a completed checkout cannot be canceled; its order can).
func (s *step) cancel() (Result, error) {
	before, err := s.editable()
	if err != nil {
		return Result{}, err
	}
	if err := s.release(before.ID); err != nil {
		return Result{}, err
	}
	c := before.Clone()
	c.Status = StatusCanceled
	c.ContinueURL = ""
	c.Messages = nil
	return s.commitCheckout(before, c, Event{Type: EvtCheckoutCanceled, Checkout: c}), nil
}
