package handlers_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// benchContexts is how many contexts the benchmark spreads its envelopes over: a batch's
// worth, so that every envelope of a batch finds its checkout in the store, not in the
// batch.
const benchContexts = 500

func benchRPC(msgID, data string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":"req-` + msgID + `","method":"message/send","params":{"message":{"kind":"message",` +
		`"role":"user","messageId":"` + msgID + `","parts":[{"kind":"data","data":` + data + `}]}}}`)
}

// BenchmarkHandleAddItem handles one add_item envelope into a batch, as a partition loop
// does: the idempotency lookups, the checkout read from Pebble, the domain, the new
// state, the idempotency record and the reply queued in the outbox. The contexts hold a
// checkout with two items (committed beforehand); every 500 envelopes the batch is
// dropped uncommitted, so that each envelope meets the same stored state.
func BenchmarkHandleAddItem(b *testing.B) {
	cfg := config.Default()
	h := handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{Logger: slog.New(slog.DiscardHandler)}))
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	seq := uint64(0)
	envelope := func(c int, msgID, data string) *handlers.Envelope {
		seq++
		ctxID := "ctx-" + strconv.Itoa(c)
		return &handlers.Envelope{
			Subject: "a2a.in.demo." + ctxID, Tenant: "demo", Context: ctxID, Usable: true,
			Data: benchRPC(msgID, data), Header: map[string][]string{}, Seq: seq, Delivered: 1, Time: now,
		}
	}
	setup := st.NewBatch()
	for c := range benchContexts {
		for i, data := range []string{`{"action":"create_checkout"}`,
			`{"action":"add_item","item_id":"sku_tee","quantity":1}`,
			`{"action":"add_item","item_id":"sku_mug","quantity":1}`} {
			out := h.Handle(ctx, setup, envelope(c, "setup-"+strconv.Itoa(c)+"-"+strconv.Itoa(i), data))
			if out.Kind != handlers.Replied || out.Code != "" {
				b.Fatalf("setup: %+v", out)
			}
		}
	}
	if err := setup.Commit(); err != nil {
		b.Fatal(err)
	}
	envs := make([]*handlers.Envelope, benchContexts)
	for c := range envs {
		envs[c] = envelope(c, "add-"+strconv.Itoa(c), `{"action":"add_item","item_id":"sku_gift","quantity":1}`)
	}

	b.ReportAllocs()
	batch := st.NewBatch()
	i := 0
	for b.Loop() {
		if i == len(envs) {
			batch.Discard()
			batch, i = st.NewBatch(), 0
		}
		if out := h.Handle(ctx, batch, envs[i]); out.Kind != handlers.Replied || out.Code != "" {
			b.Fatalf("add_item: %+v", out)
		}
		i++
	}
	batch.Discard()
}
