package group

import "sync"

// EventKind says what happened to a lease.
type EventKind int

const (
	// Acquired: the member holds the lease. Restore the partition's state, then start
	// its loop with a Fence on the lease.
	Acquired EventKind = iota + 1
	// Releasing: the partition is to move to another member. Stop its loop, flush what
	// it committed, then call Event.Done; the lease stays valid until then, or until
	// Config.ReleaseTimeout.
	Releasing
	// Lost: the lease is gone without a hand-over (not renewed in time, taken over, or
	// the member stopped). Its Fence already fails; stop the loop and throw away what
	// it has not published.
	Lost
)

func (k EventKind) String() string {
	switch k {
	case Acquired:
		return "acquired"
	case Releasing:
		return "releasing"
	case Lost:
		return "lost"
	}
	return "unknown"
}

// Event is a change of one lease.
type Event struct {
	Kind EventKind
	Lease
	m *Member
}

// Done confirms a Releasing event: the partition's loop has stopped and flushed, so the
// member may release the lease now rather than at Config.ReleaseTimeout. It does nothing
// for other kinds and may be called more than once.
func (e Event) Done() {
	if e.Kind != Releasing || e.m == nil {
		return
	}
	select {
	case e.m.acks <- e.Lease:
	case <-e.m.stopped:
	}
}

// queue holds events until the caller reads them, so that a slow reader never delays a
// renewal.
type queue struct {
	mu     sync.Mutex
	items  []Event
	closed bool
	wake   chan struct{}
	out    chan Event
	once   sync.Once
}

func newQueue() *queue {
	return &queue{wake: make(chan struct{}, 1), out: make(chan Event)}
}

func (q *queue) push(e Event) {
	q.mu.Lock()
	q.items = append(q.items, e)
	q.mu.Unlock()
	q.signal()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// channel starts delivering on first use, so a member nobody reads events from holds
// only its queue, not a goroutine blocked forever.
func (q *queue) channel() <-chan Event {
	q.once.Do(func() { go q.pump() })
	return q.out
}

func (q *queue) pump() {
	for {
		q.mu.Lock()
		if len(q.items) == 0 {
			closed := q.closed
			q.mu.Unlock()
			if closed {
				close(q.out)
				return
			}
			<-q.wake
			continue
		}
		e := q.items[0]
		q.items = q.items[1:]
		q.mu.Unlock()
		q.out <- e
	}
}
