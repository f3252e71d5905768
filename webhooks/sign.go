package webhooks

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Message signatures as UCP's signatures.md says for REST (RFC 9421 HTTP Message
// Signatures, ES256, the body bound by an RFC 9530 Content-Digest):
//
//	Content-Digest:  sha-256=:<base64 of SHA-256 of the raw body>:
//	Signature-Input: sig1=("@method" "@authority" "@path" "ucp-agent" "content-digest" "content-type");created=<unix>;keyid="<kid>"
//	Signature:       sig1=:<base64 of r||s, 64 bytes>:
//
// The signature base is one line per component, `"<name>": <value>`, then the
// `"@signature-params"` line, joined by "\n" with none at the end. The signature is ECDSA
// P-256 over the SHA-256 of that base, fixed-width r||s (not ASN.1).

// signedComponents are the components a webhook signs, in order.
var signedComponents = []string{"@method", "@authority", "@path", "ucp-agent", "content-digest", "content-type"}

// ContentDigest is the RFC 9530 Content-Digest of body.
func ContentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
}

// Sign sets Content-Digest, Signature-Input and Signature on req, whose body is body.
// req must already carry Content-Type and UCP-Agent.
func Sign(req *http.Request, body []byte, key *ecdsa.PrivateKey, keyID string, created time.Time) error {
	req.Header.Set("Content-Digest", ContentDigest(body))
	return signComponents(req, signedComponents, key, keyID, created)
}

// SignRequest signs a platform's request to a business as UCP's signatures.md says
// (sign_rest_request): @method, @authority, @path, then @query, ucp-agent and
// idempotency-key when the request has them, and content-digest and content-type when
// body is not empty. It is what RequestVerifier.Verify checks.
func SignRequest(req *http.Request, body []byte, key *ecdsa.PrivateKey, keyID string, created time.Time) error {
	comps := []string{"@method", "@authority", "@path"}
	if req.URL.RawQuery != "" {
		comps = append(comps, "@query")
	}
	for _, h := range []string{"ucp-agent", "idempotency-key"} {
		if req.Header.Get(h) != "" {
			comps = append(comps, h)
		}
	}
	if len(body) > 0 {
		req.Header.Set("Content-Digest", ContentDigest(body))
		comps = append(comps, "content-digest", "content-type")
	}
	return signComponents(req, comps, key, keyID, created)
}

// signComponents signs comps of req (RFC 9421, label sig1, ECDSA P-256 over SHA-256,
// r||s) and sets Signature-Input and Signature.
func signComponents(req *http.Request, comps []string, key *ecdsa.PrivateKey, keyID string, created time.Time) error {
	params := signatureParams(comps, created.Unix(), keyID)
	base, err := signatureBase(req, comps, params)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(base))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	req.Header.Set("Signature-Input", "sig1="+params)
	req.Header.Set("Signature", "sig1=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}

// Verify checks what Sign set on req against pub: the digest of body and the signature
// sig1 over the components its Signature-Input names. It is what a platform does on
// receipt (UCP's verification steps 4 and 5); the key is found by the keyid it returns.
func Verify(req *http.Request, body []byte, pub *ecdsa.PublicKey) (keyID string, err error) {
	if got := req.Header.Get("Content-Digest"); got != ContentDigest(body) {
		return "", errors.New("the Content-Digest does not match the body")
	}
	in, ok := strings.CutPrefix(req.Header.Get("Signature-Input"), "sig1=")
	if !ok || !strings.HasPrefix(in, "(") {
		return "", errors.New("no sig1 in Signature-Input")
	}
	end := strings.IndexByte(in, ')')
	if end < 0 {
		return "", errors.New("the Signature-Input has an unterminated component list")
	}
	var comps []string
	for _, c := range strings.Fields(in[1:end]) {
		comps = append(comps, strings.Trim(c, `"`))
	}
	for _, p := range strings.Split(in[end+1:], ";") {
		if v, ok := strings.CutPrefix(p, "keyid="); ok {
			keyID = strings.Trim(v, `"`)
		}
	}
	if !containsAll(comps, "@method", "@authority", "@path", "content-digest") {
		return keyID, fmt.Errorf("the Signature-Input does not cover the request and its body: %v", comps)
	}
	base, err := signatureBase(req, comps, in)
	if err != nil {
		return keyID, err
	}
	sv, ok := strings.CutPrefix(req.Header.Get("Signature"), "sig1=:")
	if !ok {
		return keyID, errors.New("no sig1 in Signature")
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(sv, ":"))
	if err != nil || len(sig) != 64 {
		return keyID, errors.New("the Signature is not 64 bytes of base64 (r||s)")
	}
	sum := sha256.Sum256([]byte(base))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, sum[:], r, s) {
		return keyID, errors.New("the signature does not verify")
	}
	return keyID, nil
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

func signatureParams(comps []string, created int64, keyID string) string {
	q := make([]string, len(comps))
	for i, c := range comps {
		q[i] = strconv.Quote(c)
	}
	return "(" + strings.Join(q, " ") + ");created=" + strconv.FormatInt(created, 10) + ";keyid=" + strconv.Quote(keyID)
}

// signatureBase is RFC 9421's signature base of req over comps, params being the
// serialized signature parameters (the value of sig1 in Signature-Input).
func signatureBase(req *http.Request, comps []string, params string) (string, error) {
	var b strings.Builder
	for _, c := range comps {
		var v string
		switch c {
		case "@method":
			v = req.Method
		case "@authority":
			v = authority(req)
		case "@path":
			v = req.URL.EscapedPath()
			if v == "" {
				v = "/"
			}
		case "@query":
			v = "?" + req.URL.RawQuery
		default:
			if strings.HasPrefix(c, "@") {
				return "", fmt.Errorf("component %s is not supported", c)
			}
			vals := req.Header.Values(c)
			if len(vals) == 0 {
				return "", fmt.Errorf("component %s: no such header", c)
			}
			v = strings.TrimSpace(strings.Join(vals, ", "))
		}
		fmt.Fprintf(&b, "%q: %s\n", c, v)
	}
	fmt.Fprintf(&b, "%q: %s", "@signature-params", params)
	return b.String(), nil
}

// authority is the request's host as RFC 9421 wants it: lower case, without the
// scheme's default port.
func authority(req *http.Request) string {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	host = strings.ToLower(host)
	scheme := req.URL.Scheme
	if scheme == "" {
		scheme = "http"
		if req.TLS != nil {
			scheme = "https"
		}
	}
	if scheme == "http" {
		host = strings.TrimSuffix(host, ":80")
	} else if scheme == "https" {
		host = strings.TrimSuffix(host, ":443")
	}
	return host
}
