package telemetry_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/cartwright-dev/cartwright/telemetry"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clearEnv unsets what the tests set, whatever the environment they run in says.
func clearEnv(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_SDK_DISABLED",
		"OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"} {
		t.Setenv(k, "")
	}
}

// TestSetupOff: no endpoint, or tracing disabled by the standard variables, leaves
// tracing off: no tracer, nothing exported.
func TestSetupOff(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no endpoint":  {},
		"sdk disabled": {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
		"exporter none": {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces",
			"OTEL_TRACES_EXPORTER": "none"},
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			stop, err := telemetry.Setup(context.Background(), "v1", quiet)
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			if telemetry.Tracer() != nil {
				t.Error("tracing is on")
			}
		})
	}
}

// TestSetupRefusesGRPC: the protocol the exporter does not speak is an error at start,
// not spans silently sent nowhere.
func TestSetupRefusesGRPC(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	stop, err := telemetry.Setup(context.Background(), "v1", quiet)
	defer stop()
	if err == nil || !strings.Contains(err.Error(), "http/protobuf") || telemetry.Tracer() != nil {
		t.Errorf("Setup = %v, tracer %v", err, telemetry.Tracer())
	}
}

// TestSetupExportsOTLP: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans go to <endpoint>/v1/traces
// as OTLP protobuf, under OTEL_SERVICE_NAME; shutdown flushes them and turns tracing off.
func TestSetupExportsOTLP(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		bodies = append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "shop-checkout")

	stop, err := telemetry.Setup(context.Background(), "v1.2.3", quiet)
	if err != nil {
		t.Fatal(err)
	}
	tr := telemetry.Tracer()
	if tr == nil {
		t.Fatal("tracing is off")
	}
	_, span := tr.Start(context.Background(), "handle complete_checkout")
	span.End()
	stop()
	if telemetry.Tracer() != nil {
		t.Error("tracing still on after shutdown")
	}

	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 || got[0] != "POST /v1/traces application/x-protobuf" {
		t.Fatalf("the collector got %q", got)
	}
	all := bytes.Join(bodies, nil)
	for _, want := range []string{"handle complete_checkout", "shop-checkout", "v1.2.3"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("the export does not carry %q", want)
		}
	}
}
