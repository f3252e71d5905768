package handlers

// OutcomeKind says how an envelope ended.
type OutcomeKind uint8

const (
	// Replied: the envelope got its reply (success or error) queued in the batch.
	Replied OutcomeKind = iota
	// Replayed: a republished envelope got the stored reply of the first one again.
	Replayed
	// DeadLettered: the envelope was dead-lettered (and, where the subject allows, got an
	// error reply).
	DeadLettered
	// Redelivered: the outcome of this very delivery was already committed; its messages
	// are in the outbox. Nothing to do but acknowledge.
	Redelivered
	// Retry: a transient failure; nothing of the envelope is in the batch but the stock
	// its inventory held or released on the way (see Handle). Return it to JetStream.
	Retry
)

func (k OutcomeKind) String() string {
	return [...]string{"replied", "replayed", "dead_lettered", "redelivered", "retry"}[k]
}

// Outcome is what Handle did with one envelope.
type Outcome struct {
	Kind   OutcomeKind
	Action string // the command's action, when known
	Code   string // the error code, when the reply is an error or the envelope was dead-lettered
	Err    error  // for Retry: the transient failure
	// MessageID is the request's messageId, when it was read (for tracing).
	MessageID string
}
