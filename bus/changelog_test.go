package bus_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

func changelogWorker(t *testing.T) *testenv.Worker {
	return testenv.StartWorker(t, &config.Config{Changelog: true}, handlers.Options{})
}

// changelogOf serves the worker's changelog for st, as another worker would.
func changelogOf(t *testing.T, w *testenv.Worker, js jetstream.JetStream, st *store.Store) *bus.Changelog {
	topo := w.Worker.Topology()
	return bus.NewChangelog(js, topo, st, topo.Partitions, 1<<20)
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// moving reads every key of st that moves with a partition.
func moving(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	kv := map[string]string{}
	if err := st.PartitionKeys(func(k, v []byte) error { kv[string(k)] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	return kv
}

func sameKeys(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: key %q missing", what, k)
		} else if g != v {
			t.Errorf("%s: key %q differs", what, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: key %q not in the original", what, k)
		}
	}
	if len(want) == 0 {
		t.Errorf("%s: nothing to compare", what)
	}
}

// Every tag the changelog must carry turns up in a purchase's changes.
func hasTables(t *testing.T, kv map[string]string, tags string) {
	t.Helper()
	for _, tag := range []byte(tags) {
		found := false
		for k := range kv {
			if k[0] == tag {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no %q key in the store", tag)
		}
	}
}

// TestChangelogBeforeReplies: a chunk's changes are in the changelog before its reply is
// published, and they carry the context's state.
func TestChangelogBeforeReplies(t *testing.T) {
	w := changelogWorker(t)
	c := testenv.NewClient(t, w.NATS.URL())
	sub, err := c.Conn().SubscribeSync("a2a.>")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish("demo", "clorder", testenv.Envelope("clorder-create", "", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_gift"}, "quantity": 1}}}), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	sawChunk := false
	for {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			t.Fatal("no reply seen:", err)
		}
		switch {
		case strings.HasPrefix(m.Subject, "a2a.cl.") && strings.HasSuffix(m.Subject, ".chunk"):
			if bytes.Contains(m.Data, []byte("clorder")) {
				sawChunk = true
			}
		case m.Subject == "a2a.out.demo.clorder":
			if !sawChunk {
				t.Fatal("the reply came before the chunk's changelog entry")
			}
			return
		}
	}
}

// TestChangelogRestoreAndReplay: a second store restored from the changelog holds what
// the first holds, key by key; a worker whose store is restored from scratch answers the
// envelopes already applied as replays, with no second effect.
func TestChangelogRestoreAndReplay(t *testing.T) {
	w := changelogWorker(t)
	c := testenv.NewClient(t, w.NATS.URL())
	ctx := context.Background()
	// sku_tee's stock is counted: its reservations and counters move too.
	create := map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_tee"}, "quantity": 2}},
		"buyer":      map[string]any{"email": "a@example.com"}}
	steps := map[string]map[string]any{
		"create": create,
		"address": {"action": "set_shipping_address", "address": map[string]any{"street_address": "1 A St",
			"address_locality": "Austin", "address_region": "TX", "postal_code": "73301", "address_country": "US"}},
		"ship":     {"action": "select_shipping_option", "option_id": "std"},
		"complete": completeData("tok_visa"),
	}
	var sent []string
	for i := range 6 {
		name := fmt.Sprintf("clr%d", i)
		for _, step := range []string{"create", "address", "ship", "complete"} {
			m := c.Send("demo", name, name+"-"+step, steps[step])
			if step == "complete" && orderID(m) == "" {
				t.Fatalf("%s: no order: %s", name, m.Data)
			}
		}
		sent = append(sent, name)
	}
	c.Send("demo", "clopen", "clopen-create", create) // an open checkout: the expiry index moves too
	topo := w.Worker.Topology()
	w.Stop()
	events := func() uint64 {
		info, err := mustStream(t, c.JetStream(), "A2A_EVT").Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.Msgs
	}
	before := events()

	orig := openStore(t, filepath.Join(w.Dir, "store"))
	want := moving(t, orig)
	orig.Close()
	hasTables(t, want, "cixewrpyv")

	second := openStore(t, filepath.Join(t.TempDir(), "store"))
	defer second.Close()
	cl := changelogOf(t, w, c.JetStream(), second)
	for p := range topo.Partitions {
		rs, err := cl.Restore(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if rs.From != 0 {
			t.Errorf("partition %d: an empty store restored from %d", p, rs.From)
		}
	}
	sameKeys(t, "restored into a second store", want, moving(t, second))

	// The worker's own store goes; it comes back from the changelog alone.
	if err := os.RemoveAll(filepath.Join(w.Dir, "store")); err != nil {
		t.Fatal(err)
	}
	w.Start()
	for _, name := range sent {
		for step, body := range steps {
			if m := c.Send("demo", name, name+"-"+step, body); m.Header.Get("A2A-Replayed") != "true" {
				t.Errorf("%s-%s on the restored store: not a replay: %s", name, step, m.Data)
			}
		}
	}
	time.Sleep(300 * time.Millisecond) // an event of a second effect would be stored by now
	if after := events(); after != before {
		t.Errorf("the replays on the restored store stored %d events", after-before)
	}
}

// TestChangelogCatchUp: a store that restored the partition once reads only what was
// written since.
func TestChangelogCatchUp(t *testing.T) {
	w := changelogWorker(t)
	c := testenv.NewClient(t, w.NATS.URL())
	ctx := context.Background()
	for i := range 4 {
		giftCheckout(c, fmt.Sprintf("clc%d", i))
	}
	topo := w.Worker.Topology()
	second := openStore(t, filepath.Join(t.TempDir(), "store"))
	defer second.Close()
	cl := changelogOf(t, w, c.JetStream(), second)
	first := make([]bus.RestoreStats, topo.Partitions)
	for p := range topo.Partitions {
		rs, err := cl.Restore(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		first[p] = rs
	}
	for i := range 4 {
		purchase(t, c, fmt.Sprintf("clc%d", i+4))
	}
	w.Stop()
	caughtUp := 0
	for p := range topo.Partitions {
		rs, err := cl.Restore(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if rs.From != first[p].Head {
			t.Errorf("partition %d: caught up from %d, want %d (where the last restore stopped)", p, rs.From, first[p].Head)
		}
		if rs.Head > rs.From {
			caughtUp++
			if uint64(rs.Messages) > rs.Head-rs.From {
				t.Errorf("partition %d: read %d messages catching up over (%d, %d]", p, rs.Messages, rs.From, rs.Head)
			}
		}
	}
	if caughtUp == 0 {
		t.Fatal("no partition had anything to catch up on")
	}
	orig := openStore(t, filepath.Join(w.Dir, "store"))
	defer orig.Close()
	sameKeys(t, "caught up", moving(t, orig), moving(t, second))
}

// TestChangelogFenced: once another writer has taken the partitions' changelogs, the
// worker's next chunk fails the fence: its reply is not published, its envelope not
// acknowledged, and nothing more of it reaches the changelog.
func TestChangelogFenced(t *testing.T) {
	w := changelogWorker(t)
	c := testenv.NewClient(t, w.NATS.URL())
	ctx := context.Background()
	giftCheckout(c, "clf0")
	topo := w.Worker.Topology()

	other := openStore(t, filepath.Join(t.TempDir(), "store"))
	defer other.Close()
	cl := changelogOf(t, w, c.JetStream(), other)
	heads := make([]uint64, topo.Partitions)
	for p := range topo.Partitions {
		if _, err := cl.Take(ctx, p, 7); err != nil {
			t.Fatal(err)
		}
		heads[p] = lastChangelogSeq(t, c.JetStream(), topo, p)
	}

	replies, err := c.Conn().SubscribeSync("a2a.out.demo.clf1")
	if err != nil {
		t.Fatal(err)
	}
	ack, err := c.Publish("demo", "clf1", testenv.Envelope("clf1-create", "", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_gift"}, "quantity": 1}}}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := replies.NextMsg(3 * time.Second); err == nil {
		t.Fatalf("a fenced worker published a reply: %s", m.Data)
	}
	for p := range topo.Partitions {
		if got := lastChangelogSeq(t, c.JetStream(), topo, p); got != heads[p] {
			t.Errorf("partition %d: changelog head moved from the epoch marker %d to %d", p, heads[p], got)
		}
	}
	in := mustStream(t, c.JetStream(), "A2A_IN")
	acked := false
	for p := range topo.Partitions {
		cons, err := in.Consumer(ctx, topo.ConsumerName(p))
		if err != nil {
			t.Fatal(err)
		}
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream >= ack.Sequence {
			acked = true
		}
	}
	if acked {
		t.Error("the fenced chunk's envelope was acknowledged")
	}
	// The new writer goes on; one that never restored is fenced at once.
	if err := cl.Write(ctx, 0, []byte{1}); err != nil {
		t.Errorf("the new writer: %v", err)
	}
	stale := changelogOf(t, w, c.JetStream(), other)
	if err := stale.Write(ctx, 0, []byte{1}); !errors.Is(err, bus.ErrFenced) {
		t.Errorf("a writer that never restored: %v, want ErrFenced", err)
	}
}

func lastChangelogSeq(t *testing.T, js jetstream.JetStream, topo bus.Topology, p int) uint64 {
	t.Helper()
	s := mustStream(t, js, topo.ChangelogStream())
	m, err := s.GetLastMsgForSubject(context.Background(), topo.ChangelogFilter(p))
	if err != nil {
		t.Fatal(err)
	}
	return m.Sequence
}

// TestChangelogChunkInParts: a chunk larger than a message goes in parts and is restored
// whole; the first part of a chunk whose writer never finished it is not applied.
func TestChangelogChunkInParts(t *testing.T) {
	ctx := context.Background()
	n := testenv.StartTestNATS(t)
	js := testenv.NewClient(t, n.URL()).JetStream()
	topo := bus.Topology{Prefix: "t", Partitions: 1}
	src := openStore(t, filepath.Join(t.TempDir(), "src"))
	defer src.Close()
	b := src.NewBatch()
	for i := range 40 {
		b.PutRecord("demo", fmt.Sprintf("m%d", i), &store.Record{Seq: uint64(i + 1), At: time.Unix(1e9, 0),
			Body: bytes.Repeat([]byte{'x'}, 200)})
	}
	changes := b.Changes()
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	writer := bus.NewChangelog(js, topo, src, 1, 0) // 1 KiB parts
	if err := writer.Provision(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Take(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := writer.Write(ctx, 0, changes); err != nil {
		t.Fatal(err)
	}
	if head := lastChangelogSeq(t, js, topo, 0); head < 5 {
		t.Fatalf("a %d-byte chunk in %d messages", len(changes), head-1)
	}
	// A writer that died after the first part of its next chunk.
	m := &nats.Msg{Subject: "t.cl.0.chunk", Header: nats.Header{"Cartwright-Part": []string{"1/2"}},
		Data: []byte{1, 's', 3, 'c', 'z', 0, 1, 'v'}}
	if _, err := js.PublishMsg(ctx, m); err != nil {
		t.Fatal(err)
	}
	dst := openStore(t, filepath.Join(t.TempDir(), "dst"))
	defer dst.Close()
	if _, err := bus.NewChangelog(js, topo, dst, 1, 0).Take(ctx, 0, 2); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "restored from parts", moving(t, src), moving(t, dst))
}
