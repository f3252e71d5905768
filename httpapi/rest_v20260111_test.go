package httpapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
)

// UCP 2026-01-11 over REST, beside 2026-04-08, in front of a real worker serving the
// flower_shop tenant of examples/flower_shop.yaml.

// startFlowerShop runs a worker with examples/flower_shop.yaml and both REST versions
// and the profiles on one HTTP server; it returns the server's URL.
func startFlowerShop(t *testing.T) (*testenv.Worker, string) {
	t.Helper()
	cfg, err := config.Load("../examples/flower_shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := testenv.StartWorker(t, cfg, handlers.Options{})
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
	d := httpapi.NewDiscovery(w.Config, strings.TrimPrefix(srv.URL, "http://"), "test")
	mux.HandleFunc("GET /.well-known/ucp", d.Profile)
	mux.HandleFunc("GET /2026-01-11/.well-known/ucp", d.Profile20260111)
	t.Cleanup(func() { srv.Close(); br.Close(); nc.Close() })
	return w, srv.URL
}

// doc decodes a JSON body into a generic document, failing the test when it is not one.
func doc(t *testing.T, r restReply) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("not JSON: %d %s", r.Status, r.Body)
	}
	return m
}

// at walks a document by member names and array indexes.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func totalOf(c map[string]any, typ string) float64 {
	ts, _ := c["totals"].([]any)
	for _, x := range ts {
		if at(x, "type") == typ {
			f, _ := at(x, "amount").(float64)
			return f
		}
	}
	return -1
}

const (
	// A 2026-01-11 create as a platform sends it: its own id, the handlers it knows,
	// and a shipping destination that is a country only.
	create0111 = `{"id":"platform-chosen","currency":"USD",
		"line_items":[{"item":{"id":"bouquet_roses","title":"Red Rose"},"quantity":1}],
		"buyer":{"email":"ada@example.com"},
		"payment":{"instruments":[],"selected_instrument_id":"instr_1","handlers":[{"id":"google_pay","name":"google.pay"}]},
		"fulfillment":{"methods":[{"type":"shipping","destinations":[{"id":"dest_1","address_country":"US"}],
			"selected_destination_id":"dest_1","groups":[{"selected_option_id":"std-ship"}]}]}}`
	update0111 = `{"id":"x","currency":"USD",
		"line_items":[{"id":"li_1","item":{"id":"bouquet_roses","title":"Red Rose"},"quantity":2}],
		"buyer":{"email":"ada@example.com"},
		"payment":{"instruments":[],"handlers":[]},
		"fulfillment":{"methods":[{"type":"shipping","destinations":[{"id":"addr_1","street_address":"123 Main St",
			"address_locality":"Springfield","address_region":"IL","postal_code":"62704","address_country":"US"}],
			"selected_destination_id":"addr_1","groups":[{"selected_option_id":"exp-ship-us"}]}]},
		"discounts":{"codes":["10OFF"]}}`
)

// pay0111With pays with handler, one of those the checkout's payment.handlers lists.
func pay0111With(handler, token string) string {
	return `{"payment_data":{"id":"instr_1","handler_id":"` + handler + `","handler_name":"` + handler + `","type":"card","brand":"Visa",
		"last_digits":"1234","credential":{"type":"token","token":"` + token + `"},
		"billing_address":{"street_address":"123 Main St","address_country":"US"}},"risk_signals":{}}`
}

// TestREST20260111Purchase buys over UCP 2026-01-11: the shapes of that version on the
// way in (payment_data, a country-only destination, the platform's id and handlers) and
// out (ucp.version, capabilities as an array, payment.handlers, unsigned totals, the
// order's quantities and expectations), idempotency, 402, and the order at both paths.
func TestREST20260111Purchase(t *testing.T) {
	_, url := startFlowerShop(t)
	base := url + "/2026-01-11/ucp/flower_shop"

	first := call(t, "POST", base+"/checkout-sessions", create0111, map[string]string{"Idempotency-Key": "k-0111-create"})
	if first.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", first.Status, first.Body)
	}
	c := doc(t, first)
	id, _ := c["id"].(string)
	if !strings.HasPrefix(id, "ctx-") || c["status"] != "ready_for_complete" {
		t.Fatalf("create: %s", first.Body)
	}
	if at(c, "ucp", "version") != "2026-01-11" || at(c, "ucp", "capabilities", 0, "version") != "2026-01-11" ||
		at(c, "ucp", "capabilities", 0, "name") != "dev.ucp.shopping.checkout" {
		t.Errorf("ucp: %v", c["ucp"])
	}
	handler, _ := at(c, "payment", "handlers", 0, "id").(string)
	if handler == "" || at(c, "payment", "handlers", 0, "version") != "2026-01-11" || at(c, "payment", "instruments") == nil {
		t.Errorf("payment: %v", c["payment"])
	}
	// The country-only destination is kept, chosen and priced (std-ship, free for rose
	// bouquets); flower_shop.yaml's require_full_address: false lets it complete so.
	m, _ := at(c, "fulfillment", "methods", 0).(map[string]any)
	if at(m, "destinations", 0, "id") != "dest_1" || at(m, "destinations", 0, "address_country") != "US" ||
		at(m, "destinations", 0, "street_address") != nil || m["selected_destination_id"] != "dest_1" ||
		at(m, "groups", 0, "selected_option_id") != "std-ship" || at(m, "groups", 0, "options", 0, "title") != "Free Standard Shipping" ||
		totalOf(c, "fulfillment") != 0 {
		t.Errorf("fulfillment: %v", c["fulfillment"])
	}
	if c["messages"] != nil {
		t.Errorf("messages: %v", c["messages"])
	}

	again := call(t, "POST", base+"/checkout-sessions", create0111, map[string]string{"Idempotency-Key": "k-0111-create"})
	if again.Status != http.StatusCreated || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("retry: %d\n%s\nwant\n%s", again.Status, again.Body, first.Body)
	}
	other := call(t, "POST", base+"/checkout-sessions", strings.Replace(create0111, `"quantity":1`, `"quantity":3`, 1),
		map[string]string{"Idempotency-Key": "k-0111-create"})
	if code, _, _ := other.errorOf(t); other.Status != http.StatusConflict || code != "idempotency_conflict" {
		t.Fatalf("same key, other body: %d %s", other.Status, other.Body)
	}

	session := base + "/checkout-sessions/" + id
	r := call(t, "PUT", session, update0111, map[string]string{"Idempotency-Key": "k-0111-update"})
	c = doc(t, r)
	if r.Status != 200 || c["status"] != "ready_for_complete" || c["id"] != id {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	// Unsigned totals: 7000 less 10 % (700, positive) plus express shipping 1500.
	sub, disc, ship, total := totalOf(c, "subtotal"), totalOf(c, "discount"), totalOf(c, "fulfillment"), totalOf(c, "total")
	if sub != 7000 || disc != 700 || ship != 1500 || total != sub-disc+ship+totalOf(c, "tax") {
		t.Errorf("totals: %v", c["totals"])
	}
	if m := at(c, "fulfillment", "methods", 0); at(m, "selected_destination_id") != at(m, "destinations", 0, "id") ||
		at(m, "destinations", 0, "postal_code") != "62704" || at(m, "groups", 0, "selected_option_id") != "exp-ship-us" {
		t.Errorf("fulfillment: %v", c["fulfillment"])
	}

	r = call(t, "POST", session+"/complete", pay0111With(handler, "tok_decline"), map[string]string{"Idempotency-Key": "k-0111-pay-1"})
	if c = doc(t, r); r.Status != http.StatusPaymentRequired || c["status"] == "completed" ||
		at(c, "ucp", "version") != "2026-01-11" || at(c, "payment", "handlers") == nil {
		t.Fatalf("declined: %d %s", r.Status, r.Body)
	}
	// The token is bound to this checkout by the id this binding gives it: the session's.
	bound := strings.Replace(pay0111With(handler, "tok_visa"), `"token":"tok_visa"`,
		`"token":"tok_visa","binding":{"checkout_id":"`+id+`"}`, 1)
	r = call(t, "POST", session+"/complete", bound, map[string]string{"Idempotency-Key": "k-0111-pay-2"})
	c = doc(t, r)
	orderID, _ := at(c, "order", "id").(string)
	if r.Status != 200 || c["status"] != "completed" || !strings.HasPrefix(orderID, id+".ord_") || at(c, "order", "permalink_url") == nil {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	// The same key and body: the same response, byte for byte.
	if again := call(t, "POST", session+"/complete", bound, map[string]string{"Idempotency-Key": "k-0111-pay-2"}); !bytes.Equal(again.Body, r.Body) {
		t.Fatalf("complete retry:\n%s\nwant\n%s", again.Body, r.Body)
	}

	// The order, under the tenant's endpoint and at the base URL (the default tenant).
	for _, u := range []string{base + "/orders/" + orderID, url + "/2026-01-11/orders/" + orderID} {
		o := call(t, "GET", u, "", nil)
		od := doc(t, o)
		if o.Status != 200 || od["id"] != orderID || od["checkout_id"] != id || at(od, "ucp", "version") != "2026-01-11" {
			t.Fatalf("order %s: %d %s", u, o.Status, o.Body)
		}
		if at(od, "line_items", 0, "quantity", "total") != 2.0 || at(od, "line_items", 0, "quantity", "fulfilled") != 0.0 ||
			at(od, "line_items", 0, "status") != "processing" {
			t.Errorf("order lines: %v", od["line_items"])
		}
		e := at(od, "fulfillment", "expectations", 0)
		if at(e, "method_type") != "shipping" || at(e, "destination", "postal_code") != "62704" ||
			at(e, "line_items", 0, "quantity") != 2.0 || at(e, "description") != "Express Shipping (US)" {
			t.Errorf("order fulfillment: %v", od["fulfillment"])
		}
		if totalOf(od, "discount") != 700 {
			t.Errorf("order totals: %v", od["totals"])
		}
	}

	// A completed checkout cannot be canceled; another one is, by a POST with no body.
	if r = call(t, "POST", session+"/cancel", "", nil); r.Status == 200 {
		t.Errorf("cancel after complete: %d %s", r.Status, r.Body)
	}
	second := doc(t, call(t, "POST", base+"/checkout-sessions", create0111, nil))
	r = call(t, "POST", base+"/checkout-sessions/"+second["id"].(string)+"/cancel", "", nil)
	if c = doc(t, r); r.Status != 200 || c["status"] != "canceled" {
		t.Errorf("cancel: %d %s", r.Status, r.Body)
	}
	g := call(t, "GET", base+"/checkout-sessions/"+second["id"].(string), "", nil)
	if c = doc(t, g); g.Status != 200 || c["status"] != "canceled" || at(c, "ucp", "version") != "2026-01-11" {
		t.Errorf("get: %d %s", g.Status, g.Body)
	}
}

// TestREST20260111Errors: the statuses of 2026-01-11 (an item out of stock or unknown is
// 400 with a detail), its error shape, and the paths into its bodies.
func TestREST20260111Errors(t *testing.T) {
	_, url := startFlowerShop(t)
	base := url + "/2026-01-11/ucp/flower_shop"

	for _, c := range []struct{ item, code, says string }{
		{"gardenias", "out_of_stock", "Insufficient stock"},
		{"pink_wumpus", "item_unavailable", "not found"},
	} {
		body := strings.Replace(create0111, "bouquet_roses", c.item, 1)
		r := call(t, "POST", base+"/checkout-sessions", body, nil)
		code, detail, path := r.errorOf(t)
		if r.Status != http.StatusBadRequest || code != c.code || !strings.Contains(detail, c.says) || path != "$.line_items" ||
			at(doc(t, r), "ucp", "version") != "2026-01-11" {
			t.Errorf("%s: %d %s", c.item, r.Status, r.Body)
		}
		// 2026-04-08 answers the same call with the checkout and its message.
		r = call(t, "POST", url+"/ucp/flower_shop/checkout-sessions", `{"line_items":[{"item":{"id":"`+c.item+`"},"quantity":1}]}`, nil)
		if r.Status != http.StatusCreated || at(doc(t, r), "messages", 0, "code") != c.code {
			t.Errorf("%s over 2026-04-08: %d %s", c.item, r.Status, r.Body)
		}
	}

	// A checkout with no shipping option chosen: not ready.
	noOption := strings.Replace(create0111, `,"groups":[{"selected_option_id":"std-ship"}]`, ``, 1)
	c := doc(t, call(t, "POST", base+"/checkout-sessions", noOption, nil))
	session := base + "/checkout-sessions/" + c["id"].(string)
	for _, e := range []struct{ name, body, code, path string }{
		{"no payment_data", `{"payment":{"instruments":[]}}`, "invalid_params", "$.payment_data"},
		{"no handler", `{"payment_data":{"id":"i","type":"card","credential":{"type":"token","token":"tok_visa"}}}`, "invalid_params", "$.payment_data.handler_id"},
	} {
		r := call(t, "POST", session+"/complete", e.body, nil)
		code, detail, path := r.errorOf(t)
		if r.Status != http.StatusBadRequest || code != e.code || path != e.path || detail == "" {
			t.Errorf("%s: %d %s, want 400 %s at %s", e.name, r.Status, r.Body, e.code, e.path)
		}
		if sev := at(doc(t, r), "messages", 0, "severity"); sev != "requires_buyer_review" {
			t.Errorf("%s: severity %v, not one of 2026-01-11's", e.name, sev)
		}
	}
	// A checkout not ready to complete (no option): 400 in 2026-01-11, which keeps 409
	// for conflicts; 2026-04-08 says 409.
	handler, _ := at(c, "payment", "handlers", 0, "id").(string)
	r := call(t, "POST", session+"/complete", pay0111With(handler, "tok_visa"), nil)
	if code, detail, _ := r.errorOf(t); r.Status != http.StatusBadRequest || code != "invalid_transition" ||
		!strings.Contains(detail, "Fulfillment option must be selected") {
		t.Errorf("complete when not ready: %d %s", r.Status, r.Body)
	}
	r = call(t, "POST", url+"/ucp/flower_shop/checkout-sessions/"+c["id"].(string)+"/complete",
		strings.Replace(restPay("tok_visa"), `"mock"`, `"`+handler+`"`, 1), nil)
	if code, _, _ := r.errorOf(t); r.Status != http.StatusConflict || code != "invalid_transition" {
		t.Errorf("complete when not ready, 2026-04-08: %d %s", r.Status, r.Body)
	}
	// More roses than the stock (flower_shop.yaml's limits.max_quantity lets the line ask):
	// 400, and the detail speaks of the stock.
	r = call(t, "PUT", session, `{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":10001}]}`, nil)
	if code, detail, _ := r.errorOf(t); r.Status != http.StatusBadRequest || code != "out_of_stock" || !strings.Contains(detail, "Insufficient stock") {
		t.Errorf("10001 roses: %d %s", r.Status, r.Body)
	}
	if r := call(t, "GET", base+"/checkout-sessions/ctx-nobody", "", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown session: %d %s", r.Status, r.Body)
	}
	// A body on cancel still has to be JSON.
	if r := call(t, "POST", session+"/cancel", "x", map[string]string{"Content-Type": "text/plain"}); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("cancel with a text body: %d %s", r.Status, r.Body)
	}
}

// TestRESTVersions: UCP's version negotiation. UCP-Agent may name the platform's version
// (in the dictionary form or as parameters of the profile); a platform at the endpoint's
// version or an older one is served in the newest version cartwright has that is not
// newer than the platform's, so a 2026-01-11 platform at the 2026-04-08 endpoint gets
// 2026-01-11's shapes; a newer one is refused with version_unsupported.
func TestRESTVersions(t *testing.T) {
	_, url := startFlowerShop(t)
	v0111 := url + "/2026-01-11/ucp/flower_shop/checkout-sessions"
	v0408 := url + "/ucp/flower_shop/checkout-sessions"
	create0408 := `{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":1}]}`
	const agent = `profile="https://agent.example/profile"`

	for _, c := range []struct {
		name, url, body, agent string
		status                 int
		code, version          string // the error's code, or the version of the checkout
	}{
		{"2026-01-11, parameters", v0111, create0111, agent + `; version="2026-01-11"`, 201, "", "2026-01-11"},
		{"2026-01-11, dictionary", v0111, create0111, agent + `, version="2026-01-11"`, 201, "", "2026-01-11"},
		{"2026-01-11, no version", v0111, create0111, agent, 201, "", "2026-01-11"},
		{"an older version", v0111, create0111, agent + `; version="2025-10-01"`, 201, "", "2026-01-11"},
		{"a future version", v0111, create0111, agent + `; version="2099-01-01"`, 400, "version_unsupported", ""},
		{"2026-04-08 at 2026-01-11", v0111, create0111, agent + `; version="2026-04-08"`, 400, "version_unsupported", ""},
		{"2026-01-11 at 2026-04-08", v0408, create0111, agent + `, version="2026-01-11"`, 201, "", "2026-01-11"},
		{"between the two at 2026-04-08", v0408, create0111, agent + `, version="2026-02-01"`, 201, "", "2026-01-11"},
		{"2026-04-08", v0408, create0408, agent + `, version="2026-04-08"`, 201, "", "2026-04-08"},
		{"no version at 2026-04-08", v0408, create0408, agent, 201, "", "2026-04-08"},
		{"a future version at 2026-04-08", v0408, create0408, agent + `, version="2099-01-01"`, 400, "version_unsupported", ""},
		{"no profile", v0111, create0111, `version="2026-01-11"`, 400, "invalid_request", ""},
		{"a profile URL with ; and ,", v0408, create0111, `profile="https://agent.example/p;v=1,x", version="2026-01-11"`, 201, "", "2026-01-11"},
	} {
		r := call(t, "POST", c.url, c.body, map[string]string{"UCP-Agent": c.agent})
		if r.Status != c.status {
			t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
			continue
		}
		if c.code != "" {
			if code, detail, _ := r.errorOf(t); code != c.code || detail == "" {
				t.Errorf("%s: %s", c.name, r.Body)
			}
			continue
		}
		d := doc(t, r)
		_, hasPayment := d["payment"]
		if at(d, "ucp", "version") != c.version || hasPayment != (c.version == "2026-01-11") {
			t.Errorf("%s: served as %v, want %s: %s", c.name, at(d, "ucp", "version"), c.version, r.Body)
		}
	}
}

// TestProfile20260111 reads both profiles over HTTP: the 2026-04-08 one names the
// 2026-01-11 one in supported_versions, and that one has 2026-01-11's shape, with the
// REST endpoint under its base URL, which answers.
func TestProfile20260111(t *testing.T) {
	_, url := startFlowerShop(t)
	r := call(t, "GET", url+"/.well-known/ucp", "", nil)
	p := doc(t, r)
	older, _ := at(p, "ucp", "supported_versions", "2026-01-11").(string)
	if r.Status != 200 || at(p, "ucp", "version") != "2026-04-08" || older != url+"/2026-01-11/.well-known/ucp" {
		t.Fatalf("2026-04-08 profile: %d %s", r.Status, r.Body)
	}
	if at(p, "ucp", "payment_handlers", "com.shopify.shop_pay", 0, "id") != "shop_pay" ||
		at(p, "ucp", "payment_handlers", "dev.ucp.mock_payment", 0, "config", "test_tokens", "success_token") != "approved" ||
		at(p, "ucp", "capabilities", "dev.ucp.shopping.buyer_consent", 0, "extends") != "dev.ucp.shopping.checkout" {
		t.Errorf("2026-04-08 profile: %s", r.Body)
	}
	r = call(t, "GET", older, "", nil)
	p = doc(t, r)
	if r.Status != 200 || at(p, "ucp", "version") != "2026-01-11" {
		t.Fatalf("2026-01-11 profile: %d %s", r.Status, r.Body)
	}
	svc := at(p, "ucp", "services", "dev.ucp.shopping")
	endpoint, _ := at(svc, "rest", "endpoint").(string)
	if at(svc, "version") != "2026-01-11" || endpoint != url+"/2026-01-11/ucp/flower_shop" || at(svc, "rest", "schema") == nil {
		t.Errorf("service: %v", svc)
	}
	names := map[string]bool{}
	for _, c := range at(p, "ucp", "capabilities").([]any) {
		if at(c, "version") != "2026-01-11" {
			t.Errorf("capability %v", c)
		}
		names[at(c, "name").(string)] = true
	}
	for _, n := range []string{"dev.ucp.shopping.checkout", "dev.ucp.shopping.fulfillment", "dev.ucp.shopping.discount", "dev.ucp.shopping.order",
		"dev.ucp.shopping.buyer_consent"} {
		if !names[n] {
			t.Errorf("capability %s missing: %v", n, names)
		}
	}
	// The tenant's payment_handlers, in the order configured, each with every member
	// 2026-01-11 requires.
	var ids []string
	for _, h := range at(p, "payment", "handlers").([]any) {
		for _, k := range []string{"id", "name", "version", "spec", "config_schema", "instrument_schemas", "config"} {
			if at(h, k) == nil {
				t.Errorf("payment handler without %s: %v", k, h)
			}
		}
		ids = append(ids, at(h, "id").(string))
		if at(h, "id") == "shop_pay" && (at(h, "name") != "com.shopify.shop_pay" || at(h, "config", "shop_id") == nil) {
			t.Errorf("shop_pay: %v", h)
		}
	}
	if strings.Join(ids, " ") != "mock_payment_handler google_pay shop_pay" {
		t.Errorf("payment handlers: %v", ids)
	}
	if rr := call(t, "POST", endpoint+"/checkout-sessions", create0111, nil); rr.Status != http.StatusCreated {
		t.Errorf("the advertised endpoint: %d %s", rr.Status, rr.Body)
	}
}

// TestProfile20260111Tenants: a tenant other than the default has its 2026-01-11 profile
// at ?tenant=, named by its own 2026-04-08 profile, with its own endpoint and handlers.
func TestProfile20260111Tenants(t *testing.T) {
	cfg := twoTenants(t)
	site := httpapi.Site{BaseURL: "https://shop.example.com"}
	for tenant, want := range map[string]string{
		"demo": "https://shop.example.com/2026-01-11/.well-known/ucp",
		"acme": "https://shop.example.com/2026-01-11/.well-known/ucp?tenant=acme",
	} {
		p, err := httpapi.ProfileFor(cfg, tenant, site)
		if err != nil || p.UCP.SupportedVersions["2026-01-11"] != want {
			t.Errorf("%s: supported_versions %v (%v), want %s", tenant, p.UCP.SupportedVersions, err, want)
		}
		older, err := httpapi.Profile20260111For(cfg, tenant, site)
		if err != nil || older.UCP.Services["dev.ucp.shopping"].REST.Endpoint != "https://shop.example.com/2026-01-11/ucp/"+tenant ||
			len(older.Payment.Handlers) != 1 || older.Payment.Handlers[0].ID != "mock" {
			t.Errorf("%s: 2026-01-11 profile %+v (%v)", tenant, older, err)
		}
	}
	if _, err := httpapi.Profile20260111For(cfg, "nobody", site); !errors.Is(err, httpapi.ErrUnknownTenant) {
		t.Errorf("unknown tenant: %v", err)
	}
}

// TestOrder20260111: an order of 2026-04-08 in 2026-01-11's shape, as a function of its
// bytes: the version, unsigned totals, quantities and expectations.
func TestOrder20260111(t *testing.T) {
	in := `{"ucp":{"version":"2026-04-08","capabilities":[{"name":"dev.ucp.shopping.order","version":"2026-04-08"}]},
		"id":"ctx-1.ord_1","checkout_id":"ctx-1","status":"placed",
		"line_items":[{"id":"li_1","item":{"id":"bouquet_roses","title":"Roses","price":3500},"quantity":3,
			"totals":[{"type":"subtotal","amount":10500}]}],
		"fulfillment":{"methods":[{"id":"shipping_1","type":"shipping","line_item_ids":["li_1"],"selected_destination_id":"d1",
			"destinations":[{"id":"d1","street_address":"1 Main","address_locality":"X","postal_code":"62704","address_country":"US"}],
			"groups":[{"id":"group_1","selected_option_id":"std","options":[{"id":"std","title":"Standard","totals":[{"type":"total","amount":500}]}]}]}]},
		"totals":[{"type":"subtotal","amount":10500},{"type":"discount","amount":-1050},{"type":"total","amount":9950}]}`
	var o map[string]any
	out := httpapi.Order20260111([]byte(in))
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if at(o, "ucp", "version") != "2026-01-11" || at(o, "ucp", "capabilities", 0, "version") != "2026-01-11" ||
		o["id"] != "ctx-1.ord_1" || o["checkout_id"] != "ctx-1" || o["payment"] != nil {
		t.Errorf("order: %s", out)
	}
	if totalOf(o, "discount") != 1050 || at(o, "line_items", 0, "quantity", "total") != 3.0 || at(o, "line_items", 0, "status") != "processing" {
		t.Errorf("totals and lines: %s", out)
	}
	e := at(o, "fulfillment", "expectations", 0)
	if at(e, "id") != "shipping_1" || at(e, "destination", "postal_code") != "62704" || at(e, "line_items", 0, "quantity") != 3.0 ||
		at(e, "description") != "Standard" || at(o, "fulfillment", "events") == nil {
		t.Errorf("fulfillment: %s", out)
	}
	if again := httpapi.Order20260111([]byte(in)); !bytes.Equal(again, out) {
		t.Errorf("not a function of its bytes:\n%s\n%s", again, out)
	}

	// Shipped: the event is kept, and the line counts what it shipped.
	shipped := strings.Replace(in, `}]}]}]},`, `}]}]}],"events":[{"id":"evt_1","occurred_at":"2026-04-08T12:00:00Z","type":"shipped",
		"line_items":[{"id":"li_1","quantity":3}]}]},`, 1)
	out = httpapi.Order20260111([]byte(shipped))
	o = nil
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if at(o, "fulfillment", "events", 0, "type") != "shipped" || at(o, "fulfillment", "events", 0, "line_items", 0, "quantity") != 3.0 ||
		at(o, "line_items", 0, "quantity", "fulfilled") != 3.0 || at(o, "line_items", 0, "status") != "fulfilled" {
		t.Errorf("shipped: %s", out)
	}
}

// TestREST20260111PutKeepsAbsent: a 2026-01-11 PUT replaces the members it sends and
// keeps those it leaves out (buyer, fulfillment, discounts), as UCP's conformance suite
// expects; a 2026-04-08 PUT replaces the whole checkout.
func TestREST20260111PutKeepsAbsent(t *testing.T) {
	_, url := startFlowerShop(t)
	base := url + "/2026-01-11/ucp/flower_shop/checkout-sessions/"
	c := doc(t, call(t, "POST", url+"/2026-01-11/ucp/flower_shop/checkout-sessions", update0111, nil))
	id, _ := c["id"].(string)
	if c["status"] != "ready_for_complete" {
		t.Fatalf("create: %v", c)
	}
	// Only the lines: the buyer, the address, the option and the code stay.
	key := map[string]string{"Idempotency-Key": "k-0111-keep"}
	r := call(t, "PUT", base+id, `{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":3}]}`, key)
	// Retried with its key: what it kept is as it was, so it is the same call, answered
	// from the first reply.
	if again := call(t, "PUT", base+id, `{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":3}]}`, key); again.Status != 200 ||
		!bytes.Equal(again.Body, r.Body) {
		t.Fatalf("retry: %d %s\nwant %s", again.Status, again.Body, r.Body)
	}
	c = doc(t, r)
	m := at(c, "fulfillment", "methods", 0)
	if r.Status != 200 || at(c, "line_items", 0, "quantity") != 3.0 || at(c, "buyer", "email") != "ada@example.com" ||
		at(m, "selected_destination_id") != "addr_1" || at(m, "destinations", 0, "postal_code") != "62704" ||
		at(m, "groups", 0, "selected_option_id") != "exp-ship-us" || at(c, "discounts", "codes", 0) != "10OFF" ||
		totalOf(c, "discount") != 1050 || c["status"] != "ready_for_complete" {
		t.Fatalf("PUT of the lines alone: %d %s", r.Status, r.Body)
	}
	// A member sent replaces: another buyer, no codes.
	r = call(t, "PUT", base+id, `{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":3}],
		"buyer":{"email":"grace@example.com"},"discounts":{"codes":[]}}`, nil)
	c = doc(t, r)
	if r.Status != 200 || at(c, "buyer", "email") != "grace@example.com" || totalOf(c, "discount") != -1 ||
		at(c, "fulfillment", "methods", 0, "selected_destination_id") != "addr_1" {
		t.Fatalf("PUT with a buyer and no codes: %d %s", r.Status, r.Body)
	}
	// 2026-04-08: the whole checkout is replaced; the buyer and the address go.
	r = call(t, "PUT", url+"/ucp/flower_shop/checkout-sessions/"+id, `{"line_items":[{"item":{"id":"bouquet_roses"},"quantity":1}]}`, nil)
	c = doc(t, r)
	if r.Status != 200 || c["buyer"] != nil || at(c, "fulfillment", "methods", 0, "selected_destination_id") != nil {
		t.Fatalf("2026-04-08 PUT: %d %s", r.Status, r.Body)
	}
	// An unknown session: 404.
	if r := call(t, "PUT", base+"ctx-nobody", `{"line_items":[]}`, nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown session: %d %s", r.Status, r.Body)
	}
}

// TestREST20260111OrderUpdate: PUT /orders/{id} with the order as the platform has it
// records its fulfillment events and adjustments (GET shows them after), and an order
// that cannot be taken (an adjustment status UCP does not know, adjustments not a list)
// is 422.
func TestREST20260111OrderUpdate(t *testing.T) {
	_, url := startFlowerShop(t)
	base := url + "/2026-01-11/ucp/flower_shop/checkout-sessions"
	c := doc(t, call(t, "POST", base, update0111, nil))
	done := doc(t, call(t, "POST", base+"/"+c["id"].(string)+"/complete", pay0111With("mock_payment_handler", "success_token"), nil))
	orderID, _ := at(done, "order", "id").(string)
	if orderID == "" {
		t.Fatalf("complete: %v", done)
	}
	orderURL := url + "/2026-01-11/orders/" + orderID
	o := doc(t, call(t, "GET", orderURL, "", nil))
	lineID := at(o, "line_items", 0, "id")
	o["fulfillment"].(map[string]any)["events"] = []any{map[string]any{"id": "evt_1", "type": "shipped",
		"occurred_at": "2026-04-08T12:00:00Z", "line_items": []any{map[string]any{"id": lineID, "quantity": 2}},
		"tracking_number": "TRACK123", "tracking_url": "http://track.me/123", "description": "Shipped via FedEx"}}
	o["adjustments"] = []any{map[string]any{"id": "adj_1", "type": "refund", "occurred_at": "2026-04-08T12:00:00Z",
		"status": "pending", "amount": 500, "description": "Customer refund request"}}
	body, _ := json.Marshal(o)
	r := call(t, "PUT", orderURL, string(body), nil)
	u := doc(t, r)
	if r.Status != 200 || at(u, "fulfillment", "events", 0, "tracking_number") != "TRACK123" || at(u, "adjustments", 0, "amount") != 500.0 ||
		at(u, "line_items", 0, "quantity", "fulfilled") != 2.0 || at(u, "ucp", "version") != "2026-01-11" {
		t.Fatalf("PUT order: %d %s", r.Status, r.Body)
	}
	if g := doc(t, call(t, "GET", orderURL, "", nil)); at(g, "fulfillment", "events", 0, "id") != "evt_1" || at(g, "adjustments", 0, "type") != "refund" {
		t.Fatalf("GET after PUT: %v", g)
	}

	o["adjustments"] = []any{map[string]any{"id": "adj_2", "type": "refund", "status": "INVALID_STATUS", "amount": 500}}
	body, _ = json.Marshal(o)
	r = call(t, "PUT", orderURL, string(body), nil)
	if code, _, path := r.errorOf(t); r.Status != http.StatusUnprocessableEntity || code != "invalid_params" || path != "$.adjustments[0].status" {
		t.Errorf("invalid status: %d %s", r.Status, r.Body)
	}
	o["adjustments"] = map[string]any{"id": "adj_1", "amount": 100}
	body, _ = json.Marshal(o)
	if r = call(t, "PUT", orderURL, string(body), nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("adjustments not a list: %d %s", r.Status, r.Body)
	}
	if g := doc(t, call(t, "GET", orderURL, "", nil)); at(g, "adjustments", 0, "status") != "pending" {
		t.Errorf("a refused PUT changed the order: %v", g["adjustments"])
	}

	// 2026-04-08, under the tenant's endpoint: the same action; adjustments left out stay.
	r = call(t, "PUT", url+"/ucp/flower_shop/orders/"+orderID, `{"fulfillment":{"events":[{"id":"evt_2","type":"delivered",
		"occurred_at":"2026-04-09T12:00:00Z"}]}}`, nil)
	if u := doc(t, r); r.Status != 200 || at(u, "fulfillment", "events", 0, "type") != "delivered" || at(u, "adjustments", 0, "id") != "adj_1" ||
		at(u, "ucp", "version") != "2026-04-08" {
		t.Errorf("2026-04-08 PUT order: %d %s", r.Status, r.Body)
	}
}
