package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/store"
)

// partHealth is what Ready knows of one partition, written by its loop (moved) and by
// the sampler (pending, pendingSince), read by /readyz. Times are Unix nanoseconds.
type partHealth struct {
	// moved is when the partition last committed a chunk, or last came back from a pull
	// with nothing to deliver: either way its loop is not held up.
	moved atomic.Int64
	// pending is the consumer's pending plus ack-pending count at the last sample; -1 when
	// the sample failed (unknown).
	pending atomic.Int64
	// pendingSince is when the samples started to see work pending without a break (0:
	// none, or unknown). A partition idle for an hour is not stuck the moment an envelope
	// arrives.
	pendingSince atomic.Int64
}

// progressed records that partition n's loop moved (see partHealth.moved).
func (w *Worker) progressed(n int) {
	if n < len(w.health) {
		w.health[n].moved.Store(time.Now().UnixNano())
	}
}

// stuck describes the partitions with work pending that have not moved for longer than
// the ack wait, or returns "". By then JetStream delivers their envelopes again, to
// nobody: a loop held up that long (a provider that ignores its deadline, a commit or a
// publish that does not return) serves none of its contexts.
func (w *Worker) stuck(now time.Time) string {
	var parts []string
	for i := range w.health {
		if w.owned[i].Load() == 0 {
			continue // another worker's, or nobody's yet: not this worker's to serve
		}
		h := &w.health[i]
		pending, since := h.pending.Load(), h.pendingSince.Load()
		if pending <= 0 || since == 0 {
			continue
		}
		idle := now.Sub(time.Unix(0, max(since, h.moved.Load())))
		if idle > w.cfg.Batch.AckWait {
			parts = append(parts, fmt.Sprintf("partition %d stuck: %d envelopes pending, no progress for %s",
				i, pending, idle.Round(time.Second)))
		}
	}
	return strings.Join(parts, "; ")
}

// Live reports why the process should be restarted, or nil: the store does not answer a
// read. (Partition loops start and end as the group moves partitions.) It does not ask NATS: a
// NATS outage is for readiness to report (Ready); restarting a worker that waits for its
// server helps nothing and loses its place in the outbox pump.
func (w *Worker) Live() error {
	done := make(chan error, 1)
	go func() {
		_, err := w.st.Committed(0)
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("the store does not answer a read: %w", err)
		}
		return nil
	case <-time.After(liveReadTimeout):
		// The read goes on in the background; a store that hangs is what this reports.
		return fmt.Errorf("the store did not answer a read within %s", liveReadTimeout)
	}
}

const liveReadTimeout = 2 * time.Second

// sampleEvery is how often the sampler reads the consumers and the outbox: often enough
// for readiness to notice a stuck partition within the ack wait or so, and a few
// JetStream API requests per partition at most every few seconds.
func (w *Worker) sampleEvery() time.Duration {
	return min(5*time.Second, max(w.cfg.Batch.AckWait/2, 250*time.Millisecond))
}

// sample keeps the gauges that are read from outside the loops (consumer lag, the oldest
// unacknowledged envelope, NATS's connection, the outbox) and readiness's view of the
// partitions up to date, every sampleEvery, until ctx ends.
func (w *Worker) sample(ctx context.Context) {
	t := time.NewTicker(w.sampleEvery())
	defer t.Stop()
	var age outboxAge
	for {
		w.sampleOnce(ctx, &age)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Worker) sampleOnce(ctx context.Context, age *outboxAge) {
	m := w.metrics
	now := time.Now()
	if st, err := w.st.Outbox(); err == nil {
		m.Outbox.Set(float64(st.Messages))
		m.OutboxAge.Set(age.observe(st, now).Seconds())
	} else if ctx.Err() == nil {
		w.log.Warn("reading the outbox's size", "err", err)
	}
	if n, err := w.st.SetAsideCount(); err == nil {
		m.SetAside.Set(float64(n))
	}
	connected := w.nc.IsConnected()
	m.NATSConnected.Set(b2f(connected))
	for i := range w.health {
		h := &w.health[i]
		label := strconv.Itoa(i)
		if w.owned[i].Load() != 0 {
			m.LeaseAge.WithLabelValues(label).Set(now.Sub(time.Unix(0, w.acquired[i].Load())).Seconds())
		}
		pending, ackPending, oldest, err := w.lag(ctx, i, now)
		if !connected || err != nil {
			// Unknown: neither ready nor stuck on what an old sample said. A reconnect
			// starts the count again.
			h.pending.Store(-1)
			h.pendingSince.Store(0)
			continue
		}
		m.Pending.WithLabelValues(label).Set(float64(pending))
		m.AckPending.WithLabelValues(label).Set(float64(ackPending))
		m.OldestUnacked.WithLabelValues(label).Set(oldest.Seconds())
		h.pending.Store(int64(pending + ackPending))
		switch {
		case pending+ackPending == 0:
			h.pendingSince.Store(0)
		case h.pendingSince.Load() == 0:
			h.pendingSince.Store(now.UnixNano())
		}
	}
}

// lag reads partition p's consumer: envelopes not yet delivered, delivered and not yet
// acknowledged, and the age of the first envelope above its ack floor.
func (w *Worker) lag(ctx context.Context, p int, now time.Time) (pending, ackPending uint64, oldest time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.sampleEvery())
	defer cancel()
	cons, err := w.stream.Consumer(ctx, w.topo.ConsumerName(p))
	if err != nil {
		return 0, 0, 0, err
	}
	info := cons.CachedInfo()
	pending, ackPending = info.NumPending, uint64(info.NumAckPending)
	if pending+ackPending == 0 {
		return 0, 0, 0, nil
	}
	msg, err := w.stream.GetMsg(ctx, info.AckFloor.Stream+1, jetstream.WithGetMsgSubject(w.topo.PartitionSubject(p)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return pending, ackPending, 0, nil // acknowledged in between
	}
	if err != nil {
		return 0, 0, 0, err
	}
	return pending, ackPending, max(now.Sub(msg.Time), 0), nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// outboxAge tells how long the outbox's oldest message has waited, from the samples: the
// outbox keeps no time per message, but its sequences grow, so the oldest message was
// there at the first sample that saw a sequence at least as high. The age is a lower
// bound, short by at most one sampling interval.
type outboxAge struct {
	seen []outboxSeen
}

type outboxSeen struct {
	newest uint64
	at     time.Time
}

// maxOutboxSeen bounds the samples kept through a long outage: past it every other one
// goes, which only makes the age coarser (never older than it is).
const maxOutboxSeen = 512

func (a *outboxAge) observe(st store.OutboxStats, now time.Time) time.Duration {
	if st.Messages == 0 {
		a.seen = a.seen[:0]
		return 0
	}
	i := 0
	for i < len(a.seen) && a.seen[i].newest < st.Oldest {
		i++ // everything that sample saw is published
	}
	a.seen = append(a.seen[:0], a.seen[i:]...)
	if len(a.seen) >= maxOutboxSeen {
		kept := a.seen[:1]
		for j := 2; j < len(a.seen); j += 2 {
			kept = append(kept, a.seen[j])
		}
		a.seen = kept
	}
	a.seen = append(a.seen, outboxSeen{newest: st.Newest, at: now})
	return now.Sub(a.seen[0].at)
}
