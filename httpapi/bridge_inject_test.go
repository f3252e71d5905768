package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// gatedPayments holds every authorization until open is closed.
type gatedPayments struct {
	*providers.MockPayments
	entered chan struct{}
	open    chan struct{}
}

func (g *gatedPayments) Authorize(ctx context.Context, r commerce.PaymentRequest) (commerce.PaymentResult, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.open:
	case <-ctx.Done():
		return commerce.PaymentResult{}, ctx.Err()
	}
	return g.MockPayments.Authorize(ctx, r)
}

// inbound returns the first envelope A2A_IN holds on tenant/contextID whose body contains
// marker, waiting for it.
func inbound(t *testing.T, js jetstream.JetStream, tenant, contextID, marker string) jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		cons, err := js.OrderedConsumer(ctx, "A2A_IN", jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{"a2a.in.*." + tenant + "." + contextID}})
		if err != nil {
			t.Fatal(err)
		}
		for {
			m, err := cons.Next(jetstream.FetchMaxWait(300 * time.Millisecond))
			if err != nil {
				break
			}
			if bytes.Contains(m.Data(), []byte(marker)) {
				return m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no envelope with %q on %s/%s in A2A_IN", marker, tenant, contextID)
	return nil
}

// partitionOf is the partition token of the subject A2A_IN stored an envelope under.
func partitionOf(m jetstream.Msg) string { return strings.Split(m.Subject(), ".")[2] }

// TestBridgeReplyInjection replays the cross-tenant reply injection: while tenant beta's
// complete_checkout waits at the bridge, tenant alpha publishes an envelope whose
// A2A-Reply-To is the bridge's inbox of beta's request (as A2A_IN shows it). Beta's HTTP
// response must be beta's own reply, not alpha's checkout.
func TestBridgeReplyInjection(t *testing.T) {
	t.Setenv("CW_TEST_ALPHA_TOKEN", "alpha-alpha-alpha-alpha")
	t.Setenv("CW_TEST_BETA_TOKEN", "beta-beta-beta-beta-beta")
	gate := &gatedPayments{MockPayments: providers.NewMockPayments(), entered: make(chan struct{}, 1), open: make(chan struct{})}
	opened := false
	defer func() {
		if !opened {
			close(gate.open)
		}
	}()
	cfg := &config.Config{
		Tenants: map[string]*config.Tenant{"alpha": config.Demo(), "beta": config.Demo()},
		Bridge: config.Bridge{Timeout: 30 * time.Second, Tokens: map[string][]config.TokenRef{
			"alpha": {{Env: "CW_TEST_ALPHA_TOKEN"}}, "beta": {{Env: "CW_TEST_BETA_TOKEN"}}}},
	}
	w := testenv.StartWorker(t, cfg, handlers.Options{Tenants: map[string]handlers.Providers{"beta": {Payments: gate}}})
	_, demoURL := startBridge(t, w.Config, w.NATS.URL())
	base := strings.TrimSuffix(demoURL, "/demo")
	c := testenv.NewClient(t, w.NATS.URL())
	js := c.JetStream()
	post := func(tenant, token, messageID, contextID string, data any) testenv.HTTPReply {
		t.Helper()
		return testenv.PostRPC(t, base+"/"+tenant, bytes.NewReader(testenv.Envelope(messageID, contextID, data)),
			map[string]string{"Authorization": "Bearer " + token})
	}
	const alphaToken, betaToken = "alpha-alpha-alpha-alpha", "beta-beta-beta-beta-beta"

	// Beta's checkout, ready to complete.
	steps := []map[string]any{
		{"action": "create_checkout", "line_items": []any{map[string]any{"item": map[string]any{"id": "sku_tee"}, "quantity": 1}},
			"buyer": map[string]any{"email": "beta-buyer@example.com"}},
		{"action": "set_shipping_address", "address": map[string]any{"street_address": "1 Market St",
			"address_locality": "San Francisco", "address_region": "CA", "postal_code": "94105", "address_country": "US"}},
		{"action": "select_shipping_option", "option_id": "std"},
	}
	var r testenv.HTTPReply
	for i, s := range steps {
		r = post("beta", betaToken, "b-"+string(rune('a'+i)), "bx", s)
	}
	if r.Result == nil || r.Result.Parts[0].Data.Checkout.Status != "ready_for_complete" {
		t.Fatalf("beta's checkout: %s", r.Raw)
	}
	betaPartition := partitionOf(inbound(t, js, "beta", "bx", `"b-a"`))

	// Alpha's checkout, in a context that another partition serves than beta's: beta's
	// partition is held by the payment below.
	alphaCtx := ""
	for i := 0; i < 32 && alphaCtx == ""; i++ {
		ctx := "ax-" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		r := post("alpha", alphaToken, "a-"+ctx, ctx, map[string]any{"action": "create_checkout",
			"buyer": map[string]any{"email": "alpha-buyer@example.com"}})
		if r.Result == nil {
			t.Fatalf("alpha's checkout: %s", r.Raw)
		}
		if partitionOf(inbound(t, js, "alpha", ctx, `"a-`+ctx+`"`)) != betaPartition {
			alphaCtx = ctx
		}
	}
	if alphaCtx == "" {
		t.Fatal("no context of alpha outside beta's partition")
	}

	// Beta completes; its payment waits at the gate, its request at the bridge.
	done := make(chan testenv.HTTPReply, 1)
	go func() {
		done <- post("beta", betaToken, "b-complete", "bx", map[string]any{"action": "complete_checkout",
			"payment": map[string]any{"instruments": []any{map[string]any{"id": "pi_1", "handler_id": "mock",
				"type": "card", "selected": true, "credential": map[string]any{"type": "token", "token": "tok_visa"}}}}})
	}()
	select {
	case <-gate.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("beta's complete_checkout never reached its payment")
	}
	inbox := inbound(t, js, "beta", "bx", `"b-complete"`).Headers().Get("A2A-Reply-To")
	if !strings.HasPrefix(inbox, "_INBOX.") {
		t.Fatalf("beta's envelope names reply subject %q", inbox)
	}
	watch, err := c.Conn().SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}

	// Alpha aims an envelope of its own at that inbox.
	hdr := nats.Header{}
	hdr.Set("A2A-Reply-To", inbox)
	if _, err := c.Publish("alpha", alphaCtx, testenv.Envelope("evil-1", "", map[string]any{"action": "get_checkout"}), hdr); err != nil {
		t.Fatal(err)
	}
	injected, err := watch.NextMsg(20 * time.Second)
	if err != nil {
		t.Fatalf("alpha's reply never reached the inbox: %v", err)
	}
	if injected.Header.Get("A2A-Tenant") != "alpha" || injected.Header.Get("A2A-Message-Id") != "evil-1" {
		t.Errorf("the injected reply names %q/%q, want alpha/evil-1", injected.Header.Get("A2A-Tenant"), injected.Header.Get("A2A-Message-Id"))
	}
	close(gate.open)
	opened = true

	var got testenv.HTTPReply
	select {
	case got = <-done:
	case <-time.After(40 * time.Second):
		t.Fatal("beta's request was never answered")
	}
	if strings.Contains(got.Raw, "alpha-buyer@example.com") {
		t.Fatalf("beta's HTTP response carries alpha's checkout: %s", got.Raw)
	}
	if got.Result == nil || got.Result.MessageID != "b-complete:reply" || got.Result.Parts[0].Data.Checkout.Order == nil ||
		got.Header.Get("A2A-Message-Id") != "b-complete" {
		t.Fatalf("beta's response is not beta's completed checkout: %d %v %s", got.Status, got.Header, got.Raw)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(got.Raw), &body); err != nil || body["id"] != "req-b-complete" {
		t.Errorf("response id: %v", body["id"])
	}
}
