package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2aclient"
	"github.com/a2aproject/a2a-go/a2aclient/agentcard"

	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
)

// The A2A HTTP bridge and the discovery documents, through the real binary: `cartwright
// serve` on a NATS of its own, its HTTP listener on a free loopback port.

// TestBridgePurchaseA2ASDK buys through the bridge with the official A2A Go SDK, as an
// agent would: resolve the agent card, build a JSON-RPC client from it, send messages with
// one DataPart each. The first message names no context: the reply hands one out.
func TestBridgePurchaseA2ASDK(t *testing.T) {
	t.Parallel()
	base := testenv.StartServeHTTP(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	card, err := agentcard.DefaultResolver.Resolve(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if card.URL != base+"/a2a/demo" || card.PreferredTransport != a2a.TransportProtocolJSONRPC {
		t.Fatalf("agent card: url %q, transport %q", card.URL, card.PreferredTransport)
	}
	client, err := a2aclient.NewFromCard(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	contextID, firstID := "", ""
	send := func(data map[string]any) *envelopes.Checkout {
		t.Helper()
		msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.DataPart{Data: data})
		msg.ContextID = contextID
		if firstID == "" {
			firstID = msg.ID
		}
		res, err := client.SendMessage(ctx, &a2a.MessageSendParams{Message: msg})
		if err != nil {
			t.Fatalf("%v: %v", data, err)
		}
		reply, ok := res.(*a2a.Message)
		if !ok || reply.Role != a2a.MessageRoleAgent || reply.ID != msg.ID+":reply" {
			t.Fatalf("%v: not the agent's reply to %s: %#v", data, msg.ID, res)
		}
		if contextID == "" {
			contextID = reply.ContextID
		}
		if reply.ContextID != contextID || contextID == "" {
			t.Fatalf("%v: reply in context %q, want %q", data, reply.ContextID, contextID)
		}
		return checkoutPart(t, reply)
	}

	c := send(map[string]any{"action": "create_checkout"})
	if c.Status != "incomplete" || !strings.HasPrefix(c.ID, "chk_") {
		t.Fatalf("create: %+v", c)
	}
	// The bridge derived the context from the messageId, so that a retry finds it again.
	if want := httpapi.DeriveContextID("demo", firstID); contextID != want {
		t.Fatalf("context %q, want %q", contextID, want)
	}
	c = send(map[string]any{"action": "add_item", "item_id": "sku_tee", "quantity": 2})
	if len(c.LineItems) != 1 || c.LineItems[0].Quantity != 2 {
		t.Fatalf("add_item: %+v", c.LineItems)
	}
	send(map[string]any{"action": "set_buyer", "buyer": map[string]any{"email": "ada@example.com"}})
	send(map[string]any{"action": "set_shipping_address", "address": map[string]any{
		"street_address": "1 Market St", "address_locality": "San Francisco", "address_region": "CA",
		"postal_code": "94105", "address_country": "US"}})
	send(map[string]any{"action": "select_shipping_option", "option_id": "std"})
	c = send(map[string]any{"action": "apply_discount", "code": "SAVE10"})
	if c.Status != "ready_for_complete" {
		t.Fatalf("before complete: %s %+v", c.Status, c.Messages)
	}
	c = send(map[string]any{"action": "complete_checkout", "payment": map[string]any{"instruments": []any{map[string]any{
		"id": "pi_1", "handler_id": "mock", "type": "card", "selected": true,
		"credential": map[string]any{"type": "token", "token": "tok_visa"}}}}})
	if c.Status != "completed" || c.Order == nil || !strings.HasPrefix(c.Order.ID, "ord_") {
		t.Fatalf("complete: %s, order %+v, messages %+v", c.Status, c.Order, c.Messages)
	}
	want := map[string]int64{"subtotal": 5000, "discount": -500, "fulfillment": 500, "tax": 371, "total": 5371}
	got := map[string]int64{}
	for _, tot := range c.Totals {
		got[tot.Type] = tot.Amount
	}
	if !maps.Equal(got, want) {
		t.Fatalf("totals %v, want %v", got, want)
	}

	// A JSON-RPC error reply reaches the SDK as an error (code -32601, unknown_action).
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.DataPart{Data: map[string]any{"action": "teleport"}})
	msg.ContextID = contextID
	if _, err := client.SendMessage(ctx, &a2a.MessageSendParams{Message: msg}); !errors.Is(err, a2a.ErrMethodNotFound) {
		t.Fatalf("unknown action: %v, want a2a.ErrMethodNotFound", err)
	}
}

// checkoutPart reads the checkout out of the reply's data part.
func checkoutPart(t *testing.T, m *a2a.Message) *envelopes.Checkout {
	t.Helper()
	for _, p := range m.Parts {
		if dp, ok := p.(a2a.DataPart); ok {
			b, _ := json.Marshal(dp.Data)
			var r envelopes.Resource
			if err := json.Unmarshal(b, &r); err != nil || r.Checkout == nil {
				t.Fatalf("data part %s: %v", b, err)
			}
			return r.Checkout
		}
	}
	t.Fatalf("no data part in %#v", m)
	return nil
}

// TestBridgeAuth: a tenant with tokens wants one of them, compared in constant time; a
// tenant without is open to loopback callers (the tests are loopback callers: the
// non-loopback case is httpapi's TestBridgeLoopbackOnly).
func TestBridgeAuth(t *testing.T) {
	const tokA, tokB = "acme-token-0123456789", "acme-token-rotated-9876"
	t.Setenv("CW_TEST_ACME_TOKEN", tokA)
	t.Setenv("CW_TEST_ACME_TOKEN_NEXT", tokB)
	cfg := filepath.Join(t.TempDir(), "cartwright.yaml")
	if err := os.WriteFile(cfg, []byte(`
tenants:
  acme:
    builtin:
      items: [{id: sku_a, title: Anvil, price: 9900}]
  shop:
    builtin:
      items: [{id: sku_s, title: Spoon, price: 300}]
bridge:
  timeout: 5s
  tokens:
    acme:
      - env: CW_TEST_ACME_TOKEN
      - env: CW_TEST_ACME_TOKEN_NEXT
`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := testenv.StartServeHTTP(t, "--config", cfg)
	create := func(id string) []byte {
		return testenv.Envelope(id, "ctx-auth", map[string]any{"action": "create_checkout"})
	}

	for _, c := range []struct {
		name, auth string
		want       int
	}{
		{"no token", "", 401},
		{"wrong token", "Bearer acme-token-0123456788", 401},
		{"not bearer", "Basic " + tokA, 401},
		{"a prefix of the token", "Bearer " + tokA[:10], 401},
		{"first token", "Bearer " + tokA, 200},
		{"second token", "bearer " + tokB, 200},
	} {
		hdr := map[string]string{}
		if c.auth != "" {
			hdr["Authorization"] = c.auth
		}
		r := testenv.PostRPC(t, base+"/a2a/acme", bytes.NewReader(create("auth-"+strings.ReplaceAll(c.name, " ", "-"))), hdr)
		if r.Status != c.want {
			t.Errorf("%s: HTTP %d, want %d", c.name, r.Status, c.want)
		}
		if r.Status == 200 && r.Result == nil && r.Code() != "checkout_exists" {
			t.Errorf("%s: %+v", c.name, r.Error)
		}
	}
	// The SDK, given the token by a call interceptor, reads acme's card and buys there.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	acmeCard, err := agentcard.DefaultResolver.Resolve(ctx, base+"/a2a/acme")
	if err != nil {
		t.Fatal(err)
	}
	client, err := a2aclient.NewFromCard(ctx, acmeCard, a2aclient.WithInterceptors(bearer(tokB)))
	if err != nil {
		t.Fatal(err)
	}
	msg := a2a.NewMessage(a2a.MessageRoleUser, a2a.DataPart{Data: map[string]any{"action": "create_checkout",
		"line_items": []any{map[string]any{"item": map[string]any{"id": "sku_a"}, "quantity": 1}}}})
	res, err := client.SendMessage(ctx, &a2a.MessageSendParams{Message: msg})
	if err != nil {
		t.Fatalf("SDK with the token: %v", err)
	}
	if c := checkoutPart(t, res.(*a2a.Message)); len(c.LineItems) != 1 || c.Currency != "USD" {
		t.Errorf("SDK with the token: %+v", c)
	}
	anon, err := a2aclient.NewFromCard(ctx, acmeCard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.SendMessage(ctx, &a2a.MessageSendParams{Message: a2a.NewMessage(a2a.MessageRoleUser,
		a2a.DataPart{Data: map[string]any{"action": "get_checkout"}})}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("SDK without the token: %v", err)
	}

	// The token of one tenant is no key to another; a tenant without tokens is open here.
	if r := testenv.PostRPC(t, base+"/a2a/shop", bytes.NewReader(create("shop-1")), nil); r.Status != 200 || r.Result == nil {
		t.Errorf("shop, no token, from loopback: %d %+v", r.Status, r.Error)
	}
	// Unknown tenants: open only to loopback callers, who learn that it is unknown.
	if r := testenv.PostRPC(t, base+"/a2a/nobody", bytes.NewReader(create("x-1")), nil); r.Status != 200 || r.Code() != "unknown_tenant" ||
		r.Error.Code != -32600 || string(r.ID) != `"req-x-1"` {
		t.Errorf("unknown tenant: %d %+v", r.Status, r.RPCReply)
	}

	// The card says that acme wants a bearer token, and shop does not.
	card := testenv.GetJSON[httpapi.AgentCard](t, base+"/a2a/acme/.well-known/agent-card.json")
	if card.SecuritySchemes["bearer"].Scheme != "bearer" || len(card.Security) != 1 {
		t.Errorf("acme's card: security %+v %+v", card.SecuritySchemes, card.Security)
	}
	if card := testenv.GetJSON[httpapi.AgentCard](t, base+"/a2a/shop/.well-known/agent-card.json"); card.SecuritySchemes != nil {
		t.Errorf("shop's card: security %+v", card.SecuritySchemes)
	}
	// Two tenants and no default: the root documents point at the per-tenant ones.
	resp, err := http.Get(base + "/.well-known/ucp")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), base+"/a2a/acme/.well-known/ucp") {
		t.Errorf("root profile with two tenants: %d %s", resp.StatusCode, b)
	}
	p := testenv.GetJSON[httpapi.BusinessProfile](t, base+"/.well-known/ucp?tenant=shop")
	if ep := p.UCP.Services["dev.ucp.shopping"][0].Endpoint; ep != base+"/a2a/shop/.well-known/agent-card.json" {
		t.Errorf("shop's profile: a2a endpoint %q", ep)
	}
}

// bearer is an A2A SDK call interceptor that sends a bearer token.
type bearer string

func (b bearer) Before(ctx context.Context, req *a2aclient.Request) (context.Context, error) {
	req.Meta["Authorization"] = []string{"Bearer " + string(b)}
	return ctx, nil
}

func (bearer) After(context.Context, *a2aclient.Response) error { return nil }

// TestDiscoveryDocuments fetches the demo's profile and agent card over HTTP and checks
// them field by field against the listener they were fetched from.
func TestDiscoveryDocuments(t *testing.T) {
	t.Parallel()
	base := testenv.StartServeHTTP(t)
	cardURL := base + "/.well-known/agent-card.json"

	p := testenv.GetJSON[httpapi.BusinessProfile](t, base+"/.well-known/ucp")
	if p.UCP.Version != "2026-04-08" {
		t.Errorf("profile version %q", p.UCP.Version)
	}
	svc := p.UCP.Services["dev.ucp.shopping"]
	if len(svc) != 2 || svc[0].Transport != "a2a" || svc[0].Endpoint != cardURL || svc[0].Version != "2026-04-08" ||
		svc[0].Spec != "https://ucp.dev/2026-04-08/specification/overview" ||
		svc[1].Transport != "rest" || svc[1].Endpoint != base+"/ucp/demo" {
		t.Errorf("services: %+v", p.UCP.Services)
	}
	wantCaps := map[string]string{ // name → extends
		"dev.ucp.shopping.checkout":      "",
		"dev.ucp.shopping.fulfillment":   "dev.ucp.shopping.checkout",
		"dev.ucp.shopping.discount":      "dev.ucp.shopping.checkout",
		"dev.ucp.shopping.order":         "",
		"dev.ucp.shopping.buyer_consent": "dev.ucp.shopping.checkout",
	}
	checkCaps := func(where string, caps map[string][]httpapi.CapabilityEntry) {
		t.Helper()
		if len(caps) != len(wantCaps) {
			t.Errorf("%s: capabilities %v", where, slices.Collect(maps.Keys(caps)))
		}
		for name, extends := range wantCaps {
			c := caps[name]
			short := strings.TrimPrefix(name, "dev.ucp.shopping.")
			if len(c) != 1 || c[0].Version != "2026-04-08" || c[0].Extends != extends ||
				c[0].Spec != "https://ucp.dev/2026-04-08/specification/"+short ||
				c[0].Schema != "https://ucp.dev/2026-04-08/schemas/shopping/"+short+".json" {
				t.Errorf("%s: capability %s: %+v", where, name, c)
			}
		}
	}
	checkCaps("profile", p.UCP.Capabilities)
	mock := p.UCP.PaymentHandlers["dev.cartwright.mock"]
	if len(p.UCP.PaymentHandlers) != 1 || len(mock) != 1 || mock[0].ID != "mock" ||
		len(mock[0].AvailableInstruments) != 1 || mock[0].AvailableInstruments[0].Type != "card" {
		t.Errorf("payment handlers: %+v", p.UCP.PaymentHandlers)
	}
	if toks, _ := mock[0].Config["test_tokens"].(map[string]any); toks["tok_visa"] != "approved" {
		t.Errorf("mock handler config: %+v", mock[0].Config)
	}
	// The per-tenant path serves the same profile.
	if p2 := testenv.GetJSON[httpapi.BusinessProfile](t, base+"/a2a/demo/.well-known/ucp"); !jsonEqual(t, p, p2) {
		t.Errorf("per-tenant profile differs: %+v", p2)
	}

	c := testenv.GetJSON[httpapi.AgentCard](t, svc[0].Endpoint)
	if c.ProtocolVersion != "0.3.0" || c.URL != base+"/a2a/demo" || c.PreferredTransport != "JSONRPC" ||
		c.Name == "" || !strings.Contains(c.Description, "USD") || c.Version == "" {
		t.Errorf("card: %+v", c)
	}
	if len(c.AdditionalInterfaces) != 1 || c.AdditionalInterfaces[0] != (httpapi.AgentInterface{URL: c.URL, Transport: "JSONRPC"}) {
		t.Errorf("card interfaces: %+v", c.AdditionalInterfaces)
	}
	if c.Capabilities.Streaming || c.Capabilities.PushNotifications || len(c.Capabilities.Extensions) != 1 {
		t.Errorf("card capabilities: %+v", c.Capabilities)
	}
	ext := c.Capabilities.Extensions[0]
	if ext.URI != "https://ucp.dev/2026-04-08/specification/reference" {
		t.Errorf("extension uri %q", ext.URI)
	}
	var params struct {
		Capabilities map[string][]httpapi.CapabilityEntry `json:"capabilities"`
	}
	b, _ := json.Marshal(ext.Params)
	if err := json.Unmarshal(b, &params); err != nil {
		t.Fatal(err)
	}
	checkCaps("card extension", params.Capabilities)
	if !slices.Equal(c.DefaultInputModes, []string{"application/json"}) || !slices.Equal(c.DefaultOutputModes, []string{"application/json"}) {
		t.Errorf("card modes: %v %v", c.DefaultInputModes, c.DefaultOutputModes)
	}
	if c.SecuritySchemes != nil || c.Security != nil {
		t.Errorf("the demo's card asks for authentication: %+v", c.SecuritySchemes)
	}
	skills := map[string]httpapi.AgentSkill{}
	for _, s := range c.Skills {
		skills[s.ID] = s
	}
	examples := strings.Join(skills["checkout"].Examples, "\n")
	for _, want := range []string{`"item_id":"sku_tee"`, `"option_id":"std"`, `"code":"SAVE10"`,
		`"handler_id":"mock"`, `"token":"tok_visa"`} {
		if !strings.Contains(examples, want) {
			t.Errorf("checkout skill examples lack %s:\n%s", want, examples)
		}
	}
	if len(skills) != 2 || len(skills["order_management"].Examples) == 0 {
		t.Errorf("skills: %+v", c.Skills)
	}
	// The first examples are commands the bridge takes as they are.
	for i, ex := range skills["checkout"].Examples[:2] {
		var data map[string]any
		if err := json.Unmarshal([]byte(ex), &data); err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
		id := "ex-" + string(rune('a'+i))
		if r := testenv.PostRPC(t, c.URL, bytes.NewReader(testenv.Envelope(id, "ctx-ex", data)), nil); r.Status != 200 || r.Result == nil {
			t.Errorf("example %s: %d %+v", ex, r.Status, r.Error)
		}
	}
	// The per-tenant card is the same card; the SDK reads both.
	if c2 := testenv.GetJSON[httpapi.AgentCard](t, base+"/a2a/demo/.well-known/agent-card.json"); !jsonEqual(t, c, c2) {
		t.Errorf("per-tenant card differs")
	}
	if _, err := agentcard.DefaultResolver.Resolve(context.Background(), base+"/a2a/demo"); err != nil {
		t.Errorf("the SDK cannot read the per-tenant card: %v", err)
	}
	if resp, err := http.Get(base + "/.well-known/ucp?tenant=nobody"); err != nil || resp.StatusCode != 404 {
		t.Errorf("profile of an unknown tenant: %v %v", resp.StatusCode, err)
	}
}

func jsonEqual(t *testing.T, a, b any) bool {
	t.Helper()
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestBridgeConfigErrors: serve refuses a bridge section it cannot honour, naming each
// problem, before it starts anything. Tokens come from the environment only.
func TestBridgeConfigErrors(t *testing.T) {
	t.Setenv("CW_TEST_SHORT_TOKEN", "tok-xyzzy")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.yaml", `
tenants:
  acme:
    builtin:
      items: [{id: sku_a, title: Anvil, price: 9900}]
bridge:
  public_url: ftp://shop.example.com
  timeout: 1ms
  default_tenant: nobody
  tokens:
    acme: [{env: CW_TEST_UNSET_TOKEN_VAR}, {env: CW_TEST_SHORT_TOKEN}, {env: "not a name"}]
    ghost: [{env: CW_TEST_SHORT_TOKEN}]
`)
	r := cw(t, "serve", "--config", bad, "--data", t.TempDir())
	if r.code != 2 {
		t.Fatalf("exit %d, want 2: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"bridge.public_url", "bridge.timeout", "bridge.default_tenant",
		"bridge.tokens.acme[0].env: CW_TEST_UNSET_TOKEN_VAR is not set",
		"bridge.tokens.acme[1].env: the token in CW_TEST_SHORT_TOKEN is shorter than 16 bytes",
		"bridge.tokens.acme[2].env", "bridge.tokens.ghost: not a configured tenant",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "xyzzy") {
		t.Errorf("the token's value is in the message:\n%s", r.stderr)
	}
	inline := write("inline.yaml", "bridge:\n  tokens:\n    demo: [{token: s3cret-s3cret-s3cret}]\n")
	if r := cw(t, "serve", "--config", inline, "--data", t.TempDir()); r.code != 2 || !strings.Contains(r.stderr, "token") {
		t.Errorf("an inline token: exit %d: %s", r.code, r.stderr)
	}
}
