package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
)

// The bridge in process, in front of an in-process worker on a real NATS server.

// startBridge serves a bridge for cfg on its own connection to url, behind an httptest
// server (a loopback listener), and returns it with the endpoint of tenant demo.
func startBridge(t *testing.T, cfg *config.Config, url string) (*httpapi.Bridge, string) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	br, err := httpapi.NewBridge(cfg, nc, httpapi.BridgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(httpapi.BridgePattern, br)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); br.Close(); nc.Close() })
	return br, srv.URL + "/a2a/demo"
}

func send(t *testing.T, url, messageID, contextID string, data any) testenv.HTTPReply {
	t.Helper()
	return testenv.PostRPC(t, url, bytes.NewReader(testenv.Envelope(messageID, contextID, data)), nil)
}

// quantities are the line items' quantities by item of a checkout reply.
func quantities(t *testing.T, r testenv.RPCReply) map[string]int {
	t.Helper()
	if r.Result == nil || len(r.Result.Parts) == 0 || r.Result.Parts[0].Data == nil || r.Result.Parts[0].Data.Checkout == nil {
		t.Fatalf("not a checkout reply: %+v", r)
	}
	q := map[string]int{}
	for _, l := range r.Result.Parts[0].Data.Checkout.LineItems {
		q[l.Item.ID] += l.Quantity
	}
	return q
}

// TestBridgeTimeoutThenRetry: with no worker running, a request times out with
// temporarily_unavailable; the envelope is kept, applied once when the worker is back,
// and the same messageId sent again gets the reply.
func TestBridgeTimeoutThenRetry(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{Bridge: config.Bridge{Timeout: time.Second}}, handlers.Options{})
	_, url := startBridge(t, w.Config, w.NATS.URL())

	if r := send(t, url, "tr-1", "ctx-tr", map[string]any{"action": "create_checkout"}); r.Result == nil {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	w.Stop()
	add := map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 2}
	start := time.Now()
	r := send(t, url, "tr-2", "ctx-tr", add)
	if r.Status != 200 || r.Code() != "temporarily_unavailable" || r.Error.Code != -32030 || string(r.ID) != `"req-tr-2"` {
		t.Fatalf("no worker: %d %s", r.Status, r.Raw)
	}
	if !strings.Contains(r.Raw, `"messageId":"tr-2"`) || r.Header.Get("A2A-Error-Code") != "temporarily_unavailable" {
		t.Errorf("timeout reply: %s %v", r.Raw, r.Header)
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Errorf("answered after %s; the timeout is 1s", d)
	}

	w.Start()
	for i := 0; ; i++ {
		r = send(t, url, "tr-2", "ctx-tr", add)
		if r.Code() != "temporarily_unavailable" || i == 10 {
			break
		}
	}
	if r.Result == nil || r.Header.Get("A2A-Replayed") != "true" || r.Header.Get("A2A-Status") != "ok" {
		t.Fatalf("retry: %d %v %s", r.Status, r.Header, r.Raw)
	}
	if q := quantities(t, r.RPCReply)["sku_tee"]; q != 2 {
		t.Errorf("retry: sku_tee x%d, want x2", q)
	}
	r = send(t, url, "tr-3", "ctx-tr", map[string]any{"action": "get_checkout"})
	if q := quantities(t, r.RPCReply)["sku_tee"]; q != 2 {
		t.Errorf("applied more than once: sku_tee x%d, want x2", q)
	}
}

// TestBridgeEnvelopeTooLarge: over limits.max_envelope_bytes, announced or not, the
// bridge answers envelope_too_large itself.
func TestBridgeEnvelopeTooLarge(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{Limits: envelopes.Limits{MaxEnvelopeBytes: 2048}}, handlers.Options{})
	_, url := startBridge(t, w.Config, w.NATS.URL())
	big := testenv.Envelope("big-1", "ctx-big", map[string]any{"action": "create_checkout", "pad": strings.Repeat("x", 4000)})

	for name, body := range map[string]io.Reader{
		"with Content-Length":    bytes.NewReader(big),
		"chunked, no length":     io.MultiReader(bytes.NewReader(big)),
		"just over, with length": bytes.NewReader(append(testenv.Envelope("big-2", "ctx-big", map[string]any{"action": "create_checkout", "pad": strings.Repeat("y", 1920)}), ' ')),
	} {
		r := testenv.PostRPC(t, url, body, nil)
		if r.Status != 200 || r.Code() != "envelope_too_large" || r.Error.Code != -32600 || string(r.ID) != "null" {
			t.Errorf("%s: %d %s", name, r.Status, r.Raw)
		}
	}
	if r := send(t, url, "small-1", "ctx-big", map[string]any{"action": "create_checkout"}); r.Result == nil {
		t.Errorf("under the limit: %s", r.Raw)
	}
}

// TestBridgeRefusals: what the bridge answers itself, without the bus.
func TestBridgeRefusals(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	_, url := startBridge(t, w.Config, w.NATS.URL())

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	for _, c := range []struct {
		name, body, code, id string
		rpc                  int
	}{
		{"not JSON", `{"jsonrpc":`, "parse_error", "null", -32700},
		{"not a request", `[1,2]`, "invalid_envelope", "null", -32600},
		{"another method", `{"jsonrpc":"2.0","id":7,"method":"tasks/resubscribe","params":{"id":"t"}}`, "unsupported_method", "7", -32601},
		{"bad context", `{"jsonrpc":"2.0","id":"r","method":"message/send","params":{"message":{"kind":"message","role":"user",` +
			`"messageId":"m-bad","contextId":"a.b","parts":[{"kind":"data","data":{"action":"get_checkout"}}]}}}`, "invalid_params", `"r"`, -32602},
	} {
		r := testenv.PostRPC(t, url, strings.NewReader(c.body), nil)
		if r.Status != 200 || r.Code() != c.code || r.Error.Code != c.rpc || string(r.ID) != c.id {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Raw)
		}
	}
	r := testenv.PostRPC(t, url, strings.NewReader(`{"jsonrpc":"2.0","id":"r","method":"message/send","params":{"message":{"kind":"message","role":"user",`+
		`"messageId":"m-bad","contextId":"a.b","parts":[]}}}`), nil)
	if r.Error == nil || r.Error.Data.Path != "$.params.message.contextId" {
		t.Errorf("bad context: path %s", r.Raw)
	}
}

// TestBridgeContextAndTrace: a message without contextId gets one derived from its
// messageId, the same on a retry; the W3C trace context goes along with the envelope.
func TestBridgeContextAndTrace(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	_, url := startBridge(t, w.Config, w.NATS.URL())
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	body := testenv.Envelope("nc-1", "", map[string]any{"action": "create_checkout"})
	hdr := map[string]string{"traceparent": tp, "tracestate": "cw=1", "X-A2A-Extensions": httpapi.UCPExtensionURI}

	r := testenv.PostRPC(t, url, bytes.NewReader(body), hdr)
	want := httpapi.DeriveContextID("demo", "nc-1")
	if r.Result == nil || r.Result.ContextID != want {
		t.Fatalf("no contextId: %s, want context %s", r.Raw, want)
	}
	if r.Header.Get("X-A2A-Extensions") != httpapi.UCPExtensionURI {
		t.Errorf("UCP extension not activated: %v", r.Header)
	}
	r2 := testenv.PostRPC(t, url, bytes.NewReader(body), nil)
	if r2.Result == nil || r2.Result.ContextID != want || r2.Header.Get("A2A-Replayed") != "true" {
		t.Errorf("retry: %v %s", r2.Header, r2.Raw)
	}
	if httpapi.DeriveContextID("demo", "nc-2") == want || httpapi.DeriveContextID("acme", "nc-1") == want {
		t.Error("derived contexts collide")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	js, _ := jetstream.New(w.Conn)
	cons, err := js.OrderedConsumer(ctx, "A2A_IN", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"a2a.in.*.demo." + want}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	h := m.Headers()
	if h.Get("traceparent") != tp || h.Get("tracestate") != "cw=1" || !strings.HasPrefix(h.Get("A2A-Reply-To"), "_INBOX.") ||
		h.Get("Nats-Msg-Id") != "" || !bytes.Equal(m.Data(), body) {
		t.Errorf("as published: %v %s", h, m.Data())
	}
}

// TestBridgeLoopbackOnly: a tenant without tokens is refused to callers that are not on
// loopback; a tenant with tokens takes them from anywhere.
func TestBridgeLoopbackOnly(t *testing.T) {
	t.Setenv("CW_BRIDGE_TEST_TOKEN", "s3cret-s3cret-s3cret")
	cfg := &config.Config{
		// Remote callers reach a listener on every interface.
		HTTPListen: "0.0.0.0:8080",
		Tenants:    map[string]*config.Tenant{"demo": config.Demo(), "acme": config.Demo()},
		Bridge:     config.Bridge{Tokens: map[string][]config.TokenRef{"acme": {{Env: "CW_BRIDGE_TEST_TOKEN"}}}},
	}
	w := testenv.StartWorker(t, cfg, handlers.Options{})
	br, _ := startBridge(t, w.Config, w.NATS.URL())
	mux := http.NewServeMux()
	mux.Handle(httpapi.BridgePattern, br)

	for _, c := range []struct {
		tenant, remote, auth string
		want                 int
	}{
		{"demo", "192.0.2.10:40000", "", 401},
		{"demo", "[2001:db8::1]:40000", "", 401},
		{"demo", "127.0.0.1:40000", "", 200},
		{"demo", "[::1]:40000", "", 200},
		{"demo", "[::ffff:127.0.0.1]:40000", "", 200},
		{"nobody", "192.0.2.10:40000", "", 401}, // unknown tenants tell remote callers nothing
		{"acme", "192.0.2.10:40000", "", 401},
		{"acme", "127.0.0.1:40000", "", 401}, // tokens apply on loopback too
		{"acme", "192.0.2.10:40000", "Bearer s3cret-s3cret-s3cret", 200},
	} {
		req := httptest.NewRequest(http.MethodPost, "/a2a/"+c.tenant,
			bytes.NewReader(testenv.Envelope("lb-"+c.tenant, "ctx-lb", map[string]any{"action": "get_checkout"})))
		req.RemoteAddr = c.remote
		req.Header.Set("Content-Type", "application/json")
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s from %s: %d, want %d: %s", c.tenant, c.remote, rec.Code, c.want, rec.Body)
		}
		if rec.Code == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s from %s: 401 without WWW-Authenticate", c.tenant, c.remote)
		}
	}
}

// TestBridgeCloseAnswersWaiting: at shutdown, requests still waiting for a reply are
// answered at once rather than at their timeout.
func TestBridgeCloseAnswersWaiting(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{Bridge: config.Bridge{Timeout: time.Minute}}, handlers.Options{})
	br, url := startBridge(t, w.Config, w.NATS.URL())
	w.Stop()

	done := make(chan string, 1)
	go func() {
		body := testenv.Envelope("cl-1", "ctx-cl", map[string]any{"action": "create_checkout"})
		resp, err := http.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			done <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- string(b)
	}()
	time.Sleep(300 * time.Millisecond) // published, now waiting
	br.Close()
	select {
	case got := <-done:
		if !strings.Contains(got, `"code":"temporarily_unavailable"`) {
			t.Errorf("waiting request at close: %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting request was not answered at close")
	}
	if r := send(t, url, "cl-2", "ctx-cl", map[string]any{"action": "get_checkout"}); r.Code() != "temporarily_unavailable" {
		t.Errorf("after close: %s", r.Raw)
	}
}
