package bus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/store"
)

// publisher publishes outbox messages and removes them from the outbox once JetStream
// (or, for core subjects, the server) has them.
type publisher struct {
	nc      *nats.Conn
	acks    *pubAcks
	st      *store.Store
	timeout time.Duration
	log     *slog.Logger
	// setAsideTotal counts what was set aside (nil: not counted).
	setAsideTotal prometheus.Counter

	// owns, when set (the changelog on), says whether this worker owns a partition: the
	// messages of another partition's chunks wait (store.HeldOutbox).
	owns func(p int) bool

	// flushing makes one flushOutbox run at a time: two would read the same entries.
	flushing sync.Mutex

	mu       sync.Mutex
	inflight map[string]struct{} // outbox keys a partition loop is publishing right now
	dirty    bool                // a publish failed: the pump has work
}

func newPublisher(nc *nats.Conn, st *store.Store, log *slog.Logger) *publisher {
	return &publisher{nc: nc, acks: newPubAcks(nc), st: st, timeout: 10 * time.Second, log: log, inflight: map[string]struct{}{}}
}

// claim marks msgs as being published by the caller, so that the pump leaves them alone.
// REQUIRES: called before the batch holding msgs is committed.
func (p *publisher) claim(msgs []store.Outgoing) {
	p.mu.Lock()
	for _, m := range msgs {
		p.inflight[string(m.Key)] = struct{}{}
	}
	p.mu.Unlock()
}

func (p *publisher) release(msgs []store.Outgoing, failed bool) {
	p.mu.Lock()
	for _, m := range msgs {
		delete(p.inflight, string(m.Key))
	}
	if failed {
		p.dirty = true
	}
	p.mu.Unlock()
}

// publishClaimed publishes msgs claimed by the caller and releases them. What could not
// be published stays in the outbox for the pump, but for what can never be (see
// setAside). Once all are published, the outbox record id of partition part that lists
// them goes too (store.Published). It reports whether all were published or set aside.
func (p *publisher) publishClaimed(ctx context.Context, msgs []store.Outgoing, part int, id uint64) bool {
	done, refused, err := p.publish(ctx, msgs)
	if err != nil {
		p.log.Warn("publish failed; the outbox keeps it for later", "messages", len(msgs)-len(done)-len(refused), "err", err)
	}
	if len(done)+len(refused) != len(msgs) {
		id = 0 // the pump publishes the rest; the record stays until the next take
	}
	if derr := p.st.Published(done, part, id); derr != nil {
		p.log.Warn("outbox: removing published messages", "err", derr)
	}
	if serr := p.setAside(refused); serr != nil {
		p.log.Warn("outbox: setting aside what can never be published", "err", serr)
		err = cmp.Or(err, serr)
	}
	p.release(msgs, err != nil)
	return err == nil
}

// setAside moves what the server refused for good out of the outbox, so that retrying it
// never holds up the pump nor the next start.
func (p *publisher) setAside(refused []store.Aside) error {
	if len(refused) == 0 {
		return nil
	}
	for _, a := range refused {
		p.log.Error("outbox: a message can never be published; set aside (list with `cartwright outbox set-aside`)",
			"subject", a.Msg.Subject, "outbox_key", fmt.Sprintf("%x", a.Msg.Key), "bytes", len(a.Msg.Data), "err", a.Reason)
	}
	if err := p.st.MoveAside(refused); err != nil {
		return err
	}
	if p.setAsideTotal != nil {
		p.setAsideTotal.Add(float64(len(refused)))
	}
	return nil
}

// refusedForGood reports whether err is the server refusing the message itself, which
// no retry changes: over the connection's max payload, or over a stream's max message
// size. Network errors and timeouts are not.
func refusedForGood(err error) bool {
	if errors.Is(err, nats.ErrMaxPayload) {
		return true
	}
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}

// publish sends msgs and waits for JetStream's acknowledgements. It returns those that
// were published (msgs itself when all were, as is usual: nothing is copied then) and
// those the server refused for good (refusedForGood); the error says why the others were
// not.
func (p *publisher) publish(ctx context.Context, msgs []store.Outgoing) (done []store.Outgoing, refused []store.Aside, err error) {
	if len(msgs) == 0 {
		return nil, nil, nil
	}
	// published[i] says msgs[i] is; one allocation for the chunk, and one for its
	// nats.Msgs, rather than one of each per message.
	published := make([]bool, len(msgs))
	g := newGroup(len(msgs))
	stored := make([]int, 0, len(msgs)) // sent to JetStream, to be acknowledged
	nms := make([]nats.Msg, len(msgs))
	var firstErr error
	failed := func(m store.Outgoing, err error) {
		if refusedForGood(err) {
			refused = append(refused, store.Aside{Msg: m, At: time.Now(), Reason: err.Error()})
		} else if firstErr == nil {
			firstErr = fmt.Errorf("publish %s: %w", m.Subject, err)
		}
	}
	var core []int // sent, to be flushed
	for i, m := range msgs {
		nm := &nms[i]
		nm.Subject, nm.Data, nm.Header = m.Subject, m.Data, nats.Header(m.Header)
		if m.Core {
			if err := p.nc.PublishMsg(nm); err != nil {
				failed(m, err)
				continue
			}
			core = append(core, i)
			continue
		}
		if err := p.acks.publish(g, i, nm); err != nil {
			failed(m, err)
			continue
		}
		stored = append(stored, i)
	}
	p.acks.seal(g)
	if len(core) > 0 {
		if err := p.nc.FlushTimeout(p.timeout); err != nil && firstErr == nil {
			firstErr = err
		}
		if firstErr == nil {
			for _, i := range core {
				published[i] = true
			}
		}
	}
	err = p.await(ctx, msgs, g, stored, published, failed)
	return publishedOf(msgs, published), refused, cmp.Or(firstErr, err)
}

// await waits for the acknowledgements of g, the messages of msgs at stored, marks what
// they publish in published and hands what failed to failed. It returns an error when an
// acknowledgement did not come in time.
func (p *publisher) await(ctx context.Context, msgs []store.Outgoing, g *ackGroup, stored []int, published []bool,
	failed func(store.Outgoing, error)) error {
	if len(stored) == 0 {
		return nil
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	late := false
	select {
	case <-g.done:
	case <-timer.C:
		late = true
	case <-ctx.Done():
		// Shutting down: still wait for acks already on their way, within the timer.
		select {
		case <-g.done:
		case <-timer.C:
			late = true
		}
	}
	if late {
		p.acks.abandon(g)
	}
	for _, i := range stored {
		switch {
		case !g.got[i]: // not acknowledged in time: the outbox keeps it
		case g.errs[i] == nil:
			published[i] = true
		default:
			failed(msgs[i], g.errs[i])
		}
	}
	if late {
		return fmt.Errorf("publish: no acknowledgement within %s", p.timeout)
	}
	return nil
}

// publishedOf returns the messages of msgs marked in published: msgs itself when all are.
func publishedOf(msgs []store.Outgoing, published []bool) []store.Outgoing {
	n := 0
	for _, ok := range published {
		if ok {
			n++
		}
	}
	if n == len(msgs) {
		return msgs
	}
	done := make([]store.Outgoing, 0, n)
	for i, ok := range published {
		if ok {
			done = append(done, msgs[i])
		}
	}
	return done
}

// flushPage is how many outbox entries flushOutbox reads at a time, under the lock that
// claim waits for.
const flushPage = 1000

// flushOutbox publishes everything in the outbox that no partition loop is publishing
// and no chunk still pending in the changelog holds (HeldOutbox: they go once the chunk
// is written, at the next take of its partition, or never if it cannot be): at
// start-up, what a previous run committed but did not publish; later, what failed.
// What the server refuses for good is set aside instead (see setAside).
func (p *publisher) flushOutbox(ctx context.Context) (int, error) {
	p.flushing.Lock()
	defer p.flushing.Unlock()
	p.mu.Lock()
	p.dirty = false
	p.mu.Unlock()
	n := 0
	var after []byte
	for {
		// INVARIANT: a message is either still in flight (skipped) or gone from the outbox
		// (not read). Reading each page under the lock orders it against release, which a
		// loop calls only after removing what it published; a loop claims before it
		// commits, so an entry committed after an earlier page was read, wherever it falls
		// in the key order, is in flight when a later page reads it, or published by its
		// loop, or marked dirty for the next flush.
		p.mu.Lock()
		page, next, err := p.st.PendingPage(after, flushPage)
		if err != nil {
			p.dirty = true
			p.mu.Unlock()
			return n, err
		}
		// Read after the page: a message of the page whose chunk is still pending in
		// the changelog (store.HoldChanges) is held here.
		held, err := p.st.HeldOutbox(p.owns)
		if err != nil {
			p.dirty = true
			p.mu.Unlock()
			return n, err
		}
		msgs := page[:0]
		for _, m := range page {
			_, busy := p.inflight[string(m.Key)]
			_, wait := held[string(m.Key)]
			if !busy && !wait {
				msgs = append(msgs, m)
			}
		}
		p.mu.Unlock()
		done, refused, err := p.publish(ctx, msgs)
		n += len(done)
		if derr := p.st.Done(done); derr != nil {
			return n, derr
		}
		if serr := p.setAside(refused); serr != nil {
			err = cmp.Or(err, serr)
		}
		if err != nil {
			p.mu.Lock()
			p.dirty = true
			p.mu.Unlock()
			return n, err
		}
		if next == nil {
			return n, nil
		}
		after = next
	}
}

func (p *publisher) isDirty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dirty
}
