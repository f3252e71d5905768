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

// With the changelog on, a chunk whose lease goes during its changelog write publishes
// nothing and acknowledges nothing: its changes, messages included, are in the
// changelog, for the partition's next owner, and this store's outbox keeps its messages
// held until its own next take of the partition settles them.
func TestSenderFenceAfterTheChangelogWrite(t *testing.T) {
	ctx := context.Background()
	r := newFenceRig(t)
	topo := Topology{Prefix: "a2a", Partitions: 1}
	if err := NewChangelog(r.js, topo, nil, 1, 1<<20).Provision(ctx, 1); err != nil {
		t.Fatal(err)
	}
	r.w.cl = NewChangelog(r.js, topo, r.st, 1, 1<<20)
	if _, err := r.w.cl.Take(ctx, 0, 7); err != nil {
		t.Fatal(err)
	}
	head := func() uint64 {
		t.Helper()
		s, err := r.js.Stream(ctx, topo.ChangelogStream())
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	before := head()
	// The lease holds when the sender looks before the changelog write, and is gone
	// when it looks again.
	checks := 0
	p, _ := r.chunkWith(func() bool { checks++; return checks == 1 }, "r1")
	if head() == before {
		t.Fatal("the chunk was not written to the changelog")
	}
	if n := r.replies(); n != 0 {
		t.Errorf("%d replies published after the lease went, want 0", n)
	}
	info, err := r.cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != 0 {
		t.Errorf("ack floor %d after the lease went, want 0: the envelope was acknowledged", info.AckFloor.Stream)
	}
	if !p.fenced.Load() {
		t.Error("the loop was not told to stop")
	}
	held, err := r.st.HeldOutbox(func(int) bool { return false })
	if err != nil || len(held) != 1 {
		t.Errorf("held for the partition's owner: %d messages (%v), want the chunk's 1", len(held), err)
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
	return r.chunkWith(func() bool { return valid }, reply)
}

// chunkWith is chunk with the lease's validity asked of valid each time.
func (r *fenceRig) chunkWith(valid func() bool, reply string) (*partition, uint64) {
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
	if r.w.cl != nil {
		// Something that moves with the partition, for the changelog to carry.
		batch.PutRecord("demo", reply, &store.Record{Seq: streamSeq(m), At: time.Now(), Body: []byte(reply)})
	}
	batch.Publish(store.Outgoing{Subject: "a2a.out.demo.c1", Data: []byte(reply),
		Header: map[string][]string{"Nats-Msg-Id": {reply}}})
	p := &partition{w: r.w, n: 0, out: make(chan sendJob, 1), epoch: 7, valid: valid}
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

// After a rewind, deliveries the consumer made to another pull request (one sent before
// the reset, still waiting at the server) are noticed at the first pull that brings
// nothing, and the partition rewinds again: with nothing after them to show a gap, they
// would otherwise wait for the ack wait.
func TestLostToAnotherPullAfterARewind(t *testing.T) {
	ctx := context.Background()
	r := newFenceRig(t)
	p := &partition{w: r.w, n: 0, cons: r.cons, gen: 3, next: 1, unsure: true}
	if p.lostToOthers(ctx) || p.gen != 3 {
		t.Fatalf("nothing delivered yet: lost true or gen %d; want false, 3", p.gen)
	}
	if p.unsure {
		t.Error("still unsure after looking")
	}
	// A pull request that is not the loop's takes an envelope.
	if _, err := r.js.Publish(ctx, "a2a.in.demo.c1", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	b, err := r.cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if m := <-b.Messages(); m == nil {
		t.Fatal("no delivery")
	}
	p.unsure, p.gen = true, 4
	if !p.lostToOthers(ctx) || p.gen != -1 {
		t.Errorf("a delivery the loop never saw: lost false or gen %d; want true, -1", p.gen)
	}
	// The loop saw it (it comes after what it expects next): nothing lost.
	p.unsure, p.gen, p.next = true, 5, 2
	if p.lostToOthers(ctx) || p.gen != 5 {
		t.Errorf("a delivery the loop saw: lost true or gen %d; want false, 5", p.gen)
	}
}
