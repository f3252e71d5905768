package store

import (
	"time"
)

// Record is an idempotency record: what the first envelope with a (tenant, messageId)
// said, and what it was answered. A later envelope with the same key and fingerprint gets
// Body again; one with another fingerprint is an idempotency_conflict.
type Record struct {
	Fingerprint [32]byte
	Seq         uint64 // the stream sequence of the envelope that made it
	At          time.Time
	IsError     bool
	Code        string // the error code, for the A2A-Error-Code header
	Body        []byte // the reply's result or error object

	key []byte // where it is stored, once read or written through a batch
}

// Outgoing is a message to publish once its batch is committed: a reply, a domain event
// or a dead letter.
type Outgoing struct {
	// Key is set by the store when the message is queued; Done takes it back.
	Key     []byte
	Subject string
	Header  map[string][]string
	Data    []byte
	// Core publishes with core NATS (replies to _INBOX subjects, which no stream holds);
	// otherwise the publish waits for JetStream's acknowledgement.
	Core bool

	// A reply's Data is its record's body between a prefix and a suffix (the JSON-RPC
	// frame). The outbox then keeps the record's key, not a second copy of the body.
	body           *Record
	prefix, suffix []byte
}
