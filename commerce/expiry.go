package commerce

import "time"

// expire returns a canceled copy of c when c is open and now has reached its ExpiresAt
// (a zero ExpiresAt never expires).
// Expiry is not a command: it happens to whatever command finds the checkout past its
// time, and that command's Result carries it (Changed, the checkout.expired event) even
// when the command itself is refused.
func expire(now time.Time, c *Checkout) (*Checkout, bool) {
	if c == nil || c.Status.Final() || c.ExpiresAt.IsZero() || now.Before(c.ExpiresAt) {
		return nil, false
	}
	out := c.Clone()
	out.Status = StatusCanceled
	out.ContinueURL = ""
	out.Messages = nil
	out.UpdatedAt = now
	return out, true
}

// Expired reports whether c was canceled by expiry rather than by cancel_checkout.
//
// No field records why a checkout was canceled; none is needed. Apply expires an open
// checkout before anything else once its ExpiresAt has passed, so cancel_checkout can only
// ever cancel before ExpiresAt, and expiry only at or after it: a canceled checkout whose
// UpdatedAt is not before its ExpiresAt was expired. (A canceled checkout never changes
// again, so UpdatedAt keeps that moment.)
func (c *Checkout) Expired() bool {
	return c != nil && c.Status == StatusCanceled && !c.ExpiresAt.IsZero() && !c.UpdatedAt.Before(c.ExpiresAt)
}
