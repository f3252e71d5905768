package webhooks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
	"github.com/cartwright-dev/cartwright/webhooks"
)

// shop is a worker, its HTTP face and the webhook delivery, as serve assembles them.
type shop struct {
	base string // http://host:port
	reg  *prometheus.Registry
	key  *ecdsa.PrivateKey
}

func startShop(t *testing.T, secret string) *shop {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{HTTPListen: testenv.FreeAddr(t), Webhooks: config.Webhooks{
		SigningKeyFile: keyFile, SimulationSecret: secret,
		InitialInterval: 20 * time.Millisecond, MaxInterval: 100 * time.Millisecond,
	}}
	w := testenv.StartWorker(t, cfg, handlers.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	reg := prometheus.NewRegistry()
	svc, err := webhooks.New(ctx, w.Config, w.Conn, webhooks.Options{
		Dial:       func() (*nats.Conn, error) { return nats.Connect(w.NATS.URL()) },
		Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	web, err := httpapi.Serve(w.Config, w.Conn, httpapi.Options{Remember: svc.Remember})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { web.Shutdown(); cancel(); <-done })
	return &shop{base: "http://" + w.Config.HTTPListen, reg: reg, key: key}
}

func (s *shop) call(t *testing.T, method, path, body string, hdr map[string]string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
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
	return resp.StatusCode, b
}

// TestPurchaseOverRESTThenShipped drives what UCP's conformance suite does: a platform
// creates and completes a checkout over REST naming its profile in UCP-Agent, gets
// order_placed; simulate-shipping (with the secret) ships the order through the bus and
// the platform gets order_shipped with a shipped fulfillment event. Both verify with the
// key the business profile lists. A second simulate-shipping is refused (shipped once).
func TestPurchaseOverRESTThenShipped(t *testing.T) {
	s := startShop(t, "s3cret")
	p := newPlatform(t)
	agent := map[string]string{"UCP-Agent": `profile="` + p.profile() + `"`}

	status, body := s.call(t, "POST", "/ucp/demo/checkout-sessions",
		`{"line_items":[{"item":{"id":"sku_gift"},"quantity":1}],"buyer":{"email":"ada@example.com"}}`, agent)
	var chk struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Order  struct {
			ID string `json:"id"`
		} `json:"order"`
	}
	if err := json.Unmarshal(body, &chk); err != nil || status != http.StatusCreated || chk.Status != "ready_for_complete" {
		t.Fatalf("create: %d %s", status, body)
	}
	status, body = s.call(t, "POST", "/ucp/demo/checkout-sessions/"+chk.ID+"/complete",
		`{"payment":{"instruments":[{"id":"pi_1","handler_id":"mock","type":"card","selected":true,"credential":{"type":"token","token":"tok_visa"}}]}}`, agent)
	if err := json.Unmarshal(body, &chk); err != nil || status != http.StatusOK || chk.Order.ID == "" {
		t.Fatalf("complete: %d %s", status, body)
	}
	placed := decode(t, p.waitHits(t, 1)[0])
	if placed.EventType != "order_placed" || placed.CheckoutID != chk.ID || placed.Order.ID != chk.Order.ID {
		t.Fatalf("first webhook %+v, want order_placed of checkout %s, order %s", placed, chk.ID, chk.Order.ID)
	}

	if status, body := s.call(t, "POST", "/testing/simulate-shipping/"+chk.Order.ID, "", agent); status != http.StatusForbidden {
		t.Fatalf("simulate-shipping without Simulation-Secret: %d %s, want 403", status, body)
	}
	if status, body := s.call(t, "POST", "/testing/simulate-shipping/"+chk.Order.ID, "",
		map[string]string{"UCP-Agent": agent["UCP-Agent"], "Simulation-Secret": "wrong"}); status != http.StatusForbidden {
		t.Fatalf("simulate-shipping with a wrong secret: %d %s, want 403", status, body)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(p.received()); n != 1 {
		t.Fatalf("refused simulate-shipping calls sent %d webhooks", n-1)
	}
	withSecret := map[string]string{"UCP-Agent": agent["UCP-Agent"], "Simulation-Secret": "s3cret"}
	status, body = s.call(t, "POST", "/testing/simulate-shipping/"+chk.Order.ID, "", withSecret)
	if status != http.StatusOK || !strings.Contains(string(body), `"type":"shipped"`) {
		t.Fatalf("simulate-shipping: %d %s", status, body)
	}
	hits := p.waitHits(t, 2)
	shipped := decode(t, hits[1])
	if shipped.EventType != "order_shipped" || shipped.CheckoutID != chk.ID || shipped.Order.ID != chk.Order.ID ||
		len(shipped.Order.Fulfillment.Events) != 1 || shipped.Order.Fulfillment.Events[0].Type != "shipped" {
		t.Fatalf("second webhook %+v, want order_shipped with a shipped fulfillment event", shipped)
	}
	if status, body := s.call(t, "POST", "/testing/simulate-shipping/"+chk.Order.ID, "", withSecret); status != http.StatusConflict {
		t.Errorf("a second simulate-shipping: %d %s, want 409 (invalid_transition)", status, body)
	}

	// The business profile lists the key; both webhooks verify with it.
	var prof struct {
		SigningKeys []map[string]string `json:"signing_keys"`
	}
	_, body = s.call(t, "GET", "/.well-known/ucp", "", nil)
	if err := json.Unmarshal(body, &prof); err != nil || len(prof.SigningKeys) != 1 || prof.SigningKeys[0]["kid"] != "cartwright-webhooks" {
		t.Fatalf("profile signing_keys: %s", body)
	}
	for _, h := range hits[:2] {
		if _, err := webhooks.Verify(h.req, h.body, &s.key.PublicKey); err != nil {
			t.Errorf("%s: %v", decode(t, h).EventType, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(p.received()); n != 2 {
		t.Errorf("the platform got %d webhooks, want 2 (placed, shipped)", n)
	}
}
