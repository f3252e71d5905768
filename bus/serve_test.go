package bus_test

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeHTTPAndCleanStop runs the real binary with its embedded NATS, checks the
// health, readiness and metrics endpoints, and stops it with SIGTERM.
func TestServeHTTPAndCleanStop(t *testing.T) {
	httpAddr, natsAddr := freeAddr(t), freeAddr(t)
	data := filepath.Join(t.TempDir(), "data")
	proc := testenv.StartServe(t, "--data", data, "--nats-listen", natsAddr, "--http-listen", httpAddr, "--partitions", "2")

	if code, body := get(t, "http://"+httpAddr+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, "http://"+httpAddr+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d %q", code, body)
	}

	c := testenv.NewClient(t, "nats://"+natsAddr)
	c.Send("demo", "h1", "h1-1", map[string]any{"action": "create_checkout"})
	c.Send("demo", "h1", "h1-2", map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 1})
	m := c.Send("demo", "h1", "h1-3", map[string]any{"action": "nope"})
	if m.Header.Get("A2A-Error-Code") != "unknown_action" {
		t.Errorf("unknown action: %v", m.Header)
	}
	_, metrics := get(t, "http://"+httpAddr+"/metrics")
	for _, want := range []string{
		`cartwright_envelopes_total{action="add_item",outcome="replied"} 1`,
		`cartwright_envelopes_total{action="create_checkout",outcome="replied"} 1`,
		"cartwright_batch_envelopes_bucket", "cartwright_commit_seconds_bucket", "cartwright_handle_seconds_bucket",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// Envelopes published just before SIGTERM are still answered: the worker finishes
	// what it fetched before it exits.
	for _, id := range []string{"h1-4", "h1-5", "h1-6"} {
		if _, err := c.Publish("demo", "h1", testenv.Envelope(id, "", map[string]any{"action": "get_checkout"}), nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if err := proc.Terminate(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(proc.Output(), "stopped cleanly") {
		t.Errorf("no clean stop in the log:\n%s", proc.Output())
	}

	// Started again on the same data, the checkout is still there and nothing is redone.
	proc.Restart()
	c2 := testenv.NewClient(t, "nats://"+natsAddr)
	r := decode(t, c2.Send("demo", "h1", "h1-7", map[string]any{"action": "get_checkout"}))
	if q := quantities(t, r)["sku_tee"]; q != 1 {
		t.Errorf("after restart: sku_tee x%d, want x1", q)
	}
	replies := countReplies(t, c2.JetStream())
	for _, id := range []string{"h1-4", "h1-5", "h1-6"} {
		if replies[id] != 1 {
			t.Errorf("%s: %d replies, want 1", id, replies[id])
		}
	}
}
