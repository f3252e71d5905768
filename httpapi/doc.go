// Package httpapi is the HTTP face of the process, on one listener (Serve):
//
//	GET  /healthz, /readyz, /metrics     liveness, the worker's readiness, Prometheus
//	GET  …/.well-known/ucp               the UCP business profile (discovery.go)
//	GET  …/.well-known/agent-card.json   the A2A agent card (discovery.go)
//	POST /a2a/{tenant}                   the A2A JSON-RPC bridge onto JetStream (bridge.go)
//
// It holds no state of its own: the bridge publishes to the inbound stream exactly what
// an agent would publish on the bus and waits for the worker's reply, and the discovery
// documents are derived from the configuration alone. Everything an agent reaches over
// HTTP lives here, so that another binding (REST) joins the same listener and guards.
package httpapi
