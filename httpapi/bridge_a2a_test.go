package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2aclient"
	"github.com/a2aproject/a2a-go/a2aclient/agentcard"
	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
)

// The A2A binding as UCP's and A2A's own specs have it, driven by the official A2A Go SDK.

// startA2A serves the bridge and the discovery documents of a worker on a loopback
// listener, and returns the base URL and an SDK client built from the demo card.
func startA2A(t *testing.T, w *testenv.Worker) (string, *a2aclient.Client) {
	t.Helper()
	nc, err := nats.Connect(w.NATS.URL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	br, err := httpapi.NewBridge(w.Config, nc, httpapi.BridgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(httpapi.BridgePattern, br)
	srv := httptest.NewUnstartedServer(mux)
	d := httpapi.NewDiscovery(w.Config, srv.Listener.Addr().String(), "test")
	mux.HandleFunc("GET /.well-known/agent-card.json", d.AgentCard)
	srv.Start()
	t.Cleanup(func() { srv.Close(); br.Close(); nc.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	card, err := agentcard.DefaultResolver.Resolve(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	client, err := a2aclient.NewFromCard(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, client
}

// sdkSend sends parts in contextID with the SDK and returns the checkout of the reply.
func sdkSend(t *testing.T, client *a2aclient.Client, contextID string, parts ...a2a.Part) *envelopes.Checkout {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msg := a2a.NewMessage(a2a.MessageRoleUser, parts...)
	msg.ContextID = contextID
	res, err := client.SendMessage(ctx, &a2a.MessageSendParams{Message: msg})
	if err != nil {
		t.Fatalf("send %v: %v", parts, err)
	}
	reply, ok := res.(*a2a.Message)
	if !ok || len(reply.Parts) == 0 {
		t.Fatalf("not a message: %#v", res)
	}
	dp, ok := reply.Parts[0].(a2a.DataPart)
	if !ok {
		t.Fatalf("not a data part: %#v", reply.Parts[0])
	}
	b, _ := json.Marshal(dp.Data)
	var r envelopes.Resource
	if err := json.Unmarshal(b, &r); err != nil || r.Checkout == nil {
		t.Fatalf("reply %s: %v", b, err)
	}
	return r.Checkout
}

var sdkPayment = map[string]any{"instruments": []any{map[string]any{
	"id": "pi_1", "handler_id": "mock", "type": "card", "selected": true,
	"credential": map[string]any{"type": "token", "token": "tok_visa"}}}}

// readyCheckout brings contextID's checkout to ready_for_complete through the SDK.
func readyCheckout(t *testing.T, client *a2aclient.Client, contextID string) {
	t.Helper()
	c := sdkSend(t, client, contextID, a2a.DataPart{Data: map[string]any{envelopes.KeyCheckout: map[string]any{
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_tee"}, "quantity": 1}},
		"buyer":      map[string]any{"email": "ada@example.com"},
		"fulfillment": map[string]any{"methods": []any{map[string]any{"type": "shipping",
			"destinations": []any{map[string]any{"id": "d1", "street_address": "1 Market St", "address_locality": "San Francisco",
				"address_region": "CA", "postal_code": "94105", "address_country": "US"}},
			"groups": []any{map[string]any{"selected_option_id": "std"}}}}},
	}}})
	if c.Status != "ready_for_complete" {
		t.Fatalf("upsert: %s %+v", c.Status, c.Messages)
	}
}

// TestA2ATwoPartPayment: UCP's A2A binding completes a checkout with two data parts, the
// action in one and the payment in the other; the SDK sends exactly that and the checkout
// is paid. The payment part without the action part pays too (the UCP form), and a
// second data part beside any other action is refused, not ignored.
func TestA2ATwoPartPayment(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{}, handlers.Options{})
	base, client := startA2A(t, w)

	readyCheckout(t, client, "ctx-two-part")
	c := sdkSend(t, client, "ctx-two-part",
		a2a.DataPart{Data: map[string]any{"action": "complete_checkout"}},
		a2a.DataPart{Data: map[string]any{envelopes.KeyPayment: sdkPayment, envelopes.KeySignals: map[string]any{"ip": "203.0.113.7"}}})
	if c.Status != "completed" || c.Order == nil {
		t.Fatalf("two-part complete: %s, order %+v, messages %+v", c.Status, c.Order, c.Messages)
	}

	// The order of the parts does not matter, nor text parts beside them.
	readyCheckout(t, client, "ctx-two-part-b")
	c = sdkSend(t, client, "ctx-two-part-b",
		a2a.TextPart{Text: "pay please"},
		a2a.DataPart{Data: map[string]any{envelopes.KeyPayment: sdkPayment}},
		a2a.DataPart{Data: map[string]any{"action": "complete_checkout"}})
	if c.Status != "completed" {
		t.Fatalf("reversed two-part complete: %s %+v", c.Status, c.Messages)
	}

	pay, _ := json.Marshal(map[string]any{envelopes.KeyPayment: sdkPayment})
	for i, bad := range []struct {
		name, parts, path, msg string
	}{
		{"payment beside another action", `{"action":"get_checkout"}},{"kind":"data","data":` + string(pay),
			"$.params.message.parts[1].data", "complete_checkout"},
		{"two actions", `{"action":"get_checkout"}},{"kind":"data","data":{"action":"cancel_checkout"}`,
			"$.params.message.parts", "exactly one data part"},
		{"payment twice", `{"action":"complete_checkout","payment":{"instruments":[]}}},{"kind":"data","data":` + string(pay),
			"$.params.message.parts[1].data['a2a.ucp.checkout.payment']", "twice"},
		{"no payment in the second part", `{"action":"complete_checkout"}},{"kind":"data","data":{"note":"x"}`,
			"$.params.message.parts[1].data['a2a.ucp.checkout.payment']", "payment"},
		{"a third data part", `{"action":"complete_checkout"}},{"kind":"data","data":` + string(pay) + `},{"kind":"data","data":{}`,
			"$.params.message.parts", "data parts"},
	} {
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"message/send","params":{"message":{"kind":"message",`+
			`"role":"user","messageId":"bad-%d","contextId":"ctx-two-part-bad","parts":[{"kind":"data","data":%s}]}}}`, i, i, bad.parts)
		r := testenv.PostRPC(t, base+"/a2a/demo", strings.NewReader(body), nil)
		if r.Code() != "invalid_params" || r.Error.Data.Path != bad.path || !strings.Contains(r.Error.Message, bad.msg) {
			t.Errorf("%s: %s, want invalid_params at %s saying %q", bad.name, r.Raw, bad.path, bad.msg)
		}
	}
}

// TestA2ATasks: A2A 0.3 requires tasks/get and tasks/cancel of every agent. cartwright
// creates no tasks, so both are TaskNotFound (-32001), which the SDK reads as
// a2a.ErrTaskNotFound.
func TestA2ATasks(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{}, handlers.Options{})
	_, client := startA2A(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := client.GetTask(ctx, &a2a.TaskQueryParams{ID: "task-1"}); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Errorf("tasks/get: %v, want a2a.ErrTaskNotFound", err)
	}
	if _, err := client.CancelTask(ctx, &a2a.TaskIDParams{ID: "task-1"}); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Errorf("tasks/cancel: %v, want a2a.ErrTaskNotFound", err)
	}
	// Other methods stay unsupported.
	if _, err := client.GetTaskPushConfig(ctx, &a2a.GetTaskPushConfigParams{TaskID: "task-1"}); !errors.Is(err, a2a.ErrMethodNotFound) &&
		!errors.Is(err, a2a.ErrPushNotificationNotSupported) {
		t.Errorf("push config: %v", err)
	}
}

// TestA2ANotification: a JSON-RPC request without an id is a notification: it gets no
// response (HTTP 204, no body), yet it is applied, and the worker's reply goes to the
// context's reply subject.
func TestA2ANotification(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{}, handlers.Options{})
	base, client := startA2A(t, w)
	out, err := w.Conn.SubscribeSync("a2a.out.demo.ctx-note")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"jsonrpc":"2.0","method":"message/send","params":{"message":{"kind":"message","role":"user",` +
		`"messageId":"note-1","contextId":"ctx-note","parts":[{"kind":"data","data":{"action":"create_checkout"}}]}}}`
	resp, got := post(t, base+"/a2a/demo", body)
	if resp.StatusCode != http.StatusNoContent || len(got) != 0 {
		t.Fatalf("notification: HTTP %d %q, want 204 and no body", resp.StatusCode, got)
	}
	m, err := out.NextMsg(30 * time.Second)
	if err != nil {
		t.Fatalf("no reply on a2a.out: %v", err)
	}
	if m.Header.Get(handlers.HdrMessageID) != "note-1" || m.Header.Get(handlers.HdrStatus) != "ok" {
		t.Fatalf("reply on a2a.out: %v %s", m.Header, m.Data)
	}
	if c := sdkSend(t, client, "ctx-note", a2a.DataPart{Data: map[string]any{"action": "get_checkout"}}); c.Status != "incomplete" {
		t.Fatalf("the notification's checkout: %+v", c)
	}
	// A broken notification gets no response either; a request with "id": null is no
	// notification and is answered.
	resp, got = post(t, base+"/a2a/demo", `{"jsonrpc":"2.0","method":"tasks/get","params":{"id":"x"}}`)
	if resp.StatusCode != http.StatusNoContent || len(got) != 0 {
		t.Errorf("tasks/get notification: HTTP %d %q", resp.StatusCode, got)
	}
	resp, got = post(t, base+"/a2a/demo", `{"jsonrpc":"2.0","id":null,"method":"tasks/get","params":{"id":"x"}}`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), `"code":-32001`) || !strings.Contains(string(got), `"id":null`) {
		t.Errorf("tasks/get with id null: HTTP %d %s", resp.StatusCode, got)
	}
}

func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// TestAgentCardIgnoresHost: a card served from a listener on every interface names the
// public URL, or loopback, never the Host of the request, which a shared cache would
// otherwise store for every caller. A tenant with tokens declares bearer auth, as the
// bridge's 401 asks for it.
func TestAgentCardIgnoresHost(t *testing.T) {
	cfg := twoTenants(t)
	get := func(d *httpapi.Discovery, target string) (*httptest.ResponseRecorder, *a2a.AgentCard) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Host = "evil.example"
		mux := http.NewServeMux()
		mux.HandleFunc("GET /a2a/{tenant}/.well-known/agent-card.json", d.AgentCard)
		mux.ServeHTTP(rec, req)
		var c a2a.AgentCard
		if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
			t.Fatalf("%v: %s", err, rec.Body)
		}
		return rec, &c
	}
	rec, card := get(httpapi.NewDiscovery(cfg, "0.0.0.0:8080", "dev"), "/a2a/acme/.well-known/agent-card.json")
	if strings.Contains(rec.Body.String(), "evil.example") || card.URL != "http://127.0.0.1:8080/a2a/acme" {
		t.Errorf("card url %q from Host evil.example", card.URL)
	}
	if s, ok := card.SecuritySchemes["bearer"].(a2a.HTTPAuthSecurityScheme); !ok || !strings.EqualFold(s.Scheme, "bearer") ||
		len(card.Security) != 1 {
		t.Errorf("acme card security: %#v %#v", card.SecuritySchemes, card.Security)
	}
	cfg.Bridge.PublicURL = "https://shop.example.com"
	_, card = get(httpapi.NewDiscovery(cfg, "0.0.0.0:8080", "dev"), "/a2a/demo/.well-known/agent-card.json")
	if card.URL != "https://shop.example.com/a2a/demo" {
		t.Errorf("card url %q, want the public URL", card.URL)
	}
}
