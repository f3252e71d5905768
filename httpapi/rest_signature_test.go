package httpapi_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/testenv"
	"github.com/cartwright-dev/cartwright/webhooks"
)

// servePlatformProfile serves a platform profile whose signing_keys hold key's public
// half as kid, on a real HTTP server; it returns the profile's URL.
func servePlatformProfile(t *testing.T, key *ecdsa.PrivateKey, kid string) string {
	t.Helper()
	pub, err := key.PublicKey.Bytes() // 0x04 || x || y
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	doc := fmt.Sprintf(`{"ucp":{"version":"2026-04-08","capabilities":{}},"signing_keys":[`+
		`{"kid":%q,"kty":"EC","crv":"P-256","x":%q,"y":%q,"use":"sig","alg":"ES256"}]}`, kid, b64(pub[1:33]), b64(pub[33:]))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/.well-known/ucp"
}

// signedCall sends a UCP 2026-04-08 request signed with key as kid (RFC 9421); tamper,
// when set, changes the body after signing.
func signedCall(t *testing.T, method, url, body, profile, idemKey string, key *ecdsa.PrivateKey, kid string, tamper func(string) string) restReply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("UCP-Agent", `profile="`+profile+`"`)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if key != nil {
		if err := webhooks.SignRequest(req, []byte(body), key, kid, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if tamper != nil {
		body = tamper(body)
	}
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return restReply{resp.StatusCode, resp.Header, b}
}

// TestRESTRequestSignature: a platform's signed request is verified against the
// signing_keys of the profile its UCP-Agent names: accepted when it verifies, and its
// idempotent retry gets the same bytes; a body changed after signing, another key, an
// unknown kid are refused with UCP's codes; unsigned requests pass unless the tenant sets
// require_request_signature.
func TestRESTRequestSignature(t *testing.T) {
	strict := config.Demo()
	strict.RequireRequestSignature = true
	w := testenv.StartWorker(t, &config.Config{Tenants: map[string]*config.Tenant{"demo": config.Demo(), "strict": strict}}, handlers.Options{})
	nc, err := nats.Connect(w.NATS.URL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	br, err := httpapi.NewBridge(w.Config, nc, httpapi.BridgeOptions{Verify: webhooks.NewRequestVerifier(w.Config).Verify})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	httpapi.RegisterREST(br, mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); br.Close(); nc.Close() })

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	profile := servePlatformProfile(t, key, "platform-2026")
	demo, strictURL := srv.URL+"/ucp/demo/checkout-sessions", srv.URL+"/ucp/strict/checkout-sessions"

	first := signedCall(t, "POST", demo, restCreate, profile, "sig-1", key, "platform-2026", nil)
	if first.Status != http.StatusCreated {
		t.Fatalf("signed create: %d %s", first.Status, first.Body)
	}
	again := signedCall(t, "POST", demo, restCreate, profile, "sig-1", key, "platform-2026", nil)
	if again.Status != http.StatusCreated || !bytes.Equal(again.Body, first.Body) || again.Header.Get("A2A-Replayed") != "true" {
		t.Fatalf("signed retry: %d %v\n%s\nwant\n%s", again.Status, again.Header, again.Body, first.Body)
	}
	// A signed GET: no body, no Idempotency-Key.
	c := first.checkout(t)
	if r := signedCall(t, "GET", demo+"/"+c.ID, "", profile, "", key, "platform-2026", nil); r.Status != 200 {
		t.Fatalf("signed get: %d %s", r.Status, r.Body)
	}

	for _, bad := range []struct {
		name, kid string
		key       *ecdsa.PrivateKey
		tamper    func(string) string
		status    int
		code      string
	}{
		{"body changed after signing", "platform-2026", key, func(s string) string { return strings.Replace(s, `"quantity":1`, `"quantity":9`, 1) }, 400, "digest_mismatch"},
		{"another key under the kid", "platform-2026", other, nil, 401, "signature_invalid"},
		{"a kid the profile does not have", "platform-2025", key, nil, 401, "key_not_found"},
	} {
		r := signedCall(t, "POST", demo, restCreate, profile, "sig-bad-"+bad.name, bad.key, bad.kid, bad.tamper)
		if code, _, _ := r.errorOf(t); r.Status != bad.status || code != bad.code {
			t.Errorf("%s: %d %s; want %d %s", bad.name, r.Status, r.Body, bad.status, bad.code)
		}
	}
	// The digest matches but the signature covers other bytes: the Content-Digest was
	// rewritten for the changed body.
	req, _ := http.NewRequest("POST", demo, nil)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("UCP-Agent", `profile="`+profile+`"`)
	req.Header.Set("Idempotency-Key", "sig-redigest")
	if err := webhooks.SignRequest(req, []byte(restCreate), key, "platform-2026", time.Now()); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(restCreate, `"quantity":1`, `"quantity":9`, 1)
	req.Header.Set("Content-Digest", webhooks.ContentDigest([]byte(changed)))
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader(changed)), int64(len(changed))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("body and digest changed after signing: %d, want 401", resp.StatusCode)
	}

	// Unsigned: accepted by default, refused where the tenant requires signatures.
	if r := signedCall(t, "POST", demo, restCreate, profile, "unsigned-1", nil, "", nil); r.Status != http.StatusCreated {
		t.Errorf("unsigned, not required: %d %s", r.Status, r.Body)
	}
	r := signedCall(t, "POST", strictURL, restCreate, profile, "unsigned-2", nil, "", nil)
	if code, _, _ := r.errorOf(t); r.Status != http.StatusUnauthorized || code != "signature_missing" {
		t.Errorf("unsigned, required: %d %s", r.Status, r.Body)
	}
	if r := signedCall(t, "POST", strictURL, restCreate, profile, "signed-3", key, "platform-2026", nil); r.Status != http.StatusCreated {
		t.Errorf("signed, required: %d %s", r.Status, r.Body)
	}
}

// detachedJWS is a 2026-01-11 Request-Signature: a JWS over body with RFC 7797's
// unencoded payload, the payload left out.
func detachedJWS(t *testing.T, key *ecdsa.PrivateKey, kid string, body []byte) string {
	t.Helper()
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"` + kid + `","b64":false,"crit":["b64"]}`))
	sum := sha256.Sum256(append([]byte(h+"."), body...))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return h + ".." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestREST20260111RequestSignature: over UCP 2026-01-11, Request-Signature is a detached
// JWS over the body by a key of the platform's signing_keys: one that verifies is
// accepted (and its retry gets the same bytes), one over other bytes is refused, and a
// value that is no JWS (UCP's conformance suite sends "test") counts as no signature.
func TestREST20260111RequestSignature(t *testing.T) {
	cfg, err := config.Load("../examples/flower_shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := testenv.StartWorker(t, cfg, handlers.Options{})
	nc, err := nats.Connect(w.NATS.URL(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	br, err := httpapi.NewBridge(w.Config, nc, httpapi.BridgeOptions{Verify: webhooks.NewRequestVerifier(w.Config).Verify})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	httpapi.RegisterREST(br, mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); br.Close(); nc.Close() })
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	profile := servePlatformProfile(t, key, "platform-0111")
	url := srv.URL + "/2026-01-11/ucp/flower_shop/checkout-sessions"
	agent := map[string]string{"UCP-Agent": `profile="` + profile + `"`}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range agent {
			m[a] = b
		}
		return m
	}

	sig := detachedJWS(t, key, "platform-0111", []byte(create0111))
	h := with("Request-Signature", sig)
	h["Idempotency-Key"] = "jws-1"
	first := call(t, "POST", url, create0111, h)
	if first.Status != http.StatusCreated {
		t.Fatalf("signed create: %d %s", first.Status, first.Body)
	}
	if again := call(t, "POST", url, create0111, h); again.Status != http.StatusCreated || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("signed retry: %d %s", again.Status, again.Body)
	}
	h["Idempotency-Key"] = "jws-2"
	changed := strings.Replace(create0111, `"quantity":1`, `"quantity":3`, 1)
	r := call(t, "POST", url, changed, h)
	if code, _, _ := r.errorOf(t); r.Status != http.StatusUnauthorized || code != "signature_invalid" {
		t.Errorf("body changed after signing: %d %s", r.Status, r.Body)
	}
	h = with("Request-Signature", detachedJWS(t, key, "nobody", []byte(create0111)))
	h["Idempotency-Key"] = "jws-3"
	r = call(t, "POST", url, create0111, h)
	if code, _, _ := r.errorOf(t); r.Status != http.StatusUnauthorized || code != "key_not_found" {
		t.Errorf("unknown kid: %d %s", r.Status, r.Body)
	}
	h = with("Request-Signature", "test")
	h["Idempotency-Key"] = "jws-4"
	if r := call(t, "POST", url, create0111, h); r.Status != http.StatusCreated {
		t.Errorf("placeholder Request-Signature: %d %s", r.Status, r.Body)
	}
}
