package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// MandateIssuer signs AP2 checkout mandates (SD-JWT, ES256) with a key it generates, as
// an agent platform would, for tests of mandate verification.
type MandateIssuer struct {
	Kid string
	Key *ecdsa.PrivateKey
}

// NewMandateIssuer generates a P-256 issuer key named kid.
func NewMandateIssuer(kid string) *MandateIssuer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &MandateIssuer{Kid: kid, Key: k}
}

// JWK is the issuer's public key as a JWK.
func (m *MandateIssuer) JWK() map[string]any { return PublicJWK(&m.Key.PublicKey) }

// PublicJWK is k as a JWK.
func PublicJWK(k *ecdsa.PublicKey) map[string]any {
	b, err := k.Bytes() // 0x04 | x | y
	if err != nil {
		panic(err)
	}
	return map[string]any{
		"kty": "EC", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(b[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(b[33:]),
	}
}

// MandateOptions shape a mandate beyond its claims.
type MandateOptions struct {
	// Disclose lists top-level claims to make selectively disclosable.
	Disclose []string
	// Holder, when set, is bound by cnf.jwk and signs a key-binding JWT addressed to
	// HolderAud.
	Holder    *ecdsa.PrivateKey
	HolderAud string
	HolderIat int64
}

// Sign returns the SD-JWT for claims: the issuer-signed JWT, the disclosures, and the
// key-binding JWT when opts.Holder is set.
func (m *MandateIssuer) Sign(claims map[string]any, opts MandateOptions) string {
	payload := map[string]any{}
	for k, v := range claims {
		payload[k] = v
	}
	var disclosures []string
	var digests []any
	for _, name := range opts.Disclose {
		salt := make([]byte, 16)
		_, _ = rand.Read(salt)
		d := b64JSON([]any{base64.RawURLEncoding.EncodeToString(salt), name, payload[name]})
		delete(payload, name)
		disclosures = append(disclosures, d)
		sum := sha256.Sum256([]byte(d))
		digests = append(digests, base64.RawURLEncoding.EncodeToString(sum[:]))
	}
	if len(digests) > 0 {
		payload["_sd"] = digests
		payload["_sd_alg"] = "sha-256"
	}
	if opts.Holder != nil {
		payload["cnf"] = map[string]any{"jwk": PublicJWK(&opts.Holder.PublicKey)}
	}
	jwt := SignES256(m.Key, map[string]any{"alg": "ES256", "typ": "dc+sd-jwt", "kid": m.Kid}, payload)
	sd := jwt + "~" + strings.Join(disclosures, "~")
	if len(disclosures) > 0 {
		sd += "~"
	}
	if opts.Holder == nil {
		return sd
	}
	sum := sha256.Sum256([]byte(sd))
	kb := SignES256(opts.Holder, map[string]any{"alg": "ES256", "typ": "kb+jwt"}, map[string]any{
		"aud": opts.HolderAud, "iat": opts.HolderIat, "nonce": "n-1",
		"sd_hash": base64.RawURLEncoding.EncodeToString(sum[:]),
	})
	return sd + kb
}

// SignES256 returns the compact JWS of payload under header, signed with k.
func SignES256(k *ecdsa.PrivateKey, header, payload map[string]any) string {
	input := b64JSON(header) + "." + b64JSON(payload)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k, sum[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func b64JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
