package bus

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// partition is the loop that owns one partition of the inbound stream.
type partition struct {
	w    *Worker
	n    int
	cons jetstream.Consumer
	// blocked holds, per tenant/context, the stream sequence of an envelope that hit a
	// transient failure and went back to JetStream. Later envelopes of that context are
	// returned too until it is through, so that a context's envelopes apply in order.
	blocked map[string]uint64
	// gen is the worker's connection generation this partition last rewound at (-1:
	// rewind before the next fetch).
	gen int64
	// next is the consumer delivery sequence the next delivery must carry. JetStream
	// numbers every delivery of a consumer, redeliveries included, from 1 after a reset:
	// a delivery with a higher number means some were lost on the way (a connection that
	// dropped with a pull in flight) and their envelopes would come back only after the
	// ack wait, behind newer ones. The loop then rewinds instead of going on out of order.
	next uint64
	// swept is when the partition last looked for expired checkouts.
	swept time.Time
	// cache keeps the partition's recently used states decoded between batches.
	cache *store.StateCache
	// out feeds the sender: committed chunks to publish and acknowledge.
	out chan sendJob
	// mark is the partition's committed watermark (see mark).
	mark mark
	// batchBytes sizes the next batch's buffer so that it does not grow by copying: the
	// most bytes per envelope seen, times the batch size, at most what Pebble's pool keeps
	// (a buffer of the same size every time is then reused rather than allocated).
	batchBytes int
}

// rewind makes JetStream deliver again everything after the consumer's ack floor, in
// stream order. A worker that starts (after a crash, say), reconnects, or finds a gap in
// the deliveries may have left envelopes delivered but not acknowledged; JetStream would
// redeliver them only after the ack wait, after newer envelopes of the same contexts, out
// of order. Rewinding puts them first. Envelopes already applied come back too: their
// idempotency records turn them into mere acknowledgements.
//
// REQUIRES: no fetch of this partition is open (a pull still open would receive, and
// lose, deliveries of the rewound consumer).
func (p *partition) rewind(ctx context.Context) error {
	gen := p.w.gen.Load()
	if gen == p.gen {
		return nil
	}
	p.flush() // acks of deliveries from before the reset must not reach it after
	info := p.cons.CachedInfo()
	if _, err := p.w.js.ResetConsumer(ctx, info.Stream, info.Name); err != nil {
		return err
	}
	p.gen, p.next = gen, 1
	clear(p.blocked)
	return nil
}

// inOrder keeps the deliveries that follow on from the last one, in order. It drops
// deliveries from before the last rewind, and at a gap it keeps what came before it and
// asks for a rewind (lost reports true).
func (p *partition) inOrder(msgs []jetstream.Msg) (keep []jetstream.Msg, lost bool) {
	keep = msgs[:0]
	for _, m := range msgs {
		meta, err := m.Metadata()
		if err != nil {
			return keep, true
		}
		switch d := meta.Sequence.Consumer; {
		case d < p.next:
			continue // delivered before the rewind: it comes again
		case d > p.next:
			p.w.log.Warn("deliveries were lost on the way; rewinding", "partition", p.n,
				"expected", p.next, "got", d)
			p.gen = -1
			return keep, true
		}
		p.next++
		keep = append(keep, m)
	}
	return keep, false
}

func (p *partition) run(ctx context.Context) {
	w := p.w
	p.out = make(chan sendJob, 1)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		p.sender(context.WithoutCancel(ctx))
	}()
	defer func() {
		close(p.out)
		<-sent
	}()
	size := w.cfg.Batch.Size
	for ctx.Err() == nil {
		if err := p.rewind(ctx); err != nil {
			if ctx.Err() == nil && !p.replaceLost(ctx, err) {
				w.log.Warn("rewinding the consumer", "partition", p.n, "err", err)
				sleep(ctx, 250*time.Millisecond)
			}
			continue
		}
		p.expire(ctx)
		batch, err := p.cons.Fetch(size, jetstream.FetchMaxWait(w.cfg.Batch.MaxWait))
		if err != nil {
			if ctx.Err() == nil && !p.replaceLost(ctx, err) {
				w.log.Debug("fetch", "partition", p.n, "err", err)
				sleep(ctx, 250*time.Millisecond)
			}
			continue
		}
		// Handle what has arrived as soon as it is there, in chunks of whatever arrived
		// meanwhile: under load the chunks fill up while the previous one commits; at low
		// load an envelope waits for nobody.
		ch := batch.Messages()
		buf := make([]jetstream.Msg, 0, size)
		lost := false
		for m := range ch {
			if lost {
				continue // let the pull finish before rewinding
			}
			buf = append(buf[:0], m)
		drain:
			for len(buf) < size {
				select {
				case m, ok := <-ch:
					if !ok {
						break drain
					}
					buf = append(buf, m)
				default:
					break drain
				}
			}
			buf, lost = p.inOrder(buf)
			if len(buf) > 0 && !p.process(ctx, buf) {
				lost = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil &&
			!p.replaceLost(ctx, err) {
			w.log.Debug("fetch ended", "partition", p.n, "err", err)
			sleep(ctx, 100*time.Millisecond)
		}
	}
}

// process handles one chunk: handle each envelope into one batch, commit, publish, ack.
// It runs to the end even when ctx is canceled, so that a shutdown never leaves a chunk
// half done. It returns false when the chunk could not be committed: nothing of it
// happened, and the partition must rewind before it goes on.
func (p *partition) process(ctx context.Context, msgs []jetstream.Msg) bool {
	w := p.w
	started := time.Now()
	b := w.st.NewBatchSized(p.batchBytes)
	b.Partition, b.Cache = p.n, p.cache
	acks := make([]jetstream.Msg, 0, len(msgs))
	var naks []jetstream.Msg
	hctx := context.WithoutCancel(ctx)
	for _, m := range msgs {
		e := w.envelope(m)
		key := e.Tenant + "." + e.Context
		if seq, ok := p.blocked[key]; ok && e.Seq > seq {
			naks = append(naks, m)
			w.metrics.Envelopes.WithLabelValues("", "waiting").Inc()
			continue
		}
		out := w.h.Handle(hctx, b, e)
		action := out.Action
		w.metrics.Envelopes.WithLabelValues(action, out.Kind.String()).Inc()
		switch out.Kind {
		case handlers.Retry:
			if _, ok := p.blocked[key]; !ok {
				p.blocked[key] = e.Seq
			}
			w.log.Warn("transient failure; returning the envelope to JetStream", "subject", e.Subject,
				"seq", e.Seq, "delivered", e.Delivered, "err", out.Err)
			naks = append(naks, m)
			continue
		case handlers.DeadLettered:
			w.metrics.DeadLetters.WithLabelValues(out.Code).Inc()
		}
		if seq, ok := p.blocked[key]; ok && seq == e.Seq {
			delete(p.blocked, key)
		}
		acks = append(acks, m)
	}
	w.metrics.Handle.Observe(time.Since(started).Seconds())
	p.batchBytes = min(max(p.batchBytes, b.Size()/len(msgs)*w.cfg.Batch.Size*9/8), maxPooledBatch)

	b.SetCommitted(p.n, p.mark.advance(msgs, naks))
	outgoing := b.Outgoing()
	w.pub.claim(outgoing)
	t := time.Now()
	if err := b.Commit(); err != nil {
		w.pub.release(outgoing, false)
		w.log.Error("store commit failed; the batch goes back to JetStream", "envelopes", len(msgs), "err", err)
		for _, m := range msgs {
			_ = m.NakWithDelay(time.Second)
		}
		// Nothing of the batch happened: its contexts wait for these envelopes to return.
		p.gen = -1
		return false
	}
	w.metrics.Commit.Observe(time.Since(t).Seconds())
	w.metrics.BatchSize.Observe(float64(len(msgs)))

	// The chunk is durable: its publishing and acknowledging can overlap the handling and
	// commit of the next one. The queue keeps chunks in order.
	p.out <- sendJob{outgoing: outgoing, acks: acks, naks: naks}
	return true
}

// sendJob is a committed chunk's second half: publish what it queued, then acknowledge
// its envelopes (or return those that wait).
type sendJob struct {
	outgoing   []store.Outgoing
	acks, naks []jetstream.Msg
	done       chan struct{} // a barrier: closed when every job before it is through
}

// sender publishes and acknowledges committed chunks in the order they were committed.
// INVARIANT: it only ever sees chunks whose batch is committed, so a reply is never
// published, nor an envelope acked, before the change behind it is durable.
func (p *partition) sender(ctx context.Context) {
	w := p.w
	for j := range p.out {
		if j.done != nil {
			close(j.done)
			continue
		}
		t := time.Now()
		w.pub.publishClaimed(ctx, j.outgoing)
		w.metrics.Publish.Observe(time.Since(t).Seconds())
		// A lost ack only means a redelivery that the idempotency record turns into
		// another ack.
		for _, m := range j.acks {
			_ = m.Ack()
		}
		for _, m := range j.naks {
			_ = m.NakWithDelay(retryDelay(m))
		}
	}
}

// flush waits until every committed chunk is published and acknowledged.
func (p *partition) flush() {
	done := make(chan struct{})
	p.out <- sendJob{done: done}
	<-done
}

// maxPooledBatch is the largest batch buffer Pebble keeps for reuse.
const maxPooledBatch = 1 << 20

func retryDelay(m jetstream.Msg) time.Duration {
	d := 500 * time.Millisecond
	if meta, err := m.Metadata(); err == nil {
		for i := uint64(1); i < meta.NumDelivered && d < 15*time.Second; i++ {
			d *= 2
		}
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// expire cancels, about once a second, the partition's open checkouts whose expires_at
// has passed with no envelope to notice it. It runs in the partition's loop, between
// fetches, so that a context keeps a single writer; it commits and publishes like a batch
// of envelopes.
func (p *partition) expire(ctx context.Context) {
	w := p.w
	now := w.Clock()
	if now.Sub(p.swept) < time.Second {
		return
	}
	p.swept = now
	refs, err := w.st.ExpiredContexts(p.n, now, 500)
	if err != nil || len(refs) == 0 {
		if err != nil {
			w.log.Warn("looking for expired checkouts", "partition", p.n, "err", err)
		}
		return
	}
	b := w.st.NewBatch()
	b.Partition, b.Cache = p.n, p.cache
	expired := 0
	hctx := context.WithoutCancel(ctx)
	for _, ref := range refs {
		ok, err := w.h.Expire(hctx, b, ref, now)
		if err != nil {
			w.log.Warn("expiring a checkout; trying again later", "tenant", ref.Tenant, "context", ref.Context, "err", err)
			b.Discard()
			return
		}
		if ok {
			expired++
		}
	}
	outgoing := b.Outgoing()
	w.pub.claim(outgoing)
	if err := b.Commit(); err != nil {
		w.pub.release(outgoing, false)
		w.log.Warn("committing expired checkouts; trying again later", "err", err)
		return
	}
	p.out <- sendJob{outgoing: outgoing}
	w.metrics.Expired.Add(float64(expired))
}
