package bus

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/store"
)

// publisher publishes outbox messages and removes them from the outbox once JetStream
// (or, for core subjects, the server) has them.
type publisher struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	st      *store.Store
	timeout time.Duration
	log     *slog.Logger

	mu       sync.Mutex
	inflight map[string]struct{} // outbox keys a partition loop is publishing right now
	dirty    bool                // a publish failed: the pump has work
}

func newPublisher(nc *nats.Conn, js jetstream.JetStream, st *store.Store, log *slog.Logger) *publisher {
	return &publisher{nc: nc, js: js, st: st, timeout: 10 * time.Second, log: log, inflight: map[string]struct{}{}}
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
// be published stays in the outbox for the pump. It reports whether all were published.
func (p *publisher) publishClaimed(ctx context.Context, msgs []store.Outgoing) bool {
	done, err := p.publish(ctx, msgs)
	if err != nil {
		p.log.Warn("publish failed; the outbox keeps it for later", "messages", len(msgs)-len(done), "err", err)
	}
	if derr := p.st.Done(done); derr != nil {
		p.log.Warn("outbox: removing published messages", "err", derr)
	}
	p.release(msgs, err != nil)
	return err == nil
}

// publish sends msgs and waits for JetStream's acknowledgements. It returns those that
// were published; the error says why the others were not.
func (p *publisher) publish(ctx context.Context, msgs []store.Outgoing) ([]store.Outgoing, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	type pending struct {
		i int
		f jetstream.PubAckFuture
	}
	var futures []pending
	done := make([]store.Outgoing, 0, len(msgs))
	var firstErr error
	core := false
	for i, m := range msgs {
		nm := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header(m.Header)}
		if m.Core {
			if err := p.nc.PublishMsg(nm); err != nil {
				firstErr = err
				continue
			}
			core = true
			continue
		}
		f, err := p.js.PublishMsgAsync(nm)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		futures = append(futures, pending{i, f})
	}
	if core {
		if err := p.nc.FlushTimeout(p.timeout); err != nil && firstErr == nil {
			firstErr = err
		}
		if firstErr == nil {
			for _, m := range msgs {
				if m.Core {
					done = append(done, m)
				}
			}
		}
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	for _, pf := range futures {
		select {
		case <-pf.f.Ok():
			done = append(done, msgs[pf.i])
		case err := <-pf.f.Err():
			if firstErr == nil {
				firstErr = fmt.Errorf("publish %s: %w", msgs[pf.i].Subject, err)
			}
		case <-timer.C:
			if firstErr == nil {
				firstErr = fmt.Errorf("publish: no acknowledgement within %s", p.timeout)
			}
			return done, firstErr
		case <-ctx.Done():
			// Shutting down: still wait for acks already on their way, within the timer.
			select {
			case <-pf.f.Ok():
				done = append(done, msgs[pf.i])
			case <-timer.C:
				return done, fmt.Errorf("publish: no acknowledgement within %s", p.timeout)
			case err := <-pf.f.Err():
				if firstErr == nil {
					firstErr = err
				}
			}
		}
	}
	return done, firstErr
}

// flushOutbox publishes everything in the outbox that no partition loop is publishing:
// at start-up, what a previous run committed but did not publish; later, what failed.
func (p *publisher) flushOutbox(ctx context.Context) (int, error) {
	// Reading the outbox under the lock orders it against release, which a loop calls only
	// after removing what it published: a message is either still in flight (skipped) or
	// gone from the outbox (not read).
	p.mu.Lock()
	all, err := p.st.Pending()
	if err != nil {
		p.mu.Unlock()
		return 0, err
	}
	p.dirty = false
	msgs := all[:0]
	for _, m := range all {
		if _, busy := p.inflight[string(m.Key)]; !busy {
			msgs = append(msgs, m)
		}
	}
	p.mu.Unlock()
	n := 0
	for len(msgs) > 0 {
		chunk := msgs[:min(len(msgs), 1000)]
		msgs = msgs[len(chunk):]
		done, err := p.publish(ctx, chunk)
		n += len(done)
		if derr := p.st.Done(done); derr != nil {
			return n, derr
		}
		if err != nil {
			p.mu.Lock()
			p.dirty = true
			p.mu.Unlock()
			return n, err
		}
	}
	return n, nil
}

func (p *publisher) isDirty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dirty
}
