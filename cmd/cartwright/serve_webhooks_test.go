package main_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/testenv"
)

// TestServeStopsWhileWebhooksRetry: serve with webhooks configured, orders placed for a
// platform whose webhook answers 500 to every POST, stops cleanly on SIGTERM while the
// deliveries are failing and retrying: exit status 0, within seconds, no panic.
func TestServeStopsWhileWebhooksRetry(t *testing.T) {
	var posts atomic.Int64
	var platform *httptest.Server
	platform = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			fmt.Fprintf(w, `{"ucp":{"version":"2026-04-08","capabilities":{"dev.ucp.shopping.order":[{"version":"2026-04-08","config":{"webhook_url":%q}}]}}}`,
				platform.URL+"/hook")
			return
		}
		posts.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(platform.Close)

	dir := t.TempDir()
	conf := filepath.Join(dir, "cartwright.yaml")
	// Retries spaced so that a stop finds events waiting between attempts and others
	// mid-POST; two at a time, so that more wait behind them, pulled as the stop frees
	// their subscriptions.
	if err := os.WriteFile(conf, []byte("webhooks:\n  max_retries: 50\n  initial_interval: 20ms\n  max_interval: 200ms\n  concurrency: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr := testenv.FreeAddr(t)
	p := testenv.StartServe(t, "--config", conf, "--data", filepath.Join(dir, "data"),
		"--nats-listen", testenv.FreeAddr(t), "--http-listen", httpAddr)

	agent := `profile="` + platform.URL + `/profile.json"`
	call := func(path, body string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+httpAddr+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("UCP-Agent", agent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	const orders = 30
	for range orders {
		created := call("/ucp/demo/checkout-sessions",
			`{"line_items":[{"item":{"id":"sku_gift"},"quantity":1}],"buyer":{"email":"ada@example.com"}}`)
		i := strings.Index(created, `"id":"`)
		id := created[i+6:]
		id = id[:strings.IndexByte(id, '"')]
		call("/ucp/demo/checkout-sessions/"+id+"/complete",
			`{"payment":{"instruments":[{"id":"pi_1","handler_id":"mock","type":"card","selected":true,"credential":{"type":"token","token":"tok_visa"}}]}}`)
	}
	deadline := time.Now().Add(15 * time.Second)
	for posts.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := posts.Load(); n < 20 {
		t.Fatalf("the platform got %d POSTs, want deliveries retried", n)
	}
	start := time.Now()
	if err := p.Terminate(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if out := p.Output(); strings.Contains(out, "panic") {
		t.Fatalf("serve panicked as it stopped:\n%s", out)
	}
	if took > 15*time.Second {
		t.Errorf("serve took %v to stop after SIGTERM", took)
	}
	t.Logf("%d POSTs answered 500; serve stopped %v after SIGTERM", posts.Load(), took.Round(time.Millisecond))
}
