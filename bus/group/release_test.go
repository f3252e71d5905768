package group_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus/group"
	"github.com/cartwright-dev/cartwright/testenv"
)

// joinRaw starts a member whose events the test reads itself.
func joinRaw(t *testing.T, js jetstream.JetStream, cfg group.Config) *group.Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := group.Join(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

// A partition to hand over stays with its owner, valid, until the owner's loop says it
// has stopped; only then does the joiner get it.
func TestReleaseWaitsForDone(t *testing.T) {
	const partitions = 2
	n := testenv.StartTestNATS(t)
	cfg := testConfig("a", partitions)
	cfg.ReleaseTimeout = 4 * testTTL
	a := joinRaw(t, testenv.NewClient(t, n.URL()).JetStream(), cfg)
	for range partitions {
		if e := <-a.Events(); e.Kind != group.Acquired {
			t.Fatalf("first event %v, want acquired", e.Kind)
		}
	}
	b := join(t, n.URL(), testConfig("b", partitions))
	var rel group.Event
	select {
	case rel = <-a.Events():
	case <-time.After(5 * time.Second):
		t.Fatal("a was not asked to release anything when b joined")
	}
	if rel.Kind != group.Releasing {
		t.Fatalf("event %v, want releasing", rel.Kind)
	}
	// The loop takes its time to flush, past renewals: the lease must hold meanwhile.
	flush := time.Now().Add(2 * testTTL)
	for time.Now().Before(flush) {
		if !a.Valid(rel.Partition, rel.Epoch) {
			t.Fatalf("lease of partition %d invalid before its release was confirmed", rel.Partition)
		}
		for _, l := range b.Owned() {
			if l.Partition == rel.Partition {
				t.Fatalf("b holds partition %d before a confirmed the release", l.Partition)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	rel.Done()
	took := eventually(t, testTTL, "b takes the released partition", func() bool { return len(b.Owned()) == 1 })
	t.Logf("b took partition %d %v after Done", rel.Partition, took)
	if a.Valid(rel.Partition, rel.Epoch) {
		t.Fatal("a's lease still valid after the release")
	}
}

// A loop that never confirms delays the hand-over by ReleaseTimeout, not for ever.
func TestReleaseTimeoutBoundsTheWait(t *testing.T) {
	const partitions = 2
	n := testenv.StartTestNATS(t)
	cfg := testConfig("a", partitions)
	cfg.ReleaseTimeout = time.Second
	a := joinRaw(t, testenv.NewClient(t, n.URL()).JetStream(), cfg)
	eventually(t, 5*time.Second, "a acquires", func() bool { return len(a.Owned()) == partitions })
	b := join(t, n.URL(), testConfig("b", partitions))
	took := waitSpread(t, cfg.ReleaseTimeout+2*time.Second, partitions, &worker{Member: a}, b)
	t.Logf("spread even %v after b joined, release timeout %v", took, cfg.ReleaseTimeout)
	if took < cfg.ReleaseTimeout/2 {
		t.Fatalf("the partition moved after %v, before the release timeout %v, though nobody confirmed", took, cfg.ReleaseTimeout)
	}
}
