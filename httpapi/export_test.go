package httpapi

import "net/http"

// The bridge and the discovery handlers are built by Serve alone; the tests build them
// without its listener, behind httptest servers and recorders.
type (
	Bridge        = bridge
	BridgeOptions = bridgeOptions
	Discovery     = discovery
)

const BridgePattern = bridgePattern

var (
	NewBridge    = newBridge
	NewDiscovery = newDiscovery
)

// RegisterREST serves the REST binding of b on mux, as Serve does.
func RegisterREST(b *Bridge, mux *http.ServeMux) { rest{b}.register(mux) }
