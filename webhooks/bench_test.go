package webhooks_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkDeliver: events stored in A2A_EVT to POSTs answered by a platform on
// loopback, signed, through the whole Router (one worker, webhooks.concurrency 8).
func BenchmarkDeliver(b *testing.B) {
	r := start(b, nil)
	p := newPlatform(b)
	if err := r.svc.Remember(context.Background(), "demo", "ctx-b", p.profile()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		r.publishEvent(b, "demo", "ctx-b", fmt.Sprintf("msg-%d", i), 1, "order.created", "ord_b")
	}
	for len(p.received()) < b.N {
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}
