package webhooks_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestStopWithEventsInFlight stops the delivery again and again while events are being
// delivered, failing and retrying: stopping never panics, and no event is held by a
// stopped delivery. A last delivery started after the stops sends every event within
// seconds, far inside the consumers' ack wait, so an event handed to a stopping
// subscription and neither acked nor nacked would be missing here,
// and none is dead-lettered because a stop cut its retries short.
func TestStopWithEventsInFlight(t *testing.T) {
	r := start(t, nil)
	p := newPlatform(t)
	if err := r.svc.Remember(context.Background(), "demo", "ctx-stop", p.profile()); err != nil {
		t.Fatal(err)
	}
	r.stopAll(t)
	want := map[string]bool{}
	var regs []*prometheus.Registry
	const rounds, perRound = 12, 15
	for round := range rounds {
		_, reg, stop := r.run(t)
		regs = append(regs, reg)
		p.failNext(500, 503) // some deliveries are retrying as the delivery stops
		for i := range perRound {
			id := r.publishEvent(t, "demo", "ctx-stop", fmt.Sprintf("msg-%d-%d", round, i), 1, "order.created", fmt.Sprintf("ord_%d_%d", round, i))
			want[id] = true
		}
		time.Sleep(time.Duration(round%4) * 15 * time.Millisecond)
		stop()
	}
	r.run(t)
	waitFor(t, "every event to be delivered", func() bool {
		seen := map[string]bool{}
		for _, h := range p.received() {
			seen[h.header.Get("Webhook-Id")] = true
		}
		for id := range want {
			if !seen[id] {
				return false
			}
		}
		return true
	})
	// Every failure above is cured by the next attempt: an event whose retries a stop
	// cut short goes back to the stream, not to the dead letters.
	for i, reg := range regs {
		if n := metric(t, reg, "cartwright_webhook_dead_letters_total", nil); n != 0 {
			t.Errorf("delivery %d dead-lettered %v events as it stopped, want none", i, n)
		}
	}
	t.Logf("%d events, %d POSTs across %d stops", len(want), len(p.received()), rounds)
}
