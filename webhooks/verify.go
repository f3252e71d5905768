package webhooks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cartwright-dev/cartwright/config"
)

// Verifying a platform's signature on a request to the REST binding, as each UCP version
// says (docs/security.md):
//
//   - 2026-04-08 (signatures.md): RFC 9421 over Signature-Input and Signature, the body
//     bound by Content-Digest, the key found by keyid in the signing_keys of the profile
//     UCP-Agent names. ES256 required, ES384 taken.
//   - 2026-01-11: Request-Signature holds a detached JWS (RFC 7515 appendix F, with RFC
//     7797's unencoded payload when its header says "b64": false) over the raw body, the
//     key found by the JWS header's kid in the same signing_keys.
//
// The profile is fetched through the webhooks' fetcher (webhooks.allow_hosts, no
// redirects, bounded in size and time) and cached for webhooks.profile_ttl.

// Bounds on what a request may carry and a profile may publish.
const (
	maxSignatureHeader = 4096 // each of Signature-Input, Signature, Request-Signature
	maxSigningKeys     = 16   // keys read from one profile's signing_keys
	maxComponents      = 16   // components one Signature-Input may name
	// maxSkew: a created in the future by more than this, or an expires in the past by
	// more than this, is refused (UCP makes both optional: replays are the idempotency
	// key's business).
	maxSkew = 5 * time.Minute
)

// SignatureError is a refused request signature, with UCP's error code and HTTP status.
type SignatureError struct {
	code   string
	status int
	msg    string
}

func (e *SignatureError) Error() string { return e.msg }

// Code is UCP's error code: signature_missing, signature_invalid, key_not_found,
// digest_mismatch, algorithm_unsupported, invalid_profile_url, profile_unreachable or
// profile_malformed.
func (e *SignatureError) Code() string { return e.code }

// Status is the HTTP status UCP gives the code.
func (e *SignatureError) Status() int { return e.status }

func sigErr(code string, status int, format string, a ...any) *SignatureError {
	return &SignatureError{code: code, status: status, msg: fmt.Sprintf(format, a...)}
}

// The codes of signatures.md ("Error Handling") and overview.md's negotiation errors.
func errMissing(f string, a ...any) error   { return sigErr("signature_missing", 401, f, a...) }
func errInvalid(f string, a ...any) error   { return sigErr("signature_invalid", 401, f, a...) }
func errNoKey(f string, a ...any) error     { return sigErr("key_not_found", 401, f, a...) }
func errDigest(f string, a ...any) error    { return sigErr("digest_mismatch", 400, f, a...) }
func errAlgorithm(f string, a ...any) error { return sigErr("algorithm_unsupported", 400, f, a...) }

// jwk is one EC public key of a profile's signing_keys.
type jwk struct {
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	Alg string `json:"alg"`
}

// parseSigningKeys reads a profile's top-level signing_keys (nil when it has none).
func parseSigningKeys(body []byte) ([]jwk, error) {
	var doc struct {
		Keys []json.RawMessage `json:"signing_keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if len(doc.Keys) > maxSigningKeys {
		return nil, fmt.Errorf("profile: %d signing_keys, over %d", len(doc.Keys), maxSigningKeys)
	}
	keys := make([]jwk, 0, len(doc.Keys))
	for _, raw := range doc.Keys {
		var k jwk
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, fmt.Errorf("profile: signing_keys: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// publicKey is k as an ECDSA key, for P-256 and P-384.
func (k jwk) publicKey() (*ecdsa.PublicKey, error) {
	if k.Kty != "EC" {
		return nil, errAlgorithm("key %q: kty %q, not EC", k.Kid, k.Kty)
	}
	var curve elliptic.Curve
	switch k.Crv {
	case "P-256":
		curve = elliptic.P256()
	case "P-384":
		curve = elliptic.P384()
	default:
		return nil, errAlgorithm("key %q: curve %q (P-256 or P-384)", k.Kid, k.Crv)
	}
	size := (curve.Params().BitSize + 7) / 8
	x, err1 := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.X, "="))
	y, err2 := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.Y, "="))
	if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
		return nil, sigErr("profile_malformed", 422, "key %q: x and y are not %d bytes of base64url", k.Kid, size)
	}
	uncompressed := append(append([]byte{4}, x...), y...)
	var pub *ecdsa.PublicKey
	switch k.Crv {
	case "P-256":
		pub, err1 = ecdsa.ParseUncompressedPublicKey(elliptic.P256(), uncompressed)
	default:
		pub, err1 = ecdsa.ParseUncompressedPublicKey(elliptic.P384(), uncompressed)
	}
	if err1 != nil {
		return nil, sigErr("profile_malformed", 422, "key %q: not a point on %s", k.Kid, k.Crv)
	}
	return pub, nil
}

// RequestVerifier verifies platforms' signatures on requests, with keys from their
// profiles. Its methods are safe for concurrent use.
type RequestVerifier struct {
	profiles *profiles
	now      func() time.Time
}

// NewRequestVerifier fetches profiles as the order webhooks do: the hosts of
// webhooks.allow_hosts, within webhooks.timeout, cached for webhooks.profile_ttl.
func NewRequestVerifier(cfg *config.Config) *RequestVerifier {
	w := cfg.Webhooks
	pol := newPolicy(w.AllowHosts)
	return &RequestVerifier{
		profiles: &profiles{client: newClient(pol, w.Timeout), policy: pol, ttl: w.ProfileTTL, now: time.Now, cache: map[string]cached{}},
		now:      time.Now,
	}
}

// Verify checks the signature r carries, for the UCP version the call is served in:
// signed is false when r carries none (then err is nil); err is a *SignatureError when
// the signature is refused. body is the raw body as read; profileURL is UCP-Agent's
// profile. ctx bounds the profile fetch.
func (v *RequestVerifier) Verify(ctx context.Context, r *http.Request, body []byte, version, profileURL string) (signed bool, err error) {
	if version == "2026-01-11" {
		h := r.Header.Get("Request-Signature")
		if strings.Count(h, ".") == 2 {
			if len(h) > maxSignatureHeader {
				return true, errInvalid("Request-Signature is over %d bytes", maxSignatureHeader)
			}
			return true, v.verifyJWS(ctx, h, body, profileURL)
		}
		// Not a JWS: 2026-01-11 marks the header required without giving requests a
		// format, and callers (UCP's conformance suite among them) send placeholders. A
		// platform that signs as 2026-04-08 does is verified as there.
	}
	if r.Header.Get("Signature-Input") == "" && r.Header.Get("Signature") == "" {
		return false, nil
	}
	return true, v.verifyHTTP(ctx, r, body, profileURL)
}

// key is the public key kid of the profile at profileURL.
func (v *RequestVerifier) key(ctx context.Context, profileURL, kid string) (*ecdsa.PublicKey, error) {
	if profileURL == "" {
		return nil, sigErr("invalid_profile_url", 400, "a signed request needs UCP-Agent's profile, where its keys are")
	}
	c := v.profiles.get(ctx, profileURL)
	switch {
	case errors.Is(c.err, errProfileURL):
		return nil, sigErr("invalid_profile_url", 400, "%v", c.err)
	case c.err != nil:
		return nil, sigErr("profile_unreachable", 424, "the platform's profile: %v", c.err)
	case c.keysErr != nil:
		return nil, sigErr("profile_malformed", 422, "%v", c.keysErr)
	}
	for _, k := range c.keys {
		if k.Kid == kid {
			return k.publicKey()
		}
	}
	return nil, errNoKey("key %q is not among the signing_keys of %s", kid, profileURL)
}

// verifyHTTP is UCP 2026-04-08's verify_rest_request (RFC 9421).
func (v *RequestVerifier) verifyHTTP(ctx context.Context, r *http.Request, body []byte, profileURL string) error {
	inHeader, sigHeader := r.Header.Get("Signature-Input"), r.Header.Get("Signature")
	if inHeader == "" || sigHeader == "" {
		return errMissing("a signed request carries both Signature-Input and Signature")
	}
	if len(inHeader) > maxSignatureHeader || len(sigHeader) > maxSignatureHeader {
		return errInvalid("Signature-Input or Signature is over %d bytes", maxSignatureHeader)
	}
	label, params, ok := strings.Cut(inHeader, "=")
	label = strings.TrimSpace(label)
	if !ok || !strings.HasPrefix(params, "(") {
		return errInvalid("Signature-Input is not label=(components);parameters")
	}
	end := strings.IndexByte(params, ')')
	if end < 0 {
		return errInvalid("Signature-Input has an unterminated component list")
	}
	comps := strings.Fields(params[1:end])
	if len(comps) > maxComponents {
		return errInvalid("Signature-Input names %d components, over %d", len(comps), maxComponents)
	}
	for i, c := range comps {
		uq, err := strconv.Unquote(c)
		if err != nil || uq == "" || strings.ContainsAny(uq, ";\"") {
			return errInvalid("Signature-Input: component %s is not a quoted name", c)
		}
		comps[i] = strings.ToLower(uq)
	}
	var keyID string
	now := v.now()
	for _, p := range strings.Split(params[end+1:], ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "keyid":
			keyID, _ = strconv.Unquote(val)
		case "alg":
			if a, _ := strconv.Unquote(val); a != "ecdsa-p256-sha256" && a != "ecdsa-p384-sha384" {
				return errAlgorithm("alg %s: UCP signs with ES256 (or ES384)", val)
			}
		case "created", "expires":
			t, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return errInvalid("Signature-Input: %s is not a number", name)
			}
			if name == "created" && time.Unix(t, 0).After(now.Add(maxSkew)) {
				return errInvalid("the signature was created in the future (more than %v ahead)", maxSkew)
			}
			if name == "expires" && time.Unix(t, 0).Before(now.Add(-maxSkew)) {
				return errInvalid("the signature has expired")
			}
		}
	}
	if keyID == "" {
		return errInvalid("Signature-Input names no keyid")
	}
	// What signatures.md requires a request's signature to cover.
	need := []string{"@method", "@authority", "@path"}
	if r.URL.RawQuery != "" {
		need = append(need, "@query")
	}
	if r.Header.Get("UCP-Agent") != "" {
		need = append(need, "ucp-agent")
	}
	if r.Header.Get("Idempotency-Key") != "" && r.Method != http.MethodGet {
		need = append(need, "idempotency-key")
	}
	if len(body) > 0 {
		need = append(need, "content-digest", "content-type")
	}
	if !containsAll(comps, need...) {
		return errInvalid("the signature covers %v; a request's must cover %v", comps, need)
	}
	pub, err := v.key(ctx, profileURL, keyID)
	if err != nil {
		return err
	}
	if slices.Contains(comps, "content-digest") {
		if got := r.Header.Get("Content-Digest"); got != ContentDigest(body) {
			return errDigest("Content-Digest does not match the body (sha-256 of its raw bytes)")
		}
	}
	base, err := signatureBase(r, comps, params)
	if err != nil {
		return errInvalid("%v", err)
	}
	var sv string
	found := false
	for _, m := range strings.Split(sigHeader, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(m), label+"=:"); ok {
			sv, _, _ = strings.Cut(v, ":")
			found = true
			break
		}
	}
	if !found {
		return errInvalid("Signature has no %s", label)
	}
	sig, err := base64.StdEncoding.DecodeString(sv)
	if err != nil {
		return errInvalid("Signature %s is not base64", label)
	}
	if !verifyECDSA(pub, []byte(base), sig) {
		return errInvalid("the signature does not verify with key %q", keyID)
	}
	return nil
}

// verifyJWS is UCP 2026-01-11's Request-Signature: a detached JWS over the body.
func (v *RequestVerifier) verifyJWS(ctx context.Context, token string, body []byte, profileURL string) error {
	h64, payload, s64 := splitJWS(token)
	if payload != "" {
		return errInvalid("Request-Signature carries its payload: it must be detached (header..signature)")
	}
	hj, err1 := base64.RawURLEncoding.DecodeString(h64)
	sig, err2 := base64.RawURLEncoding.DecodeString(s64)
	if err1 != nil || err2 != nil {
		return errInvalid("Request-Signature is not base64url")
	}
	var hdr struct {
		Alg  string   `json:"alg"`
		Kid  string   `json:"kid"`
		B64  *bool    `json:"b64"`
		Crit []string `json:"crit"`
	}
	if err := json.Unmarshal(hj, &hdr); err != nil {
		return errInvalid("Request-Signature's header is not JSON")
	}
	if hdr.Alg != "ES256" && hdr.Alg != "ES384" {
		return errAlgorithm("Request-Signature: alg %q (ES256 or ES384)", hdr.Alg)
	}
	for _, c := range hdr.Crit {
		if c != "b64" {
			return errInvalid("Request-Signature: critical header %q is not understood", c)
		}
	}
	if hdr.Kid == "" {
		return errInvalid("Request-Signature's header names no kid")
	}
	pub, err := v.key(ctx, profileURL, hdr.Kid)
	if err != nil {
		return err
	}
	if (hdr.Alg == "ES256") != (pub.Curve == elliptic.P256()) {
		return errInvalid("Request-Signature: alg %s does not fit key %q", hdr.Alg, hdr.Kid)
	}
	input := []byte(h64 + ".")
	if hdr.B64 != nil && !*hdr.B64 {
		input = append(input, body...) // RFC 7797: the payload as it is
	} else {
		input = append(input, base64.RawURLEncoding.EncodeToString(body)...)
	}
	if !verifyECDSA(pub, input, sig) {
		return errInvalid("Request-Signature does not verify with key %q over the body", hdr.Kid)
	}
	return nil
}

func splitJWS(s string) (string, string, string) {
	a, rest, _ := strings.Cut(s, ".")
	b, c, _ := strings.Cut(rest, ".")
	return a, b, c
}

// verifyECDSA verifies a fixed-width r||s signature of msg: SHA-256 for P-256, SHA-384
// for P-384.
func verifyECDSA(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return false
	}
	var sum []byte
	if size == 32 {
		h := sha256.Sum256(msg)
		sum = h[:]
	} else {
		h := sha512.Sum384(msg)
		sum = h[:]
	}
	r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
	return ecdsa.Verify(pub, sum, r, s)
}
