package group_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus/group"
	"github.com/cartwright-dev/cartwright/testenv"
)

// The figures in docs/workers.md come from these; they take minutes, so they run only
// when asked: go test ./bus/group -run TestMeasure -group.measure -v
var measure = flag.Bool("group.measure", false, "measure renewal cost and takeover times")

func stats(ds []time.Duration) string {
	slices.Sort(ds)
	return fmt.Sprintf("n=%d median %v p99 %v max %v", len(ds),
		ds[len(ds)/2].Round(10*time.Microsecond),
		ds[len(ds)*99/100].Round(10*time.Microsecond),
		ds[len(ds)-1].Round(10*time.Microsecond))
}

func renewals(t *testing.T, js jetstream.JetStream, replicas int) string {
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: fmt.Sprintf("T_RENEW_R%d", replicas), History: 1, TTL: 6 * time.Second,
		LimitMarkerTTL: 6 * time.Second, Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Create(ctx, "lease.0", []byte(`{"worker":"a"}`))
	if err != nil {
		t.Fatal(err)
	}
	var ds []time.Duration
	for range 1000 {
		start := time.Now()
		if rev, err = kv.Update(ctx, "lease.0", []byte(`{"worker":"a"}`), rev); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	return stats(ds)
}

func TestMeasureRenewal(t *testing.T) {
	if !*measure {
		t.Skip("-group.measure not set")
	}
	n := testenv.StartTestNATS(t)
	t.Logf("renewal (compare-and-set update), one node: %s", renewals(t, testenv.NewClient(t, n.URL()).JetStream(), 1))
	c := testenv.StartTestCluster(t)
	t.Logf("renewal (compare-and-set update), R3 on three nodes: %s", renewals(t, testenv.NewClient(t, c.URL(0)).JetStream(), 3))
}

func TestMeasureTakeover(t *testing.T) {
	if !*measure {
		t.Skip("-group.measure not set")
	}
	const partitions, runs = 4, 10
	for _, ttl := range []time.Duration{group.DefaultLeaseTTL, 1500 * time.Millisecond} {
		n := testenv.StartTestNATS(t)
		var deaths, leaves []time.Duration
		for r := range runs {
			cfg := func(id string) group.Config {
				c := testConfig(id, partitions)
				c.Bucket = fmt.Sprintf("T_M%d", r)
				c.LeaseTTL = ttl
				return c
			}
			a := join(t, n.URL(), cfg("a"))
			b := join(t, n.URL(), cfg("b"))
			waitSpread(t, 3*ttl, partitions, a, b)
			// Die at a random point of the renewal cycle.
			time.Sleep(time.Duration(r) * ttl / 3 / runs)
			a.Stop()
			deaths = append(deaths, waitSpread(t, 3*ttl, partitions, b))

			c := join(t, n.URL(), cfg("c"))
			waitSpread(t, 3*ttl, partitions, b, c)
			ctx, cancel := context.WithTimeout(context.Background(), ttl)
			start := time.Now()
			c.Leave(ctx)
			cancel()
			waitSpread(t, 3*ttl, partitions, b)
			leaves = append(leaves, time.Since(start))
			b.Stop()
		}
		t.Logf("lease TTL %v: death to takeover %s", ttl, stats(deaths))
		t.Logf("lease TTL %v: Leave to takeover %s", ttl, stats(leaves))
	}
}

// Pinned priority groups as a second fence: how long a consumer stays pinned to a
// client that stopped pulling before another client gets messages.
func TestMeasurePinnedFailover(t *testing.T) {
	if !*measure {
		t.Skip("-group.measure not set")
	}
	ctx := context.Background()
	n := testenv.StartTestNATS(t)
	js := testenv.NewClient(t, n.URL()).JetStream()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T_PIN", Subjects: []string{"pin.>"}})
	if err != nil {
		t.Fatal(err)
	}
	const pinnedTTL = 2 * time.Second
	if _, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "p0", AckPolicy: jetstream.AckExplicitPolicy,
		PriorityPolicy: jetstream.PriorityPolicyPinned, PriorityGroups: []string{"owner"}, PinnedTTL: pinnedTTL,
	}); err != nil {
		t.Fatal(err)
	}
	consumer := func() jetstream.Consumer {
		c, err := testenv.NewClient(t, n.URL()).JetStream().Consumer(ctx, "T_PIN", "p0")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := consumer(), consumer()
	for i := range 20 {
		js.Publish(ctx, fmt.Sprintf("pin.%d", i), nil)
	}
	fetch := func(c jetstream.Consumer) int {
		batch, err := c.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond), jetstream.FetchPriorityGroup("owner"))
		if err != nil {
			return 0
		}
		got := 0
		for m := range batch.Messages() {
			m.Ack()
			got++
		}
		return got
	}
	var ds []time.Duration
	for range 5 {
		for fetch(a) == 0 {
		}
		if fetch(b) != 0 {
			t.Fatal("b got a message while a was pinned")
		}
		stop := time.Now()
		for fetch(b) == 0 {
		}
		ds = append(ds, time.Since(stop))
		a, b = b, a
	}
	t.Logf("pinned TTL %v: last pull of the pinned client to the other's first message %s", pinnedTTL, stats(ds))
}
