package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

// An ap2 section in YAML: a PEM issuer key makes the tenant's mandates checked and
// required; a required section without keys, or a key that is not P-256, is refused.
func TestAP2Settings(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pemKey := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", "\n            ")
	c := load(t, `
tenants:
  shop:
    builtin: {items: [{id: a, title: A, price: 100}]}
    ap2:
      required: true
      issuers:
        - kid: p1
          pem: |
            `+pemKey+`
`)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Tenants["shop"].AP2.Keys()
	if err != nil || !keys["p1"].Equal(&k.PublicKey) {
		t.Fatalf("keys: %v, %v", keys, err)
	}
	if !c.Tenants["shop"].Policy(0, 0).MandateRequired {
		t.Fatal("ap2.required did not reach the policy")
	}

	bad := load(t, `
tenants:
  shop:
    builtin: {items: [{id: a, title: A, price: 100}]}
    ap2:
      required: true
  other:
    builtin: {items: [{id: a, title: A, price: 100}]}
    ap2:
      issuers: [{kid: x, jwk: {kty: RSA, n: "AQAB", e: "AQAB"}}]
`)
	err = bad.Validate()
	for _, want := range []string{"shop.ap2.required", "other.ap2.issuers[0]: want an EC P-256 key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to say %q", err, want)
		}
	}
}
