package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// What the REST binding does with a platform's request signature (docs/security.md).

// VerifySignatureFunc checks the signature r carries for UCP version: signed is false
// when there is none; err, when the signature is refused, says why, with UCP's code and
// status when it has Code() string and Status() int methods
// (webhooks.RequestVerifier.Verify). body is the raw body; profileURL is UCP-Agent's
// profile, where the platform's signing_keys are.
type VerifySignatureFunc func(ctx context.Context, r *http.Request, body []byte, version, profileURL string) (signed bool, err error)

// maxProfileFetch bounds the profile fetch of one signature check; half the bridge's
// timeout when that is shorter, so that the call itself keeps time to be served.
const maxProfileFetch = 5 * time.Second

// checkSignature verifies r's signature, if any, and refuses an unsigned request when
// tenant's require_request_signature is on. It writes the refusal and returns false.
func (x restCall) checkSignature(w http.ResponseWriter, r *http.Request, v *ucpBinding, tenant string, body []byte) bool {
	b := x.b
	required := b.cfg.Tenants[tenant].RequireRequestSignature
	if b.verify == nil {
		if required {
			v.fail(w, http.StatusUnauthorized, "signature_missing", "this tenant requires signed requests, and none can be verified here", "")
			return false
		}
		return true
	}
	ctx, cancel := context.WithTimeout(r.Context(), min(maxProfileFetch, b.timeout/2))
	defer cancel()
	signed, err := b.verify(ctx, r, body, v.version, agentProfile(r.Header.Values("UCP-Agent")))
	if err != nil {
		status, code := http.StatusUnauthorized, "signature_invalid"
		var coded interface {
			Code() string
			Status() int
		}
		if errors.As(err, &coded) {
			status, code = coded.Status(), coded.Code()
		}
		v.fail(w, status, code, err.Error(), "")
		return false
	}
	if !signed && required {
		msg := "this tenant requires signed requests: Signature-Input and Signature (RFC 9421) with the key's id in the platform profile's signing_keys"
		if v.version == UCPVersion20260111 {
			msg = "this tenant requires signed requests: Request-Signature, a detached JWS over the body by a key of the platform profile's signing_keys"
		}
		v.fail(w, http.StatusUnauthorized, "signature_missing", msg, "")
		return false
	}
	return true
}
