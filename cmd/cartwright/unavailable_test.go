package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// downPayments is a payment provider that is down: every call fails transiently, as an
// HTTP provider answering 503 does once its own retries are spent.
type downPayments struct{ commerce.Payments }

func (downPayments) Authorize(context.Context, commerce.PaymentRequest) (commerce.PaymentResult, error) {
	return commerce.PaymentResult{}, commerce.Transient("payments", errors.New("503 Service Unavailable"))
}

// TestCompleteWithPaymentsDown: one `checkout complete` while the payment provider is down
// puts one envelope in A2A_IN and leaves one dead letter. With the default --timeout the
// agent gets the worker's temporarily_unavailable (exit 1); with a --timeout shorter
// than the worker's retries, exit 3 says the worker still has it rather than asking
// whether one runs.
func TestCompleteWithPaymentsDown(t *testing.T) {
	t.Parallel()
	w := testenv.StartWorker(t, nil, handlers.Options{
		Providers: handlers.Providers{Payments: downPayments{providers.NewMockPayments()}}})
	conn := []string{"--nats-url", w.NATS.URL(), "--tenant", "demo"}
	ready := func(t *testing.T, ctxID string) []string {
		c := slices.Concat(conn, []string{"--context", ctxID})
		must(t, 0, slices.Concat([]string{"checkout", "init", "--sku", "sku_gift", "--email", "ada@example.com"}, c)...)
		return c
	}

	t.Run("default timeout", func(t *testing.T) {
		t.Parallel()
		c := ready(t, "ctx-down-1")
		r := must(t, 1, slices.Concat([]string{"checkout", "complete", "--payment-token", "tok_visa",
			"--message-id", "pay-down-1"}, c)...)
		var e envelopes.RPCError
		if err := json.Unmarshal([]byte(r.stdout), &e); err != nil || e.Data == nil || e.Data.Code != "temporarily_unavailable" {
			t.Fatalf("want the temporarily_unavailable error, got %q (%v)\nstderr: %s", r.stdout, err, r.stderr)
		}
		assertOneCopy(t, w, "ctx-down-1", "pay-down-1")
	})
	t.Run("short timeout", func(t *testing.T) {
		t.Parallel()
		c := ready(t, "ctx-down-2")
		r := must(t, 3, slices.Concat([]string{"checkout", "complete", "--payment-token", "tok_visa",
			"--message-id", "pay-down-2", "--timeout", "3s"}, c)...)
		t.Logf("exit 3: %s", r.stderr)
		if strings.Contains(r.stderr, "is a worker running") || !strings.Contains(r.stderr, "retr") {
			t.Errorf("exit 3 does not say the worker is retrying it: %q", r.stderr)
		}
		if !strings.Contains(r.stderr, "--message-id pay-down-2") {
			t.Errorf("stderr does not say how to ask again: %q", r.stderr)
		}
		assertOneCopy(t, w, "ctx-down-2", "pay-down-2")
	})
}

// assertOneCopy waits for the dead letter of messageID, then checks that A2A_IN holds
// one copy of it and A2A_DLQ one dead letter.
func assertOneCopy(t *testing.T, w *testenv.Worker, ctxID, messageID string) {
	t.Helper()
	js, err := jetstream.New(w.Conn)
	if err != nil {
		t.Fatal(err)
	}
	count := func(stream, subject string, match func(jetstream.Msg) bool) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			batch, err := cons.FetchNoWait(100)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for m := range batch.Messages() {
				got++
				if match(m) {
					n++
				}
			}
			if got == 0 {
				return n
			}
		}
	}
	isDLQ := func(m jetstream.Msg) bool { return m.Headers().Get("A2A-Message-Id") == messageID }
	deadline := time.Now().Add(90 * time.Second)
	for count("A2A_DLQ", "a2a.dlq.demo."+ctxID, isDLQ) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no dead letter for %s", messageID)
		}
		time.Sleep(500 * time.Millisecond)
	}
	copies := count("A2A_IN", "a2a.in.*.demo."+ctxID, func(m jetstream.Msg) bool {
		return strings.Contains(string(m.Data()), `"messageId":"`+messageID+`"`)
	})
	if copies != 1 {
		t.Errorf("A2A_IN holds %d copies of %s, want 1", copies, messageID)
	}
	if n := count("A2A_DLQ", "a2a.dlq.demo."+ctxID, isDLQ); n != 1 {
		t.Errorf("%d dead letters of %s, want 1", n, messageID)
	}
}

// TestNoReplyWorkerStopped: an envelope stored while no worker runs is not answered, and
// exit 3 says so.
func TestNoReplyWorkerStopped(t *testing.T) {
	t.Parallel()
	w := testenv.StartWorker(t, nil, handlers.Options{})
	w.Stop()
	r := must(t, 3, "checkout", "get", "--nats-url", w.NATS.URL(), "--tenant", "demo",
		"--context", "ctx-stopped", "--timeout", "2s")
	if !strings.Contains(r.stderr, "(A2A_IN seq ") || !strings.Contains(r.stderr, "is a worker running?") {
		t.Errorf("exit 3 does not say the envelope is stored and no worker has fetched it: %q", r.stderr)
	}
}
