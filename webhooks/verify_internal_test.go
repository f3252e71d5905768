package webhooks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestVerifyRequestBounds: the limits a signed request and a profile are held to, each
// refused with UCP's code: a created too far ahead, an expired signature, a Signature-
// Input that leaves out a component UCP requires, an oversized header, a profile with
// too many keys, and a profile that cannot be fetched.
func TestVerifyRequestBounds(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := key.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	one := fmt.Sprintf(`{"kid":"k1","kty":"EC","crv":"P-256","x":%q,"y":%q}`, b64(pub[1:33]), b64(pub[33:]))
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"signing_keys":[`+one+`]}`) })
	mux.HandleFunc("/many", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"signing_keys":[`+strings.Repeat(one+",", maxSigningKeys)+one+`]}`)
	})
	mux.HandleFunc("/gone", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusInternalServerError) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	pol := newPolicy(nil)
	v := &RequestVerifier{
		profiles: &profiles{client: newClient(pol, 2*time.Second), policy: pol, ttl: time.Minute, now: time.Now, cache: map[string]cached{}},
		now:      time.Now,
	}
	body := []byte(`{"line_items":[]}`)
	request := func(created time.Time) *http.Request {
		r := httptest.NewRequest("POST", "http://shop.example/ucp/demo/checkout-sessions", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("UCP-Agent", `profile="`+srv.URL+`/ok"`)
		r.Header.Set("Idempotency-Key", "k")
		if err := SignRequest(r, body, key, "k1", created); err != nil {
			t.Fatal(err)
		}
		return r
	}
	check := func(name string, r *http.Request, profile, wantCode string) {
		t.Helper()
		signed, err := v.Verify(context.Background(), r, body, "2026-04-08", profile)
		var se *SignatureError
		switch {
		case wantCode == "" && (err != nil || !signed):
			t.Errorf("%s: %v, %v; want verified", name, signed, err)
		case wantCode != "" && (!errors.As(err, &se) || se.Code() != wantCode):
			t.Errorf("%s: %v; want %s", name, err, wantCode)
		}
	}
	check("signed now", request(time.Now()), srv.URL+"/ok", "")
	r := request(time.Now())
	r.Header.Set("Signature", `sig0=:AAAA:, `+r.Header.Get("Signature"))
	check("the label among others in Signature", r, srv.URL+"/ok", "")
	if signed, err := v.Verify(context.Background(), request(time.Now()), body, "2026-01-11", srv.URL+"/ok"); !signed || err != nil {
		t.Errorf("RFC 9421 under 2026-01-11: %v, %v; want verified", signed, err)
	}
	r = request(time.Now())
	r.Header.Set("Content-Type", "text/plain")
	check("content-type changed after signing", r, srv.URL+"/ok", "signature_invalid")
	check("created an hour ago (UCP leaves replays to the idempotency key)", request(time.Now().Add(-time.Hour)), srv.URL+"/ok", "")
	check("created an hour ahead", request(time.Now().Add(time.Hour)), srv.URL+"/ok", "signature_invalid")

	r = request(time.Now())
	r.Header.Set("Signature-Input", r.Header.Get("Signature-Input")+`;expires=`+fmt.Sprint(time.Now().Add(-time.Hour).Unix()))
	check("expired", r, srv.URL+"/ok", "signature_invalid")

	r = request(time.Now())
	r.Header.Set("Signature-Input", strings.Replace(r.Header.Get("Signature-Input"), ` "idempotency-key"`, "", 1))
	check("idempotency-key not covered", r, srv.URL+"/ok", "signature_invalid")

	r = request(time.Now())
	r.Header.Set("Signature", "sig1=:"+strings.Repeat("A", maxSignatureHeader)+":")
	check("oversized Signature", r, srv.URL+"/ok", "signature_invalid")

	check("too many signing_keys", request(time.Now()), srv.URL+"/many", "profile_malformed")
	check("profile unreachable", request(time.Now()), srv.URL+"/gone", "profile_unreachable")
	check("profile URL the policy refuses", request(time.Now()), "http://203.0.113.7/p", "invalid_profile_url")

	r = request(time.Now())
	r.Header.Del("Signature")
	check("Signature-Input without Signature", r, srv.URL+"/ok", "signature_missing")

	unsigned := httptest.NewRequest("POST", "http://shop.example/x", strings.NewReader("{}"))
	if signed, err := v.Verify(context.Background(), unsigned, []byte("{}"), "2026-04-08", srv.URL+"/ok"); signed || err != nil {
		t.Errorf("unsigned: %v, %v; want not signed, no error", signed, err)
	}
}

// BenchmarkVerifyRequest is the cost a signed request adds once its platform's profile
// is cached: parsing, the digest, the signature base and one P-256 verification.
func BenchmarkVerifyRequest(b *testing.B) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := key.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	doc := fmt.Sprintf(`{"signing_keys":[{"kid":"k1","kty":"EC","crv":"P-256","x":%q,"y":%q}]}`, b64(pub[1:33]), b64(pub[33:]))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, doc) }))
	defer srv.Close()
	pol := newPolicy(nil)
	v := &RequestVerifier{
		profiles: &profiles{client: newClient(pol, 2*time.Second), policy: pol, ttl: time.Hour, now: time.Now, cache: map[string]cached{}},
		now:      time.Now,
	}
	body := []byte(`{"line_items":[{"item":{"id":"sku_tee"},"quantity":1}]}`)
	r := httptest.NewRequest("POST", "http://shop.example/ucp/demo/checkout-sessions", nil)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("UCP-Agent", `profile="`+srv.URL+`"`)
	r.Header.Set("Idempotency-Key", "k")
	if err := SignRequest(r, body, key, "k1", time.Now()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), r, body, "2026-04-08", srv.URL); err != nil {
			b.Fatal(err)
		}
	}
}
