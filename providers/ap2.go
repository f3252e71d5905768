package providers

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// An AP2 checkout mandate, as a tenant that checks them takes it (docs/security.md, "AP2
// mandates"), is an SD-JWT:
//
//	<issuer-signed JWT> ~ <disclosure> ~ … ~ <key-binding JWT, or nothing>
//
// The issuer-signed JWT is ES256 over a payload with:
//
//	exp        required; iat and nbf optional (NumericDate)
//	aud        the merchant (a string, or an array holding it)
//	checkout   the checkout the buyer authorized, as UCP's checkout resource: its id,
//	           currency and totals (the "total" entry) must be this checkout's
//	jti        optional: names the mandate for single use (else its signature does)
//	cnf.jwk    optional: the holder's key; then a key-binding JWT must follow
//	_sd        digests of selectively disclosed claims (SHA-256, base64url)
//
// Any top-level claim (checkout included) may be selectively disclosed: a disclosure is
// base64url(JSON [salt, name, value]) whose digest is listed in _sd. A key-binding JWT
// (typ kb+jwt, ES256 by the cnf key) carries aud (the merchant), iat and sd_hash, the
// digest of everything before it.

// MandateClockSkew is how far apart the issuer's clock and the envelope's time may be.
const MandateClockSkew = 2 * time.Minute

// MandateVerifier checks AP2 checkout mandates for one merchant against the issuers'
// public keys. It implements commerce.Mandates.
type MandateVerifier struct {
	Merchant string
	// Issuers holds the issuers' ES256 public keys by key id (the JWT header's kid). A
	// mandate without a kid is tried against every key.
	Issuers map[string]*ecdsa.PublicKey
}

var _ commerce.Mandates = (*MandateVerifier)(nil)

func mandateErr(code, format string, args ...any) *commerce.Error {
	return commerce.E(commerce.KindInvalid, code, format, args...)
}

// Verify implements commerce.Mandates.
func (v *MandateVerifier) Verify(_ context.Context, c commerce.MandateCheck) (string, error) {
	parts := strings.Split(c.Mandate, "~")
	if len(parts) < 2 {
		return "", mandateErr(commerce.CodeMandateInvalidSig, "the checkout mandate is not an SD-JWT (issuer JWT~disclosures~key binding)")
	}
	jwt, disclosures, kb := parts[0], parts[1:len(parts)-1], parts[len(parts)-1]
	hdr, claims, err := v.verifyIssuerJWT(jwt)
	if err != nil {
		return "", err
	}
	if err := disclose(claims, disclosures); err != nil {
		return "", err
	}
	if err := checkTimes(claims, c.Now); err != nil {
		return "", err
	}
	if !audienceHas(claims["aud"], v.Merchant) {
		return "", mandateErr(commerce.CodeMandateScopeMismatch, "the mandate is not addressed to this merchant (aud)")
	}
	if err := v.keyBinding(claims, c, kb, strings.TrimSuffix(c.Mandate, kb)); err != nil {
		return "", err
	}
	if err := checkoutMatches(claims["checkout"], c); err != nil {
		return "", err
	}
	if jti, ok := claims["jti"].(string); ok && jti != "" {
		return "jti:" + hdr.Kid + ":" + jti, nil
	}
	sum := sha256.Sum256([]byte(jwt))
	return "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

type jwtHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

// verifyIssuerJWT checks the issuer's signature and returns the header and the claims.
func (v *MandateVerifier) verifyIssuerJWT(jwt string) (jwtHeader, map[string]any, error) {
	hdr, claims, input, sig, err := splitJWT(jwt)
	if err != nil {
		return hdr, nil, err
	}
	keys := make([]*ecdsa.PublicKey, 0, len(v.Issuers))
	if k, ok := v.Issuers[hdr.Kid]; ok {
		keys = append(keys, k)
	} else if hdr.Kid == "" {
		for _, k := range v.Issuers {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if verifyES256(k, input, sig) {
			return hdr, claims, nil
		}
	}
	if len(keys) == 0 {
		return hdr, nil, mandateErr(commerce.CodeMandateInvalidSig, "the mandate is signed with key %q, which is not one of this merchant's trusted issuers", hdr.Kid)
	}
	return hdr, nil, mandateErr(commerce.CodeMandateInvalidSig, "the mandate's signature does not verify")
}

// splitJWT decodes a compact ES256 JWS: header, claims, the signing input and signature.
func splitJWT(jwt string) (hdr jwtHeader, claims map[string]any, input, sig []byte, err error) {
	bad := mandateErr(commerce.CodeMandateInvalidSig, "the mandate is not a well-formed ES256 JWT")
	seg := strings.Split(jwt, ".")
	if len(seg) != 3 {
		return hdr, nil, nil, nil, bad
	}
	h, err1 := base64.RawURLEncoding.DecodeString(seg[0])
	p, err2 := base64.RawURLEncoding.DecodeString(seg[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(seg[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(h, &hdr) != nil {
		return hdr, nil, nil, nil, bad
	}
	if hdr.Alg != "ES256" {
		return hdr, nil, nil, nil, mandateErr(commerce.CodeMandateInvalidSig, "the mandate is signed with %q; ES256 is required", hdr.Alg)
	}
	d := json.NewDecoder(bytes.NewReader(p))
	d.UseNumber()
	if d.Decode(&claims) != nil || claims == nil {
		return hdr, nil, nil, nil, bad
	}
	return hdr, claims, []byte(seg[0] + "." + seg[1]), sig, nil
}

// verifyES256 checks a JWS ES256 signature: r and s, 32 bytes each.
func verifyES256(k *ecdsa.PublicKey, input, sig []byte) bool {
	if len(sig) != 64 || k == nil {
		return false
	}
	sum := sha256.Sum256(input)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(k, sum[:], r, s)
}

// disclose adds the disclosed claims to claims, each only if its digest is in _sd.
func disclose(claims map[string]any, disclosures []string) error {
	listed := map[string]bool{}
	if sd, ok := claims["_sd"].([]any); ok {
		for _, d := range sd {
			if s, ok := d.(string); ok {
				listed[s] = true
			}
		}
	}
	for _, d := range disclosures {
		sum := sha256.Sum256([]byte(d))
		if !listed[base64.RawURLEncoding.EncodeToString(sum[:])] {
			return mandateErr(commerce.CodeMandateInvalidSig, "a disclosure of the mandate is not covered by its signature")
		}
		raw, err := base64.RawURLEncoding.DecodeString(d)
		var arr []any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err != nil || dec.Decode(&arr) != nil || len(arr) != 3 {
			return mandateErr(commerce.CodeMandateInvalidSig, "a disclosure of the mandate is malformed")
		}
		name, ok := arr[1].(string)
		if !ok || name == "_sd" || name == "..." {
			return mandateErr(commerce.CodeMandateInvalidSig, "a disclosure of the mandate is malformed")
		}
		if _, dup := claims[name]; dup {
			return mandateErr(commerce.CodeMandateInvalidSig, "the mandate discloses %q twice", name)
		}
		claims[name] = arr[2]
	}
	return nil
}

func numericDate(v any) (time.Time, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

func checkTimes(claims map[string]any, now time.Time) error {
	exp, ok := numericDate(claims["exp"])
	if !ok {
		return mandateErr(commerce.CodeMandateInvalidSig, "the mandate has no expiry (exp)")
	}
	if !now.Before(exp.Add(MandateClockSkew)) {
		return mandateErr(commerce.CodeMandateExpired, "the mandate expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if nbf, ok := numericDate(claims["nbf"]); ok && now.Add(MandateClockSkew).Before(nbf) {
		return mandateErr(commerce.CodeMandateExpired, "the mandate is not valid before %s", nbf.UTC().Format(time.RFC3339))
	}
	return nil
}

func audienceHas(aud any, merchant string) bool {
	switch a := aud.(type) {
	case string:
		return a == merchant
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok && s == merchant {
				return true
			}
		}
	}
	return false
}

// keyBinding checks the key-binding JWT when the mandate binds a holder key (cnf.jwk), and
// that there is none when it does not. signed is the SD-JWT up to and including the last ~.
func (v *MandateVerifier) keyBinding(claims map[string]any, c commerce.MandateCheck, kb, signed string) error {
	cnf, _ := claims["cnf"].(map[string]any)
	jwk, _ := cnf["jwk"].(map[string]any)
	if jwk == nil {
		if kb != "" {
			return mandateErr(commerce.CodeMandateInvalidSig, "the mandate carries a key binding but binds no holder key (cnf.jwk)")
		}
		return nil
	}
	if kb == "" {
		return mandateErr(commerce.CodeMandateInvalidSig, "the mandate binds a holder key but has no key-binding JWT")
	}
	key, err := ParseJWK(jwk)
	if err != nil {
		return mandateErr(commerce.CodeMandateInvalidSig, "the mandate's holder key: %v", err)
	}
	hdr, kbc, input, sig, err := splitJWT(kb)
	if err != nil {
		return err
	}
	if hdr.Typ != "kb+jwt" || !verifyES256(key, input, sig) {
		return mandateErr(commerce.CodeMandateInvalidSig, "the mandate's key binding does not verify")
	}
	sum := sha256.Sum256([]byte(signed))
	if h, _ := kbc["sd_hash"].(string); h != base64.RawURLEncoding.EncodeToString(sum[:]) {
		return mandateErr(commerce.CodeMandateInvalidSig, "the mandate's key binding is for another presentation (sd_hash)")
	}
	if !audienceHas(kbc["aud"], v.Merchant) {
		return mandateErr(commerce.CodeMandateScopeMismatch, "the mandate's key binding is not addressed to this merchant (aud)")
	}
	iat, ok := numericDate(kbc["iat"])
	if !ok || iat.After(c.Now.Add(MandateClockSkew)) {
		return mandateErr(commerce.CodeMandateInvalidSig, "the mandate's key binding has no valid issue time (iat)")
	}
	return nil
}

// checkoutMatches checks that the mandate's checkout is the one being completed, for the
// amount being charged.
func checkoutMatches(v any, c commerce.MandateCheck) error {
	co, ok := v.(map[string]any)
	if !ok {
		return mandateErr(commerce.CodeMandateScopeMismatch, "the mandate names no checkout")
	}
	if id, _ := co["id"].(string); id != c.CheckoutID {
		return mandateErr(commerce.CodeMandateScopeMismatch, "the mandate is for checkout %q, not %s", id, c.CheckoutID)
	}
	if cur, _ := co["currency"].(string); !strings.EqualFold(cur, c.Currency) {
		return mandateErr(commerce.CodeMandateScopeMismatch, "the mandate is in %q, the checkout in %s", cur, c.Currency)
	}
	totals, _ := co["totals"].([]any)
	for _, t := range totals {
		t, _ := t.(map[string]any)
		if typ, _ := t["type"].(string); typ != string(commerce.TotalTotal) {
			continue
		}
		n, _ := t["amount"].(json.Number)
		amount, err := n.Int64()
		if err != nil || amount != c.Total {
			return mandateErr(commerce.CodeMandateScopeMismatch, "the mandate authorizes a total of %s, the checkout's is %d", n, c.Total)
		}
		return nil
	}
	return mandateErr(commerce.CodeMandateScopeMismatch, "the mandate's checkout has no total")
}

// ParseJWK reads an EC P-256 public key in JWK form ({"kty":"EC","crv":"P-256","x","y"}).
func ParseJWK(jwk map[string]any) (*ecdsa.PublicKey, error) {
	kty, _ := jwk["kty"].(string)
	crv, _ := jwk["crv"].(string)
	if kty != "EC" || crv != "P-256" {
		return nil, fmt.Errorf("want an EC P-256 key, not kty %q crv %q", kty, crv)
	}
	xs, _ := jwk["x"].(string)
	ys, _ := jwk["y"].(string)
	x, err1 := base64.RawURLEncoding.DecodeString(xs)
	y, err2 := base64.RawURLEncoding.DecodeString(ys)
	if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y must be 32 bytes each, base64url")
	}
	// Uncompressed point form, so that the curve check of ParseUncompressedPublicKey
	// refuses a point that is not on P-256.
	pt := append(append([]byte{4}, x...), y...)
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
}

// ParseECPublicKeyPEM reads a P-256 public key in PEM ("PUBLIC KEY", PKIX).
func ParseECPublicKeyPEM(s string) (*ecdsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errors.New("not a PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, errors.New("not an EC P-256 public key")
	}
	return ek, nil
}
