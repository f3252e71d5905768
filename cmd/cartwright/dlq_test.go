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

// TestDLQReplayRefusesAnotherTenant: a dead letter planted on a2a.dlq.alpha.x that names
// a2a.in.demo.x is not replayed: replay says why, leaves it in place, counts it in its
// summary and exits 1; the dead letter of the same run that names its own tenant is
// replayed.
func TestDLQReplayRefusesAnotherTenant(t *testing.T) {
	ns := testenv.StartTestNATS(t)
	testenv.StartServe(t, "--nats-url", ns.URL(), "--data", t.TempDir(), "--http-listen", "127.0.0.1:0", "--partitions", "2")
	url := []string{"--nats-url", ns.URL()}
	c := testenv.NewClient(t, ns.URL())
	for _, p := range []struct{ subject, original, id string }{
		{"a2a.dlq.alpha.x", "a2a.in.demo.x", "planted"},
		{"a2a.dlq.demo.own", "a2a.in.demo.own", "own"},
	} {
		m := nats.NewMsg(p.subject)
		m.Header.Set("A2A-Original-Subject", p.original)
		m.Header.Set("A2A-Error-Code", "temporarily_unavailable")
		m.Data = testenv.Envelope(p.id, "", map[string]any{"action": "create_checkout"})
		if _, err := c.JetStream().PublishMsg(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	sub, _ := c.Conn().SubscribeSync("a2a.out.demo.>")

	dry := must(t, 0, append([]string{"dlq", "replay", "--all", "--dry-run"}, url...)...)
	if !strings.Contains(dry.stdout, "would refuse 1") || !strings.Contains(dry.stdout, "would replay 2") {
		t.Errorf("dry run:\n%s", dry.stdout)
	}
	r := must(t, 1, append([]string{"dlq", "replay", "--all"}, url...)...)
	for _, want := range []string{"refused 1 (", "a2a.in.demo.x", "replayed 1 dead letter(s); refused 1"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("replay's output lacks %q:\n%s", want, r.stderr)
		}
	}
	if m, err := sub.NextMsg(10 * time.Second); err != nil || m.Subject != "a2a.out.demo.own" {
		t.Fatalf("reply to the replayed dead letter: %v %v", m, err)
	}
	if m, err := sub.NextMsg(time.Second); err == nil {
		t.Errorf("the refused dead letter reached demo: %s %s", m.Subject, m.Data)
	}
	var left []struct {
		Subject string `json:"subject"`
	}
	ls := must(t, 0, append([]string{"dlq", "ls", "--format", "json"}, url...)...)
	if err := json.Unmarshal([]byte(ls.stdout), &left); err != nil || len(left) != 1 || left[0].Subject != "a2a.dlq.alpha.x" {
		t.Errorf("left after replay: %v\n%s", err, ls.stdout)
	}
}
