package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// rpcRefusal reports whether body is a JSON-RPC error with a message.
func rpcRefusal(body string) bool {
	var r struct {
		JSONRPC string `json:"jsonrpc"`
		Error   *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	return json.Unmarshal([]byte(body), &r) == nil && r.JSONRPC == "2.0" && r.Error != nil && r.Error.Code != 0 && r.Error.Message != ""
}

// TestBridgeBrowserGuards: a web page in a browser on the worker's host is a loopback
// caller too. It can send text/plain, it cannot hide its Origin, and through DNS
// rebinding it names its own host: none of those gets through to the bus.
func TestBridgeBrowserGuards(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{HTTP: config.HTTP{AllowedOrigins: []string{"https://shop.example.com"}}}, handlers.Options{})
	_, url := startBridge(t, w.Config, w.NATS.URL())
	port := url[strings.LastIndex(url[:strings.LastIndex(url, "/a2a/")], ":"):strings.LastIndex(url, "/a2a/")]
	create := func(ctx string) []byte {
		return testenv.Envelope("g-"+ctx, ctx, map[string]any{"action": "create_checkout"})
	}
	const js = "application/json"

	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"the issue's curl", map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example", "Host": "evil.example:8080"}, 0},
		{"text/plain", map[string]string{"Content-Type": "text/plain"}, 415},
		{"form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"no content type", map[string]string{}, 415},
		{"json with a charset", map[string]string{"Content-Type": "application/json; charset=utf-8"}, 200},
		{"json with another parameter", map[string]string{"Content-Type": "application/json; boundary=x"}, 415},
		{"another origin", map[string]string{"Content-Type": js, "Origin": "https://evil.example"}, 403},
		{"the null origin", map[string]string{"Content-Type": js, "Origin": "null"}, 403},
		{"an allowed origin", map[string]string{"Content-Type": js, "Origin": "https://shop.example.com"}, 200},
		{"a rebinding host", map[string]string{"Content-Type": js, "Host": "evil.example:8080"}, 421},
		{"a rebinding host, no port", map[string]string{"Content-Type": js, "Host": "evil.example"}, 421},
		{"localhost", map[string]string{"Content-Type": js, "Host": "localhost" + port}, 200},
		{"localhost, no port", map[string]string{"Content-Type": js, "Host": "localhost"}, 200},
		{"::1", map[string]string{"Content-Type": js, "Host": "[::1]" + port}, 200},
		{"127.0.0.1, no port", map[string]string{"Content-Type": js, "Host": "127.0.0.1"}, 200},
	} {
		ctx := "g-" + strings.NewReplacer(" ", "-", "'", "", ",", "", ":", "", "/", "").Replace(c.name)
		code, _, body := testenv.PostRaw(t, url, bytes.NewReader(create(ctx)), c.hdr)
		switch {
		case c.want == 0 && code == 200:
			t.Errorf("%s: taken: %s", c.name, body)
		case c.want != 0 && code != c.want:
			t.Errorf("%s: HTTP %d, want %d: %s", c.name, code, c.want, body)
		}
		if code != 200 && !rpcRefusal(body) {
			t.Errorf("%s: HTTP %d without a JSON-RPC error body: %s", c.name, code, body)
		}
		if code == 200 {
			continue
		}
		// Nothing reached the bus: the context has no checkout.
		if r := send(t, url, "gg-"+ctx, ctx, map[string]any{"action": "get_checkout"}); r.Code() != "not_found" {
			t.Errorf("%s: refused, yet the context has a checkout: %s", c.name, r.Raw)
		}
	}
}

// TestBridgeInFlightCap: past http.max_in_flight requests waiting for their replies, the
// next is answered 503 with Retry-After at once; the slots come back with the replies.
func TestBridgeInFlightCap(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{Bridge: config.Bridge{Timeout: time.Minute}, HTTP: config.HTTP{MaxInFlight: 2}}, handlers.Options{})
	_, url := startBridge(t, w.Config, w.NATS.URL())
	js := testenv.NewClient(t, w.NATS.URL()).JetStream()
	w.Stop() // nothing consumes: requests stay in flight

	held := make(chan testenv.HTTPReply, 2)
	for _, id := range []string{"cap-1", "cap-2"} {
		go func() { held <- send(t, url, id, "ctx-"+id, map[string]any{"action": "create_checkout"}) }()
		inbound(t, js, "demo", "ctx-"+id, `"`+id+`"`) // published: it waits for its reply
	}
	code, hdr, body := testenv.PostRaw(t, url, bytes.NewReader(testenv.Envelope("cap-3", "ctx-cap-3", map[string]any{"action": "create_checkout"})),
		map[string]string{"Content-Type": "application/json"})
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, `"temporarily_unavailable"`) {
		t.Fatalf("over the cap: HTTP %d, Retry-After %q: %s", code, hdr.Get("Retry-After"), body)
	}

	w.Start()
	for range 2 {
		select {
		case r := <-held:
			if r.Result == nil {
				t.Errorf("a held request: %d %s", r.Status, r.Raw)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the held requests were not answered")
		}
	}
	if r := send(t, url, "cap-3", "ctx-cap-3", map[string]any{"action": "create_checkout"}); r.Result == nil {
		t.Errorf("after the held requests: %d %s", r.Status, r.Raw)
	}
}
