package handlers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// lazyDeadline is context.WithDeadline whose timer is armed only when something waits on
// the context (Done, which deriving a context from it calls too). Every envelope's
// providers run under the handler's envelope timeout, and most envelopes call only
// in-process providers, which never wait on it: arming and stopping a timer per envelope
// was about 1 µs of its CPU and two allocations (docs/performance.md). Err needs no
// timer: past the deadline it says so, as the armed context would.
type lazyDeadline struct {
	parent   context.Context
	deadline time.Time

	once  sync.Once
	state atomic.Int32 // lazyWaiting, lazyArmed or lazyStopped
	armed context.Context
	stopT context.CancelFunc
}

const (
	lazyWaiting = iota // no timer yet
	lazyArmed          // armed holds the context with the timer
	lazyStopped        // canceled before anything waited on it
)

// closedChan is Done's answer once the context was canceled unarmed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// withLazyDeadline returns a context that is done at d, or when parent is; cancel ends
// it (and stops its timer, if it was armed).
func withLazyDeadline(parent context.Context, d time.Time) (*lazyDeadline, context.CancelFunc) {
	c := &lazyDeadline{parent: parent, deadline: d}
	return c, c.stop
}

func (c *lazyDeadline) stop() {
	c.once.Do(func() { c.state.Store(lazyStopped) })
	if c.state.Load() == lazyArmed {
		c.stopT()
	}
}

func (c *lazyDeadline) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *lazyDeadline) Done() <-chan struct{} {
	c.once.Do(func() {
		c.armed, c.stopT = context.WithDeadline(c.parent, c.deadline)
		c.state.Store(lazyArmed)
	})
	if c.state.Load() == lazyArmed {
		return c.armed.Done()
	}
	return closedChan
}

func (c *lazyDeadline) Err() error {
	switch c.state.Load() {
	case lazyArmed:
		return c.armed.Err()
	case lazyStopped:
		if err := c.lapsed(); err != nil {
			return err
		}
		return context.Canceled
	}
	return c.lapsed()
}

// lapsed is the error of an unarmed context: its parent's, or the deadline's once past.
func (c *lazyDeadline) lapsed() error {
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value is the armed context's once there is one, so that context.Cause and the contexts
// derived from it find its cancellation.
func (c *lazyDeadline) Value(key any) any {
	if c.state.Load() == lazyArmed {
		return c.armed.Value(key)
	}
	return c.parent.Value(key)
}
