// Package webhooks sends order events to the platforms that asked for them: UCP's Order
// Event Webhook (docs/webhooks.md).
//
// The REST binding calls Service.Remember with the UCP-Agent profile behind a checkout;
// Service.Run runs a Watermill Router on a durable consumer of A2A_EVT that, for each
// order event, finds that profile's order webhook_url and POSTs the event and the order
// to it, signed (Sign, RFC 9421 with ES256). Failed attempts are retried with backoff;
// what still fails is dead-lettered with code webhook_failed, and `cartwright dlq replay`
// sends it back through <prefix>.webhook.<tenant>.<context>.
//
// It reads the events the worker publishes and writes no state of the worker's: the
// batched request path does not wait for it.
package webhooks
