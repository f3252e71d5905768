package store_test

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/store"
)

// A batch gathers a state, its idempotency record and its reply, and commits them with
// one fsync; the reply stays in the outbox until it is known to be published.
func Example() {
	s, err := store.Open("db", store.Options{FS: vfs.NewMem()})
	if err != nil {
		panic(err)
	}
	defer s.Close()

	b := s.NewBatch()
	b.PutState("demo", "ctx-1", commerce.State{Checkout: &commerce.Checkout{ID: "chk_1", Status: commerce.StatusIncomplete}})
	b.PutRecord("demo", "msg-1", &store.Record{Seq: 1, At: time.Now(), Body: []byte(`{"kind":"message"}`)})
	reply := b.Publish(store.Outgoing{Subject: "a2a.out.demo.ctx-1", Data: []byte(`{"jsonrpc":"2.0"}`)})
	if err := b.Commit(); err != nil {
		panic(err)
	}

	pending, _ := s.Pending()
	fmt.Println("to publish:", len(pending), pending[0].Subject)
	_ = s.Done([]store.Outgoing{reply}) // JetStream acknowledged it
	pending, _ = s.Pending()
	fmt.Println("to publish:", len(pending))
	// Output:
	// to publish: 1 a2a.out.demo.ctx-1
	// to publish: 0
}
