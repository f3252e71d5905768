package handlers

import (
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/store"
)

// stale refuses an envelope that has no idempotency record but is older than records the
// store has swept: it may have been applied already, and its record is gone, so applying
// it could charge, refund or emit events a second time. It is dead-lettered instead
// (invalid_envelope), for an operator to redrive if it never was applied. The bus never
// sweeps a record whose envelope is still to be delivered (bus/consumers.go,
// sweepCutoff), so a backlog that waited out a long outage is not refused: only an
// envelope delivered again from below a consumer's ack floor (a consumer reset or
// recreated by hand) can be.
func (h *Handler) stale(b *store.Batch, e *Envelope, req *envelopes.Request, replyTo string) (Outcome, bool) {
	swept, err := b.MaybeSwept(e.Time)
	if err != nil {
		return Outcome{Kind: Retry, Err: commerce.Transient("store read", err)}, true
	}
	if !swept {
		return Outcome{}, false
	}
	e.Log(h.log).Warn("dead-lettering an envelope older than the idempotency records kept: it may have been applied",
		"stored", e.Time.UTC().Format(time.RFC3339))
	o := h.deadLetter(b, e, req, replyTo, commerce.E(commerce.KindMalformed, commerce.CodeInvalidEnvelope,
		"stored at %s, before the idempotency records still kept: it may have been applied already; "+
			"redrive it if it was not", e.Time.UTC().Format(time.RFC3339)))
	o.Action = string(req.Command.Action())
	return o, true
}
