package dlq_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/bus/dlq"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestDLQDeleteOfAMissingMessage: deleting a dead letter that is already gone (deleted
// before, or never stored) is not an error, while a delete the server refuses for another
// reason is reported and the dead letter stays.
func TestDLQDeleteOfAMissingMessage(t *testing.T) {
	n := testenv.StartTestNATS(t)
	c := testenv.NewClient(t, n.URL())
	ctx := context.Background()
	js := c.JetStream()
	topo := bus.Topology{Prefix: "a2a", Partitions: 1}
	if err := bus.Provision(ctx, js, topo); err != nil {
		t.Fatal(err)
	}
	plant := func(subject string) uint64 {
		m := nats.NewMsg(subject)
		m.Header.Set("A2A-Original-Subject", "a2a.in.demo.x")
		m.Header.Set("A2A-Error-Code", "internal_error")
		m.Data = []byte(`{}`)
		ack, err := js.PublishMsg(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return ack.Sequence
	}

	q := dlq.New(js, topo)
	seq := plant("a2a.dlq.demo.x")
	if err := q.Delete(ctx, seq); err != nil {
		t.Fatal("delete:", err)
	}
	if _, err := q.Get(ctx, seq); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("get after delete: %v, want ErrMsgNotFound", err)
	}
	if err := q.Delete(ctx, seq); err != nil {
		t.Errorf("deleting it again: %v, want nil", err)
	}
	if err := q.Delete(ctx, seq+100); err != nil {
		t.Errorf("deleting a sequence never stored: %v, want nil", err)
	}

	// A stream that denies deletes refuses with a message present: that is a failure.
	deny := bus.Topology{Prefix: "deny", Partitions: 1}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: deny.DLQStream(), Subjects: []string{"deny.dlq.>"}, DenyDelete: true,
	}); err != nil {
		t.Fatal(err)
	}
	dq := dlq.New(js, deny)
	kept := plant("deny.dlq.demo.x")
	if err := dq.Delete(ctx, kept); err == nil {
		t.Error("a refused delete reported no error")
	}
	if _, err := dq.Get(ctx, kept); err != nil {
		t.Errorf("the refused dead letter is gone: %v", err)
	}
}
