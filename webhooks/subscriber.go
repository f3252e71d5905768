package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go/jetstream"
)

// subscriber is the Router's message.Subscriber: each subscription pulls one event at a
// time from a durable JetStream consumer and holds it until the Router acks or nacks it.
//
// It stops without losing or stranding an event:
//   - the goroutine that pulls is the only one that sends on, and closes, the channel
//     the Router reads, so a stop never sends on a closed channel;
//   - each pull is a Fetch of one event with a short expiry, whose subscription lives
//     until the server answers it: an event the server hands out as the delivery stops
//     is received and given back (nak), never dropped on the wire to wait out the
//     consumer's ack wait (minutes: the retry budget);
//   - an event handed to the Router is acked or nacked by the Router before the
//     subscription ends (a stop cancels its context: Retry gives up, and the handler's
//     error nacks it), at most closeTimeout after the stop.
type subscriber struct {
	// consumer creates (or finds) the durable consumer of a topic.
	consumer func(ctx context.Context, topic string) (jetstream.Consumer, error)
	// pullWait is how long a pull waits on the server for an event: an idle subscription
	// asks again each pullWait, and a stop waits for the pull in progress (at most this).
	pullWait time.Duration
	// nakDelay is how long an event the Router nacked waits before it is redelivered
	// (none when the delivery is stopping: another worker takes it at once).
	nakDelay time.Duration
	// closeTimeout bounds how long a stopping subscription waits for the Router's
	// answer about the event it holds; past it the event is nacked.
	closeTimeout time.Duration
	log          *slog.Logger

	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	subs    sync.WaitGroup
}

var _ message.Subscriber = (*subscriber)(nil)

// Subscribe starts a subscription to topic; it ends when ctx does or when the
// subscriber is closed, and then closes the channel.
func (s *subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	c, err := s.consumer(ctx, topic)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("webhooks: subscriber closed")
	}
	s.subs.Add(1)
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan *message.Message)
	go func() {
		select {
		case <-s.closing:
		case <-ctx.Done():
		}
		cancel()
	}()
	go func() {
		defer s.subs.Done()
		defer close(out)
		defer cancel()
		for ctx.Err() == nil {
			batch, err := c.Fetch(1, jetstream.FetchMaxWait(s.pullWait))
			if err != nil {
				s.log.Warn("webhooks: pull failed", "topic", topic, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(250 * time.Millisecond):
				}
				continue
			}
			// Read the batch to its end even when stopping: what it brings is nacked.
			for msg := range batch.Messages() {
				s.deliver(ctx, msg, out)
			}
			if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, jetstream.ErrNoMessages) {
				s.log.Debug("webhooks: pull ended", "topic", topic, "err", err)
			}
		}
	}()
	return out, nil
}

// deliver hands msg to the Router on out and answers the server as the Router answers
// it; when ctx ends first, msg is given back.
func (s *subscriber) deliver(ctx context.Context, msg jetstream.Msg, out chan<- *message.Message) {
	m, _ := unmarshaler{}.Unmarshal(msg)
	if ctx.Err() != nil {
		s.nak(msg, 0)
		return
	}
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.SetContext(mctx)
	select {
	case out <- m:
	case <-ctx.Done():
		s.nak(msg, 0)
		return
	}
	stopping := ctx.Done()
	var expired <-chan time.Time
	for {
		select {
		case <-m.Acked():
			actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer acancel()
			if err := msg.DoubleAck(actx); err != nil {
				// Redelivered after the ack wait: at least once.
				s.log.Warn("webhooks: ack failed", "event", m.UUID, "err", err)
			}
			return
		case <-m.Nacked():
			if ctx.Err() != nil {
				s.nak(msg, 0)
			} else {
				s.nak(msg, s.nakDelay)
			}
			return
		case <-stopping:
			stopping = nil
			t := time.NewTimer(s.closeTimeout)
			defer t.Stop()
			expired = t.C
		case <-expired:
			s.log.Warn("webhooks: the delivery of an event outlived the stop; given back", "event", m.UUID)
			s.nak(msg, 0)
			return
		}
	}
}

func (s *subscriber) nak(msg jetstream.Msg, delay time.Duration) {
	var err error
	if delay > 0 {
		err = msg.NakWithDelay(delay)
	} else {
		err = msg.Nak()
	}
	if err != nil {
		s.log.Warn("webhooks: nak failed", "err", err)
	}
}

// Close ends every subscription and waits for them: when it returns, each event they
// held has been acked or given back.
func (s *subscriber) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
	s.mu.Unlock()
	s.subs.Wait()
	return nil
}
