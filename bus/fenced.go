package bus

import (
	"context"
	"sync"
	"time"

	"github.com/cartwright-dev/cartwright/store"
)

// fencedChunk is the messages of a chunk committed and fenced out before its publish,
// with the changelog off (partition.hold).
type fencedChunk struct {
	outgoing []store.Outgoing
	// low is the lowest stream sequence of the envelopes the chunk answers, 0 when it
	// answers none (expired checkouts).
	low uint64
}

// fencedOut holds, per partition, the fenced chunks waiting for this worker's next take
// of it, in the order they were committed. It holds at most what one loop committed after
// its lease ran out: the loop stops at its first fenced chunk, and its next take settles
// them.
type fencedOut struct {
	mu    sync.Mutex
	parts map[int][]fencedChunk
}

func (f *fencedOut) add(p int, c fencedChunk) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.parts == nil {
		f.parts = map[int][]fencedChunk{}
	}
	f.parts[p] = append(f.parts[p], c)
}

// take removes and returns partition p's fenced chunks.
func (f *fencedOut) take(p int) []fencedChunk {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.parts[p]
	delete(f.parts, p)
	return c
}

// settleFenced settles, at a take of partition p with the changelog off, the chunks this
// worker committed for p and had fenced out (partition.hold), before the loop fetches.
// floor is the partition consumer's ack floor as the take opened it. A chunk whose
// envelopes are all above the floor was acknowledged by no one: its envelopes come again,
// their idempotency records in this store make them mere acknowledgements, and its
// messages (replies, events, dead letters) would be sent by no one; they are published
// now. A chunk with an envelope at or below the floor was served by another worker since,
// which answered it: its messages are dropped, stale. It returns false when the lease or
// ctx ended before they were published; they then wait for the next take.
//
// What it cannot tell: another worker that handled the chunk's envelopes, published its
// answers, and lost the partition before acknowledging them. Both answers then go out;
// JetStream keeps the first of the two by their Nats-Msg-Id within its duplicate window,
// while replies to an _INBOX (core NATS) arrive twice. Without the changelog that other
// worker has applied them a second time in its own store anyway (docs/workers.md).
func (w *Worker) settleFenced(ctx context.Context, p int, floor uint64, valid func() bool) bool {
	chunks := w.fencedOut.take(p)
	if len(chunks) == 0 {
		return true
	}
	var out []store.Outgoing
	kept := chunks[:0]
	dropped := 0
	for _, c := range chunks {
		if c.low != 0 && c.low <= floor {
			dropped += len(c.outgoing)
			continue
		}
		kept = append(kept, c)
		out = append(out, c.outgoing...)
	}
	for len(out) > 0 {
		if ctx.Err() != nil || !valid() {
			for _, c := range kept {
				w.fencedOut.add(p, c)
			}
			return false
		}
		_, refused, err := w.pub.publish(ctx, out)
		if err == nil {
			if len(refused) > 0 {
				w.log.Error("fenced messages the server refuses for good were dropped", "partition", p, "messages", len(refused))
			}
			break
		}
		// Published again whole: JetStream drops those that went by their Nats-Msg-Id.
		w.log.Warn("publishing the messages of chunks fenced out before this take; retrying", "partition", p, "err", err)
		sleep(ctx, time.Second)
	}
	w.log.Warn("settled the messages of chunks this worker fenced out before it took the partition again",
		"partition", p, "chunks", len(chunks), "published_now", len(out), "dropped", dropped, "ack_floor", floor)
	return true
}
