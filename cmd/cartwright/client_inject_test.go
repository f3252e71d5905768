package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestClientTakesOnlyItsOwnReply: the inbox of a client command is in A2A_IN for anyone
// to aim a reply at. The test plays the worker: before the real reply it sends the reply
// another tenant's envelope would get (same messageId even), and one of the same tenant
// for another messageId. The command prints the real one.
func TestClientTakesOnlyItsOwnReply(t *testing.T) {
	t.Parallel()
	ns := testenv.StartTestNATS(t)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := bus.Provision(ctx, js, bus.Topology{Prefix: "a2a", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(file, testenv.Envelope("own-1", "", map[string]any{"action": "get_checkout"}), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan run, 1)
	go func() {
		r, _ := exe(testenv.Binary(t), "send", "--nats-url", ns.URL(), "--tenant", "beta", "--context", "bx",
			"--timeout", "45s", file)
		done <- r
	}()

	cons, err := js.OrderedConsumer(ctx, "A2A_IN", jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(30 * time.Second))
	if err != nil {
		t.Fatalf("the command published nothing: %v", err)
	}
	inbox := m.Headers().Get("A2A-Reply-To")
	if !strings.HasPrefix(inbox, "_INBOX.") {
		t.Fatalf("A2A-Reply-To %q", inbox)
	}
	reply := func(tenant, messageID, body string) {
		t.Helper()
		r := nats.NewMsg(inbox)
		r.Header.Set("A2A-Tenant", tenant)
		r.Header.Set("A2A-Message-Id", messageID)
		r.Header.Set("A2A-Status", "ok")
		r.Data = []byte(body)
		if err := nc.PublishMsg(r); err != nil {
			t.Fatal(err)
		}
	}
	reply("alpha", "own-1", `{"jsonrpc":"2.0","id":"req-own-1","result":{"from":"alpha"}}`)
	reply("beta", "someone-else", `{"jsonrpc":"2.0","id":"x","result":{"from":"another message"}}`)
	reply("beta", "own-1", `{"jsonrpc":"2.0","id":"req-own-1","result":{"from":"beta"}}`)
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	var r run
	select {
	case r = <-done:
	case <-time.After(55 * time.Second):
		t.Fatal("the command did not finish")
	}
	if r.code != 0 || !strings.Contains(r.stdout, `"from": "beta"`) || strings.Contains(r.stdout, "alpha") ||
		strings.Contains(r.stdout, "another message") {
		t.Fatalf("exit %d, printed %q (stderr %q), want beta's reply to own-1", r.code, r.stdout, r.stderr)
	}
}
