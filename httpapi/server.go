package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cartwright-dev/cartwright/config"
)

// Options are what the HTTP face needs of the rest of the process.
type Options struct {
	// Registry receives the bridge's metrics and is served at /metrics (a new one when nil).
	Registry *prometheus.Registry
	// Ready answers /readyz: nil when the worker is ready (bus.Worker.Ready).
	Ready func() error
	// Live answers /healthz: nil unless the process should be restarted (bus.Worker.Live).
	// It must not depend on NATS: an orchestrator restarts what fails it, and restarting
	// a healthy worker during a NATS outage only makes the outage longer.
	Live func() error
	// Version is cartwright's version, stated in the discovery documents.
	Version string
	Logger  *slog.Logger
	// Remember, when set, is told the platform profile (UCP-Agent) behind each REST
	// checkout session as it is created or completed: the order webhooks' mapping
	// (package webhooks, rest_webhooks.go).
	Remember RememberFunc
	// VerifySignature, when set, verifies the signatures platforms put on REST requests
	// (webhooks.RequestVerifier.Verify, rest_signature.go). Unset, signatures are not
	// checked, and a tenant's require_request_signature refuses every request.
	VerifySignature VerifySignatureFunc
}

// Server is the HTTP face of the process, on cfg.HTTPListen:
//
//	GET  /healthz                                   Options.Live
//	GET  /readyz                                    Options.Ready
//	GET  /metrics                                   Options.Registry (on http.metrics_listen instead, when set)
//	GET  /.well-known/ucp, /.well-known/agent-card.json, and the same under /a2a/{tenant}/: discovery_http.go
//	POST /a2a/{tenant}                              the A2A JSON-RPC bridge (bridge.go)
//	GET  /orders/{tenant}/{context}/{order}         the order permalinks (orders.go)
//	     /ucp/{tenant}/checkout-sessions…, /ucp/{tenant}/orders/{id}: UCP over REST (rest.go)
//	POST /testing/simulate-shipping/{id}, /ucp/{tenant}/testing/simulate-shipping/{id} (rest_webhooks.go)
//	     the same (simulate-shipping included) under /2026-01-11, and /2026-01-11/orders/{id}: UCP 2026-01-11 (rest_versions.go)
//	GET  /2026-01-11/.well-known/ucp                the UCP 2026-01-11 profile (rest_v20260111.go)
type Server struct {
	srv *http.Server
	br  *bridge
}

// Serve subscribes the bridge on nc, binds the listeners and serves them in the
// background. Listen errors name the flag that set the address.
func Serve(cfg *config.Config, nc *nats.Conn, o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Ready == nil {
		o.Ready = func() error { return nil }
	}
	if o.Live == nil {
		o.Live = func() error { return nil }
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry() // /metrics serves the bridge's own, rather than panic
	}
	br, err := newBridge(cfg, nc, bridgeOptions{Logger: o.Logger, Registerer: o.Registry, Remember: o.Remember, Verify: o.VerifySignature})
	if err != nil {
		return nil, err
	}
	srv, err := serveHTTP(cfg, o, br)
	if err != nil {
		br.Close()
		return nil, err
	}
	return &Server{srv: srv, br: br}, nil
}

// CloseBridge answers the bridge requests still waiting temporarily_unavailable, and
// later ones at once: call it once the worker has stopped, since no reply can come then
// (their envelopes are applied at the next start).
func (s *Server) CloseBridge() { _ = s.br.Close() }

// Shutdown stops the listeners, waiting up to 5 seconds for requests being served, then
// closes the bridge.
func (s *Server) Shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.br.Close()
}

func serveHTTP(cfg *config.Config, o Options, br *bridge) (*http.Server, error) {
	log := o.Logger
	addr := cfg.HTTPListen
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		if err := o.Live(); err != nil {
			rw.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(rw, "unhealthy:", err)
			return
		}
		fmt.Fprintln(rw, "ok")
	})
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain")
		if err := o.Ready(); err != nil {
			rw.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(rw, "not ready:", err)
			return
		}
		fmt.Fprintln(rw, "ready")
	})
	metrics := promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{Registry: o.Registry})
	var msrv *http.Server
	if cfg.HTTP.MetricsListen == "" {
		mux.Handle("GET /metrics", metrics)
	} else {
		mln, err := net.Listen("tcp", cfg.HTTP.MetricsListen)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("--metrics-listen %s: %w", cfg.HTTP.MetricsListen, err)
		}
		mmux := http.NewServeMux()
		mmux.Handle("GET /metrics", metrics)
		msrv = newHTTPServer(cfg, mmux)
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics http server", "err", err)
			}
		}()
	}
	// Discovery (docs/agents.md): URLs in the documents use the address as bound.
	d := newDiscovery(cfg, ln.Addr().String(), o.Version)
	mux.HandleFunc("GET /.well-known/ucp", d.Profile)
	mux.HandleFunc("GET /.well-known/agent-card.json", d.AgentCard)
	mux.HandleFunc("GET /a2a/{tenant}/.well-known/ucp", d.Profile)
	mux.HandleFunc("GET /a2a/{tenant}/.well-known/agent-card.json", d.AgentCard)
	mux.HandleFunc("GET /"+UCPVersion20260111+"/.well-known/ucp", d.Profile20260111)
	// The A2A JSON-RPC bridge; it answers other methods than POST with 405 itself.
	mux.Handle(bridgePattern, br)
	mux.HandleFunc(orderPattern, br.serveOrder) // the order permalinks (orders.go)
	rest{br}.register(mux)                      // UCP over REST (rest.go)
	srv := newHTTPServer(cfg, mux)
	if msrv != nil {
		srv.RegisterOnShutdown(func() { _ = msrv.Close() })
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
		}
	}()
	return srv, nil
}

// newHTTPServer bounds every phase of a connection, so that a slow or idle client cannot
// hold one open (docs/security.md, "The HTTP bridge").
func newHTTPServer(cfg *config.Config, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(5*time.Second, cfg.HTTP.ReadTimeout),
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
	}
}
