package bus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// pubAcks publishes messages to JetStream and collects the acknowledgements of each
// group of them, as jetstream's PublishMsgAsync does, with less per message: a message
// goes out with a reply subject of one inbox (its token at the end), and the inbox's
// subscription hands each acknowledgement to the group that waits for it. nats.go's async
// publish gave every message a future with two channels, its options, a map entry under
// a random token, and decoded every acknowledgement with encoding/json: about 8 % of
// what the bench's process allocated (docs/performance.md, "What changed"). Here a successful
// acknowledgement is told by its first bytes (nats-server writes `{"stream":` first), and
// only anything else is decoded.
//
// As nats.go does, a reconnection fails the acknowledgements still awaited
// (nats.ErrDisconnected): the server may have stored the messages or not, and the caller
// publishes them again with the same Nats-Msg-Id, which JetStream's duplicate window
// drops if they were. Nothing here caps how many are awaited: the callers do (a
// partition publishes one chunk at a time, the outbox pump a page).
type pubAcks struct {
	nc *nats.Conn

	mu      sync.Mutex
	sub     *nats.Subscription // nil until the first publish (or while it cannot be made)
	prefix  string             // the inbox and a dot; a token follows
	next    uint64
	waiting map[uint64]ackWaiter
}

// ackWaiter is where an acknowledgement goes: the i-th message of group g.
type ackWaiter struct {
	g *ackGroup
	i int
}

// ackGroup is the acknowledgements of one publish call's messages.
type ackGroup struct {
	done chan struct{} // closed once sealed and nothing of it is awaited
	// Under pubAcks.mu: errs[i] is message i's outcome once got[i]; left counts the
	// messages still awaited; sealed: no more are published in the group.
	errs   []error
	got    []bool
	left   int
	sealed bool
}

func newPubAcks(nc *nats.Conn) *pubAcks {
	return &pubAcks{nc: nc, waiting: map[uint64]ackWaiter{}}
}

// subscribe subscribes to the inbox, and has what is awaited fail at each reconnection.
// REQUIRES: a.mu held, a.sub nil.
func (a *pubAcks) subscribe() error {
	prefix := a.nc.NewInbox() + "." // under the connection's inbox prefix, if it has one
	sub, err := a.nc.Subscribe(prefix+"*", a.got)
	if err != nil {
		return fmt.Errorf("publish: acknowledgement inbox: %w", err)
	}
	// Acknowledgements are small and must not be dropped as a slow consumer's: one lost
	// costs the wait for it.
	_ = sub.SetPendingLimits(-1, -1)
	a.sub, a.prefix = sub, prefix
	status := a.nc.StatusChanged(nats.RECONNECTING, nats.CLOSED)
	go func() {
		for s := range status {
			a.failAll(nats.ErrDisconnected)
			if s == nats.CLOSED {
				return
			}
		}
	}()
	return nil
}

// newGroup starts a group of n messages.
func newGroup(n int) *ackGroup {
	return &ackGroup{done: make(chan struct{}), errs: make([]error, n), got: make([]bool, n)}
}

// publish sends m as message i of g, and counts it as awaited.
func (a *pubAcks) publish(g *ackGroup, i int, m *nats.Msg) error {
	a.mu.Lock()
	if a.sub == nil {
		if err := a.subscribe(); err != nil {
			a.mu.Unlock()
			return err
		}
	}
	a.next++
	tok := a.next
	a.waiting[tok] = ackWaiter{g, i}
	g.left++
	m.Reply = a.prefix + strconv.FormatUint(tok, 36)
	a.mu.Unlock()
	if err := a.nc.PublishMsg(m); err != nil {
		a.mu.Lock()
		if _, ok := a.waiting[tok]; ok {
			delete(a.waiting, tok)
			g.left--
		}
		a.mu.Unlock()
		return err
	}
	return nil
}

// seal ends g: no more is published in it, and its done channel closes once nothing of
// it is awaited.
func (a *pubAcks) seal(g *ackGroup) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g.sealed = true
	if g.left == 0 {
		close(g.done)
	}
}

// answered notes that one of g's awaited messages has its outcome.
// REQUIRES: a.mu held.
func (g *ackGroup) answered() {
	if g.left--; g.left == 0 && g.sealed {
		close(g.done)
	}
}

// got takes an acknowledgement.
func (a *pubAcks) got(m *nats.Msg) {
	res := ackError(m)
	a.mu.Lock()
	defer a.mu.Unlock()
	tok, err := strconv.ParseUint(m.Subject[min(len(a.prefix), len(m.Subject)):], 36, 64)
	if err != nil {
		return
	}
	w, ok := a.waiting[tok]
	if !ok {
		return // given up on (a timeout, a reconnection)
	}
	delete(a.waiting, tok)
	w.g.errs[w.i], w.g.got[w.i] = res, true
	w.g.answered()
}

// failAll ends every awaited acknowledgement with err.
func (a *pubAcks) failAll(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for tok, w := range a.waiting {
		delete(a.waiting, tok)
		w.g.errs[w.i], w.g.got[w.i] = err, true
		w.g.answered()
	}
}

// abandon stops waiting for what of g is still awaited: once it returns, nothing writes
// g.got or g.errs any more, and the caller reads them as they are.
func (a *pubAcks) abandon(g *ackGroup) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if g.left > 0 {
		for tok, w := range a.waiting {
			if w.g == g {
				delete(a.waiting, tok)
			}
		}
		g.left = 0
	}
}

// ackPrefix is how nats-server writes a successful publish acknowledgement
// (JSPubAckResponse: its error field first, left out when there is none, then the stream).
var ackPrefix = []byte(`{"stream":`)

// ackError is what the acknowledgement m says of its message: nil when JetStream stored it
// (or had it already), jetstream.ErrNoStreamResponse when no stream took it, the server's
// *jetstream.APIError when it refused it.
func ackError(m *nats.Msg) error {
	if bytes.HasPrefix(m.Data, ackPrefix) {
		return nil
	}
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		return jetstream.ErrNoStreamResponse
	}
	var resp struct {
		Error  *jetstream.APIError `json:"error"`
		Stream string              `json:"stream"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, m.Data)
	}
	if resp.Error != nil {
		return resp.Error
	}
	if resp.Stream == "" {
		return fmt.Errorf("%w: %q", jetstream.ErrInvalidJSAck, m.Data)
	}
	return nil
}
