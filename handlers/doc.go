// Package handlers is cartwright's application layer: one envelope in, its effects out.
//
// [Handler.Handle] takes one inbound envelope and a [store.Batch]. It parses the envelope,
// checks its idempotency record, loads the context's state from the batch, applies the
// command through package commerce (calling the tenant's providers), and writes into the
// batch everything the envelope changes: the new state, the idempotency record, and the
// outgoing reply, events and dead letter. It publishes nothing and commits nothing: the
// caller (package bus) commits the whole batch with one fsync and only then publishes
// what the batch queued, then acknowledges the envelopes.
//
// A returned [Outcome] of kind [Retry] means a transient failure outlasted the in-process
// retries: the batch holds nothing of that envelope, and the caller returns it to
// JetStream to be delivered again later.
package handlers
