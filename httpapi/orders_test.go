package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestOrderPage: the permalink of an order placed by a tenant with tokens answers with
// the order as the worker holds it now, to the tenant's token only, and the bridge's
// guards apply to it.
func TestOrderPage(t *testing.T) {
	t.Setenv("CW_ORDER_PAGE_TOKEN", "order-page-s3cret-s3cret")
	addr := testenv.FreeAddr(t)
	cfg := &config.Config{
		HTTPListen: addr,
		Tenants:    map[string]*config.Tenant{"demo": config.Demo(), "acme": config.Demo()},
		Bridge:     config.Bridge{Tokens: map[string][]config.TokenRef{"acme": {{Env: "CW_ORDER_PAGE_TOKEN"}}}},
	}
	w := testenv.StartWorker(t, cfg, handlers.Options{})
	nc, err := nats.Connect(w.NATS.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	web, err := httpapi.Serve(w.Config, nc, httpapi.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer web.Shutdown()

	cl := testenv.NewClient(t, w.NATS.URL())
	cl.Send("acme", "ctx-op", "op-1", map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_gift"}, "quantity": 1}},
		"buyer":      map[string]any{"email": "ada@example.com"}})
	m := cl.Send("acme", "ctx-op", "op-2", map[string]any{"action": "complete_checkout",
		"payment": map[string]any{"instruments": []any{map[string]any{"id": "pi_1", "handler_id": "mock", "type": "card",
			"selected": true, "credential": map[string]any{"type": "token", "token": "tok_visa"}}}}})
	var r testenv.RPCReply
	if err := json.Unmarshal(m.Data, &r); err != nil || r.Result == nil || r.Result.Parts[0].Data.Checkout.Order == nil {
		t.Fatalf("complete: %v %s", err, m.Data)
	}
	ref := r.Result.Parts[0].Data.Checkout.Order
	if want := "http://" + addr + "/orders/acme/ctx-op/" + ref.ID; ref.PermalinkURL != want {
		t.Fatalf("permalink %q, want %q", ref.PermalinkURL, want)
	}

	const token = "Bearer order-page-s3cret-s3cret"
	get := func(u string, hdr map[string]string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	order := func(body string) envelopes.Order {
		t.Helper()
		var o envelopes.Order
		if err := json.Unmarshal([]byte(body), &o); err != nil || o.ID != ref.ID {
			t.Fatalf("not the order %s: %v\n%s", ref.ID, err, body)
		}
		return o
	}

	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"no token", nil, 401},
		{"another token", map[string]string{"Authorization": "Bearer not-the-token-at-all"}, 401},
		{"rebound host", map[string]string{"Authorization": token, "Host": "evil.example"}, 421},
		{"foreign origin", map[string]string{"Authorization": token, "Origin": "https://evil.example"}, 403},
	} {
		if status, hdr, body := get(ref.PermalinkURL, c.hdr); status != c.want {
			t.Errorf("%s: %d, want %d\n%s", c.name, status, c.want, body)
		} else if status == 401 && hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
	}
	status, _, body := get(ref.PermalinkURL, map[string]string{"Authorization": token})
	if status != 200 || order(body).Payment.Status != "captured" {
		t.Fatalf("with the token: %d\n%s", status, body)
	}
	// Each view asks the worker again: the page follows the order's payment.
	cl.Send("acme", "ctx-op", "op-3", map[string]any{"action": "refund_payment", "order_id": ref.ID})
	status, _, body = get(ref.PermalinkURL, map[string]string{"Authorization": token})
	if status != 200 || order(body).Payment.Status != "refunded" {
		t.Errorf("after the refund: %d\n%s", status, body)
	}
	for _, u := range []string{
		"http://" + addr + "/orders/acme/ctx-other/" + ref.ID, // orders live in their context
		"http://" + addr + "/orders/acme/ctx-op/ord_none",
		"http://" + addr + "/orders/nobody/ctx-op/" + ref.ID,
		"http://" + addr + "/orders/acme/ctx.op/" + ref.ID,
	} {
		if status, _, body := get(u, map[string]string{"Authorization": token}); status != 404 {
			t.Errorf("GET %s: %d, want 404\n%s", u, status, body)
		}
	}
}
