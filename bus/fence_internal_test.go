package bus

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/store"
)

// A committed chunk whose lease has gone by the time the sender gets to it publishes
// nothing and acknowledges nothing, and its loop stops; the chunk's messages leave the
// outbox, so that nothing publishes them later. With the lease valid the same chunk goes
// out and is acknowledged.
func TestSenderFence(t *testing.T) {
	ctx := context.Background()
	r := newFenceRig(t)
	acked := func() uint64 {
		t.Helper()
		info, err := r.cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.AckFloor.Stream
	}

	p, _ := r.chunk(false, "r1")
	if n := r.replies(); n != 0 {
		t.Errorf("%d replies published under a lost lease, want 0", n)
	}
	if f := acked(); f != 0 {
		t.Errorf("ack floor %d under a lost lease, want 0: the envelope was acknowledged", f)
	}
	if !p.fenced.Load() {
		t.Error("the loop was not told to stop")
	}
	if os, err := r.st.Outbox(); err != nil || os.Messages != 0 {
		t.Errorf("outbox %+v (%v), want the fenced chunk's message dropped", os, err)
	}

	_, seq := r.chunk(true, "r2")
	if n := r.replies(); n != 1 {
		t.Errorf("%d replies with the lease held, want 1", n)
	}
	// The first envelope is still unacknowledged: the floor stays below it, and the
	// second shows as acknowledged above it.
	info, err := r.cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 0 || info.NumAckPending != 1 || seq != 2 {
		t.Errorf("ack floor %d, ack pending %d, second seq %d: want 0, 1 (only the fenced one), 2",
			info.AckFloor.Stream, info.NumAckPending, seq)
	}
}

// With the changelog off, a fenced chunk's messages wait in memory for the worker's next
// take of the partition: published then if the consumer's ack floor is still below the
// chunk's envelopes (nobody served them since), dropped if it has passed them (another
// worker did, and answered them), kept for a later take while the new lease does not hold.
func TestFencedChunkSettledAtTheNextTake(t *testing.T) {
	ctx := context.Background()
	r := newFenceRig(t)
	w, replies := r.w, r.replies
	fenced := func(reply string) uint64 {
		t.Helper()
		_, seq := r.chunk(false, reply)
		return seq
	}
	held := func() bool { return true }
	gone := func() bool { return false }

	s1 := fenced("r1")
	if n := replies(); n != 0 {
		t.Fatalf("%d replies published under a lost lease, want 0", n)
	}
	if os, err := r.st.Outbox(); err != nil || os.Messages != 0 {
		t.Errorf("outbox %+v (%v), want the fenced chunk's message out of it", os, err)
	}
	// Taken again under a lease that is already gone: nothing goes, the message waits.
	if w.settleFenced(ctx, 0, s1-1, gone) {
		t.Error("settled under a lease that does not hold")
	}
	if n := replies(); n != 0 {
		t.Errorf("%d replies published under a lost lease, want 0", n)
	}
	// Taken again, nobody acknowledged the envelope since: the reply goes now, once.
	if !w.settleFenced(ctx, 0, s1-1, held) {
		t.Fatal("not settled")
	}
	if n := replies(); n != 1 {
		t.Errorf("%d replies after the take, want 1", n)
	}
	if !w.settleFenced(ctx, 0, s1-1, held) || replies() != 1 {
		t.Errorf("a second take published again: %d replies, want 1", replies())
	}

	// Another worker served the envelope and acknowledged it since: the stale reply is
	// dropped.
	s2 := fenced("r2")
	if !w.settleFenced(ctx, 0, s2, held) {
		t.Fatal("not settled")
	}
	if n := replies(); n != 1 {
		t.Errorf("%d replies, want 1: a reply to an envelope another worker acknowledged was published", n)
	}
	if c := w.fencedOut.take(0); len(c) != 0 {
		t.Errorf("%d fenced chunks still held after the take", len(c))
	}
}

// fenceRig is the fence tests' set-up: a worker with a publisher and a store, a consumer
// of A2A_IN with explicit acks, and A2A_OUT.
type fenceRig struct {
	t    *testing.T
	w    *Worker
	st   *store.Store
	js   jetstream.JetStream
	cons jetstream.Consumer
	out  jetstream.Stream
}

func newFenceRig(t *testing.T) *fenceRig {
	t.Helper()
	pub, st, js := testPublisher(t)
	ctx := context.Background()
	w := &Worker{pub: pub, st: st, js: js, metrics: NewMetrics(prometheus.NewRegistry()),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	in, err := js.Stream(ctx, "A2A_IN")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := in.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "fence", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	out, err := js.Stream(ctx, "A2A_OUT")
	if err != nil {
		t.Fatal(err)
	}
	return &fenceRig{t: t, w: w, st: st, js: js, cons: cons, out: out}
}

// chunk publishes an envelope, fetches it, and commits and sends a chunk of it with one
// reply (reply, also its Nats-Msg-Id) through a partition loop's sender whose lease is
// valid or already gone. It returns the partition and the envelope's stream sequence.
func (r *fenceRig) chunk(valid bool, reply string) (*partition, uint64) {
	r.t.Helper()
	ctx := context.Background()
	if _, err := r.js.Publish(ctx, "a2a.in.demo.c1", []byte("{}")); err != nil {
		r.t.Fatal(err)
	}
	b, err := r.cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		r.t.Fatal(err)
	}
	m := <-b.Messages()
	if m == nil {
		r.t.Fatal("no delivery")
	}
	batch := r.st.NewBatch()
	batch.Publish(store.Outgoing{Subject: "a2a.out.demo.c1", Data: []byte(reply),
		Header: map[string][]string{"Nats-Msg-Id": {reply}}})
	p := &partition{w: r.w, n: 0, out: make(chan sendJob, 1), epoch: 7, valid: func() bool { return valid }}
	sent := make(chan struct{})
	go func() { defer close(sent); p.sender(ctx) }()
	if _, err := p.commitAndSend(ctx, batch, []jetstream.Msg{m}, nil, nil, 1); err != nil {
		r.t.Fatal(err)
	}
	p.flush()
	close(p.out)
	<-sent
	return p, streamSeq(m)
}

// replies is how many replies A2A_OUT holds.
func (r *fenceRig) replies() uint64 {
	r.t.Helper()
	info, err := r.out.Info(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return info.State.Msgs
}
