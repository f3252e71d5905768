// Package bus is cartwright's JetStream side: it provisions the streams and consumers,
// runs one loop per partition of the inbound stream, publishes what the store's outbox
// holds, dead-letters and redrives.
//
// # One partition's loop
//
// The inbound stream maps every (tenant, context) to one of n partitions with a subject
// transform, and each partition has one durable pull consumer. A loop owns a partition,
// so the envelopes of one context are applied one at a time, in stream order.
//
//	fetch ──▶ handle each (in stream order, into one store batch)
//	      ──▶ commit the batch (one fsync)
//	      ──▶ publish what it queued (replies, events, dead letters; wait for JetStream's acks)
//	      ──▶ remove them from the outbox (no fsync)
//	      ──▶ ack the envelopes; nak with a delay those that hit a transient failure
//
// INVARIANT: an envelope is acked only after the batch holding its outcome is committed.
// A crash before the commit leaves it unacked: JetStream delivers it again and it is
// handled afresh. A crash after the commit leaves its outcome in the store: the
// redelivery finds the idempotency record of that very delivery and is only acked, and
// the outbox, published again at start-up, delivers the reply that may have been lost.
// INVARIANT: a reply is published only after the change behind it is durable.
//
// A publish that fails (NATS gone, no acknowledgement in time) leaves the message in the
// outbox; the envelopes are acked anyway, because their outcome is durable, and the
// outbox pump publishes it once NATS is back. JetStream drops the second copy of anything
// published twice by its Nats-Msg-Id.
package bus
