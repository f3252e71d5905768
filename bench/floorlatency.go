package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The skeleton's latency: the fair floor served as the worker serves, at the rate of the
// worker's half-load phase, in the same run. cartwright's p99 at half load is judged
// against what the skeleton reaches on the same machine at the same rate: when the floor
// itself is over a budget, the budget is out of reach of any worker that does what the
// contract forces.

// skeletonLatency starts the skeleton on new consumers of its inbound stream (envelopes
// published from now on) that handle what has arrived as the worker's partitions do, in
// chunks of whatever came while the previous chunk was through, and times the steady mix
// at rate through it, publish → stored reply.
func (r *benchRun) skeletonLatency(ctx context.Context, sk *skeleton, rate float64) (*Latency, error) {
	pjs, err := jetstream.New(sk.nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		return nil, err
	}
	sk.runs++
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errs := make([]error, sk.topo.Partitions)
	for p := range sk.topo.Partitions {
		cc := sk.topo.ConsumerConfig(p, sk.ackWait, sk.maxAckPending)
		cc.Durable = fmt.Sprintf("skeleton%d-p%03d", sk.runs, p)
		cc.Description = fmt.Sprintf("cartwright bench: skeleton latency, partition %d of %d", p, sk.topo.Partitions)
		cc.DeliverPolicy = jetstream.DeliverNewPolicy
		cons, err := sk.in.CreateOrUpdateConsumer(ctx, cc)
		if err != nil {
			return nil, err
		}
		defer sk.in.DeleteConsumer(context.WithoutCancel(ctx), cc.Durable)
		fp := sk.partition(cons, pjs, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[p] = fp.serve(sctx); errs[p] != nil {
				stop()
			}
		}()
	}
	n := max(StepsPerContext, r.o.LatencyN)
	mix := newSteadyMix(sk.topo.Prefix, r.tenant, 'k', n/StepsPerContext, r.items, rate)
	name := "skeleton: latency at half load"
	r.say("%s: %d envelopes of fresh contexts at %.0f/s", name, mix.Len(), rate)
	prog := startProgress(r.errw, name+" (replies received)", mix.Len())
	lat, err := measureLatency(sctx, r.ac, r.pub, mix, sk.topo.Prefix, rate, prog, nil)
	prog.end()
	stop()
	wg.Wait()
	if serr := errors.Join(errs...); serr != nil {
		return nil, fmt.Errorf("%s: %w", name, serr)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return lat, nil
}

// serve handles the partition's envelopes until ctx ends, as the worker's loop does: a
// pull of up to a batch at a time, handled as it arrives, in chunks of whatever came
// meanwhile; and, as the worker's sender does, a committed chunk is published and acked
// while the next one is handled and committed.
func (p *floorPartition) serve(ctx context.Context) error {
	sk := p.sk
	type job struct {
		msgs    []jetstream.Msg
		replies []*nats.Msg
		outKeys [][]byte
	}
	jobs := make(chan job, 1)
	var sendErr atomic.Pointer[error]
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		var futures []jetstream.PubAckFuture
		for j := range jobs {
			if sendErr.Load() != nil {
				continue
			}
			var err error
			if futures, err = p.send(ctx, j.msgs, j.replies, j.outKeys, futures[:0]); err != nil && ctx.Err() == nil {
				sendErr.Store(&err)
			}
		}
	}()
	err := p.pull(ctx, func() error {
		if e := sendErr.Load(); e != nil {
			p.wb.Close()
			p.wb = nil
			return *e
		}
		if err := p.commit(); err != nil {
			return err
		}
		jobs <- job{msgs: p.msgs, replies: p.replies, outKeys: p.outKeys}
		// The sender has these now: the next chunk collects into new ones.
		p.msgs, p.replies, p.outKeys = make([]jetstream.Msg, 0, sk.batch), make([]*nats.Msg, 0, sk.batch), nil
		return nil
	})
	close(jobs)
	<-sent
	if err == nil {
		if e := sendErr.Load(); e != nil {
			err = *e
		}
	}
	return err
}

// pull runs the partition's pulls until ctx ends, calling chunk for each chunk collected
// (begin, add).
func (p *floorPartition) pull(ctx context.Context, chunk func() error) error {
	sk := p.sk
	for ctx.Err() == nil {
		b, err := p.cons.Fetch(sk.batch, jetstream.FetchMaxWait(sk.maxWait))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		ch := b.Messages()
		for m := range ch {
			p.begin()
			p.add(m)
		drain:
			for len(p.msgs) < sk.batch {
				select {
				case m, ok := <-ch:
					if !ok {
						break drain
					}
					p.add(m)
				default:
					break drain
				}
			}
			if err := chunk(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		if err := b.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) &&
			!errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return err
		}
	}
	return nil
}
