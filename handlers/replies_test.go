package handlers_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

// A name of its own, as -chaos.full is: each golden file of the package is rewritten on its own.
var updateReplies = flag.Bool("replies.update", false, "rewrite testdata/replies.golden from what the handler queues")

// TestReplyBytes pins, byte for byte, what Handle queues on each way an envelope ends: a
// success and an error remembered under the messageId, their replay, the refusals kept
// under the stream sequence (a conflict, an unknown tenant, a forbidden reply subject), and
// the dead letters with and without an error reply. Replies are stored and served again,
// so their bytes must not drift. go test ./handlers -run TestReplyBytes -replies.update rewrites
// testdata/replies.golden.
func TestReplyBytes(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC)
	cfg := config.Default()
	h := handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{Logger: slog.New(slog.DiscardHandler),
		Clock: func() time.Time { return at.Add(time.Second) }}))
	create := `{"action":"create_checkout","line_items":[{"item":{"id":"sku_gift"},"quantity":1}]}`
	oldRPC := `{"jsonrpc":"1.0","id":7,"method":"message/send","params":{"message":{"kind":"message",` +
		`"role":"user","messageId":"m-old","parts":[{"kind":"data","data":{"action":"get_checkout"}}]}}}`
	steps := []struct {
		name    string
		subject string
		data    string
		hdr     map[string][]string
		seq     uint64 // 0: the next one
	}{
		{name: "success", data: string(benchRPC("m-create", create))},
		{name: "replay", data: string(benchRPC("m-create", create))},
		{name: "conflict", data: string(benchRPC("m-create", `{"action":"get_checkout"}`))},
		{name: "domain error, path made absolute", data: string(benchRPC("m-upd", `{"action":"update_item","line_item_id":"li_none","quantity":2}`))},
		{name: "to an inbox", data: string(benchRPC("m-get", `{"action":"get_checkout"}`)),
			hdr: map[string][]string{handlers.HdrReplyTo: {"_INBOX.abc"}}},
		{name: "invalid params", data: string(benchRPC("m-qty", `{"action":"add_item","item_id":"sku_tee","quantity":0}`))},
		{name: "unknown tenant", subject: "a2a.in.nobody.c", data: string(benchRPC("m-who", `{"action":"get_checkout"}`))},
		{name: "reply subject forbidden", data: string(benchRPC("m-rt", `{"action":"get_checkout"}`)),
			hdr: map[string][]string{handlers.HdrReplyTo: {"elsewhere.x"}, handlers.HdrTraceParent: {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}},
		{name: "parse error", data: `{"jsonrpc":`},
		{name: "the same delivery again", data: `{"jsonrpc":`, seq: 9},
		{name: "malformed with a messageId", data: oldRPC},
		{name: "its copy: answered, not dead-lettered again", data: oldRPC},
		{name: "unusable subject", subject: "a2a.in.demo", data: string(benchRPC("m-sub", `{"action":"get_checkout"}`))},
	}
	var got bytes.Buffer
	var seq uint64
	for _, s := range steps {
		subject := s.subject
		if subject == "" {
			subject = "a2a.in.demo.c"
		}
		if s.seq == 0 {
			seq++
		}
		e := &handlers.Envelope{Subject: subject, Data: []byte(s.data), Header: s.hdr, Seq: max(s.seq, seq), Delivered: 1, Time: at}
		if tok := strings.Split(subject, "."); len(tok) == 4 {
			e.Tenant, e.Context, e.Usable = tok[2], tok[3], true
		}
		if e.Header == nil {
			e.Header = map[string][]string{}
		}
		b := st.NewBatch()
		out := h.Handle(context.Background(), b, e)
		fmt.Fprintf(&got, "## %s: seq %d → %s %s\n", s.name, e.Seq, out.Kind, out.Code)
		for _, m := range b.Outgoing() {
			fmt.Fprintf(&got, "%s core=%t\n", m.Subject, m.Core)
			for _, k := range slices.Sorted(maps.Keys(m.Header)) {
				fmt.Fprintf(&got, "  %s: %s\n", k, strings.Join(m.Header[k], ","))
			}
			fmt.Fprintf(&got, "  %s\n", m.Data)
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	golden := filepath.Join("testdata", "replies.golden")
	if *updateReplies {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("queued messages differ from %s (-replies.update rewrites it):\n%s", golden, got.String())
	}
}
