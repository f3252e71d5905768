package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
)

// UCP over REST, in front of a real worker on a real NATS server.

func startREST(t *testing.T, w *testenv.Worker) string {
	t.Helper()
	nc, err := nats.Connect(w.NATS.URL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	br, err := httpapi.NewBridge(w.Config, nc, httpapi.BridgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	httpapi.RegisterREST(br, mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); br.Close(); nc.Close() })
	return srv.URL + "/ucp/demo"
}

type restReply struct {
	Status int
	Header http.Header
	Body   []byte
}

const platform = `profile="https://platform.example/profile"`

func call(t *testing.T, method, url, body string, hdr map[string]string) restReply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("UCP-Agent", platform)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return restReply{resp.StatusCode, resp.Header, b}
}

func (r restReply) checkout(t *testing.T) envelopes.Checkout {
	t.Helper()
	var c envelopes.Checkout
	if err := json.Unmarshal(r.Body, &c); err != nil || c.ID == "" {
		t.Fatalf("not a checkout: %d %s", r.Status, r.Body)
	}
	return c
}

func (r restReply) errorOf(t *testing.T) (code, detail, path string) {
	t.Helper()
	var e struct{ Code, Detail, Path string }
	if err := json.Unmarshal(r.Body, &e); err != nil {
		t.Fatalf("not an error: %d %s", r.Status, r.Body)
	}
	return e.Code, e.Detail, e.Path
}

const (
	restCreate  = `{"line_items":[{"item":{"id":"sku_tee"},"quantity":1}]}`
	restAddress = `{"type":"shipping","destinations":[{"id":"d1","street_address":"1 Market St","address_locality":"San Francisco",` +
		`"address_region":"CA","postal_code":"94105","address_country":"US"}],"groups":[{"selected_option_id":"std"}]}`
	restUpdate = `{"line_items":[{"item":{"id":"sku_tee"},"quantity":2}],"buyer":{"email":"ada@example.com"},` +
		`"fulfillment":{"methods":[` + restAddress + `]}}`
)

func restPay(token string) string {
	return `{"payment":{"instruments":[{"id":"pi_1","handler_id":"mock","type":"card","selected":true,` +
		`"credential":{"type":"token","token":"` + token + `"}}]}}`
}

// TestRESTPurchase buys over REST: create (201), a retry of it with the same
// Idempotency-Key (the same bytes), that key with another body (409), update, a declined
// payment (402), a good one, the order, and the session after it.
func TestRESTPurchase(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{}, handlers.Options{})
	base := startREST(t, w)

	first := call(t, "POST", base+"/checkout-sessions", restCreate, map[string]string{"Idempotency-Key": "k-create", "Request-Id": "req-1"})
	if first.Status != http.StatusCreated || first.Header.Get("Request-Id") != "req-1" {
		t.Fatalf("create: %d %v %s", first.Status, first.Header, first.Body)
	}
	c := first.checkout(t)
	if c.Status != "incomplete" || !strings.HasPrefix(c.ID, "ctx-") || len(c.LineItems) != 1 {
		t.Fatalf("create: %+v", c)
	}
	session := base + "/checkout-sessions/" + c.ID

	again := call(t, "POST", base+"/checkout-sessions", restCreate, map[string]string{"Idempotency-Key": "k-create"})
	if again.Status != http.StatusCreated || !bytes.Equal(again.Body, first.Body) || again.Header.Get("A2A-Replayed") != "true" {
		t.Fatalf("retry: %d %v\n%s\nwant\n%s", again.Status, again.Header, again.Body, first.Body)
	}
	other := call(t, "POST", base+"/checkout-sessions", `{"line_items":[{"item":{"id":"sku_mug"},"quantity":1}]}`,
		map[string]string{"Idempotency-Key": "k-create"})
	if code, _, _ := other.errorOf(t); other.Status != http.StatusConflict || code != "idempotency_conflict" {
		t.Fatalf("same key, other body: %d %s", other.Status, other.Body)
	}

	r := call(t, "PUT", session, restUpdate, map[string]string{"Idempotency-Key": "k-update"})
	if c = r.checkout(t); r.Status != 200 || c.Status != "ready_for_complete" || c.LineItems[0].Quantity != 2 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	// The key names one call: on another session it is a conflict too.
	second := call(t, "POST", base+"/checkout-sessions", restCreate, nil).checkout(t)
	r = call(t, "PUT", base+"/checkout-sessions/"+second.ID, restUpdate, map[string]string{"Idempotency-Key": "k-update"})
	if code, _, _ := r.errorOf(t); r.Status != http.StatusConflict || code != "idempotency_conflict" {
		t.Fatalf("the key on another session: %d %s", r.Status, r.Body)
	}

	r = call(t, "POST", session+"/complete", restPay("tok_decline"), map[string]string{"Idempotency-Key": "k-pay-1"})
	if c = r.checkout(t); r.Status != http.StatusPaymentRequired || c.Status == "completed" || c.Order != nil {
		t.Fatalf("declined: %d %s", r.Status, r.Body)
	}
	r = call(t, "POST", session+"/complete", restPay("tok_visa"), map[string]string{"Idempotency-Key": "k-pay-2"})
	if c = r.checkout(t); r.Status != 200 || c.Status != "completed" || c.Order == nil || !strings.HasPrefix(c.Order.ID, c.ID+".ord_") {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}

	o := call(t, "GET", base+"/orders/"+c.Order.ID, "", nil)
	var order envelopes.Order
	if err := json.Unmarshal(o.Body, &order); err != nil || o.Status != 200 || order.ID != c.Order.ID || order.CheckoutID != c.ID {
		t.Fatalf("order: %d %s", o.Status, o.Body)
	}
	g := call(t, "GET", session, "", nil)
	if gc := g.checkout(t); g.Status != 200 || gc.Status != "completed" || gc.ID != c.ID {
		t.Fatalf("get: %d %s", g.Status, g.Body)
	}
	// The ids hold everything: after a restart of the worker, another HTTP server (a new
	// bridge, nothing in memory) finds the session and the order by them.
	w.Restart()
	base2 := startREST(t, w)
	if g = call(t, "GET", base2+"/checkout-sessions/"+c.ID, "", nil); g.Status != 200 || g.checkout(t).Status != "completed" {
		t.Fatalf("get after restart: %d %s", g.Status, g.Body)
	}
	if o = call(t, "GET", base2+"/orders/"+c.Order.ID, "", nil); o.Status != 200 {
		t.Fatalf("order after restart: %d %s", o.Status, o.Body)
	}
	// Completed is immutable.
	r = call(t, "PUT", session, restUpdate, nil)
	if code, _, _ := r.errorOf(t); r.Status != http.StatusConflict || code != "checkout_immutable" {
		t.Fatalf("update after complete: %d %s", r.Status, r.Body)
	}
}

// TestRESTErrors: an unknown session is 404, a bad body 400 with a detail and the path
// into the body, and the UCP-Agent header is required, at the version spoken here.
func TestRESTErrors(t *testing.T) {
	w := testenv.StartWorker(t, &config.Config{}, handlers.Options{})
	base := startREST(t, w)

	for _, u := range []string{"/checkout-sessions/ctx-nobody", "/checkout-sessions/not.a.token", "/orders/ctx-nobody.ord_x"} {
		r := call(t, "GET", base+u, "", nil)
		if code, detail, _ := r.errorOf(t); r.Status != http.StatusNotFound || code != "not_found" || detail == "" {
			t.Errorf("GET %s: %d %s", u, r.Status, r.Body)
		}
	}
	r := call(t, "POST", base+"/checkout-sessions/ctx-nobody/cancel", "{}", nil)
	if r.Status != http.StatusNotFound {
		t.Errorf("cancel unknown: %d %s", r.Status, r.Body)
	}
	// A POST without a JSON Content-Type is what a web page may send unasked: refused.
	if r = call(t, "POST", base+"/checkout-sessions/ctx-nobody/cancel", "", nil); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("cancel without Content-Type: %d %s", r.Status, r.Body)
	}
	c := call(t, "POST", base+"/checkout-sessions", restCreate, nil).checkout(t)
	r = call(t, "POST", base+"/checkout-sessions/"+c.ID+"/cancel", "{}", nil)
	if got := r.checkout(t); r.Status != 200 || got.Status != "canceled" || got.ID != c.ID {
		t.Errorf("cancel: %d %s", r.Status, r.Body)
	}

	for _, c := range []struct{ name, method, path, body, code, at string }{
		{"bad quantity", "POST", "/checkout-sessions", `{"line_items":[{"item":{"id":"sku_tee"},"quantity":"two"}]}`, "invalid_params", "$.line_items[0].quantity"},
		{"not JSON", "POST", "/checkout-sessions", `{"line_items":`, "parse_error", "$"},
		{"not an object", "POST", "/checkout-sessions", `[1]`, "invalid_params", "$"},
		{"no payment", "POST", "/checkout-sessions/ctx-x/complete", `{}`, "invalid_params", "$.payment"},
		{"bad instrument", "POST", "/checkout-sessions/ctx-x/complete", `{"payment":{"instruments":[{"id":"p"}]}}`, "invalid_params", "$.payment.instruments[0].handler_id"},
	} {
		r := call(t, c.method, base+c.path, c.body, nil)
		code, detail, path := r.errorOf(t)
		if r.Status != http.StatusBadRequest || code != c.code || detail == "" || path != c.at {
			t.Errorf("%s: %d %s, want 400 %s at %s", c.name, r.Status, r.Body, c.code, c.at)
		}
	}

	for _, c := range []struct{ name, agent, code string }{
		{"no UCP-Agent", "", "invalid_request"},
		{"no profile", `version="2026-04-08"`, "invalid_request"},
		{"a newer version", platform + `, version="2099-01-01"`, "version_unsupported"},
		{"not a version", platform + `, version="latest"`, "invalid_request"},
	} {
		r := call(t, "POST", base+"/checkout-sessions", restCreate, map[string]string{"UCP-Agent": c.agent})
		if code, _, _ := r.errorOf(t); r.Status != http.StatusBadRequest || code != c.code {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
		}
	}
	r = call(t, "POST", base+"/checkout-sessions", restCreate, map[string]string{"UCP-Agent": platform + `, version="2026-04-08"`})
	if r.Status != http.StatusCreated {
		t.Errorf("this version: %d %s", r.Status, r.Body)
	}
	r = call(t, "POST", base+"/checkout-sessions", restCreate, map[string]string{"Content-Type": "text/plain"})
	if r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d %s", r.Status, r.Body)
	}
}
