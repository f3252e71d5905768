package testenv

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
)

// Cluster is three JetStream servers routed to each other in the test process: a
// clustered NATS for replicated streams and buckets.
type Cluster struct {
	opts    []*server.Options
	Servers []*server.Server
}

// StartTestCluster starts a three-node cluster and waits until JetStream answers. The
// servers stop when the test ends.
func StartTestCluster(t testing.TB) *Cluster {
	t.Helper()
	const size = 3
	c := &Cluster{}
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
		o.Cluster = server.ClusterOpts{Name: "test-cluster", Host: "127.0.0.1", Port: cports[i]}
		o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		c.opts = append(c.opts, o)
	}
	for i := range size {
		c.Start(t, i)
	}
	t.Cleanup(func() {
		for _, s := range c.Servers {
			if s != nil {
				s.Shutdown()
				s.WaitForShutdown()
			}
		}
	})
	js := NewClient(t, c.URL(0)).JetStream()
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

// Start starts node i (again, after Stop: same ports, same store).
func (c *Cluster) Start(t testing.TB, i int) {
	t.Helper()
	s, err := bus.StartEmbedded(c.opts[i])
	if err != nil {
		t.Fatal(err)
	}
	if i < len(c.Servers) {
		c.Servers[i] = s
	} else {
		c.Servers = append(c.Servers, s)
	}
}

// Stop stops node i, as a crash of that machine would.
func (c *Cluster) Stop(i int) {
	c.Servers[i].Shutdown()
	c.Servers[i].WaitForShutdown()
}

// URL is node i's client URL.
func (c *Cluster) URL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// URLs lists every node, so that a client fails over as a worker's would.
func (c *Cluster) URLs() string {
	var us []string
	for i := range c.opts {
		us = append(us, c.URL(i))
	}
	return strings.Join(us, ",")
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
