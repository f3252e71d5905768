package httpapi_test

import (
	"errors"
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

// TestHealthzAsksTheWorker: /healthz answers what the worker's Live says (a real check
// of its store and loops, not "ok" whatever happens), and 503 with the reason when it
// fails; the store of a running worker answers.
func TestHealthzAsksTheWorker(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{HTTPListen: testenv.FreeAddr(t)}, handlers.Options{})
	nc, err := nats.Connect(w.NATS.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var sick atomic.Pointer[error]
	live := func() error {
		if e := sick.Load(); e != nil {
			return *e
		}
		return w.Worker.Live()
	}
	web, err := httpapi.Serve(w.Config, nc, httpapi.Options{Registry: prometheus.NewRegistry(), Ready: w.Worker.Ready,
		Live: live})
	if err != nil {
		t.Fatal(err)
	}
	defer web.Shutdown()
	base := "http://" + w.Config.HTTPListen
	if code, body := testenv.Get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz of a running worker: %d %q", code, body)
	}
	cause := errors.New("the store did not answer a read within 2s")
	sick.Store(&cause)
	if code, body := testenv.Get(t, base+"/healthz"); code != 503 || !strings.Contains(body, cause.Error()) {
		t.Errorf("/healthz when not live: %d %q", code, body)
	}
}
