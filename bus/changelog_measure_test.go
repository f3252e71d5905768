package bus_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// The changelog figures in docs/workers.md come from this; it takes minutes and a few
// GB of disk, so it runs only when asked:
//
//	go test ./bus -run TestMeasureChangelog -changelog.measure -v -timeout 30m
var (
	measureCL   = flag.Bool("changelog.measure", false, "measure the changelog's write cost and restore times")
	measureSize = flag.String("changelog.checkouts", "10000,100000", "checkouts of a partition to restore, comma-separated")
)

// measureBase is how many purchases the worker runs for real; the larger changelogs are
// copies of theirs under other keys.
const measureBase = 1000

// purchaseSteps is the bench's purchase, one data part per step.
func purchaseSteps(ctx string) []map[string]any {
	return []map[string]any{
		{"action": "create_checkout"},
		{"action": "add_item", "item_id": "sku_tee", "quantity": 1},
		{"action": "add_item", "item_id": "sku_mug", "quantity": 1},
		{"action": "add_item", "item_id": "sku_gift", "quantity": 1},
		{"action": "set_buyer", "buyer": map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email": "ada." + ctx + "@example.com"}},
		{"action": "set_shipping_address", "address": map[string]any{"street_address": "1 Market St",
			"address_locality": "San Francisco", "address_region": "CA", "postal_code": "94105", "address_country": "US"}},
		{"action": "select_shipping_option", "option_id": "std"},
		completeData("tok_visa"),
	}
}

// rekey appends suffix to every key of an encoded chunk (store/changelog.go's format),
// so that copies of a chunk write keys of their own, and leaves out its outbox messages.
func rekey(data []byte, suffix string) []byte {
	out := append(make([]byte, 0, len(data)+64), data[0])
	for d := data[1:]; len(d) > 0; {
		op := d[0]
		l, m := binary.Uvarint(d[1:])
		k := d[1+m : 1+m+int(l)]
		d = d[1+m+int(l):]
		if op == 'o' {
			continue // an outbox message (no key), which a restore of the copies skips anyway
		}
		out = append(out, op)
		out = binary.AppendUvarint(out, uint64(len(k)+len(suffix)))
		out = append(append(out, k...), suffix...)
		if op == 's' {
			l, m = binary.Uvarint(d)
			out = append(out, d[:m+int(l)]...)
			d = d[m+int(l):]
		}
	}
	return out
}

// entries splits an encoded chunk into its keys and values (deletes have nil values).
func entries(data []byte) (keys, vals [][]byte) {
	for d := data[1:]; len(d) > 0; {
		op := d[0]
		l, m := binary.Uvarint(d[1:])
		if op == 'o' {
			d = d[1+m+int(l):] // an outbox message: no key
			continue
		}
		keys = append(keys, d[1+m:1+m+int(l)])
		d = d[1+m+int(l):]
		var v []byte
		if op == 's' {
			l, m = binary.Uvarint(d)
			v = d[m : m+int(l)]
			d = d[m+int(l):]
		}
		vals = append(vals, v)
	}
	return keys, vals
}

func TestMeasureChangelog(t *testing.T) {
	if !*measureCL {
		t.Skip("-changelog.measure not set")
	}
	ctx := context.Background()
	w := testenv.StartWorker(t, &config.Config{Changelog: true, Partitions: 1}, handlers.Options{})
	c := testenv.NewClient(t, w.NATS.URL())
	js := c.JetStream()

	// The worker runs measureBase purchases, step by step across all of them, as the bench
	// publishes them.
	start := time.Now()
	for s := range 8 {
		for i := range measureBase {
			name := fmt.Sprintf("mc%05d", i)
			if _, err := js.PublishAsync("a2a.in.demo."+name, testenv.Envelope(name+"-"+strconv.Itoa(s), "", purchaseSteps(name)[s])); err != nil {
				t.Fatal(err)
			}
		}
	}
	<-js.PublishAsyncComplete()
	out := mustStream(t, js, "A2A_OUT")
	for {
		info, err := out.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs >= 8*measureBase {
			break
		}
		if time.Since(start) > 5*time.Minute {
			t.Fatalf("%d replies after 5 minutes", info.State.Msgs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cl := mustStream(t, js, "A2A_CL")
	info, err := cl.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("worker: %d envelopes in %v; changelog %d messages, %d bytes, %d bytes per envelope",
		8*measureBase, time.Since(start).Round(time.Millisecond), info.State.Msgs, info.State.Bytes,
		info.State.Bytes/(8*measureBase))

	// Read the worker's chunks back.
	cons, err := js.OrderedConsumer(ctx, "A2A_CL", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"a2a.cl.0.chunk"}})
	if err != nil {
		t.Fatal(err)
	}
	var chunks [][]byte
	// part joins the parts of a chunk over the max payload.
	var part []byte
	for read := uint64(0); read < info.State.Msgs-1; read++ { // all but the epoch marker
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("after %d chunks: %v", len(chunks), err)
		}
		i, n, _ := strings.Cut(m.Headers().Get("Cartwright-Part"), "/")
		if n == "" {
			chunks = append(chunks, m.Data())
			continue
		}
		part = append(part, m.Data()...)
		if i == n {
			chunks = append(chunks, part)
			part = nil
		}
	}

	// What compressing the chunks would give (not done: docs/workers.md).
	var raw, packed int
	t0 := time.Now()
	for _, ch := range chunks {
		raw += len(ch)
		packed += len(s2.Encode(nil, ch))
	}
	t.Logf("s2 of the chunks: %d bytes to %d (%.0f %%) in %v, %.1f µs per envelope",
		raw, packed, 100*float64(packed)/float64(raw), time.Since(t0).Round(time.Microsecond),
		float64(time.Since(t0).Microseconds())/float64(8*measureBase))

	// Write cost, one message per chunk, fenced, as the sender writes them.
	topo := bus.Topology{Prefix: "m", Partitions: 4}
	scratch := openStore(t, filepath.Join(t.TempDir(), "scratch"))
	defer scratch.Close()
	gen := bus.NewChangelog(js, topo, scratch, 4, c.Conn().MaxPayload())
	if err := gen.Provision(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Take(ctx, 3, 1); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	for _, ch := range chunks {
		if err := gen.Write(ctx, 3, ch); err != nil {
			t.Fatal(err)
		}
	}
	d := time.Since(t0)
	t.Logf("one message per chunk, fenced: %d chunks in %v: %v per chunk, %.1f µs per envelope",
		len(chunks), d.Round(time.Millisecond), (d / time.Duration(len(chunks))).Round(time.Microsecond),
		float64(d.Microseconds())/float64(8*measureBase))

	// The alternative: one message per key (MaxMsgsPerSubject 1), each fenced.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "M_KEYS", Subjects: []string{"k.>"},
		MaxMsgsPerSubject: 1, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	var last uint64
	keysWritten, envs := 0, 0
	t0 = time.Now()
	for _, ch := range chunks[:min(40, len(chunks))] {
		keys, vals := entries(ch)
		for i, k := range keys {
			m := nats.NewMsg("k.0." + hex.EncodeToString(k))
			m.Data = vals[i]
			ack, err := js.PublishMsg(ctx, m, jetstream.WithExpectLastSequenceForSubject(last, "k.0.>"))
			if err != nil {
				t.Fatal(err)
			}
			last = ack.Sequence
			keysWritten++
			if k[0] == 'i' {
				envs++
			}
		}
	}
	d = time.Since(t0)
	t.Logf("one message per key, fenced: %d keys for %d envelopes in %v: %.1f µs per envelope",
		keysWritten, envs, d.Round(time.Millisecond), float64(d.Microseconds())/float64(envs))

	// Restore times: the worker's chunks copied under other keys, as many copies as it
	// takes to reach the number of checkouts.
	for p, n := range strings.Split(*measureSize, ",") {
		checkouts, err := strconv.Atoi(n)
		if err != nil || p > 2 {
			t.Fatalf("-changelog.checkouts %q: at most 3 counts", *measureSize)
		}
		copies := checkouts / measureBase
		t0 := time.Now()
		for k := range copies {
			sfx := "~" + strconv.Itoa(k)
			for _, ch := range chunks {
				if _, err := js.PublishAsync("m.cl."+strconv.Itoa(p)+".chunk", rekey(ch, sfx)); err != nil {
					t.Fatal(err)
				}
			}
			<-js.PublishAsyncComplete()
		}
		t.Logf("partition %d: %d checkouts written in %v", p, checkouts, time.Since(t0).Round(time.Millisecond))
		st := openStore(t, filepath.Join(t.TempDir(), "restore"))
		cl := bus.NewChangelog(js, topo, st, 4, c.Conn().MaxPayload())
		rs, err := cl.Take(ctx, p, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("restore of %d checkouts into an empty store: %v (%d messages, %d entries)",
			checkouts, rs.Took.Round(time.Millisecond), rs.Messages, rs.Entries)
		// Catch-up: one more base's worth written after the store's position.
		for _, ch := range chunks {
			if _, err := js.PublishAsync("m.cl."+strconv.Itoa(p)+".chunk", rekey(ch, "~new")); err != nil {
				t.Fatal(err)
			}
		}
		<-js.PublishAsyncComplete()
		rs, err = cl.Restore(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("catch-up over %d newer checkouts: %v (%d messages)", measureBase, rs.Took.Round(time.Millisecond), rs.Messages)
		st.Close()
	}
}
