// Package commerce is cartwright's domain: checkouts, line items, totals, orders and
// payments, and the commands that change them.
//
// It is pure. It reads no clock (the time is passed in [Env]), does no I/O of its own and
// knows nothing of the wire: no JSON tags, no NATS, no Pebble. What it needs from the
// outside world (a catalog, shipping rates, tax, discount rules, a payment processor) it
// declares as small interfaces in providers.go; package providers implements them. The
// built-in implementations are pure too, so that applying the same commands to the same
// state with the same [Env] always gives the same result: the chaos test uses this package
// as its reference model.
//
// Identifiers are derived, never random: [NewID] derives ids from the request's [Env.Seed], so
// a command applied twice to the same state produces the same checkout and order ids.
package commerce
