package group_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/bus/group"
)

func Example() {
	dir, _ := os.MkdirTemp("", "group-example-")
	defer os.RemoveAll(dir)
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions("127.0.0.1", -1, dir))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Shutdown()
	nc, _ := nats.Connect(ns.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := group.Join(ctx, js, group.Config{
		WorkerID:   "worker-1",
		Partitions: 4,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Alone in the group, the member acquires every partition. A worker would restore
	// each partition's state here and start its loop with m.Fence(e.Lease).
	for range 4 {
		e := <-m.Events()
		fmt.Println(e.Kind, e.Partition, m.Fence(e.Lease).Check() == nil)
	}
	leave, done := context.WithTimeout(ctx, 5*time.Second)
	defer done()
	go func() {
		for e := range m.Events() {
			e.Done() // the partition's loop has stopped
		}
	}()
	m.Leave(leave)
	fmt.Println("owned after Leave:", len(m.Owned()))
	// Output:
	// acquired 0 true
	// acquired 1 true
	// acquired 2 true
	// acquired 3 true
	// owned after Leave: 0
}
