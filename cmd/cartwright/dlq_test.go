package main_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/testenv"
)

// TestDLQCommands dead-letters two malformed envelopes and works on them with
// `cartwright dlq`: ls, show, the --all guard, a dry run, replay and purge.
func TestDLQCommands(t *testing.T) {
	ns := testenv.StartTestNATS(t)
	testenv.StartServe(t, "--nats-url", ns.URL(), "--data", t.TempDir(), "--http-listen", "127.0.0.1:0", "--partitions", "2")
	url := []string{"--nats-url", ns.URL()}
	c := testenv.NewClient(t, ns.URL())
	sub, _ := c.Conn().SubscribeSync("a2a.dlq.>")
	for _, body := range []string{"not json", `{"jsonrpc":"2.0","id":1}`} {
		if _, err := c.Publish("demo", "dl", []byte(body), nats.Header{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if _, err := sub.NextMsg(10 * time.Second); err != nil {
			t.Fatal("dead letter not published:", err)
		}
	}

	var list []struct {
		Seq             uint64 `json:"seq"`
		Code            string `json:"code"`
		OriginalSubject string `json:"original_subject"`
	}
	r := must(t, 0, append([]string{"dlq", "ls", "--format", "json"}, url...)...)
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("dlq ls: %v\n%s", err, r.stdout)
	}
	if list[0].Code != "parse_error" || list[1].Code != "invalid_envelope" || list[0].OriginalSubject != "a2a.in.demo.dl" {
		t.Errorf("dlq ls: %+v", list)
	}
	table := must(t, 0, append([]string{"dlq", "ls"}, url...)...)
	if !strings.Contains(table.stdout, "parse_error") || !strings.Contains(table.stdout, "SEQ") {
		t.Errorf("dlq ls table:\n%s", table.stdout)
	}
	show := must(t, 0, append([]string{"dlq", "show", "--seq", jsonNum(list[0].Seq)}, url...)...)
	if !strings.Contains(show.stdout, `"envelope_text": "not json"`) {
		t.Errorf("dlq show:\n%s", show.stdout)
	}

	must(t, 2, append([]string{"dlq", "replay"}, url...)...) // every dead letter needs --all
	dry := must(t, 0, append([]string{"dlq", "replay", "--code", "parse_error", "--dry-run"}, url...)...)
	if !strings.Contains(dry.stdout, "would replay") {
		t.Errorf("dry run: %q", dry.stdout)
	}
	if r := must(t, 0, append([]string{"dlq", "ls", "--format", "json"}, url...)...); strings.Count(r.stdout, `"seq"`) != 2 {
		t.Fatalf("the dry run changed the queue:\n%s", r.stdout)
	}

	// Replaying a malformed envelope dead-letters it again (as a new dead letter).
	must(t, 0, append([]string{"dlq", "replay", "--code", "parse_error"}, url...)...)
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil || m.Header.Get("A2A-Error-Code") != "parse_error" {
		t.Fatalf("replayed envelope: %v %v", err, m)
	}
	must(t, 0, append([]string{"dlq", "purge", "--all"}, url...)...)
	if r := must(t, 0, append([]string{"dlq", "ls", "--format", "json"}, url...)...); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("after purge: %s", r.stdout)
	}
}

func jsonNum(n uint64) string { b, _ := json.Marshal(n); return string(b) }
