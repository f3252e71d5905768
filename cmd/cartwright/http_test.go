package main_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/testenv"
)

// TestHTTPSlowBody: a body trickling in one byte at a time does not hold its connection
// past http.read_timeout.
func TestHTTPSlowBody(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "cartwright.yaml")
	if err := os.WriteFile(cfg, []byte("http:\n  read_timeout: 1s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := testenv.StartServeHTTP(t, "--config", cfg)
	addr := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const length = 1000
	fmt.Fprintf(conn, "POST /a2a/demo HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, length)
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn) // until the server closes the connection
		close(closed)
	}()
	deadline := time.After(30 * time.Second)
	sent := 0
	for open := true; open; {
		select {
		case <-closed:
			open = false
		case <-deadline:
			t.Fatalf("the connection is still open after 30s and %d of %d body bytes, with read_timeout 1s", sent, length)
		case <-time.After(300 * time.Millisecond):
			if _, err := conn.Write([]byte(" ")); err == nil {
				sent++
			}
		}
	}
	if sent >= length {
		t.Fatalf("the whole body went through (%d bytes)", sent)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz after the slow body: %d", resp.StatusCode)
	}
}

// TestMetricsListen: with --metrics-listen, /metrics is served there and not on the main
// listener.
func TestMetricsListen(t *testing.T) {
	t.Parallel()
	maddr := testenv.FreeAddr(t)
	base := testenv.StartServeHTTP(t, "--metrics-listen", maddr)

	if code, body := testenv.Get(t, "http://"+maddr+"/metrics"); code != 200 || !strings.Contains(body, "cartwright_batch_envelopes") {
		t.Errorf("metrics listener: %d %.200s", code, body)
	}
	if code, _ := testenv.Get(t, base+"/metrics"); code != 404 {
		t.Errorf("/metrics on the main listener: %d, want 404", code)
	}
	if code, _ := testenv.Get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz on the main listener: %d", code)
	}
}
