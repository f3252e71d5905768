package main_test

import (
	"bytes"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cartwright-dev/cartwright/testenv"
)

// TestServeExportsTraces: serve with OTEL_EXPORTER_OTLP_ENDPOINT exports the spans of an
// envelope sent through its bridge to that collector, in the caller's trace, and flushes
// them when it stops; it says so in its log.
func TestServeExportsTraces(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var paths []string
	var export []byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		paths = append(paths, r.URL.Path)
		export = append(export, b...)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()

	addr := testenv.FreeAddr(t)
	ns := testenv.StartTestNATS(t)
	p := testenv.StartServeEnv(t, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.URL, "OTEL_SDK_DISABLED=",
		"OTEL_TRACES_EXPORTER=", "OTEL_EXPORTER_OTLP_PROTOCOL=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=", "OTEL_SERVICE_NAME="},
		"--nats-url", ns.URL(), "--data", t.TempDir(), "--http-listen", addr, "--partitions", "2")

	const traceID = "0af7651916cd43dd8448eb211c80319c"
	body := testenv.Envelope("tr-create", "ctx-tr", map[string]any{"action": "create_checkout"})
	r := testenv.PostRPC(t, "http://"+addr+"/a2a/demo", bytes.NewReader(body),
		map[string]string{"traceparent": "00-" + traceID + "-b7ad6b7169203331-01"})
	if r.Result == nil {
		t.Fatalf("create: %d %s", r.Status, r.Raw)
	}
	if err := p.Terminate(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Output(), "tracing on: exporting spans over OTLP") {
		t.Errorf("no word of tracing in the log:\n%s", p.Output())
	}

	mu.Lock()
	defer mu.Unlock()
	if len(paths) == 0 || paths[0] != "/v1/traces" {
		t.Fatalf("the collector got %q", paths)
	}
	id, _ := hex.DecodeString(traceID)
	for _, want := range [][]byte{[]byte("handle create_checkout"), []byte("POST /a2a/{tenant}"),
		[]byte("publish a2a.in"), []byte("cartwright"), id} {
		if !bytes.Contains(export, want) {
			t.Errorf("the export does not carry %q", want)
		}
	}
}
