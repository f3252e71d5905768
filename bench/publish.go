package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// benchPublisher publishes envelopes as agents would: to JetStream, asynchronously, with
// a bounded number awaiting their acknowledgement.
type benchPublisher struct {
	js     jetstream.JetStream
	failed atomic.Int64
	last   atomic.Value // error
}

func newBenchPublisher(nc *nats.Conn) (*benchPublisher, error) {
	p := &benchPublisher{}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, _ *nats.Msg, err error) {
			p.failed.Add(1)
			p.last.Store(err)
		}))
	if err != nil {
		return nil, err
	}
	p.js = js
	return p, nil
}

func (p *benchPublisher) publish(subject string, data []byte) error {
	return p.publishHeader(subject, data, nats.Header{})
}

func (p *benchPublisher) publishHeader(subject string, data []byte, h nats.Header) error {
	_, err := p.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: data, Header: h},
		jetstream.WithStallWait(time.Minute))
	return err
}

// wait waits until JetStream has acknowledged every publish, and reports any that failed.
func (p *benchPublisher) wait(ctx context.Context) error {
	select {
	case <-p.js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := p.failed.Load(); n > 0 {
		return fmt.Errorf("%d publishes failed; the last: %v", n, p.last.Load())
	}
	return nil
}

// publishAll publishes every envelope of mix under prefix, as fast as JetStream takes
// them, and returns how long that took and the average envelope size.
func publishAll(ctx context.Context, p *benchPublisher, mix *benchMix, prefix string, progress *benchProgress) (time.Duration, int, error) {
	start := time.Now()
	bytes := 0
	for i, cs := range mix.all() {
		if ctx.Err() != nil {
			return 0, 0, ctx.Err()
		}
		data := mix.envelope(i, cs[0], cs[1])
		bytes += len(data)
		if err := p.publish(mix.subject(prefix, cs[0]), data); err != nil {
			return 0, 0, fmt.Errorf("publish: %w", err)
		}
		progress.tick(i + 1)
	}
	if err := p.wait(ctx); err != nil {
		return 0, 0, err
	}
	return time.Since(start), bytes / max(1, mix.Len()), nil
}
