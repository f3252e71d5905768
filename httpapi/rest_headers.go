package httpapi

import (
	"strings"

	"github.com/cartwright-dev/cartwright/envelopes"
)

// The UCP headers of the REST binding (rest.go).

// checkUCPAgent checks the UCP-Agent header: an RFC 8941 dictionary with profile, a
// string naming the platform's profile, and optionally version, which must be the one
// cartwright speaks. It returns why and an error code, or "" for a good one.
func checkUCPAgent(values []string) (string, string) {
	if len(values) == 0 {
		return `UCP-Agent is required: profile="<the platform's profile URI>"`, "invalid_request"
	}
	params := map[string]string{}
	for _, item := range strings.Split(strings.Join(values, ","), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			continue
		}
		if uq, ok := strings.CutPrefix(v, `"`); ok {
			v, ok = strings.CutSuffix(uq, `"`)
			if !ok {
				return "UCP-Agent: an unterminated string", "invalid_request"
			}
		}
		params[strings.ToLower(strings.TrimSpace(k))] = v
	}
	p := params["profile"]
	if !strings.HasPrefix(p, "https://") && !strings.HasPrefix(p, "http://") {
		return `UCP-Agent must name the platform's profile: profile="https://…"`, "invalid_request"
	}
	if v, ok := params["version"]; ok && v != envelopes.UCPVersion {
		return "UCP version " + quote(v) + " is not supported; this business speaks " + envelopes.UCPVersion, "version_unsupported"
	}
	return "", ""
}
