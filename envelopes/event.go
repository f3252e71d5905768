package envelopes

import (
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// EventMeta is what the worker knows of a domain event besides the event itself.
type EventMeta struct {
	ID         string // unique and deterministic, so that a re-published event is de-duplicated
	Tenant     string
	Context    string
	MessageID  string // the request that caused it
	OccurredAt time.Time
	// PaymentHandlers are the tenant's, listed by a checkout the event carries.
	PaymentHandlers PaymentHandlers
}

// Event is a domain event as published on a2a.evt.<tenant>.<type>.
type Event struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"`
	Tenant     string   `json:"tenant"`
	ContextID  string   `json:"context_id"`
	MessageID  string   `json:"message_id"`
	OccurredAt string   `json:"occurred_at"`
	Amount     *int64   `json:"amount,omitempty"`
	Data       Resource `json:"data"`
}

// EncodeEvent encodes a domain event with the resource it carries as it stands after the
// change. amount is written for payment events, and for any event that has one.
func EncodeEvent(m EventMeta, ev commerce.Event) []byte {
	var r Resources
	defer r.Release()
	return r.Event(m, ev)
}
