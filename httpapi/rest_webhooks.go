package httpapi

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/cartwright-dev/cartwright/config"
)

// What the REST binding does for the order webhooks (docs/webhooks.md).

// RememberFunc records that the checkout of tenant's context was made by the platform
// whose profile is at profileURL (webhooks.Service.Remember).
type RememberFunc func(ctx context.Context, tenant, contextID, profileURL string) error

// remember tells Options.Remember the UCP-Agent profile behind a checkout being created or
// completed, before its envelope is published, so that the order's events find it. A
// failure does not fail the call: the order is placed all the same, and its webhooks are
// not sent (logged).
func (x rest) remember(r *http.Request, tenant, contextID string) {
	b := x.b
	if b.remember == nil {
		return
	}
	profile := agentProfile(r.Header.Values("UCP-Agent"))
	if profile == "" {
		return
	}
	if err := b.remember(r.Context(), tenant, contextID, profile); err != nil {
		b.log.Warn("order webhooks: the platform behind this checkout is not remembered; its order events will not be sent",
			"tenant", tenant, "context", contextID, "err", err)
	}
}

// agentProfile is the profile member of a UCP-Agent header that checkUCPAgent accepted.
func agentProfile(values []string) string {
	params, _ := ucpAgentParams(values)
	return params["profile"]
}

// simulationAllowed: POST /testing/simulate-shipping/{id} is served only when
// webhooks.simulation_secret is set and the request's Simulation-Secret equals it.
func simulationAllowed(cfg *config.Config, r *http.Request) bool {
	want := cfg.Webhooks.SimulationSecret
	got := r.Header.Get("Simulation-Secret")
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
