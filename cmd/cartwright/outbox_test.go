package main_test

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// A dead letter over the server's max payload left in the outbox by an earlier run does
// not stop `serve` from starting: it is set aside, and `outbox set-aside` lists it.
func TestServeSetsAsideWhatCanNeverBePublished(t *testing.T) {
	ns := testenv.StartTestNATS(t)
	data := t.TempDir()
	st, err := store.Open(filepath.Join(data, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := st.NewBatch()
	b.Publish(store.Outgoing{Subject: "a2a.dlq.demo.x", Header: map[string][]string{"Nats-Msg-Id": {"7:dlq"}},
		Data: bytes.Repeat([]byte("a"), 1<<20)})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	st.Close()

	p := testenv.StartServe(t, "--nats-url", ns.URL(), "--data", data, "--http-listen", "127.0.0.1:0", "--partitions", "2")
	if err := p.Terminate(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Output(), "set aside") {
		t.Errorf("serve did not log the message it set aside:\n%s", p.Output())
	}

	r := must(t, 0, "outbox", "set-aside", "--data", data)
	var line struct {
		OutboxSeq uint64 `json:"outbox_seq"`
		Reason    string `json:"reason"`
		Subject   string `json:"subject"`
		Bytes     int    `json:"bytes"`
		Data      []byte `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &line); err != nil || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("outbox set-aside: %v\n%s", err, r.stdout)
	}
	if line.OutboxSeq != 1 || line.Subject != "a2a.dlq.demo.x" || line.Bytes != 1<<20 ||
		!strings.Contains(line.Reason, "maximum payload") || line.Data != nil {
		t.Errorf("outbox set-aside: %s", r.stdout)
	}
	r = must(t, 0, "outbox", "set-aside", "--data", data, "--body")
	if err := json.Unmarshal([]byte(r.stdout), &line); err != nil || len(line.Data) != 1<<20 {
		t.Errorf("outbox set-aside --body: %d bytes of data (%v)", len(line.Data), err)
	}
}
