// Package envelopes is cartwright's wire edge: it reads the A2A 0.3 envelopes that agents
// publish on a2a.in.<tenant>.<context> and writes the replies, errors and events that go back
// out (CONTRACT.md sections 3, 4 and 7).
//
// Reading an envelope is three steps, each a function of its own so that each can be
// measured on its own:
//
//	raw bytes ──Decode──▶ *Envelope ──Validate──▶ (checked against the subject) ──Normalize──▶ commerce.Command
//	          size, JSON, form,        tenant, context, role,                     action form or UCP form,
//	          messageId                parts, the data part                       arguments and their limits
//
// [Parse] runs the three and also fingerprints the message for idempotency. Every failure
// is a *commerce.Error with a wire code and, for a field, the JSONPath of the field as the
// sender wrote it ("$.params.message.parts[0].data.quantity", or "$.parts[0]…" for a bare
// message).
//
// Writing is deterministic: the same resource always encodes to the same bytes, so that a
// reply stored in an idempotency record and served again is byte-for-byte the first one.
//
// The package is pure: no NATS, no Pebble, no clock. Times come in as values.
package envelopes
