package httpapi_test

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestServe: one call serves the whole HTTP face on cfg.HTTPListen: liveness, the
// readiness it is given, the registry's metrics (the bridge's among them), the discovery
// documents and the bridge in front of a real worker.
func TestServe(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{HTTPListen: testenv.FreeAddr(t)}, handlers.Options{})
	nc, err := nats.Connect(w.NATS.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var notReady atomic.Pointer[error]
	cause := errors.New("partitions not yet assigned")
	notReady.Store(&cause)
	web, err := httpapi.Serve(w.Config, nc, httpapi.Options{
		Registry: prometheus.NewRegistry(),
		Ready: func() error {
			if e := notReady.Load(); e != nil {
				return *e
			}
			return nil
		},
		Version: "v9.9.9-test",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer web.Shutdown()
	base := "http://" + w.Config.HTTPListen

	if code, body := testenv.Get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := testenv.Get(t, base+"/readyz"); code != 503 || !strings.Contains(body, cause.Error()) {
		t.Errorf("/readyz while not ready: %d %q", code, body)
	}
	notReady.Store(nil)
	if code, body := testenv.Get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz when ready: %d %q", code, body)
	}

	r := testenv.PostRPC(t, base+"/a2a/demo", bytes.NewReader(testenv.Envelope("sv-1", "ctx-sv", map[string]any{"action": "create_checkout"})), nil)
	if r.Status != 200 || r.Result == nil || r.Header.Get("A2A-Status") != "ok" {
		t.Fatalf("bridge: %d %v %s", r.Status, r.Header, r.Raw)
	}
	if code, body := testenv.Get(t, base+"/metrics"); code != 200 || !strings.Contains(body, `cartwright_bridge_requests_total{outcome="ok"} 1`) {
		t.Errorf("/metrics: %d %.300s", code, body)
	}
	card := testenv.GetJSON[httpapi.AgentCard](t, base+"/.well-known/agent-card.json")
	if card.URL != base+"/a2a/demo" || card.Version != "v9.9.9-test" {
		t.Errorf("agent card: url %q, version %q", card.URL, card.Version)
	}
	if p := testenv.GetJSON[httpapi.BusinessProfile](t, base+"/a2a/demo/.well-known/ucp"); p.UCP.Version == "" {
		t.Errorf("profile: %+v", p)
	}
	// UCP 2026-01-11: its profile, named by the newest one, and its REST endpoint.
	p := testenv.GetJSON[httpapi.BusinessProfile](t, base+"/.well-known/ucp")
	older := testenv.GetJSON[httpapi.Profile20260111](t, p.UCP.SupportedVersions["2026-01-11"])
	if older.UCP.Version != "2026-01-11" || older.UCP.Services["dev.ucp.shopping"].REST.Endpoint != base+"/2026-01-11/ucp/demo" {
		t.Errorf("2026-01-11 profile: %+v", older)
	}
	if code, body := testenv.Get(t, base+"/2026-01-11/ucp/demo/checkout-sessions/ctx-none"); code != 400 || !strings.Contains(body, "UCP-Agent") {
		t.Errorf("2026-01-11 endpoint without UCP-Agent: %d %s", code, body)
	}
	if code, body := testenv.Get(t, base+"/2026-01-11/orders/ctx-none.ord_x"); code != 400 || !strings.Contains(body, "UCP-Agent") {
		t.Errorf("2026-01-11 order without UCP-Agent: %d %s", code, body)
	}

	// After CloseBridge the listener still answers, and the bridge refuses at once.
	web.CloseBridge()
	r = testenv.PostRPC(t, base+"/a2a/demo", bytes.NewReader(testenv.Envelope("sv-2", "ctx-sv", map[string]any{"action": "get_checkout"})), nil)
	if r.Code() != "temporarily_unavailable" {
		t.Errorf("after CloseBridge: %d %s", r.Status, r.Raw)
	}
	if code, _ := testenv.Get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz after CloseBridge: %d", code)
	}
}

// TestServeListenErrors: an address that cannot be bound is an error naming the flag
// that sets it, and nothing is left serving.
func TestServeListenErrors(t *testing.T) {
	w := testenv.StartWorker(t, nil, handlers.Options{})
	nc, err := nats.Connect(w.NATS.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	cfg := *w.Config
	cfg.HTTPListen = taken.Addr().String()
	if _, err := httpapi.Serve(&cfg, nc, httpapi.Options{Registry: prometheus.NewRegistry()}); err == nil ||
		!strings.HasPrefix(err.Error(), "--http-listen "+cfg.HTTPListen) {
		t.Errorf("http listener taken: %v", err)
	}
	cfg.HTTPListen = testenv.FreeAddr(t)
	cfg.HTTP.MetricsListen = taken.Addr().String()
	if _, err := httpapi.Serve(&cfg, nc, httpapi.Options{Registry: prometheus.NewRegistry()}); err == nil ||
		!strings.HasPrefix(err.Error(), "--metrics-listen "+cfg.HTTP.MetricsListen) {
		t.Errorf("metrics listener taken: %v", err)
	}
	// The main listener bound before the metrics one failed is closed again.
	if ln, err := net.Listen("tcp", cfg.HTTPListen); err != nil {
		t.Errorf("the http listener was left bound: %v", err)
	} else {
		ln.Close()
	}
}
