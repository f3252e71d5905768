package group_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/bus/group"
	"github.com/cartwright-dev/cartwright/testenv"
)

// cluster is three JetStream servers routed to each other in this process.
type cluster struct {
	opts    []*server.Options
	servers []*server.Server
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startCluster(t testing.TB) *cluster {
	t.Helper()
	const size = 3
	c := &cluster{}
	routes := make([]string, size)
	cports := make([]int, size)
	for i := range size {
		cports[i] = freePort(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", cports[i])
	}
	dir := t.TempDir()
	for i := range size {
		o := bus.EmbeddedOptions("127.0.0.1", freePort(t), filepath.Join(dir, fmt.Sprint(i)))
		o.ServerName = fmt.Sprintf("n%d", i)
		o.Cluster = server.ClusterOpts{Name: "group-test", Host: "127.0.0.1", Port: cports[i]}
		o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		c.opts = append(c.opts, o)
	}
	for i := range size {
		c.start(t, i)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			if s != nil {
				s.Shutdown()
				s.WaitForShutdown()
			}
		}
	})
	// JetStream is usable once a meta leader is elected.
	js := testenv.NewClient(t, c.url(0)).JetStream()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster: no JetStream after 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *cluster) start(t testing.TB, i int) {
	t.Helper()
	s, err := bus.StartEmbedded(c.opts[i])
	if err != nil {
		t.Fatal(err)
	}
	if i < len(c.servers) {
		c.servers[i] = s
	} else {
		c.servers = append(c.servers, s)
	}
}

func (c *cluster) stop(i int) {
	c.servers[i].Shutdown()
	c.servers[i].WaitForShutdown()
}

func (c *cluster) url(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port)
}

// urls lists every node, so that a client fails over as a worker's would.
func (c *cluster) urls() string {
	var us []string
	for i := range c.opts {
		us = append(us, c.url(i))
	}
	return strings.Join(us, ",")
}

// On an R3 bucket the group spreads, survives the loss of one node, and takes a dead
// member's partitions over as on one node.
func TestReplicatedBucket(t *testing.T) {
	const partitions = 8
	c := startCluster(t)
	cfg := func(id string) group.Config {
		cfg := testConfig(id, partitions)
		cfg.Replicas = 3
		// Three servers on a loaded machine elect leaders slowly; a longer TTL keeps
		// that from reading as deaths.
		cfg.LeaseTTL = 3 * time.Second
		return cfg
	}
	a := join(t, c.urls(), cfg("a"))
	b := join(t, c.urls(), cfg("b"))
	d := join(t, c.urls(), cfg("d"))
	s := watchSafety(t, a, b, d)
	waitSpread(t, 10*time.Second, partitions, a, b, d)

	c.stop(2) // one node of three: quorum holds
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
	c := startCluster(t)
	cfg := func(id string) group.Config {
		cfg := testConfig(id, partitions)
		cfg.Replicas = 3
		cfg.LeaseTTL = ttl
		return cfg
	}
	a := join(t, c.urls(), cfg("a"))
	b := join(t, c.urls(), cfg("b"))
	s := watchSafety(t, a, b)
	waitSpread(t, 10*time.Second, partitions, a, b)

	c.stop(1)
	c.stop(2)
	lost := time.Now()
	took := eventually(t, ttl+2*time.Second, "no lease valid without a quorum", func() bool {
		return len(a.Owned())+len(b.Owned()) == 0
	})
	t.Logf("every lease invalid %v after the quorum was lost (lease TTL %v)", took, ttl)
	if took > ttl {
		t.Errorf("leases stayed valid %v without a quorum, longer than the TTL %v", took, ttl)
	}

	c.start(t, 1)
	c.start(t, 2)
	took = waitSpread(t, 30*time.Second, partitions, a, b)
	t.Logf("spread again %v after the servers came back (%v after the loss)", took, time.Since(lost))
	s.check(t)
}
