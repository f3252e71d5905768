package group_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/bus/group"
	"github.com/cartwright-dev/cartwright/testenv"
)

func TestSpreadAsMembersJoin(t *testing.T) {
	for _, partitions := range []int{4, 16} {
		t.Run("", func(t *testing.T) {
			n := testenv.StartTestNATS(t)
			a := join(t, n.URL(), testConfig("a", partitions))
			s := watchSafety(t, a)
			waitSpread(t, 5*time.Second, partitions, a)

			b := join(t, n.URL(), testConfig("b", partitions))
			s.add(b)
			waitSpread(t, 5*time.Second, partitions, a, b)

			c := join(t, n.URL(), testConfig("c", partitions))
			s.add(c)
			waitSpread(t, 5*time.Second, partitions, a, b, c)

			// The spread is stable, not a passing state.
			time.Sleep(2 * testTTL)
			if err := spread(partitions, a, b, c); err != nil {
				t.Fatal(err)
			}
			if len(a.eventsOf(group.Releasing)) == 0 {
				t.Fatal("a released nothing when b and c joined")
			}
			if lost := len(a.eventsOf(group.Lost)) + len(b.eventsOf(group.Lost)) + len(c.eventsOf(group.Lost)); lost != 0 {
				t.Fatalf("%d leases lost without a hand-over while every member was alive", lost)
			}
		})
	}
}

func TestDeadMemberLosesPartitions(t *testing.T) {
	const partitions = 16
	n := testenv.StartTestNATS(t)
	a := join(t, n.URL(), testConfig("a", partitions))
	b := join(t, n.URL(), testConfig("b", partitions))
	c := join(t, n.URL(), testConfig("c", partitions))
	s := watchSafety(t, a, b, c)
	waitSpread(t, 5*time.Second, partitions, a, b, c)

	// Stops renewing without releasing anything, as a crash would.
	c.Stop()
	took := waitSpread(t, testTTL+2*time.Second, partitions, a, b)
	t.Logf("takeover %v after the death (lease TTL %v)", took, testTTL)
	s.check(t)
}

// A worker restarted right after a crash finds its previous run's member key, waits for
// it to expire, and gets its share back.
func TestCrashedWorkerRestarts(t *testing.T) {
	const partitions = 16
	n := testenv.StartTestNATS(t)
	a := join(t, n.URL(), testConfig("a", partitions))
	b := join(t, n.URL(), testConfig("b", partitions))
	s := watchSafety(t, a, b)
	waitSpread(t, 5*time.Second, partitions, a, b)

	b.Stop()
	start := time.Now()
	b2 := join(t, n.URL(), testConfig("b", partitions))
	s.add(b2)
	t.Logf("the restarted worker joined %v after the crash", time.Since(start))
	waitSpread(t, 2*testTTL+5*time.Second, partitions, a, b2)
	for _, e := range b2.eventsOf(group.Acquired) {
		for _, old := range b.eventsOf(group.Acquired) {
			if e.Partition == old.Partition && e.Epoch <= old.Epoch {
				t.Errorf("partition %d: epoch %d after the restart, %d before", e.Partition, e.Epoch, old.Epoch)
			}
		}
	}
}

func TestLeaveHandsOverAtOnce(t *testing.T) {
	const partitions = 16
	n := testenv.StartTestNATS(t)
	a := join(t, n.URL(), testConfig("a", partitions))
	b := join(t, n.URL(), testConfig("b", partitions))
	s := watchSafety(t, a, b)
	waitSpread(t, 5*time.Second, partitions, a, b)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.Owned(); len(got) != 0 {
		t.Fatalf("b still owns %v after Leave", got)
	}
	took := waitSpread(t, testTTL, partitions, a)
	t.Logf("takeover %v after Leave (lease TTL %v)", took, testTTL)
	if took > testTTL/2 {
		t.Fatalf("takeover after Leave took %v, want well under the lease TTL %v", took, testTTL)
	}
	if lost := b.eventsOf(group.Lost); len(lost) != 0 {
		t.Fatalf("b lost %v instead of releasing them", lost)
	}

	// The same worker comes back: the spread evens out again.
	b2 := join(t, n.URL(), testConfig("b", partitions))
	s.add(b2)
	waitSpread(t, 5*time.Second, partitions, a, b2)
}

func TestSimultaneousStart(t *testing.T) {
	const partitions, members, rounds = 16, 3, 5
	n := testenv.StartTestNATS(t)
	for r := range rounds {
		bucket := "T_START_" + string(rune('A'+r))
		ms := make([]*group.Member, members)
		errs := make([]error, members)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range ms {
			js := testenv.NewClient(t, n.URL()).JetStream()
			cfg := testConfig(string(rune('a'+i)), partitions)
			cfg.Bucket = bucket
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				<-start
				ms[i], errs[i] = group.Join(ctx, js, cfg)
			})
		}
		close(start)
		wg.Wait()
		var ws []*worker
		for i, m := range ms {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			ws = append(ws, adopt(t, m))
		}
		s := watchSafety(t, ws...)
		waitSpread(t, 5*time.Second, partitions, ws...)
		s.check(t)
		for _, w := range ws {
			w.Stop()
		}
	}
}

func TestJoinRefusesAnotherLeaseTTL(t *testing.T) {
	n := testenv.StartTestNATS(t)
	join(t, n.URL(), testConfig("a", 4))
	cfg := testConfig("b", 4)
	cfg.LeaseTTL = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := group.Join(ctx, testenv.NewClient(t, n.URL()).JetStream(), cfg); err == nil {
		t.Fatal("a member with another lease TTL joined the group")
	}
}

func TestJoinRefusesAnotherPartitionCount(t *testing.T) {
	n := testenv.StartTestNATS(t)
	join(t, n.URL(), testConfig("a", 4))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := group.Join(ctx, testenv.NewClient(t, n.URL()).JetStream(), testConfig("b", 8))
	if err == nil {
		t.Fatal("a member with another partition count joined the group")
	}
	t.Log(err)
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []group.Config{
		{WorkerID: "", Partitions: 4},
		{WorkerID: "a b", Partitions: 4},
		{WorkerID: "a..b", Partitions: 4},
		{WorkerID: "a", Partitions: 0},
		{WorkerID: "a", Partitions: 4, LeaseTTL: 500 * time.Millisecond},
		{WorkerID: "a", Partitions: 4, LeaseTTL: 6 * time.Second, RenewInterval: 6 * time.Second},
		{WorkerID: "a", Partitions: 4, Bucket: "A.B"},
		{WorkerID: "a", Partitions: 4, Replicas: 7},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		// No server is needed to refuse a bad config.
		if _, err := group.Join(ctx, nil, cfg); err == nil {
			t.Errorf("Join accepted %+v", cfg)
		}
		cancel()
	}
}
