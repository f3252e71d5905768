package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cartwright-dev/cartwright/config"
)

// discovery serves the discovery documents of discovery.go over HTTP. Register its two
// handlers under both the root and the per-tenant paths:
//
//	GET /.well-known/ucp                           Profile    (?tenant=T, else the default tenant)
//	GET /a2a/{tenant}/.well-known/ucp              Profile
//	GET /.well-known/agent-card.json               AgentCard  (?tenant=T, else the default tenant)
//	GET /2026-01-11/.well-known/ucp                Profile20260111 (?tenant=T, else the default tenant)
//	GET /a2a/{tenant}/.well-known/agent-card.json  AgentCard
//
// The documents are public, as UCP requires of a business profile: they hold no secret,
// and which tenants need a token is part of what they say.
type discovery struct {
	cfg     *config.Config
	listen  string
	version string
}

// newDiscovery serves cfg's documents for a listener bound to listen (host:port, as
// bound: the real port when the configured one was 0), stating cartwright's version.
func newDiscovery(cfg *config.Config, listen, version string) *discovery {
	return &discovery{cfg: cfg, listen: listen, version: version}
}

// Profile serves the UCP business profile.
func (d *discovery) Profile(w http.ResponseWriter, r *http.Request) {
	d.serve(w, r, func(tenant string, site Site) (any, error) { return ProfileFor(d.cfg, tenant, site) })
}

// Profile20260111 serves the UCP 2026-01-11 business profile (rest_v20260111.go).
func (d *discovery) Profile20260111(w http.ResponseWriter, r *http.Request) {
	d.serve(w, r, func(tenant string, site Site) (any, error) { return Profile20260111For(d.cfg, tenant, site) })
}

// AgentCard serves the A2A agent card.
func (d *discovery) AgentCard(w http.ResponseWriter, r *http.Request) {
	d.serve(w, r, func(tenant string, site Site) (any, error) { return AgentCardFor(d.cfg, tenant, site) })
}

func (d *discovery) serve(w http.ResponseWriter, r *http.Request, doc func(string, Site) (any, error)) {
	site := Site{BaseURL: BaseURL(d.cfg.Bridge.PublicURL, d.listen), Version: d.version}
	tenant := r.PathValue("tenant")
	if tenant == "" {
		tenant = r.URL.Query().Get("tenant")
	}
	if tenant == "" {
		tenant = d.cfg.Bridge.DefaultTenant
	}
	if tenant == "" {
		// Several tenants and none is the default: say where each one's documents are.
		per := map[string]string{}
		for _, t := range Tenants(d.cfg) {
			per[t] = site.ProfileURL(d.cfg, t)
		}
		writeDoc(w, http.StatusNotFound, map[string]any{
			"error":    "this server has several tenants and no default (bridge.default_tenant): ask for one",
			"profiles": per,
		})
		return
	}
	v, err := doc(tenant, site)
	if errors.Is(err, ErrUnknownTenant) {
		writeDoc(w, http.StatusNotFound, map[string]string{"error": "no such tenant"})
		return
	}
	if err != nil {
		writeDoc(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeDoc(w, http.StatusOK, v)
}

func writeDoc(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
