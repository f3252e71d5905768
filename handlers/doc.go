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
// retries: the caller returns the envelope to JetStream to be delivered again later. The
// batch then holds no state, idempotency record, reply or event of that envelope. It may
// hold one thing: the stock a completion reserved, with the built-in inventory kept in
// the store ([Options.Stock]), before its payment failed. That hold is committed with the
// batch; the retry finds it and takes nothing more, and a checkout that is canceled or
// expires instead gives it back.
//
// # Retries and deadlines
//
// A transient failure is retried at three levels, each inside the next:
//
//   - an HTTP provider retries the one call that failed (providers.HTTPOptions: 2 s an
//     attempt, 3 attempts by default), which is cheap: the call is idempotent;
//   - Handle retries the whole command for up to [Options.RetryBudget] (2 s), which
//     spares a blip the trip through JetStream;
//   - the caller returns the envelope to JetStream, which delivers it again after a
//     growing delay, until batch.max_deliver deliveries; the last one dead-letters it
//     with temporarily_unavailable.
//
// All of one envelope's provider calls, retries included, get at most
// [Options.EnvelopeTimeout] (10 s, and at most a third of batch.ack_wait): the context they
// are given ends then, and a provider must give up when it does. Package bus starts an
// envelope only when that much time is left before its chunk's deadline, half the ack
// wait, so that a chunk is committed and acknowledged before JetStream would deliver it
// again.
package handlers
