package httpapi

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
)

// The UCP versions of the REST binding. Each is served under its own base URL, with its
// own profile:
//
//	UCP 2026-04-08 (envelopes.UCPVersion)   /ucp/<tenant>/…               profile /.well-known/ucp
//	UCP 2026-01-11 (UCPVersion20260111)     /2026-01-11/ucp/<tenant>/…    profile /2026-01-11/.well-known/ucp
//
// The newest profile names the older one in supported_versions, as UCP says a business
// that keeps an older version advertises it. The worker speaks 2026-04-08 only: a call of
// another version is converted to the 2026-04-08 body on its way to the envelope, and the
// reply back to that version's shape on its way out (rest_v20260111.go). A2A keeps
// 2026-04-08.

// UCPVersion20260111 is the older UCP version served over REST, the one UCP's conformance
// suite tests.
const UCPVersion20260111 = "2026-01-11"

// ucpBinding is one UCP version of the REST binding.
type ucpBinding struct {
	// version is the UCP version spoken, in UCP-Agent, ucp.version and errors.
	version string
	// prefix is the base path before /ucp/<tenant>: "" for the newest version.
	prefix string
	// request converts a body of this version to the 2026-04-08 body of op; with a
	// message, the body is refused at path. Nil for 2026-04-08.
	request func(op string, body json.RawMessage) (json.RawMessage, string, string)
	// response converts a 2026-04-08 response (a resource, not an error) to this
	// version's status and body, for tenant t. Nil for 2026-04-08.
	response func(b *ucpBinding, t *config.Tenant, op string, status int, body []byte) (int, []byte)
	// bodylessCancel: a cancel may come without a body and without a Content-Type, as
	// this version's clients send it (the Origin guard still refuses web pages).
	bodylessCancel bool
	// invalidTransition is the status of invalid_transition (a checkout not ready to
	// complete) when it is not 409: 2026-01-11 keeps 409 for conflicts such as a reused
	// Idempotency-Key, and answers a request that "cannot be served" with 400.
	invalidTransition int
	// keepAbsent: an update (PUT) keeps the members it leaves out, as UCP's conformance
	// suite expects, where the version's text says the PUT replaces the whole session.
	keepAbsent bool
}

// restVersions are the versions served, newest first.
var restVersions = []*ucpBinding{
	{version: envelopes.UCPVersion},
	{
		version:           UCPVersion20260111,
		prefix:            "/" + UCPVersion20260111,
		request:           request20260111,
		response:          response20260111,
		bodylessCancel:    true,
		invalidTransition: http.StatusBadRequest,
		keepAbsent:        true,
	},
}

// RESTPathFor is the path of tenant's UCP REST endpoint of version v ("" when v is not
// served).
func RESTPathFor(v, tenant string) string {
	for _, b := range restVersions {
		if b.version == v {
			return b.prefix + RESTPath(tenant)
		}
	}
	return ""
}

// negotiate reads the UCP-Agent header of a call to endpoint b: an RFC 8941 dictionary
// (or the profile item with parameters, `profile="…"; version="…"`) with profile, a string
// naming the platform's profile, and optionally version, the platform's UCP version. As
// UCP's version negotiation says, a platform at b's version or an older one is served, in
// the semantics of the newest version cartwright has that is not newer than the
// platform's (the oldest one for a platform older than all); a newer one is refused with
// version_unsupported. It returns the binding to process the call in and, for a header
// that is refused, why and an error code.
func (b *ucpBinding) negotiate(values []string) (*ucpBinding, string, string) {
	if len(values) == 0 {
		return b, `UCP-Agent is required: profile="<the platform's profile URI>"`, "invalid_request"
	}
	params, bad := ucpAgentParams(values)
	if bad != "" {
		return b, bad, "invalid_request"
	}
	p, ok := params["profile"]
	if b.version == envelopes.UCPVersion && !strings.HasPrefix(p, "https://") && !strings.HasPrefix(p, "http://") {
		return b, `UCP-Agent must name the platform's profile: profile="https://…"`, "invalid_request"
	}
	if !ok || p == "" {
		return b, `UCP-Agent must name the platform's profile: profile="…"`, "invalid_request"
	}
	v, ok := params["version"]
	if !ok {
		return b, "", ""
	}
	if !ucpVersionForm.MatchString(v) {
		return b, "UCP-Agent: version " + quote(v) + " is not a UCP version (YYYY-MM-DD)", "invalid_request"
	}
	if v > b.version {
		return b, "UCP version " + quote(v) + " is not supported; this endpoint implements " + b.version +
			" and older versions (the profile's supported_versions)", "version_unsupported"
	}
	// restVersions is newest first: the first not newer than the platform's.
	for _, o := range restVersions {
		if o.version <= v && o.version <= b.version {
			return o, "", ""
		}
	}
	return restVersions[len(restVersions)-1], "", ""
}

// ucpAgentParams reads the members and parameters of a UCP-Agent header (profile,
// version), by lower-cased name, strings unquoted; or why it cannot.
func ucpAgentParams(values []string) (map[string]string, string) {
	params := map[string]string{}
	for _, item := range splitOutsideQuotes(strings.Join(values, ",")) {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			continue
		}
		if uq, ok := strings.CutPrefix(v, `"`); ok {
			v, ok = strings.CutSuffix(uq, `"`)
			if !ok {
				return nil, "UCP-Agent: an unterminated string"
			}
		}
		params[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return params, ""
}

// splitOutsideQuotes splits a structured field on the commas between its members and the
// semicolons before parameters, but not on those inside a quoted string (a profile URL may
// hold either).
func splitOutsideQuotes(s string) []string {
	var out []string
	start, quoted, escaped := 0, false, false
	for i, r := range s {
		switch {
		case escaped:
			escaped = false
		case quoted && r == '\\':
			escaped = true
		case r == '"':
			quoted = !quoted
		case !quoted && (r == ',' || r == ';'):
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

var ucpVersionForm = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// restFail answers a call the REST door refuses itself, in b's error shape.
func (b *ucpBinding) fail(w http.ResponseWriter, status int, code, msg, path string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cartwright"`)
	}
	writeJSON(w, status, b.errorBody(code, msg, path))
}

// errorBody is the body of an error response of b's version.
func (b *ucpBinding) errorBody(code, msg, path string) []byte {
	severity := "unrecoverable"
	if b.version == UCPVersion20260111 {
		// 2026-01-11 has no "unrecoverable": the closest is a human's review.
		severity = "requires_buyer_review"
		// Its complete sends the instrument as payment_data.
		if rest, ok := strings.CutPrefix(path, "$.payment.instruments[0]"); ok {
			path = "$.payment_data" + rest
		}
	}
	out, _ := json.Marshal(restError{
		UCP:  restStatus{b.version, "error"},
		Code: code, Content: msg, Detail: msg, Path: path,
		Messages: []restMessage{{Type: "error", Code: code, Path: path, Content: msg, Severity: severity}},
	})
	return out
}
