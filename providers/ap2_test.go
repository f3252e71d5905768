package providers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
	"github.com/cartwright-dev/cartwright/testenv"
)

func mandateClaims(now time.Time, checkout string, total int64) map[string]any {
	return map[string]any{
		"iss": "https://platform.example", "aud": "acme", "iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(), "jti": "m-1",
		"checkout": map[string]any{
			"id": checkout, "currency": "USD",
			"totals": []any{
				map[string]any{"type": "subtotal", "amount": total},
				map[string]any{"type": "total", "amount": total},
			},
		},
	}
}

// TestMandateVerifier checks every rule of an AP2 checkout mandate with keys made here:
// each case breaks one thing and must get its code.
func TestMandateVerifier(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	issuer := testenv.NewMandateIssuer("k1")
	stranger := testenv.NewMandateIssuer("k1") // same kid, another key
	holder, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key, err := providers.ParseJWK(issuer.JWK())
	if err != nil {
		t.Fatal(err)
	}
	v := &providers.MandateVerifier{Merchant: "acme", Issuers: map[string]*ecdsa.PublicKey{"k1": key}}
	check := commerce.MandateCheck{CheckoutID: "chk_1", Currency: "USD", Total: 5371, Now: now}
	with := func(edit func(map[string]any)) map[string]any {
		c := mandateClaims(now, "chk_1", 5371)
		if edit != nil {
			edit(c)
		}
		return c
	}
	kb := testenv.MandateOptions{Holder: holder, HolderAud: "acme", HolderIat: now.Unix()}
	good := issuer.Sign(with(nil), testenv.MandateOptions{})
	withKB := issuer.Sign(with(nil), kb)

	for _, tc := range []struct {
		name, mandate, code string
	}{
		{"valid", good, ""},
		{"valid, checkout disclosed selectively", issuer.Sign(with(nil), testenv.MandateOptions{Disclose: []string{"checkout", "jti"}}), ""},
		{"valid, with key binding", withKB, ""},
		{"tampered total", tamper(t, good, `"amount":5371,"type":"total"`, `"amount":1,"type":"total"`), commerce.CodeMandateInvalidSig},
		{"another total", issuer.Sign(with(func(c map[string]any) {
			c["checkout"].(map[string]any)["totals"] = []any{map[string]any{"type": "total", "amount": 1}}
		}), testenv.MandateOptions{}), commerce.CodeMandateScopeMismatch},
		{"another checkout", issuer.Sign(with(func(c map[string]any) { c["checkout"].(map[string]any)["id"] = "chk_2" }), testenv.MandateOptions{}), commerce.CodeMandateScopeMismatch},
		{"another currency", issuer.Sign(with(func(c map[string]any) { c["checkout"].(map[string]any)["currency"] = "EUR" }), testenv.MandateOptions{}), commerce.CodeMandateScopeMismatch},
		{"no checkout", issuer.Sign(with(func(c map[string]any) { delete(c, "checkout") }), testenv.MandateOptions{}), commerce.CodeMandateScopeMismatch},
		{"another merchant", issuer.Sign(with(func(c map[string]any) { c["aud"] = "evil" }), testenv.MandateOptions{}), commerce.CodeMandateScopeMismatch},
		{"merchant among audiences", issuer.Sign(with(func(c map[string]any) { c["aud"] = []any{"x", "acme"} }), testenv.MandateOptions{}), ""},
		{"expired", issuer.Sign(with(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), testenv.MandateOptions{}), commerce.CodeMandateExpired},
		{"not yet valid", issuer.Sign(with(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), testenv.MandateOptions{}), commerce.CodeMandateExpired},
		{"no expiry", issuer.Sign(with(func(c map[string]any) { delete(c, "exp") }), testenv.MandateOptions{}), commerce.CodeMandateInvalidSig},
		{"signed by a stranger", stranger.Sign(with(nil), testenv.MandateOptions{}), commerce.CodeMandateInvalidSig},
		{"unknown kid", testenv.NewMandateIssuer("k9").Sign(with(nil), testenv.MandateOptions{}), commerce.CodeMandateInvalidSig},
		{"not an SD-JWT", "hello", commerce.CodeMandateInvalidSig},
		{"a bare JWT", strings.TrimSuffix(good, "~"), commerce.CodeMandateInvalidSig},
		{"an undisclosed disclosure", good + "WyJzYWx0IiwiYXVkIiwiYWNtZSJd~", commerce.CodeMandateInvalidSig},
		{"key binding for another merchant", issuer.Sign(with(nil), testenv.MandateOptions{Holder: holder, HolderAud: "evil", HolderIat: now.Unix()}), commerce.CodeMandateScopeMismatch},
		{"key binding missing", withKB[:strings.LastIndex(withKB, "~")+1], commerce.CodeMandateInvalidSig},
		{"key binding by another holder", swapKB(issuer.Sign(with(nil), kb), issuer.Sign(with(nil), testenv.MandateOptions{Holder: mustKey(), HolderAud: "acme", HolderIat: now.Unix()})), commerce.CodeMandateInvalidSig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := check
			c.Mandate = tc.mandate
			id, err := v.Verify(context.Background(), c)
			if tc.code == "" {
				if err != nil || id == "" {
					t.Fatalf("Verify: %q, %v; want it valid", id, err)
				}
				return
			}
			if got := commerce.AsError(err); err == nil || got.Code != tc.code || got.Kind != commerce.KindInvalid {
				t.Fatalf("Verify: %v; want %s", err, tc.code)
			}
		})
	}

	// The id names the mandate, the same for every presentation of it.
	a, _ := v.Verify(context.Background(), commerce.MandateCheck{Mandate: good, CheckoutID: "chk_1", Currency: "USD", Total: 5371, Now: now})
	b, _ := v.Verify(context.Background(), commerce.MandateCheck{Mandate: good, CheckoutID: "chk_1", Currency: "USD", Total: 5371, Now: now.Add(time.Minute)})
	if a == "" || a != b {
		t.Fatalf("ids %q and %q", a, b)
	}
}

func TestParseKeys(t *testing.T) {
	k := mustKey()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := providers.ParseECPublicKeyPEM(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	if err != nil || !pk.Equal(&k.PublicKey) {
		t.Fatalf("PEM: %v", err)
	}
	jk, err := providers.ParseJWK(testenv.PublicJWK(&k.PublicKey))
	if err != nil || !jk.Equal(&k.PublicKey) {
		t.Fatalf("JWK: %v", err)
	}
	bad := testenv.PublicJWK(&k.PublicKey)
	bad["y"] = bad["x"] // not on the curve
	if _, err := providers.ParseJWK(bad); err == nil {
		t.Fatal("a point off the curve was accepted")
	}
}

func mustKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// tamper rewrites the issuer-signed payload of an SD-JWT, keeping its signature.
func tamper(t *testing.T, sdjwt, old, new string) string {
	t.Helper()
	jwt, rest, _ := strings.Cut(sdjwt, "~")
	seg := strings.Split(jwt, ".")
	p := decodeB64(t, seg[1])
	if !strings.Contains(p, old) {
		t.Fatalf("payload %s has no %s", p, old)
	}
	seg[1] = encodeB64(strings.Replace(p, old, new, 1))
	return strings.Join(seg, ".") + "~" + rest
}

func lastPart(s string) string { return s[strings.LastIndex(s, "~")+1:] }

// swapKB puts the key-binding JWT of b on a.
func swapKB(a, b string) string { return strings.TrimSuffix(a, lastPart(a)) + lastPart(b) }

func decodeB64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func encodeB64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
