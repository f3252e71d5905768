package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/config"
)

// TestHTTPDefaults: with nothing configured the listener is bounded, and its write
// timeout outlasts the bridge's wait for a reply, whatever that is configured to.
func TestHTTPDefaults(t *testing.T) {
	c := load(t, "bridge:\n  timeout: 45s\n")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	h := c.HTTP
	if h.MaxInFlight != config.DefaultMaxInFlight || h.ReadTimeout != 30*time.Second || h.IdleTimeout != 2*time.Minute ||
		h.WriteTimeout != 55*time.Second || h.MetricsListen != "" || len(h.AllowedOrigins) != 0 {
		t.Errorf("defaults: %+v", h)
	}
}

func TestHTTPValidate(t *testing.T) {
	c := load(t, `
http_listen: 127.0.0.1:8080
bridge:
  timeout: 20s
http:
  allowed_origins: [https://shop.example.com, "shop.example.com", "https://a.example/path"]
  max_in_flight: -1
  metrics_listen: 127.0.0.1:8080
  write_timeout: 20s
`)
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`http.allowed_origins[1]: "shop.example.com" is not an origin`,
		`http.allowed_origins[2]: "https://a.example/path" is not an origin`,
		"http.max_in_flight: -1",
		"http.metrics_listen: 127.0.0.1:8080 is http_listen itself",
		"http.write_timeout: 20s is not longer than bridge.timeout 20s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "allowed_origins[0]") {
		t.Errorf("a valid origin refused:\n%v", err)
	}
}
