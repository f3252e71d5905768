package providers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

const testToken = "s3cret-token"

// hit is one request the merchant server saw.
type hit struct {
	Method, Path string // Path as sent, escaped
	Header       http.Header
	Body         map[string]any
}

// merchant is a real HTTP server standing in for a merchant's service. Each test routes
// requests to a function of the attempt number (1 for the first hit on that route).
type merchant struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	hits   []hit
	routes map[string]func(w http.ResponseWriter, r *http.Request, attempt int)
	counts map[string]int
}

func newMerchant(t *testing.T) *merchant {
	m := &merchant{t: t, routes: map[string]func(http.ResponseWriter, *http.Request, int){}, counts: map[string]int{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

// on routes "METHOD /escaped/path" to f.
func (m *merchant) on(route string, f func(w http.ResponseWriter, r *http.Request, attempt int)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.routes[route] = f
}

// json routes to a fixed answer.
func (m *merchant) json(route string, status int, body string) {
	m.on(route, func(w http.ResponseWriter, _ *http.Request, _ int) { reply(w, status, body) })
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// stall answers nothing until the client gives up.
func stall(_ http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second):
	}
}

func (m *merchant) serve(w http.ResponseWriter, r *http.Request) {
	h := hit{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone()}
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	if len(b) > 0 {
		if err := json.Unmarshal(b, &h.Body); err != nil {
			m.t.Errorf("%s %s: body is not a JSON object: %s", r.Method, h.Path, b)
		}
	}
	route := r.Method + " " + h.Path
	m.mu.Lock()
	m.hits = append(m.hits, h)
	m.counts[route]++
	n, f := m.counts[route], m.routes[route]
	m.mu.Unlock()
	if f == nil {
		reply(w, http.StatusNotFound, `{"error":{"code":"not_found","message":"no such route"}}`)
		return
	}
	f(w, r, n)
}

func (m *merchant) Hits() []hit {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]hit(nil), m.hits...)
}

func (m *merchant) options() providers.HTTPOptions {
	return providers.HTTPOptions{
		BaseURL:        m.srv.URL + "/v1/",
		Timeout:        200 * time.Millisecond,
		Token:          testToken,
		Tenant:         "acme",
		Header:         http.Header{"X-Merchant": {"acme-eu"}},
		InitialBackoff: 10 * time.Millisecond,
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// kindOf is the commerce kind of err, and checks that err says nothing secret.
func kindOf(t *testing.T, err error) commerce.Kind {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var ce *commerce.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%v is not a *commerce.Error", err)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "tok_visa") {
		t.Fatalf("error shows a secret: %v", err)
	}
	return ce.Kind
}

func TestHTTPCatalog(t *testing.T) {
	m := newMerchant(t)
	m.json("GET /v1/items/sku_1", 200, `{"id":"sku_1","title":"Widget","price":1999,"extra":"ignored"}`)
	m.json("GET /v1/items/a%2Fb%20c", 200, `{"title":"Odd","price":0,"digital":true}`)
	cat := must(providers.NewHTTPCatalog(m.options()))

	it, ok, err := cat.Item(ctx, "sku_1")
	if err != nil || !ok || it != (commerce.Item{ID: "sku_1", Title: "Widget", Price: 1999}) {
		t.Fatalf("Item(sku_1) = %+v, %v, %v", it, ok, err)
	}
	it, ok, err = cat.Item(ctx, "a/b c")
	if err != nil || !ok || it != (commerce.Item{ID: "a/b c", Title: "Odd", Digital: true}) {
		t.Fatalf("Item(a/b c) = %+v, %v, %v", it, ok, err)
	}
	if _, ok, err := cat.Item(ctx, "sku_nope"); ok || err != nil {
		t.Fatalf("Item(sku_nope) = %v, %v; want not found", ok, err)
	}

	h := m.Hits()[0]
	for k, want := range map[string]string{
		"Authorization":     "Bearer " + testToken,
		"Cartwright-Tenant": "acme",
		"X-Merchant":        "acme-eu",
		"Accept":            "application/json",
	} {
		if got := h.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if h.Header.Get("Idempotency-Key") != "" {
		t.Error("a lookup carries an Idempotency-Key")
	}
}

func TestHTTPCatalogMalformed(t *testing.T) {
	m := newMerchant(t)
	m.json("GET /v1/items/float", 200, `{"id":"float","title":"Float","price":19.99}`)
	m.json("GET /v1/items/noprice", 200, `{"id":"noprice","title":"Free?"}`)
	m.json("GET /v1/items/other", 200, `{"id":"sku_2","title":"Another","price":1}`)
	m.json("GET /v1/items/html", 200, `<html>`)
	cat := must(providers.NewHTTPCatalog(m.options()))
	for _, id := range []string{"float", "noprice", "other", "html"} {
		_, _, err := cat.Item(ctx, id)
		if k := kindOf(t, err); k != commerce.KindInternal {
			t.Errorf("Item(%s): %v is %s, want internal", id, err, k)
		}
	}
	if n := len(m.Hits()); n != 4 {
		t.Errorf("%d hits for 4 malformed answers: they were retried", n)
	}
}

func TestHTTPInventory(t *testing.T) {
	m := newMerchant(t)
	m.json("GET /v1/inventory/sku_1", 200, `{"available":7}`)
	m.json("GET /v1/inventory/sku_gift", 200, `{"unlimited":true}`)
	inv := must(providers.NewHTTPInventory(m.options()))
	for _, tc := range []struct {
		id        string
		n         int64
		unlimited bool
	}{{"sku_1", 7, false}, {"sku_gift", 0, true}, {"sku_nope", 0, false}} {
		n, unlimited, err := inv.Available(ctx, tc.id)
		if err != nil || n != tc.n || unlimited != tc.unlimited {
			t.Errorf("Available(%s) = %d, %v, %v", tc.id, n, unlimited, err)
		}
	}
}

func TestHTTPShipping(t *testing.T) {
	m := newMerchant(t)
	m.on("POST /v1/shipping/quote", func(w http.ResponseWriter, r *http.Request, _ int) {
		var q struct {
			Currency           string
			Address            map[string]string
			DiscountedSubtotal int64 `json:"discounted_subtotal"`
		}
		json.NewDecoder(r.Body).Decode(&q)
		if q.Address["address_country"] != "US" {
			reply(w, 200, `{"deliverable":false}`)
			return
		}
		free := q.DiscountedSubtotal >= 10000
		if free {
			reply(w, 200, `{"options":[{"id":"std","title":"Standard","amount":0},{"id":"exp","title":"Express","amount":1500}]}`)
			return
		}
		reply(w, 200, `{"deliverable":true,"options":[{"id":"std","title":"Standard","amount":500},{"id":"exp","title":"Express","amount":1500}]}`)
	})
	// The merchant sees the request through the recorded hit, too.
	ship := must(providers.NewHTTPShipping(m.options()))
	to := commerce.Address{StreetAddress: "1 Market St", AddressLocality: "San Francisco", AddressRegion: "CA", PostalCode: "94105", AddressCountry: "US"}

	opts, ok, err := ship.Options(ctx, commerce.ShippingQuote{Currency: "USD", Address: to, DiscountedSubtotal: 4500, ItemIDs: []string{"sku_1", "sku_2"}})
	want := []commerce.ShippingOption{{ID: "std", Title: "Standard", Amount: 500}, {ID: "exp", Title: "Express", Amount: 1500}}
	if err != nil || !ok || len(opts) != 2 || opts[0] != want[0] || opts[1] != want[1] {
		t.Fatalf("Options = %+v, %v, %v", opts, ok, err)
	}
	if opts, _, _ := ship.Options(ctx, commerce.ShippingQuote{Currency: "USD", Address: to, DiscountedSubtotal: 10000}); opts[0].Amount != 0 {
		t.Errorf("std from 10000: %+v", opts)
	}
	if _, ok, err := ship.Options(ctx, commerce.ShippingQuote{Currency: "USD", Address: commerce.Address{AddressCountry: "FR"}}); ok || err != nil {
		t.Errorf("FR: ok=%v, %v; want undeliverable", ok, err)
	}

	h := m.Hits()[0]
	if h.Header.Get("Content-Type") != "application/json" || h.Body["currency"] != "USD" ||
		h.Body["discounted_subtotal"] != 4500.0 || h.Body["address"].(map[string]any)["postal_code"] != "94105" ||
		fmt.Sprint(h.Body["item_ids"]) != "[sku_1 sku_2]" {
		t.Errorf("request %+v", h)
	}
}

func TestHTTPTax(t *testing.T) {
	m := newMerchant(t)
	m.on("POST /v1/tax/quote", func(w http.ResponseWriter, r *http.Request, _ int) {
		var q struct {
			Address *struct {
				AddressRegion string `json:"address_region"`
			}
			DiscountedSubtotal int64 `json:"discounted_subtotal"`
		}
		json.NewDecoder(r.Body).Decode(&q)
		if q.Address == nil || q.Address.AddressRegion != "CA" {
			reply(w, 200, `{"tax":0}`)
			return
		}
		tax, _ := commerce.MulDivHalfUp(q.DiscountedSubtotal, 825, 10000)
		reply(w, 200, `{"tax":`+itoa(tax)+`}`)
	})
	tax := must(providers.NewHTTPTax(m.options()))
	ca := &commerce.Address{AddressRegion: "CA", AddressCountry: "US"}
	if got, err := tax.Tax(ctx, commerce.TaxQuote{Currency: "USD", Address: ca, DiscountedSubtotal: 4500, Shipping: 500}); got != 371 || err != nil {
		t.Errorf("Tax(CA, 4500) = %d, %v", got, err)
	}
	if got, err := tax.Tax(ctx, commerce.TaxQuote{Currency: "USD", DiscountedSubtotal: 4500}); got != 0 || err != nil {
		t.Errorf("Tax(no address) = %d, %v", got, err)
	}
	hits := m.Hits()
	if hits[0].Body["shipping"] != 500.0 {
		t.Errorf("shipping not sent: %+v", hits[0].Body)
	}
	if a, ok := hits[1].Body["address"]; !ok || a != nil {
		t.Errorf(`no address is not "address": null: %+v`, hits[1].Body)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestHTTPDiscounts(t *testing.T) {
	m := newMerchant(t)
	m.json("GET /v1/discounts/WELCOME", 200, `{"code":"WELCOME","title":"Welcome","percent":10}`)
	m.json("GET /v1/discounts/FLAT5", 200, `{"amount":500}`)
	m.json("GET /v1/discounts/BOTH", 200, `{"code":"BOTH","percent":10,"amount":500}`)
	d := must(providers.NewHTTPDiscounts(m.options()))

	if got, ok, err := d.Lookup(ctx, " WELCOME "); err != nil || !ok || got != (commerce.Discount{Code: "WELCOME", Title: "Welcome", Percent: 10}) {
		t.Errorf("Lookup(WELCOME) = %+v, %v, %v", got, ok, err)
	}
	if got, ok, err := d.Lookup(ctx, "FLAT5"); err != nil || !ok || got != (commerce.Discount{Code: "FLAT5", Amount: 500}) {
		t.Errorf("Lookup(FLAT5) = %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := d.Lookup(ctx, "NOPE"); ok || err != nil {
		t.Errorf("Lookup(NOPE) = %v, %v; want not found", ok, err)
	}
	if _, _, err := d.Lookup(ctx, "BOTH"); kindOf(t, err) != commerce.KindInternal {
		t.Errorf("Lookup(BOTH): %v", err)
	}
	if _, ok, err := d.Lookup(ctx, ""); ok || err != nil {
		t.Errorf("Lookup(empty) = %v, %v", ok, err)
	}
	if n := len(m.Hits()); n != 4 {
		t.Errorf("%d hits, want 4 (none for the empty code)", n)
	}
}

func TestHTTPBaseURL(t *testing.T) {
	for _, base := range []string{"", "ftp://x.example", "/relative", "https://user:pw@x.example", "https://x.example/?q=1", "https://x.example/#f"} {
		_, err := providers.NewHTTPCatalog(providers.HTTPOptions{BaseURL: base})
		if err == nil {
			t.Errorf("base URL %q accepted", base)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// A server that is gone is transient, like a timeout.
func TestHTTPConnectionRefused(t *testing.T) {
	m := newMerchant(t)
	o := m.options()
	m.srv.Close()
	cat := must(providers.NewHTTPCatalog(o))
	_, _, err := cat.Item(ctx, "sku_1")
	if k := kindOf(t, err); k != commerce.KindTransient || !errors.Is(err, &commerce.Error{Code: commerce.CodeTemporarilyUnavailable}) {
		t.Fatalf("%v is %s, want transient", err, k)
	}
}

func TestHTTPContextCanceled(t *testing.T) {
	m := newMerchant(t)
	m.on("GET /v1/items/sku_1", func(w http.ResponseWriter, r *http.Request, _ int) { stall(w, r) })
	o := m.options()
	o.Timeout = 5 * time.Second
	cat := must(providers.NewHTTPCatalog(o))
	c, cancel := context.WithCancel(ctx)
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := cat.Item(c, "sku_1")
	if k := kindOf(t, err); k != commerce.KindTransient || !errors.Is(err, context.Canceled) {
		t.Fatalf("%v is %s, want transient and canceled", err, k)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s to notice the cancellation", d)
	}
	if n := len(m.Hits()); n != 1 {
		t.Errorf("%d hits after cancellation, want 1", n)
	}
}

func TestHTTPReservations(t *testing.T) {
	m := newMerchant(t)
	m.on("PUT /v1/reservations/chk_1", func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusNoContent) })
	m.json("PUT /v1/reservations/chk_2", 409, `{"short":"sku_cap","error":{"message":"2 left"}}`)
	m.json("PUT /v1/reservations/chk_3", 409, `{"error":{"message":"short"}}`)
	m.json("DELETE /v1/reservations/chk_1", 200, `{}`)
	inv := must(providers.NewHTTPInventory(m.options()))
	lines := []commerce.Reservation{{ItemID: "sku_tee", Quantity: 2}, {ItemID: "sku_cap", Quantity: 3}}

	if ok, short, err := inv.Reserve(ctx, "chk_1", lines); !ok || short != "" || err != nil {
		t.Errorf("Reserve(chk_1) = %v, %q, %v", ok, short, err)
	}
	if ok, short, err := inv.Reserve(ctx, "chk_2", lines); ok || short != "sku_cap" || err != nil {
		t.Errorf("Reserve(chk_2) = %v, %q, %v; want short sku_cap", ok, short, err)
	}
	if _, _, err := inv.Reserve(ctx, "chk_3", lines); kindOf(t, err) != commerce.KindInternal {
		t.Errorf("409 without the short item: %v", err)
	}
	if err := inv.Release(ctx, "chk_1"); err != nil {
		t.Errorf("Release(chk_1): %v", err)
	}
	if err := inv.Release(ctx, "chk_9"); err != nil {
		t.Errorf("Release of nothing held (404): %v", err)
	}

	h := m.Hits()[0]
	got, _ := json.Marshal(h.Body)
	if string(got) != `{"lines":[{"item_id":"sku_tee","quantity":2},{"item_id":"sku_cap","quantity":3}]}` {
		t.Errorf("reservation body %s", got)
	}
}

// A 4xx from a lookup is an answer: not retried.
func TestHTTPLookup4xx(t *testing.T) {
	m := newMerchant(t)
	m.json("GET /v1/items/sku_1", 400, `{"error":{"message":"bad id"}}`)
	m.json("GET /v1/items/sku_2", 403, `{"error":{"message":"token `+testToken+` revoked"}}`)
	cat := must(providers.NewHTTPCatalog(m.options()))
	for _, id := range []string{"sku_1", "sku_2"} {
		if _, _, err := cat.Item(ctx, id); kindOf(t, err) != commerce.KindInternal {
			t.Errorf("Item(%s): %v", id, err)
		}
	}
	if n := len(m.Hits()); n != 2 {
		t.Errorf("%d hits, want 2", n)
	}
}

// A provider that echoes a secret back does not get it shown: not the payment token,
// not the bearer token, not a custom header's value.
func TestHTTPRedactsEchoes(t *testing.T) {
	m := newMerchant(t)
	m.json("POST /v1/payments/authorize", 422, `{"error":{"message":"token tok_visa unusable with key acme-eu or `+testToken+`"}}`)
	pay := must(providers.NewHTTPPayments(m.options()))
	_, err := pay.Authorize(ctx, payRequest("k"))
	if kindOf(t, err) != commerce.KindInvalid || strings.Contains(err.Error(), "acme-eu") ||
		!strings.Contains(err.Error(), "token [redacted] unusable") {
		t.Errorf("422: %v", err)
	}
	m.json("POST /v1/payments/authorize", 402, `{"decline_reason":"tok_visa is blocked"}`)
	if r, err := pay.Authorize(ctx, payRequest("k")); err != nil || r.DeclineReason != "[redacted] is blocked" {
		t.Errorf("402: %+v, %v", r, err)
	}
}
