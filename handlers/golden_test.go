package handlers_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/store"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden_replies.txt from what the handler queues")

// TestGoldenReplies pins what the worker publishes, to the byte: every message a short
// purchase, its replays, a conflict, a refusal and a dead letter queue (subject, headers,
// data), with the envelope's time and the failure clock fixed. A change here is a change
// on the wire: regenerate with -update only when the wire is meant to change, and say so.
func TestGoldenReplies(t *testing.T) {
	cfg := config.Default()
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	h := handlers.New(cfg, app.WithEnvs(cfg, handlers.Options{Logger: slog.New(slog.DiscardHandler), Clock: func() time.Time { return at }}))

	var out bytes.Buffer
	seq := uint64(0)
	send := func(context, raw string, hdr map[string][]string) {
		seq++
		b := st.NewBatch()
		if hdr == nil {
			hdr = map[string][]string{}
		}
		hdr["traceparent"] = []string{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
		o := h.Handle(context0(), b, &handlers.Envelope{
			Subject: "a2a.in.demo." + context, Tenant: "demo", Context: context, Usable: true,
			Data: []byte(raw), Header: hdr, Seq: seq, Delivered: 1, Time: at.Add(time.Duration(seq) * time.Second),
		})
		fmt.Fprintf(&out, "# seq %d on %s: %s %s\n", seq, context, o.Kind, o.Code)
		for _, m := range b.Outgoing() {
			fmt.Fprintf(&out, "publish %s core=%v\n", m.Subject, m.Core)
			keys := make([]string, 0, len(m.Header))
			for k := range m.Header {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				fmt.Fprintf(&out, "  %s: %s\n", k, strings.Join(m.Header[k], ", "))
			}
			fmt.Fprintf(&out, "  %s\n", m.Data)
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	rpc := func(id, data string) string {
		return `{"jsonrpc":"2.0","id":"req-` + id + `","method":"message/send","params":{"message":{"kind":"message",` +
			`"role":"user","messageId":"` + id + `","parts":[{"kind":"data","data":` + data + `}]}}}`
	}
	send("g1", rpc("g-1", `{"action":"create_checkout","line_items":[{"item":{"id":"sku_tee"},"quantity":2}]}`), nil)
	send("g1", rpc("g-2", `{"action":"set_buyer","buyer":{"email":"ada@example.com","first_name":"Ada"}}`), nil)
	send("g1", rpc("g-3", `{"action":"set_shipping_address","address":{"street_address":"1 Market St","address_locality":"San Francisco","address_region":"CA","postal_code":"94105","address_country":"US"}}`), nil)
	send("g1", rpc("g-4", `{"action":"select_shipping_option","option_id":"std"}`), nil)
	send("g1", rpc("g-5", `{"action":"apply_discount","code":"SAVE10"}`), nil)
	send("g1", rpc("g-6", `{"action":"complete_checkout","payment":{"instruments":[{"id":"pi","handler_id":"mock","type":"card","credential":{"type":"token","token":"tok_visa"}}]}}`), nil)
	send("g1", rpc("g-6", `{"action":"complete_checkout","payment":{"instruments":[{"id":"pi","handler_id":"mock","type":"card","credential":{"type":"token","token":"tok_visa"}}]}}`), nil) // a replay
	send("g1", rpc("g-6", `{"action":"cancel_checkout"}`), nil)                                                                                                                              // a conflict
	send("g1", rpc("g-7", `{"action":"add_item","item_id":"sku_mug","quantity":1}`), nil)                                                                                                    // immutable
	send("g1", rpc("g-8", `{"action":"add_item","item_id":"sku_mug","quantity":0}`), nil)                                                                                                    // invalid_params
	send("g2", rpc("g-9", `{"action":"get_checkout"}`), map[string][]string{"A2A-Reply-To": {"_INBOX.golden.1"}})                                                                            // not_found, to an inbox
	send("g2", rpc("g-10", `{"action":"get_checkout"}`), map[string][]string{"A2A-Reply-To": {"a2a.out.other.x"}})                                                                           // forbidden
	send("g2", `{"jsonrpc":"2.0","id":"req-g-11","method":"message/send","params":`, nil)                                                                                                    // parse_error: a dead letter
	send("g2", rpc("g-12", `{"action":"explode"}`), nil)                                                                                                                                     // unknown_action

	const file = "testdata/golden_replies.txt"
	if *updateGolden {
		if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		gotLines, wantLines := strings.Split(out.String(), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gotLines), len(wantLines)) {
			var g, w string
			if i < len(gotLines) {
				g = gotLines[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if g != w {
				t.Fatalf("%s, line %d:\n got %s\nwant %s", file, i+1, g, w)
			}
		}
	}
}

func context0() context.Context { return context.Background() }
