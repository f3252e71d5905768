package bus_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// A worker killed between a chunk's Pebble commit and its changelog write, then started
// again on the same data, must not publish that chunk's replies before the changelog has
// its changes, nor answer its envelopes as replays of records the changelog never got:
// another worker that takes the partition afterwards restores it from the changelog, and
// must see what every reply already published says.
func TestChangelogCrashBetweenCommitAndWrite(t *testing.T) {
	n := testenv.StartTestNATS(t)
	a := testenv.StartGroupWorkers(t, n, &config.Config{Changelog: true}, "w-a")[0]
	c, replies := crashBeforeChangelogWrite(t, n, a)

	a.Start() // same data: the outbox still holds the reply
	owners(t, 30*time.Second, 4, []int{4}, a)
	replies.wait(t, 1)

	// Another worker takes every partition from the changelog.
	b := testenv.StartGroupWorker(t, n, "w-b", &config.Config{Changelog: true})
	a.Stop()
	owners(t, 30*time.Second, 4, []int{4}, b)
	got := gapQuantity(t, c)
	for i, m := range replies.all() {
		if q := quantities(t, decode(t, m))["sku_tee"]; q != got {
			t.Errorf("reply %d to gap-add says sku_tee %d; the new owner's state says %d", i+1, q, got)
		}
	}
	if got != 2 {
		t.Errorf("gap on the new owner: sku_tee %d, want 2 (the add was answered)", got)
	}
}

// A worker killed between a chunk's commit and its changelog write, whose partitions
// another worker serves meanwhile, publishes nothing of that chunk when it starts again,
// and when it takes the partitions back it serves them from the changelog, not from what
// it had committed.
func TestChangelogCrashThenTakeover(t *testing.T) {
	n := testenv.StartTestNATS(t)
	a := testenv.StartGroupWorkers(t, n, &config.Config{Changelog: true}, "w-a")[0]
	c, replies := crashBeforeChangelogWrite(t, n, a)

	// w-b takes the partitions once w-a's leases expire, and handles gap-add afresh.
	b := testenv.StartGroupWorker(t, n, "w-b", &config.Config{Changelog: true})
	owners(t, 30*time.Second, 4, []int{4}, b)
	replies.wait(t, 1)
	// w-a starts again on its data and owns nothing: what its outbox holds of the chunk
	// is not its to publish.
	a.Start()
	time.Sleep(3 * time.Second) // the outbox pump's second or two, and some
	if k := len(replies.all()); k != 1 {
		t.Errorf("%d replies to gap-add, want w-b's one: w-a published its leftover of a partition it does not own", k)
	}
	b.Stop()
	owners(t, 30*time.Second, 4, []int{4}, a)
	if got := gapQuantity(t, c); got != 2 {
		t.Errorf("gap on w-a, taken back: sku_tee %d, want 2", got)
	}
	add := map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1}
	if q := quantities(t, decode(t, c.Send("demo", "gap", "gap-add2", add)))["sku_tee"]; q != 3 {
		t.Errorf("gap-add2 on w-a, taken back: sku_tee %d, want 3", q)
	}
	for i, m := range replies.all() {
		if q := quantities(t, decode(t, m))["sku_tee"]; q != 2 {
			t.Errorf("reply %d to gap-add says sku_tee %d, want 2", i+1, q)
		}
	}
}

// replyLog gathers the replies that arrive on one inbox.
type replyLog struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func (r *replyLog) all() []*nats.Msg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*nats.Msg(nil), r.msgs...)
}

func (r *replyLog) wait(t *testing.T, k int) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); len(r.all()) < k; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d replies to gap-add, want %d", len(r.all()), k)
		}
	}
}

// crashBeforeChangelogWrite creates the context gap on a, then sends gap-add (sku_tee x
// 2) and crashes a once its chunk is committed and before its changelog write. The
// replies to gap-add, whoever publishes them, go to the log returned.
func crashBeforeChangelogWrite(t *testing.T, n *testenv.NATS, a *testenv.Worker) (*testenv.Client, *replyLog) {
	t.Helper()
	owners(t, 30*time.Second, 4, []int{4}, a)
	c := testenv.NewClient(t, n.URL())
	c.Send("demo", "gap", "gap-create", map[string]any{"action": "create_checkout"})
	inbox := c.Conn().NewRespInbox()
	rl := &replyLog{}
	sub, err := c.Conn().Subscribe(inbox, func(m *nats.Msg) {
		rl.mu.Lock()
		rl.msgs = append(rl.msgs, m)
		rl.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })

	var fired atomic.Bool
	bus.SetSenderFault(func(int) bool { fired.Store(true); return true })
	t.Cleanup(func() { bus.SetSenderFault(nil) })
	hdr := nats.Header{}
	hdr.Set("A2A-Reply-To", inbox)
	add := testenv.Envelope("gap-add", "", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 2})
	if _, err := c.Publish("demo", "gap", add, hdr); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !fired.Load(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the chunk of gap-add never reached its changelog write")
		}
	}
	a.Crash() // committed in a's store, not in the changelog, not published, not acked
	bus.SetSenderFault(nil)
	if k := len(rl.all()); k != 0 {
		t.Fatalf("%d replies to gap-add before the crash, want none", k)
	}
	return c, rl
}

func gapQuantity(t *testing.T, c *testenv.Client) int {
	t.Helper()
	r := decode(t, c.Send("demo", "gap", "gap-get-"+strconv.FormatInt(time.Now().UnixNano(), 36), map[string]any{"action": "get_checkout"}))
	if errCode(r) != "" {
		t.Fatalf("gap: get_checkout error %s", errCode(r))
	}
	return quantities(t, r)["sku_tee"]
}

// held commits, in st, a chunk of partition 0 that writes a record for each of ids and
// one message, and keeps it pending as a crash before its changelog write would.
func held(t *testing.T, st *store.Store, body string, ids ...string) store.Outgoing {
	t.Helper()
	b := st.NewBatch()
	for i, id := range ids {
		b.PutRecord("demo", id, &store.Record{Seq: uint64(i + 1), At: time.Unix(1e9, 0), Body: []byte(body)})
	}
	out := b.Publish(store.Outgoing{Subject: "t.out.demo.c", Data: []byte(body)})
	if ch, id := b.HoldChanges(); ch == nil || id == 0 {
		t.Fatal("HoldChanges held nothing")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if h, err := st.HeldOutbox(nil); err != nil || len(h) != 1 {
		t.Fatalf("held messages %v (%v), want the chunk's one", h, err)
	}
	return out
}

func outboxLen(t *testing.T, st *store.Store) int {
	t.Helper()
	o, err := st.Pending()
	if err != nil {
		t.Fatal(err)
	}
	return len(o)
}

// A chunk a store committed and never wrote to the changelog is written when the store
// takes the partition again and the changelog's head is still where the store left it:
// another store then restores it, and its message is no longer held.
func TestChangelogPendingResent(t *testing.T) {
	ctx := context.Background()
	js, topo, s1, _ := takenStore(t)
	held(t, s1, "first", "m1", "m2")

	// The same store, after a restart, takes the partition again.
	rs, err := bus.NewChangelog(js, topo, s1, 1, 1<<20).Take(ctx, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Resent != 1 || rs.Dropped != 0 {
		t.Errorf("take after the crash: resent %d, dropped %d; want 1, 0", rs.Resent, rs.Dropped)
	}
	if h, err := s1.HeldOutbox(nil); err != nil || len(h) != 0 {
		t.Errorf("held after the chunk was written: %v (%v)", h, err)
	}
	if k := outboxLen(t, s1); k != 1 {
		t.Errorf("outbox holds %d messages, want the chunk's 1, to publish now", k)
	}
	s2 := openStore(t, filepath.Join(t.TempDir(), "s2"))
	defer s2.Close()
	if _, err := bus.NewChangelog(js, topo, s2, 1, 1<<20).Take(ctx, 0, 3); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "restored after the resend", moving(t, s1), moving(t, s2))
}

// A chunk a store committed and never wrote to the changelog, which another store wrote
// to since, is undone when the first store takes the partition again: the keys only it
// wrote go, the others come back as the changelog has them, and its message is dropped.
func TestChangelogPendingDiverged(t *testing.T) {
	ctx := context.Background()
	js, topo, s1, cl := takenStore(t)
	b := s1.NewBatch()
	b.PutRecord("demo", "before", &store.Record{Seq: 1, At: time.Unix(1e9, 0), Body: []byte("before")})
	if err := commitWrite(ctx, cl, b); err != nil {
		t.Fatal(err)
	}
	held(t, s1, "stale", "before", "only-s1", "shared")

	// Another store takes the partition and writes some of the same keys its own way.
	s2 := openStore(t, filepath.Join(t.TempDir(), "s2"))
	defer s2.Close()
	cl2 := bus.NewChangelog(js, topo, s2, 1, 1<<20)
	if _, err := cl2.Take(ctx, 0, 2); err != nil {
		t.Fatal(err)
	}
	b = s2.NewBatch()
	b.PutRecord("demo", "shared", &store.Record{Seq: 9, At: time.Unix(1e9, 0), Body: []byte("s2")})
	if err := commitWrite(ctx, cl2, b); err != nil {
		t.Fatal(err)
	}

	rs, err := bus.NewChangelog(js, topo, s1, 1, 1<<20).Take(ctx, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Resent != 0 || rs.Dropped != 1 || rs.From != 0 {
		t.Errorf("take after the other store wrote: resent %d, dropped %d, from %d; want 0, 1, 0", rs.Resent, rs.Dropped, rs.From)
	}
	sameKeys(t, "the diverged store, taken again", moving(t, s2), moving(t, s1))
	if h, err := s1.HeldOutbox(nil); err != nil || len(h) != 0 {
		t.Errorf("held after the chunk was dropped: %v (%v)", h, err)
	}
	if k := outboxLen(t, s1); k != 0 {
		t.Errorf("outbox holds %d messages, want none: the dropped chunk's must never be published", k)
	}
}

// A store that wrote a chunk to the changelog and lost its record of the write (a crash
// before that record, which is not synced, reached the disk) finds its own chunk after
// its position when it takes the partition again: nothing is dropped (the chunk's reply
// is the only one there will be: a redelivery of its envelope is only acknowledged), the
// chunk committed after it and never written is written, and another store restores
// the same keys.
func TestChangelogPendingWrittenRecordLost(t *testing.T) {
	ctx := context.Background()
	js, topo, s1, cl := takenStore(t)
	for i, id := range []string{"written", "not-written"} {
		b := s1.NewBatch()
		b.PutRecord("demo", id, &store.Record{Seq: uint64(i + 1), At: time.Unix(1e9, 0), Body: []byte(id)})
		b.Publish(store.Outgoing{Subject: "t.out.demo.c", Data: []byte(id)})
		ch, pid := b.HoldChanges()
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := cl.WriteHeldLosingRecord(ctx, 0, pid, ch); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The same store, after a restart, takes the partition again.
	rs, err := bus.NewChangelog(js, topo, s1, 1, 1<<20).Take(ctx, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Dropped != 0 || rs.Confirmed != 1 || rs.Resent != 1 {
		t.Errorf("take after the crash: dropped %d, confirmed %d, resent %d; want 0, 1, 1", rs.Dropped, rs.Confirmed, rs.Resent)
	}
	if h, err := s1.HeldOutbox(nil); err != nil || len(h) != 0 {
		t.Errorf("held after the take: %v (%v)", h, err)
	}
	if k := outboxLen(t, s1); k != 2 {
		t.Errorf("outbox holds %d messages, want both chunks' (their replies are the only ones)", k)
	}
	s2 := openStore(t, filepath.Join(t.TempDir(), "s2"))
	defer s2.Close()
	if _, err := bus.NewChangelog(js, topo, s2, 1, 1<<20).Take(ctx, 0, 3); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "restored after the take", moving(t, s1), moving(t, s2))
}

// takenStore starts a nats-server and a store s1 that has taken partition 0 (of 1, prefix
// t) of its changelog under epoch 1.
func takenStore(t *testing.T) (jetstream.JetStream, bus.Topology, *store.Store, *bus.Changelog) {
	t.Helper()
	ctx := context.Background()
	n := testenv.StartTestNATS(t)
	js := testenv.NewClient(t, n.URL()).JetStream()
	topo := bus.Topology{Prefix: "t", Partitions: 1}
	s1 := openStore(t, filepath.Join(t.TempDir(), "s1"))
	t.Cleanup(func() { s1.Close() })
	cl := bus.NewChangelog(js, topo, s1, 1, 1<<20)
	if err := cl.Provision(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Take(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	return js, topo, s1, cl
}

func commitWrite(ctx context.Context, cl *bus.Changelog, b *store.Batch) error {
	ch, id := b.HoldChanges()
	if err := b.Commit(); err != nil {
		return err
	}
	return cl.WriteHeld(ctx, 0, id, ch)
}

// A worker started with the changelog off on a store that a run with it on left pending
// chunks in publishes their messages: the store alone is the state then.
func TestChangelogOffReleasesPending(t *testing.T) {
	n := testenv.StartTestNATS(t)
	a := testenv.StartGroupWorkers(t, n, &config.Config{Changelog: true}, "w-a")[0]
	_, replies := crashBeforeChangelogWrite(t, n, a)
	a.Config.Changelog = false
	a.Start()
	replies.wait(t, 1)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		h, err := a.Store.HeldOutbox(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) == 0 && outboxLen(t, a.Store) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the changelog off, %d messages still held, %d in the outbox", len(h), outboxLen(t, a.Store))
		}
	}
	if q := quantities(t, decode(t, replies.all()[0]))["sku_tee"]; q != 2 {
		t.Errorf("the reply to gap-add says sku_tee %d, want 2", q)
	}
}

// streams.changelog.max_bytes bounds A2A_CL, with discard new, when it is created and at
// every start after.
func TestChangelogStreamMaxBytes(t *testing.T) {
	ctx := context.Background()
	n := testenv.StartTestNATS(t)
	js := testenv.NewClient(t, n.URL()).JetStream()
	topo := bus.Topology{Prefix: "t", Partitions: 1}
	topo.Streams.Changelog.MaxBytes = 1 << 20
	for i, want := range []int64{1 << 20, 2 << 20} {
		topo.Streams.Changelog.MaxBytes = config.Bytes(want)
		if err := bus.NewChangelog(js, topo, nil, 1, 1<<20).Provision(ctx, 1); err != nil {
			t.Fatal(err)
		}
		cfg := mustStream(t, js, "T_CL").CachedInfo().Config
		if cfg.MaxBytes != want || cfg.Discard != jetstream.DiscardNew || cfg.MaxAge != 0 {
			t.Errorf("start %d: max_bytes %d, discard %v, max_age %s; want %d, new, none", i+1, cfg.MaxBytes, cfg.Discard, cfg.MaxAge, want)
		}
	}
}

// A changelog write that fails without a fence (here: the stream full) stops the
// partition with its chunk pending; the worker takes the partition again until it can,
// writes the chunk, publishes its replies and serves on, and the state is the
// changelog's: another worker that takes the partitions sees every envelope applied once.
func TestChangelogFullStreamResumes(t *testing.T) {
	n := testenv.StartTestNATS(t)
	cfg := &config.Config{Changelog: true}
	cfg.Streams.Changelog.MaxBytes = 16 << 10
	a := testenv.StartGroupWorkers(t, n, cfg, "w-a")[0]
	owners(t, 30*time.Second, 4, []int{4}, a)
	c := testenv.NewClient(t, n.URL())
	c.Send("demo", "full", "full-create", map[string]any{"action": "create_checkout"})

	inbox := c.Conn().NewRespInbox()
	rl := &replyLog{}
	sub, err := c.Conn().Subscribe(inbox, func(m *nats.Msg) {
		rl.mu.Lock()
		rl.msgs = append(rl.msgs, m)
		rl.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	const adds = 30
	hdr := nats.Header{}
	hdr.Set("A2A-Reply-To", inbox)
	for i := range adds {
		id := "full-add-" + strconv.Itoa(i)
		body := testenv.Envelope(id, "", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
		if _, err := c.Publish("demo", "full", body, hdr); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // a chunk each, or nearly
	}
	time.Sleep(5 * time.Second) // the write's tries run out
	if k := len(rl.all()); k >= adds {
		t.Fatalf("%d replies with a changelog of %d bytes: it never filled", k, cfg.Streams.Changelog.MaxBytes)
	}
	stalled := len(rl.all())
	ctx := context.Background()
	s := mustStream(t, c.JetStream(), "A2A_CL")
	sc := s.CachedInfo().Config
	sc.MaxBytes = 64 << 20
	if _, err := c.JetStream().UpdateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	replies := func() int { return len(rl.all()) }
	for deadline := time.Now().Add(60 * time.Second); replies() < adds; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d replies of %d after the changelog got room (%d before)", replies(), adds, stalled)
		}
	}
	for i, m := range rl.all() {
		if q := quantities(t, decode(t, m))["sku_tee"]; q < 1 || q > adds {
			t.Errorf("reply %d: sku_tee %d", i+1, q)
		}
	}
	b := testenv.StartGroupWorker(t, n, "w-b", &config.Config{Changelog: true})
	a.Stop()
	owners(t, 30*time.Second, 4, []int{4}, b)
	r := decode(t, c.Send("demo", "full", "full-get", map[string]any{"action": "get_checkout"}))
	if q := quantities(t, r)["sku_tee"]; q != adds {
		t.Errorf("on the new owner: sku_tee %d, want %d (%d replies stalled at first)", q, adds, stalled)
	}
	t.Logf("%d of %d replies before the changelog got room", stalled, adds)
}
