package httpapi

import (
	"encoding/json"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/envelopes"
)

// A web page in a browser on the worker's host reaches the bridge as a loopback caller,
// which a tenant without tokens admits. The browser sends a cross-origin POST without
// asking first only when its Content-Type is text/plain, a form or none; it always names
// the page's origin; and after DNS rebinding it names the page's own host. The guards
// below refuse each of those before the body is read, so that nothing reaches the bus.

// guards is what the bridge checks of a request before it reads the body.
type guards struct {
	// origins are the allowed Origin values, as normalized by origin.
	origins map[string]bool
	// loopbackOnly: the listener is bound to a loopback address, so only a loopback Host
	// (or the public URL's, for a reverse proxy on the host) names it.
	loopbackOnly bool
	publicHost   string
}

func newGuards(cfg *config.Config) guards {
	g := guards{origins: map[string]bool{}}
	for _, o := range cfg.HTTP.AllowedOrigins {
		g.origins[origin(o)] = true
	}
	if host, _, err := net.SplitHostPort(cfg.HTTPListen); err == nil {
		g.loopbackOnly = loopbackName(host)
	}
	if u, err := url.Parse(cfg.Bridge.PublicURL); err == nil && cfg.Bridge.PublicURL != "" {
		g.publicHost = strings.ToLower(u.Hostname())
	}
	return g
}

// check answers a request that fails a guard and reports false; it writes nothing for
// one that passes.
func (g guards) check(w http.ResponseWriter, r *http.Request) bool {
	if status, msg := g.verdict(r, true); status != 0 {
		refuse(w, status, msg)
		return false
	}
	return true
}

// checkCaller is check without the body's type, for requests that have none (GET): the
// Host and the Origin guards.
func (g guards) checkCaller(w http.ResponseWriter, r *http.Request) bool {
	if status, msg := g.verdict(r, false); status != 0 {
		refuse(w, status, msg)
		return false
	}
	return true
}

// verdict is what check (body true) or checkCaller (body false) answers, without writing
// it: the HTTP status and why, or 0 for a request that passes. The REST binding answers
// with its own error shape.
func (g guards) verdict(r *http.Request, body bool) (int, string) {
	if g.loopbackOnly {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
		if !loopbackName(host) && (g.publicHost == "" || host != g.publicHost) {
			return http.StatusMisdirectedRequest, "this listener is bound to loopback and answers only to Host localhost, " +
				"127.0.0.1 or [::1] (or the host of bridge.public_url), not " + quote(r.Host)
		}
	}
	if o, ok := r.Header["Origin"]; ok && (len(o) != 1 || !g.origins[origin(o[0])]) {
		return http.StatusForbidden, "requests from web pages are refused unless their origin is in http.allowed_origins; " +
			quote(strings.Join(o, ", ")) + " is not"
	}
	if !body {
		return 0, ""
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	_, charset := params["charset"]
	if err != nil || mt != "application/json" || len(params) > 1 || (len(params) == 1 && !charset) {
		return http.StatusUnsupportedMediaType, "the body must be JSON, sent with Content-Type: application/json, not " +
			quote(r.Header.Get("Content-Type"))
	}
	return 0, ""
}

// origin normalizes an Origin value or an allowed origin: lower case, no trailing slash.
func origin(s string) string { return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/") }

// loopbackName reports whether host (no port, no brackets) names this machine's loopback
// interface.
func loopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func quote(s string) string {
	b, _ := json.Marshal(clipString(s))
	return string(b)
}

// refuse answers a request that is not taken as JSON-RPC at all, with a JSON-RPC error
// body that says why.
func refuse(w http.ResponseWriter, status int, msg string) {
	type rpcError struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	b, _ := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   rpcError        `json:"error"`
	}{"2.0", json.RawMessage("null"), rpcError{-32600, msg}})
	writeJSON(w, status, b)
}

// busy answers a request over the in-flight cap: 503, and a JSON-RPC error the client
// can act on.
func busy(w http.ResponseWriter, limit int) {
	w.Header().Set("Retry-After", "1")
	e := commerce.E(commerce.KindTransient, commerce.CodeTemporarilyUnavailable,
		"the bridge is serving %d requests, its limit (http.max_in_flight); retry shortly", limit)
	writeJSON(w, http.StatusServiceUnavailable, envelopes.Wrap(nil, envelopes.ErrorBody(e, ""), true))
}
