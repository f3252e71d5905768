package bench

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// benchProgress reports a long phase on stderr every few seconds.
type benchProgress struct {
	w     io.Writer
	name  string
	total int
	start time.Time
	done  atomic.Int64
	stop  chan struct{}
	ended chan struct{}
}

func startProgress(w io.Writer, name string, total int) *benchProgress {
	p := &benchProgress{w: w, name: name, total: total, start: time.Now(), stop: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(p.ended)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				n := p.done.Load()
				fmt.Fprintf(p.w, "bench: %s: %d of %d (%.0f/s)\n", p.name, n, p.total, float64(n)/time.Since(p.start).Seconds())
			}
		}
	}()
	return p
}

func (p *benchProgress) tick(n int) { p.done.Store(int64(n)) }

func (p *benchProgress) end() {
	close(p.stop)
	<-p.ended
}

// benchStall is how long a phase may go without progress before the bench gives up.
const benchStall = 2 * time.Minute

// waitStored polls the stream until it holds want messages and returns when the first
// and the last of them were seen. Polling the stream's state, rather than subscribing to
// the replies, costs the server one request every few milliseconds instead of a second
// delivery of every reply.
func waitStored(ctx context.Context, js jetstream.JetStream, stream string, want uint64, progress *benchProgress) (first, last time.Time, err error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return first, last, err
	}
	var seen uint64
	moved := time.Now()
	for {
		info, err := s.Info(ctx)
		if err != nil {
			return first, last, err
		}
		now := time.Now()
		n := info.State.Msgs
		if n > 0 && first.IsZero() {
			first = now
		}
		if n != seen {
			seen, moved = n, now
			progress.tick(int(n))
		}
		if n >= want {
			return first, now, nil
		}
		if now.Sub(moved) > benchStall {
			return first, last, fmt.Errorf("stream %s stuck at %d of %d messages for %s", stream, n, want, benchStall)
		}
		select {
		case <-ctx.Done():
			return first, last, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitAcked polls the consumers until none has anything pending or unacknowledged, and
// returns when that was seen.
func waitAcked(ctx context.Context, js jetstream.JetStream, stream string, names []string) (time.Time, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return time.Time{}, err
	}
	cons := make([]jetstream.Consumer, len(names))
	for i, n := range names {
		if cons[i], err = s.Consumer(ctx, n); err != nil {
			return time.Time{}, err
		}
	}
	deadline := time.Now().Add(benchStall)
	for {
		busy := ""
		for _, c := range cons {
			info, err := c.Info(ctx)
			if err != nil {
				return time.Time{}, err
			}
			if info.NumAckPending > 0 || info.NumPending > 0 {
				busy = fmt.Sprintf("%s: %d pending, %d unacknowledged", info.Name, info.NumPending, info.NumAckPending)
				break
			}
		}
		if busy == "" {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("consumers not done after %s (%s)", benchStall, busy)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}
