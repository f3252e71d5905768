package app_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/providers"
)

// An ap2 section with a PEM issuer key: the tenant's providers check its mandates, for
// the tenant's name as merchant when ap2.merchant is not set.
func TestAP2Verifier(t *testing.T) {
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
  plain:
    builtin: {items: [{id: a, title: A, price: 100}]}
`)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	env := wire(t, c, "shop")
	mv, ok := env.Mandates.(*providers.MandateVerifier)
	if !ok || mv.Merchant != "shop" || !mv.Issuers["p1"].Equal(&k.PublicKey) {
		t.Fatalf("mandates: %#v", env.Mandates)
	}
	if env := wire(t, c, "plain"); env.Mandates != nil {
		t.Fatalf("a tenant without issuers checks mandates: %#v", env.Mandates)
	}
}
