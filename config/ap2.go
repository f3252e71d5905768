package config

import (
	"crypto/ecdsa"
	"errors"
	"fmt"

	"github.com/cartwright-dev/cartwright/providers"
)

// AP2 is how a tenant checks AP2 checkout mandates (docs/security.md, "AP2 mandates").
// With issuers configured, a mandate presented on complete_checkout is verified; with
// Required, a completion without one is refused (mandate_required).
type AP2 struct {
	Required bool `yaml:"required"`
	// Merchant is the audience (aud) a mandate must name; default: the tenant's name.
	Merchant string `yaml:"merchant"`
	// Issuers are the keys whose ES256 signatures make a mandate valid.
	Issuers []AP2Issuer `yaml:"issuers"`
}

// AP2Issuer is one trusted issuer key: a P-256 public key as a JWK or in PEM, under the
// key id (kid) the issuer puts in its JWT headers.
type AP2Issuer struct {
	Kid string         `yaml:"kid"`
	JWK map[string]any `yaml:"jwk"`
	PEM string         `yaml:"pem"`
}

func (a AP2) validate() []error {
	var errs []error
	if a.Required && len(a.Issuers) == 0 {
		errs = append(errs, errors.New("required: mandates can only be required with at least one issuer key (ap2.issuers)"))
	}
	if _, err := a.Keys(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Keys parses the issuer keys by kid, reporting every key that is not usable.
func (a AP2) Keys() (map[string]*ecdsa.PublicKey, error) {
	keys := make(map[string]*ecdsa.PublicKey, len(a.Issuers))
	var errs []error
	for i, is := range a.Issuers {
		var k *ecdsa.PublicKey
		var err error
		switch {
		case is.JWK != nil && is.PEM != "":
			err = errors.New("set jwk or pem, not both")
		case is.JWK != nil:
			k, err = providers.ParseJWK(is.JWK)
		case is.PEM != "":
			k, err = providers.ParseECPublicKeyPEM(is.PEM)
		default:
			err = errors.New("a key is required (jwk or pem)")
		}
		if _, dup := keys[is.Kid]; dup && err == nil {
			err = fmt.Errorf("kid %q is used twice", is.Kid)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("issuers[%d]: %w", i, err))
			continue
		}
		keys[is.Kid] = k
	}
	return keys, errors.Join(errs...)
}
