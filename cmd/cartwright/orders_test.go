package main_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/testenv"
)

// buyGift completes a purchase of a gift card in a new context and returns the order
// reference of the completed checkout.
func buyGift(t *testing.T, conn []string) *envelopes.OrderRef {
	t.Helper()
	r := must(t, 0, slices.Concat([]string{"checkout", "init", "--sku", "sku_gift", "--email", "ada@example.com"}, conn)...)
	m := contextLine.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("init printed no context id: %q", r.stderr)
	}
	c := decode[envelopes.Checkout](t, must(t, 0, slices.Concat([]string{"checkout", "complete",
		"--payment-token", "tok_visa", "--context", m[1]}, conn)...))
	if c.Status != "completed" || c.Order == nil {
		t.Fatalf("complete: %+v", c)
	}
	return c.Order
}

func get(t *testing.T, u string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestOrderPermalink: the permalink_url of a completed purchase is served by the worker's
// HTTP listener, and names a host agents can reach even when the listener binds every
// interface.
func TestOrderPermalink(t *testing.T) {
	t.Parallel()
	t.Run("loopback", func(t *testing.T) {
		t.Parallel()
		addr := testenv.FreeAddr(t)
		ns := testenv.StartTestNATS(t)
		testenv.StartServe(t, "--nats-url", ns.URL(), "--data", t.TempDir(), "--http-listen", addr, "--partitions", "2")
		ref := buyGift(t, []string{"--nats-url", ns.URL(), "--tenant", "demo"})
		status, hdr, body := get(t, ref.PermalinkURL, nil)
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("GET %s: %d %s\n%s", ref.PermalinkURL, status, hdr.Get("Content-Type"), body)
		}
		if !strings.HasPrefix(ref.PermalinkURL, "http://"+addr+"/orders/demo/") {
			t.Errorf("permalink %q is not under the listener's /orders/demo/", ref.PermalinkURL)
		}
		var o envelopes.Order
		if err := json.Unmarshal([]byte(body), &o); err != nil || o.ID != ref.ID || o.Payment.Status != "captured" {
			t.Fatalf("GET %s: not the order: %v\n%s", ref.PermalinkURL, err, body)
		}
		status, hdr, body = get(t, ref.PermalinkURL, map[string]string{"Accept": "text/html,*/*;q=0.8"})
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, ref.ID) {
			t.Errorf("GET %s as HTML: %d %s\n%s", ref.PermalinkURL, status, hdr.Get("Content-Type"), body)
		}
		other := strings.TrimSuffix(ref.PermalinkURL, ref.ID) + "ord_none"
		if status, _, body := get(t, other, nil); status != 404 || !strings.Contains(body, "not_found") {
			t.Errorf("GET %s: %d, want 404 not_found\n%s", other, status, body)
		}
	})
	t.Run("all interfaces", func(t *testing.T) {
		t.Parallel()
		_, port, _ := net.SplitHostPort(testenv.FreeAddr(t))
		ns := testenv.StartTestNATS(t)
		testenv.StartServe(t, "--nats-url", ns.URL(), "--data", t.TempDir(), "--http-listen", "0.0.0.0:"+port, "--partitions", "2")
		ref := buyGift(t, []string{"--nats-url", ns.URL(), "--tenant", "demo"})
		u, err := url.Parse(ref.PermalinkURL)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.Hostname()
		if err != nil {
			t.Fatal(err)
		}
		if u.Hostname() != want || u.Port() != port {
			t.Fatalf("permalink %q: want host %s:%s", ref.PermalinkURL, want, port)
		}
		// The machine's name may not resolve here: ask the listener on loopback.
		u.Host = "127.0.0.1:" + port
		if status, _, body := get(t, u.String(), nil); status != 200 || !strings.Contains(body, ref.ID) {
			t.Errorf("GET %s: %d\n%s", u, status, body)
		}
	})
}
