package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// consumer opens partition p's durable consumer, or creates it when it does not exist.
// An existing consumer keeps the position it delivers from (JetStream refuses to change
// it, and it is the truth about what was acknowledged). A missing one starts after
// committed, the partition's watermark in the store: never from the start of A2A_IN,
// whose older envelopes may have lost their idempotency records. Only a store that has
// committed nothing of the partition (committed 0) starts at the beginning: the first
// start against a stream that agents wrote to before any worker ran.
func (w *Worker) consumer(ctx context.Context, p int, committed uint64) (jetstream.Consumer, error) {
	cc := w.topo.ConsumerConfig(p, w.cfg.Batch.AckWait, max(4*w.cfg.Batch.Size, 10000))
	cons, err := w.stream.Consumer(ctx, cc.Durable)
	if err == nil {
		have := cons.CachedInfo().Config
		cc.DeliverPolicy, cc.OptStartSeq, cc.OptStartTime = have.DeliverPolicy, have.OptStartSeq, have.OptStartTime
		if cons, err = w.stream.UpdateConsumer(ctx, cc); err != nil {
			return nil, fmt.Errorf("bus: consumer %s: %w", cc.Durable, err)
		}
		return cons, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("bus: consumer %s: %w", cc.Durable, err)
	}
	if committed > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, committed+1
		w.log.Info("creating the partition's consumer after what this store committed",
			"partition", p, "consumer", cc.Durable, "start_seq", cc.OptStartSeq)
	} else if info := w.stream.CachedInfo(); info.State.Msgs > 0 {
		w.log.Warn("creating the partition's consumer from the start of the stream: this store has "+
			"committed nothing of the partition (see docs/contract.md, Operator notes)",
			"partition", p, "consumer", cc.Durable, "stream_msgs", info.State.Msgs)
	}
	cons, err = w.stream.CreateConsumer(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("bus: consumer %s: %w", cc.Durable, err)
	}
	return cons, nil
}

// consumersLost counts the partitions without a consumer.
func (w *Worker) consumersLost() int {
	n := 0
	for i := range w.lost {
		if w.lost[i].Load() {
			n++
		}
	}
	return n
}

// gone reports whether err from a fetch or a rewind means the consumer may not exist:
// deleted with a pull open (409), no such consumer for an API call, nobody answering
// the pull request (the consumer's subscription is gone), or a reset that nobody
// answered in time (what resetting a missing consumer gets).
func gone(err error) bool {
	return errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded)
}

// replaceLost finds out whether the partition's consumer still exists after err, and when it
// does not, says so (ERROR, the metric, Ready) and creates it again after the watermark.
// It returns once the partition has a consumer again (true), or err did not mean a lost
// consumer (false), or ctx ended.
//
// REQUIRES: no fetch of this partition is open.
func (p *partition) replaceLost(ctx context.Context, err error) bool {
	w := p.w
	if !gone(err) {
		return false
	}
	name := p.cons.CachedInfo().Name
	if _, ierr := w.stream.Consumer(ctx, name); !errors.Is(ierr, jetstream.ErrConsumerNotFound) {
		return false // it is there (or NATS cannot say): the caller retries as for any error
	}
	w.lost[p.n].Store(true)
	defer w.lost[p.n].Store(false)
	w.metrics.ConsumerLost.WithLabelValues(fmt.Sprint(p.n)).Inc()
	w.log.Error("the partition's durable consumer has vanished: the partition is not served "+
		"until it is created again", "partition", p.n, "consumer", name, "err", err)
	// What the sender still acknowledges belongs to the old consumer: let it finish first.
	// Its returns need no waiting for either (takeReturns): that consumer is gone, and one
	// sent again would reach the new one, which has the same name.
	p.flush()
	p.returned.Store(nil)
	for ctx.Err() == nil {
		// The durable watermark, not p.mark.at: that one runs ahead of a failed commit.
		// Nor below the ack floor the consumer had when this loop opened it: in a group,
		// this store's watermark of a partition another worker served since is stale, and
		// everything up to that floor was applied and acknowledged (by whichever owner),
		// while this store may lack the idempotency records that would make it a replay.
		committed, err := w.st.Committed(p.n)
		committed = max(committed, p.floor)
		if err != nil {
			w.log.Error("reading the partition's watermark", "partition", p.n, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		cons, err := w.consumer(ctx, p.n, committed)
		if err == nil {
			p.cons, p.gen, p.next = cons, w.gen.Load(), 1
			clear(p.blocked)
			w.log.Warn("the partition's consumer is back", "partition", p.n, "consumer", name,
				"delivers_from", cons.CachedInfo().Config.OptStartSeq)
			return true
		}
		// The ERROR above said it; /readyz keeps saying it while this goes on.
		w.log.Warn("creating the partition's consumer again; retrying", "partition", p.n, "err", err)
		sleep(ctx, time.Second)
	}
	return true
}

// sweepCutoff is how far the sweep may go: records older than the retention, and only
// of envelopes no consumer can deliver again. For each partition that is everything
// before the first envelope above its consumer's ack floor: committed but not yet
// acknowledged, returned for a retry, or not yet delivered, such an envelope comes back
// and needs its record (if it has one) to be a replay rather than a second application.
// Records are found by time (store/sweep.go), and a record's time is its envelope's
// stream timestamp, so the bound is that envelope's timestamp. When a partition's floor
// cannot be read, nothing is swept this time.
func (w *Worker) sweepCutoff(ctx context.Context) (time.Time, error) {
	cutoff := time.Now().Add(-w.cfg.IdempotencyRetention)
	for p := 0; p < int(w.partitions.Load()); p++ {
		cons, err := w.stream.Consumer(ctx, w.topo.ConsumerName(p))
		if err != nil {
			return time.Time{}, fmt.Errorf("partition %d: %w", p, err)
		}
		floor := cons.CachedInfo().AckFloor.Stream
		m, err := w.stream.GetMsg(ctx, floor+1, jetstream.WithGetMsgSubject(w.topo.PartitionSubject(p)))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // everything of the partition is acknowledged
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("partition %d: %w", p, err)
		}
		// A margin for a stream clock that stepped back: timestamps then do not follow
		// sequences exactly.
		if t := m.Time.Add(-time.Minute); t.Before(cutoff) {
			cutoff = t
		}
	}
	return cutoff, nil
}

// mark keeps a partition's watermark: the stream sequence up to which every envelope of
// the partition has its outcome committed. It is written in the batch of the chunk that
// moves it (store.Batch.SetCommitted).
type mark struct {
	at uint64
	// waiting holds envelopes returned to JetStream for a retry: committed later chunks
	// must not carry the watermark past them, or a consumer created again after it would
	// never deliver them.
	waiting map[uint64]struct{}
}

// advance returns the watermark to commit with a chunk of the envelopes at stream
// sequences seqs, of which those at held were returned to JetStream or put off (0: it does
// not move).
//
// INVARIANT: a chunk whose commit fails is followed by a rewind, which delivers again
// everything above the ack floor in order, so an envelope this call took off waiting for
// that chunk comes back before any later chunk can move the watermark past it.
func (k *mark) advance(seqs, held []uint64) uint64 {
	if k.waiting == nil {
		k.waiting = map[uint64]struct{}{}
	}
	var returned map[uint64]bool
	if len(held) > 0 {
		returned = make(map[uint64]bool, len(held))
	}
	for _, seq := range held {
		if seq > 0 {
			k.waiting[seq] = struct{}{}
			returned[seq] = true
		}
	}
	hi := uint64(0)
	for _, seq := range seqs {
		hi = max(hi, seq)
		if !returned[seq] {
			delete(k.waiting, seq)
		}
	}
	for seq := range k.waiting {
		if seq <= hi {
			hi = seq - 1
		}
	}
	if hi <= k.at {
		return 0
	}
	k.at = hi
	return hi
}

func streamSeq(m jetstream.Msg) uint64 {
	meta, err := m.Metadata()
	if err != nil {
		return 0
	}
	return meta.Sequence.Stream
}
