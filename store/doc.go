// Package store keeps cartwright's state in Pebble: each context's checkout and orders,
// the idempotency records that make redelivered envelopes harmless, and the outbox of
// replies, events and dead letters not yet acknowledged by JetStream.
//
// Everything one batch of envelopes changes is written by one Pebble batch and committed
// with one fsync ([Batch.Commit]); only then are its replies published. A crash before the
// commit loses nothing (JetStream redelivers the envelopes); a crash after it loses nothing
// either (the outbox is published again at start-up, and the idempotency records answer
// the redelivered envelopes with the replies already committed).
//
// Within a batch, each envelope's writes are all or nothing too: [Batch.Mark] starts an
// envelope, [Batch.Rollback] drops what it wrote (a panic while handling it), states,
// records, messages, index entries and stock alike.
//
// # Key layout
//
// Every key starts with a one-byte table tag. Strings are tenant and context tokens
// ([A-Za-z0-9_-], so they never contain the 0x00 separator) and message ids
// ([A-Za-z0-9._:-]).
//
//	+-----+---------------------------------------------+--------------------------------+
//	| tag | rest of the key                              | value                          |
//	+-----+---------------------------------------------+--------------------------------+
//	| 'c' | tenant 0x00 context                          | the context's state (codec)    |
//	| 'i' | tenant 0x00 messageId                        | idempotency record (codec)     |
//	| 'q' | stream sequence (8 bytes, big-endian)        | idempotency record of an       |
//	|     |                                              | envelope with no usable        |
//	|     |                                              | messageId (dead-lettered)      |
//	| 'x' | created-at unix nanos (8 bytes BE) 0x00      | empty: the expiry index of     |
//	|     |   ('i' or 'q' key)                           | the two tables above           |
//	| 'o' | outbox sequence (8 bytes, big-endian)        | a message to publish (codec)   |
//	| 'a' | outbox sequence (8 bytes, big-endian)        | a message the server refused   |
//	|     |                                              | for good, set aside: when,     |
//	|     |                                              | why, the message (codec)       |
//	| 'e' | partition (2 bytes BE) expires-at unix nanos | empty: open checkouts by when  |
//	|     |   (8 bytes BE) tenant 0x00 context           | they expire, per partition     |
//	| 'v' | tenant 0x00 item partition (2 bytes BE)      | units of the item the          |
//	|     |                                              | partition holds (8 bytes BE)   |
//	| 'r' | tenant 0x00 checkout id                      | the checkout's reserved lines  |
//	|     |                                              | (codec)                        |
//	| 'p' | tenant 0x00 payment id                       | a payment of the mock payment  |
//	|     |                                              | handler (payments.go)          |
//	| 'y' | tenant 0x00 authorized-at unix nanos (8      | empty: the mock's payments by  |
//	|     |   bytes BE) payment id                       | age, to forget the old ones    |
//	| 'w' | partition (2 bytes BE)                       | stream sequence (8 bytes BE)   |
//	|     |                                              | up to which the partition's    |
//	|     |                                              | envelopes are all committed    |
//	| 'm' | name                                         | metadata                       |
//	+-----+---------------------------------------------+--------------------------------+
//
// The open-checkout index lets each partition find, with one short scan, the checkouts
// it must expire; it is kept by PutState in the same batch as the state.
//
// The watermark ('w') is written by the batch that commits the envelopes it covers, so
// it never claims more than is durable; a consumer that has to be created again starts
// after it (see Committed). The metadata entry "swept_before" is the latest cutoff a sweep
// used: it is written, durably, before the sweep removes anything.
//
// The stock tables ('v', 'r') are the built-in inventory's counts, written in the same
// batch as the checkout that reserves or releases (see Stock).
//
// An outbox entry moves to the set-aside table ('a', same sequence) in one write when the
// server refuses it for good (see MoveAside): it leaves the outbox, so that it holds up
// neither the publisher nor the next start, and is kept whole, a reply's body included,
// for an operator to read (cartwright outbox).
//
// The mock payment tables ('p', 'y') are the demo processor's memory, not the worker's
// state: written outside the batches, fsync'd as the handler answers, and forgotten
// providers.MockRetention after authorization (see MockPayments).
//
// Records and outbox entries use the binary framing of codec.go, states that of
// state_codec.go.
//
// The expiry index is ordered by time, so that the sweeper removes expired records with
// one short scan from the start of the table, without reading the records themselves.
package store
