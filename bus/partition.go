package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/telemetry"
)

// partition is the loop that owns one partition of the inbound stream.
type partition struct {
	w    *Worker
	n    int
	cons jetstream.Consumer
	// blocked holds, per tenant/context, the envelope that hit a transient failure and
	// went back to JetStream. Later envelopes of that context are returned too until it is
	// through, so that a context's envelopes apply in order.
	blocked map[string]*block
	// gen is the worker's connection generation this partition last rewound at (-1:
	// rewind before the next fetch).
	gen int64
	// unsure: the consumer was rewound and no delivery has come since (see lostToOthers).
	unsure bool
	// next is the consumer delivery sequence the next delivery must carry. JetStream
	// numbers every delivery of a consumer, redeliveries included, from 1 after a reset:
	// a delivery with a higher number means some were lost on the way (a connection that
	// dropped with a pull in flight) and their envelopes would come back only after the
	// ack wait, behind newer ones. The loop then rewinds instead of going on out of order.
	next uint64
	// retries holds the deliveries of blocked envelopes due for another try, put off to
	// the end of their pull (see process).
	retries []jetstream.Msg
	// swept is when the partition last looked for expired checkouts.
	swept time.Time
	// cache keeps the partition's recently used states decoded between batches.
	cache *store.StateCache
	// out feeds the sender: committed chunks to publish and acknowledge.
	out chan sendJob
	// mark is the partition's committed watermark (see mark).
	mark mark
	// epoch is the lease the loop runs under, and valid reports whether it still holds
	// (group.Member.Valid: local and cheap). fenced is set once the sender found it gone:
	// the loop then stops, and nothing more is published or acknowledged for the partition.
	epoch  uint64
	valid  func() bool
	fenced atomic.Bool
	// floor is the consumer's ack floor when the loop opened it: a consumer created again
	// never starts below it (see replaceLost).
	floor uint64
	// envBytes is the most bytes an envelope wrote to a batch, on average over its chunk:
	// a chunk's buffer is sized for its envelopes from it, so that it does not grow by
	// copying. Sized for the chunk, not for a full batch: at low load chunks hold one or
	// two envelopes, and a full batch's buffer (up to 1 MiB) for each of them was most of
	// what the worker allocated, a GC every ~75 ms at 2,000 envelopes/s. The size only
	// counts when the store has no buffer of a batch that is through to reuse (see
	// store.NewBatchSized): at start-up, or when more batches are open at once than before.
	envBytes int
	// envelopes counts the envelopes handled (Metrics.Envelopes).
	envelopes counters
	// returned is the last delivery returned to JetStream (nak'd) since the last rewind,
	// by the sender or by the loop after a failed commit (see takeReturns).
	returned atomic.Pointer[nak]
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
	p.takeReturns(ctx)
	info := p.cons.CachedInfo()
	if _, err := p.w.js.ResetConsumer(ctx, info.Stream, info.Name); err != nil {
		return err
	}
	p.gen, p.next, p.unsure = gen, 1, true
	// The blocks stay: their envelopes come again first, and are retried when it is time
	// (the reset forgets the delays JetStream held them back with).
	for key, bl := range p.blocked {
		if bl.lifted {
			delete(p.blocked, key)
			continue
		}
		bl.seen, bl.waiting = false, 0
	}
	return nil
}

// takeReturns waits until JetStream has taken the deliveries returned (nak'd) since the
// last rewind, so that none of them reaches the consumer after the reset that follows.
// JetStream takes acknowledgements on a queue of the consumer's own, apart from the API
// that resets it: a return still queued when the reset is through would apply to the
// delivery the reset brings of the same envelope, and JetStream would deliver that one
// again after the return's delay, while it is being handled, or waiting behind its
// context. The consumer's queue keeps the order its acknowledgements were sent in, on one
// connection: once it answers the last return, sent again with a reply subject, it has
// taken every one before. Sent again, the return only moves its envelope's redelivery a
// little later, and the reset forgets it anyway.
//
// It waits no longer than rewindRequestTimeout; a consumer that cannot answer by then (NATS
// away, the consumer gone) cannot be reset either, and the caller finds out.
func (p *partition) takeReturns(ctx context.Context) {
	n := p.returned.Swap(nil)
	if n == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, rewindRequestTimeout)
	defer cancel()
	body := fmt.Appendf(nil, "-NAK {\"delay\": %d}", n.delay.Nanoseconds())
	if _, err := p.w.nc.RequestWithContext(ctx, n.m.Reply(), body); err != nil {
		p.w.log.Debug("waiting for JetStream to take the returned deliveries", "partition", p.n, "err", err)
	}
}

// rewindRequestTimeout bounds the requests around a rewind: takeReturns, lostToOthers.
const rewindRequestTimeout = 2 * time.Second

// returnedLast notes the last of naks, sent before the next rewind (takeReturns).
func (p *partition) returnedLast(naks []nak) {
	if len(naks) > 0 {
		n := naks[len(naks)-1]
		p.returned.Store(&n)
	}
}

// block is a context held back behind one of its envelopes, which failed transiently.
type block struct {
	seq uint64 // the envelope's stream sequence
	// tries counts its handlings that failed; JetStream's own count starts again at every
	// rewind.
	tries   int
	retryAt time.Time // it is not handled again before
	// waiting counts the context's later envelopes returned to JetStream since the last
	// rewind: each waits there with a delay of its own, and when the block lifts they
	// must not come after a newer envelope, so the partition rewinds.
	waiting int
	// seen says the envelope was delivered since the last rewind. A rewind delivers in
	// stream order, so a later envelope of the context that comes first means the blocking
	// one is gone from the stream (removed by a limit or by hand): nothing waits for it.
	seen bool
	// lifted: the envelope is through, and the block goes at the next rewind, which
	// brings the waiting ones back in order.
	lifted bool
}

// inOrder keeps the deliveries that follow on from the last one, in order. It drops
// deliveries from before the last rewind, and at a gap it keeps what came before it and
// asks for a rewind (lost reports true). metas, appended to metas[:0], are the kept
// deliveries' metadata, parsed once here for process too.
func (p *partition) inOrder(msgs []jetstream.Msg, metas []*jetstream.MsgMetadata) (keep []jetstream.Msg, kept []*jetstream.MsgMetadata, lost bool) {
	keep, kept = msgs[:0], metas[:0]
	for _, m := range msgs {
		meta, err := m.Metadata()
		if err != nil {
			return keep, kept, true
		}
		switch d := meta.Sequence.Consumer; {
		case d < p.next:
			continue // delivered before the rewind: it comes again
		case d > p.next:
			p.w.log.Warn("deliveries were lost on the way; rewinding", "partition", p.n,
				"expected", p.next, "got", d)
			p.gen = -1
			return keep, kept, true
		}
		p.next++
		keep = append(keep, m)
		kept = append(kept, meta)
	}
	return keep, kept, false
}

func (p *partition) run(ctx context.Context) {
	w := p.w
	p.out = make(chan sendJob, 1)
	p.envelopes = counters{vec: w.metrics.Envelopes}
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
	for ctx.Err() == nil && !p.fenced.Load() {
		if p.w.cl.Err(p.n) != nil {
			return // lost to another worker (writeChangelog): serving on would act twice
		}
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
		var metas []*jetstream.MsgMetadata
		lost := false
		// Every delivery of this pull has been waiting for its ack since about when the
		// first one came, at the earliest.
		var ps pass
		for m := range ch {
			if lost || p.fenced.Load() {
				continue // let the pull finish before rewinding, or stopping once fenced
			}
			if ps.deadline.IsZero() {
				ps = pass{deadline: time.Now().Add(w.cfg.Batch.AckWait / 2), first: true}
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
			buf, metas, lost = p.inOrder(buf, metas)
			if len(buf) > 0 && !p.process(ctx, buf, metas, ps) {
				lost = true
			}
			ps.first = false
		}
		if ps.deadline.IsZero() && (batch.Error() == nil || errors.Is(batch.Error(), jetstream.ErrNoMessages)) {
			w.progressed(p.n) // nothing to deliver now: the loop is not held up
			if p.unsure && p.lostToOthers(ctx) {
				continue
			}
		}
		if !ps.deadline.IsZero() {
			p.unsure = false
		}
		if len(p.retries) > 0 && !lost {
			p.process(ctx, p.retries, nil, pass{deadline: ps.deadline, first: true, retries: true})
		}
		clear(p.retries) // after a rewind they come again
		p.retries = p.retries[:0]
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && ctx.Err() == nil &&
			!p.replaceLost(ctx, err) {
			w.log.Debug("fetch ended", "partition", p.n, "err", err)
			sleep(ctx, 100*time.Millisecond)
		}
	}
}

// lostToOthers looks, once after a rewind, at the first pull that brought nothing: if
// the consumer delivered anything since the reset, it went to another pull request, and
// the partition rewinds again (it reports true). A pull request sent while the
// connection was down waits in the client's buffer and reaches the server once it is
// back, after its fetch gave up; the reset that follows the reconnection then delivers
// to it first, into an inbox nobody reads. Without a later delivery to show the gap
// (inOrder), those envelopes would wait for the ack wait.
func (p *partition) lostToOthers(ctx context.Context) bool {
	p.unsure = false
	ictx, cancel := context.WithTimeout(ctx, rewindRequestTimeout)
	defer cancel()
	info, err := p.cons.Info(ictx)
	if err != nil || info.Delivered.Consumer < p.next {
		return false
	}
	p.w.log.Warn("deliveries went to a pull request from before the rewind; rewinding again", "partition", p.n,
		"delivered", info.Delivered.Consumer, "seen", p.next-1)
	p.gen = -1
	return true
}

// pass says how a chunk is to be handled.
type pass struct {
	// deadline is when the chunk's envelopes must be through: half the ack wait after the
	// first delivery of the pull came.
	deadline time.Time
	// first: the chunk's first envelope is handled however late it is, so that the
	// partition always moves on.
	first bool
	// retries: the chunk is the pull's put-off retries (partition.retries).
	retries bool
}

// process handles one chunk: handle each envelope into one batch, commit, publish, ack.
// It runs to the end even when ctx is canceled, so that a shutdown never leaves a chunk
// half done. It returns false when the partition must rewind before it goes on, leaving
// the rest of the pull unhandled: the chunk could not be committed (nothing of it
// happened), it ran out of time and left the rest of it (see below), or it lifted a
// block that others of its context wait behind.
//
// INVARIANT: a delivery is acknowledged or returned within the ack wait, or the partition
// rewinds before JetStream could deliver it again: JetStream never has an envelope handled
// twice at once. An envelope spends at most the handler's envelope timeout in its
// providers, at most a third of the ack wait. An envelope starts only when it can end
// before the deadline, half the ack wait after the pull's first delivery came; the first
// of a pull, and the first of its put-off retries, start in any case and end within five
// sixths of it. What is left over goes to the rewind, which has it delivered again in
// stream order: nothing of a context overtakes what is left of it.
//
// A blocked envelope due for another try is put off to the end of its pull, after the
// envelopes of other contexts: a provider that hangs then takes the partition's time only
// once the others are through, and the context's later envelopes wait for it anyway.
func (p *partition) process(ctx context.Context, msgs []jetstream.Msg, metas []*jetstream.MsgMetadata, ps pass) bool {
	w := p.w
	started := time.Now()
	b := w.st.NewBatchSized(min(p.envBytes*len(msgs)*9/8, maxPooledBatch))
	b.Partition, b.Cache = p.n, p.cache
	acks := make([]jetstream.Msg, 0, len(msgs))
	var naks []nak
	var deferred []jetstream.Msg // put off to the end of the pull (p.retries)
	hctx := context.WithoutCancel(ctx)
	rewind := false
	done := 0 // envelopes of msgs handled, returned or put off
	ct := chunkTrace{tr: telemetry.Tracer()}
	envs := make([]handlers.Envelope, len(msgs))
	for i, m := range msgs {
		if (i > 0 || !ps.first) && time.Now().Add(w.h.EnvelopeTimeout()).After(ps.deadline) {
			w.log.Warn("out of time for this chunk; the rest is delivered again", "partition", p.n,
				"handled", i, "left", len(msgs)-i, "took", time.Since(started).Round(time.Millisecond))
			p.envelopes.with(actionUnknown, "out_of_time").Add(float64(len(msgs) - i))
			rewind = true
			break
		}
		done = i + 1
		var meta *jetstream.MsgMetadata
		if i < len(metas) {
			meta = metas[i]
		}
		e := w.envelope(&envs[i], m, meta)
		key := e.Tenant + "." + e.Context
		bl := p.blocked[key]
		if bl != nil && e.Seq > bl.seq && !bl.seen {
			delete(p.blocked, key)
			bl = nil
		}
		if bl != nil && e.Seq >= bl.seq {
			now := time.Now()
			if e.Seq == bl.seq {
				bl.seen = true
			}
			if e.Seq > bl.seq || now.Before(bl.retryAt) {
				// Back when it is time to try the blocking one again (after a rewind, which
				// delivers it at once), or, for a later one, after that try, so as not to be
				// fetched for nothing.
				d := max(bl.retryAt.Sub(now), 0)
				if e.Seq > bl.seq {
					bl.waiting++
					d += retryDelay(1)
				}
				naks = append(naks, nak{m, d})
				p.envelopes.with(actionUnknown, "waiting").Inc()
				continue
			}
			if !ps.retries {
				p.retries = append(p.retries, m)
				deferred = append(deferred, m)
				continue
			}
			// JetStream's count includes the deliveries that only waited, and restarts at a
			// rewind: what counts against max_deliver is how often it was tried.
			e.Delivered = bl.tries + 1
		}
		ectx, span := ct.envelope(hctx, p.n, e)
		out := w.h.Handle(ectx, b, e)
		ct.handled(span, out)
		action := out.Action
		if action == "" {
			action = actionUnknown
		}
		p.envelopes.with(action, out.Kind.String()).Inc()
		switch out.Kind {
		case handlers.Retry:
			if bl == nil || e.Seq < bl.seq {
				// An earlier envelope of a blocked context (a rewind's) failed: it blocks
				// now, and the one that did waits too.
				nb := &block{seq: e.Seq, seen: true}
				if bl != nil {
					nb.waiting = bl.waiting + 1
				}
				bl = nb
				p.blocked[key] = bl
			}
			bl.tries++
			d := retryDelay(bl.tries)
			bl.retryAt = time.Now().Add(d)
			e.Log(w.log).Warn("transient failure; returning the envelope to JetStream",
				"delivered", e.Delivered, "retry_in", d, "err", out.Err)
			naks = append(naks, nak{m, d})
			continue
		case handlers.DeadLettered:
			w.metrics.DeadLetters.WithLabelValues(out.Code).Inc()
			if w.log.Enabled(hctx, slog.LevelInfo) { // bad input can be many: no logger built for nothing
				e.Log(w.log).Info("dead-lettered the envelope", "code", out.Code, "action", action, "delivered", e.Delivered)
			}
		}
		acks = append(acks, m)
		if bl != nil && bl.seq == e.Seq {
			if bl.waiting == 0 {
				delete(p.blocked, key)
				continue
			}
			// The context's later envelopes are out in JetStream, each with a delay of its
			// own, and a newer one could come first: have them all again, in order, once
			// the chunk is through (one rewind for every context it lifts). Until then
			// they still wait.
			bl.lifted = true
			rewind = true
		}
	}
	msgs = msgs[:done]
	if len(acks)+len(naks) == 0 {
		b.Discard()
		if rewind {
			p.gen = -1
		}
		return !rewind
	}
	w.metrics.Handle.Observe(time.Since(started).Seconds())
	p.envBytes = max(p.envBytes, b.Size()/len(msgs))

	// The watermark stays below what went back to JetStream and what waits for the end of
	// the pull: neither is handled yet. The chunk's sequences are its envelopes', read
	// from each delivery's metadata once.
	seqs := make([]uint64, len(msgs))
	for i := range msgs {
		seqs[i] = envs[i].Seq
	}
	var held []uint64
	for _, m := range deferred {
		held = append(held, streamSeq(m))
	}
	for _, n := range naks {
		held = append(held, streamSeq(n.m))
	}
	b.SetCommitted(p.n, p.mark.advance(seqs, held))
	// Once the chunk is durable, its publishing and acknowledging can overlap the handling
	// and commit of the next one.
	took, err := p.commitAndSend(hctx, b, acks, naks, &ct, len(msgs))
	if err != nil {
		w.log.Error("store commit failed; the batch goes back to JetStream", "envelopes", len(msgs), "err", err)
		for _, m := range msgs {
			_ = m.NakWithDelay(time.Second)
		}
		p.returnedLast([]nak{{msgs[len(msgs)-1], time.Second}})
		// Nothing of the batch happened, what it did to the blocks included: its contexts
		// wait for these envelopes to return, and they come first.
		clear(p.blocked)
		p.gen = -1
		return false
	}
	w.metrics.Commit.Observe(took.Seconds())
	w.progressed(p.n)
	w.metrics.BatchSize.Observe(float64(len(msgs)))
	if rewind {
		p.gen = -1
		return false
	}
	return true
}

// commitAndSend commits b and queues what it published, acknowledges and returns for the
// sender; the queue keeps batches in the order they were committed. It returns how long the
// commit took, or the commit's error: then nothing of b happened and nothing is queued.
//
// INVARIANT: b's outgoing messages are claimed before the commit puts them in the outbox,
// so that the pump does not publish them too, and released if it fails; the sender
// releases them once published.
func (p *partition) commitAndSend(ctx context.Context, b *store.Batch, acks []jetstream.Msg, naks []nak, ct *chunkTrace, envelopes int) (time.Duration, error) {
	outgoing := b.Outgoing()
	p.w.pub.claim(outgoing)
	var changes []byte
	var pending, rec, top uint64
	if p.w.cl != nil {
		// Read before the commit releases the batch, and kept in it until written
		// (writeChangelog): a crash in between must not leave the store ahead of the
		// changelog unknowingly.
		changes, rec = b.HoldChanges()
		if changes != nil {
			pending = rec
		}
		for _, m := range acks {
			top = max(top, streamSeq(m))
		}
	}
	var cspan trace.Span
	if ct != nil {
		cspan = ct.commit(ctx, p.n, envelopes, len(outgoing))
	}
	t := time.Now()
	err := b.Commit()
	took := time.Since(t)
	var sc trace.SpanContext
	if ct != nil {
		sc = ct.committed(cspan, err)
	}
	if err != nil {
		p.w.pub.release(outgoing, false)
		return 0, err
	}
	p.out <- sendJob{outgoing: outgoing, acks: acks, naks: naks, trace: sc, changes: changes, pending: pending, rec: rec, top: top}
	return took, nil
}

// nak is a delivery to return to JetStream, to come again after delay.
type nak struct {
	m     jetstream.Msg
	delay time.Duration
}

// sendJob is a committed chunk's second half: publish what it queued, then acknowledge
// its envelopes (or return those that wait).
type sendJob struct {
	outgoing []store.Outgoing
	acks     []jetstream.Msg
	naks     []nak
	done     chan struct{} // a barrier: closed when every job before it is through
	// trace is the span of the chunk's commit, when traced.
	trace trace.SpanContext
	// changes are for the changelog (store.Batch.HoldChanges), when it is on; pending is
	// the id of the chunk's pending record, rec that of its outbox record (the same id,
	// or 0), and top the highest stream sequence of the envelopes it acknowledges.
	changes []byte
	pending uint64
	rec     uint64
	top     uint64
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
		if f := senderFault.Load(); f != nil && len(j.changes) > 0 && (*f)(p.n) {
			continue // a test's crash between the commit and the changelog write
		}
		// The lease first (local and cheap), then the chunk's changelog entries, fenced on
		// the server by the epoch, before anything of the chunk leaves.
		if !p.owner() {
			p.fence(j)
			continue
		}
		if !p.writeChangelog(ctx, j) {
			continue
		}
		if f := publishFault.Load(); f != nil && len(j.changes) > 0 && (*f)(p.n, len(j.acks)) {
			continue // a test's crash between the changelog write and the publish
		}
		// The lease again: the changelog write took a round trip to JetStream, and a
		// worker paused during it (SIGSTOP, a stalled VM) must not publish once it wakes,
		// nor acknowledge. A chunk whose changes are in the changelog is the partition's
		// next owner's to publish, from the changelog; its messages stay in this store's
		// outbox under the chunk's outbox record, held while this worker does not own
		// the partition (store.HeldOutbox) and settled at its next take
		// (Changelog.restore). What is left is the time between this check and the
		// publish: no lease can fence that, only the stream's duplicate window, which
		// drops a message published twice by its Nats-Msg-Id.
		if !p.owner() {
			if len(j.changes) > 0 {
				w.pub.release(j.outgoing, false)
			} else {
				p.fence(j)
			}
			continue
		}
		t := time.Now()
		span := tracePublish(ctx, j.trace, len(j.outgoing))
		ok := w.pub.publishClaimed(ctx, j.outgoing, p.n, j.rec)
		published(span, ok)
		w.metrics.Publish.Observe(time.Since(t).Seconds())
		if !p.owner() {
			continue // the publish outlasted the lease: the new owner acknowledges
		}
		if !ok && j.rec != 0 {
			// Acknowledged below, so a new owner of the partition would not publish what
			// is left of them (at or below the ack floor): they are this store's to
			// publish, whoever owns the partition by then.
			if err := w.st.Published(nil, p.n, j.rec); err != nil {
				w.log.Warn("outbox: releasing a chunk's unpublished messages", "err", err)
			}
		}
		// A lost ack only means a redelivery that the idempotency record turns into
		// another ack.
		for _, m := range j.acks {
			_ = m.Ack()
		}
		for _, n := range j.naks {
			_ = n.m.NakWithDelay(n.delay)
		}
		p.returnedLast(j.naks)
	}
}

// owner reports whether the loop's lease still holds. When it does not, it stops the
// loop: the partition may be another worker's, which has the chunk's envelopes delivered
// again (they are not acknowledged) and replies to them. The caller keeps the chunk's
// messages from being published (fence).
func (p *partition) owner() bool {
	if p.valid == nil || p.valid() {
		return true
	}
	if !p.fenced.Swap(true) {
		p.w.metrics.Fenced.Inc()
		p.w.log.Warn("the partition's lease is gone: publishing and acknowledging nothing more for it",
			"partition", p.n, "epoch", p.epoch)
	}
	return false
}

// fence puts away a committed chunk whose lease was gone before its publish: neither the
// pump, nor the last flush at shutdown, nor the next start may publish its messages, as
// the partition may be another worker's by now. What it committed stays in this store.
// The messages wait for this store's next take of the partition, which publishes them if
// no one else served the partition in between: its envelopes come again then, and their
// idempotency records make them mere acknowledgements, which answer nothing. With the
// changelog on they stay in the outbox under the chunk's outbox record (unhold), settled
// at the take (Changelog.settle); with it off they leave the outbox and wait in memory
// (hold, Worker.settleFenced).
func (p *partition) fence(j sendJob) {
	if p.w.cl != nil {
		p.unhold(j) // which gives the messages back
		return
	}
	p.hold(j)
}

// hold takes a fenced chunk's messages out of the outbox and keeps them in memory, with
// the lowest stream sequence of the envelopes it acknowledges, for this worker's next
// take of the partition (Worker.settleFenced). Changelog off only.
func (p *partition) hold(j sendJob) {
	if len(j.outgoing) > 0 {
		var low uint64
		for _, m := range j.acks {
			if s := streamSeq(m); s != 0 && (low == 0 || s < low) {
				low = s
			}
		}
		p.w.fencedOut.add(p.n, fencedChunk{outgoing: j.outgoing, low: low})
	}
	// Dropped while still claimed, so that the pump never sees them.
	if err := p.w.st.Published(j.outgoing, p.n, j.rec); err != nil {
		p.w.log.Warn("outbox: dropping a fenced chunk's messages", "err", err)
	}
	p.w.pub.release(j.outgoing, false)
}

// flush waits until every committed chunk is published and acknowledged.
func (p *partition) flush() {
	done := make(chan struct{})
	p.out <- sendJob{done: done}
	<-done
}

// maxPooledBatch is the largest batch buffer Pebble keeps for reuse.
const maxPooledBatch = 1 << 20

// retryDelay is how long an envelope that failed transiently tries times waits before it
// is handled again: 0.5 s, doubling, at most 16 s.
func retryDelay(tries int) time.Duration {
	d := 500 * time.Millisecond
	for i := 1; i < tries && d < 15*time.Second; i++ {
		d *= 2
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
	if _, err := p.commitAndSend(ctx, b, nil, nil, nil, 0); err != nil {
		w.log.Warn("committing expired checkouts; trying again later", "err", err)
		return
	}
	w.metrics.Expired.Add(float64(expired))
}
