package commerce

import "fmt"

// setStatus derives the status of an open checkout from its contents, with the
// continue_url and the message that go with escalation.
func (s *step) setStatus(c *Checkout) {
	if c.Status.Final() {
		return
	}
	c.ContinueURL = ""
	st, _ := s.readiness(c)
	c.Status = st
	if st == StatusRequiresEscalation {
		c.ContinueURL = s.env.Policy.BaseURL + "/checkouts/" + c.ID
		addMessage(c, msgEscalation(c.ContinueURL))
	}
}

// readiness returns the status an open checkout's contents call for and, unless it is
// ready_for_complete, why.
//
// A payment_failed message does not hold the checkout back: a declined checkout stays
// payable with another instrument.
func (s *step) readiness(c *Checkout) (Status, string) {
	switch {
	case len(c.LineItems) == 0:
		return StatusIncomplete, "the checkout has no line items"
	case !s.env.Policy.BuyerEmailOptional && (c.Buyer == nil || c.Buyer.Email == ""):
		return StatusIncomplete, "the buyer's email is missing"
	// The wording of the two below is what UCP's conformance suite looks for.
	case needsShipping(c.LineItems) && c.Fulfillment.Address == nil:
		return StatusIncomplete, "Fulfillment address and option must be selected"
	case needsShipping(c.LineItems) && c.Fulfillment.SelectedOptionID == "":
		return StatusIncomplete, "Fulfillment option must be selected"
	}
	for _, m := range c.Messages {
		if m.Type == MessageError && m.Code != MsgPaymentFailed {
			return StatusIncomplete, "the checkout has an unresolved problem (" + m.Code + "): " + m.Content
		}
	}
	total, _ := TotalOf(c.Totals, TotalTotal)
	if limit := s.env.Policy.EscalationLimit; limit > 0 && total > limit {
		return StatusRequiresEscalation, fmt.Sprintf("the total %d exceeds the agent limit of %d; a person must complete it at its continue_url", total, limit)
	}
	return StatusReadyForComplete, ""
}
