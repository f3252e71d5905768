package group_test

import (
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/bus/group"
	"github.com/cartwright-dev/cartwright/testenv"
)

// On an R3 bucket the group spreads, survives the loss of one node, and takes a dead
// member's partitions over as on one node.
func TestReplicatedBucket(t *testing.T) {
	const partitions = 8
	c := testenv.StartTestCluster(t)
	cfg := func(id string) group.Config {
		cfg := testConfig(id, partitions)
		cfg.Replicas = 3
		// Three servers on a loaded machine elect leaders slowly; a longer TTL keeps
		// that from reading as deaths.
		cfg.LeaseTTL = 3 * time.Second
		return cfg
	}
	a := join(t, c.URLs(), cfg("a"))
	b := join(t, c.URLs(), cfg("b"))
	d := join(t, c.URLs(), cfg("d"))
	s := watchSafety(t, a, b, d)
	waitSpread(t, 10*time.Second, partitions, a, b, d)

	c.Stop(2) // one node of three: quorum holds
	d.Stop()
	took := waitSpread(t, 3*time.Second+7*time.Second, partitions, a, b)
	t.Logf("takeover %v after a death, one node of three down", took)
	s.check(t)
}

// Without a quorum nothing can be renewed: every member stops counting its leases valid
// within the TTL, nobody acquires anything, and the group forms again once the servers
// are back.
func TestQuorumLoss(t *testing.T) {
	const partitions = 4
	const ttl = 3 * time.Second
	c := testenv.StartTestCluster(t)
	cfg := func(id string) group.Config {
		cfg := testConfig(id, partitions)
		cfg.Replicas = 3
		cfg.LeaseTTL = ttl
		return cfg
	}
	a := join(t, c.URLs(), cfg("a"))
	b := join(t, c.URLs(), cfg("b"))
	s := watchSafety(t, a, b)
	waitSpread(t, 10*time.Second, partitions, a, b)

	c.Stop(1)
	c.Stop(2)
	lost := time.Now()
	took := eventually(t, ttl+2*time.Second, "no lease valid without a quorum", func() bool {
		return len(a.Owned())+len(b.Owned()) == 0
	})
	t.Logf("every lease invalid %v after the quorum was lost (lease TTL %v)", took, ttl)
	if took > ttl {
		t.Errorf("leases stayed valid %v without a quorum, longer than the TTL %v", took, ttl)
	}

	c.Start(t, 1)
	c.Start(t, 2)
	took = waitSpread(t, 30*time.Second, partitions, a, b)
	t.Logf("spread again %v after the servers came back (%v after the loss)", took, time.Since(lost))
	s.check(t)
}
