package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/cartwright-dev/cartwright/app"
	"github.com/cartwright-dev/cartwright/bus"
	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/httpapi"
	"github.com/cartwright-dev/cartwright/telemetry"
	"github.com/cartwright-dev/cartwright/webhooks"
)

type serveFlags struct {
	config, data, natsListen, httpListen, logLevel string
	logFormat                                      string
	metricsListen                                  string
	partitions                                     int
	workerID                                       string
	replicas                                       int
	conn                                           connFlags

	// natsConfig is a nats-server configuration file for the embedded server.
	natsConfig string
}

func newServe() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the worker",
		Long: `Run the worker. With no flags it starts an embedded NATS server with JetStream on
127.0.0.1:4222 (store under ./cartwright-data) and serves the built-in demo tenant.
With --nats-url it joins an existing NATS instead.

SIGTERM or SIGINT stops fetching, finishes what is in flight (committed, replied to,
acked) and exits cleanly.`,
		Example: `  cartwright serve
  cartwright serve --data /var/lib/cartwright --http-listen 0.0.0.0:8080
  cartwright serve --config merchant.yaml --nats-url nats://nats-1:4222 --creds worker.creds`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), &f) },
	}
	fs := cmd.Flags()
	fs.StringVar(&f.config, "config", "", "YAML configuration file (default: the built-in demo tenant)")
	fs.StringVar(&f.data, "data", "", "data directory (default ./cartwright-data)")
	fs.StringVar(&f.natsListen, "nats-listen", "", "address of the embedded NATS server (default 127.0.0.1:4222; beyond loopback it needs authentication)")
	fs.StringVar(&f.natsConfig, "nats-config", "", "nats-server configuration file for the embedded server: authorization, accounts, TLS")
	fs.StringVar(&f.httpListen, "http-listen", "", "address of /healthz, /readyz, /metrics, the discovery documents and the A2A bridge POST /a2a/<tenant> (default 127.0.0.1:8080)")
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "serve /metrics on this address instead of --http-listen (default: on --http-listen)")
	fs.StringVar(&f.workerID, "worker-id", "", "this worker's name in its group, logs and metrics (default: the host name and a hash of the data directory, stable across restarts)")
	fs.IntVar(&f.replicas, "replicas", 0, "replicas of the streams and buckets cartwright creates, for a clustered NATS (default 1; 3 in production)")
	fs.IntVar(&f.partitions, "partitions", 0, "partitions of a new inbound stream, fixed when it is created (default 4; an existing stream keeps its own)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "", "json or text (default: text on a terminal, json otherwise)")
	f.conn.register(fs, "join this NATS instead of starting an embedded one")
	return cmd
}

func (f *serveFlags) load() (*config.Config, error) {
	cfg := &config.Config{}
	if f.config != "" {
		c, err := config.Load(f.config)
		if err != nil {
			return nil, err
		}
		cfg = c
	}
	if f.data != "" {
		cfg.DataDir = f.data
	}
	if f.natsListen != "" {
		cfg.NATS.Listen = f.natsListen
	}
	if f.natsConfig != "" {
		cfg.NATS.Config = f.natsConfig
	}
	if f.httpListen != "" {
		cfg.HTTPListen = f.httpListen
	}
	if f.metricsListen != "" {
		cfg.HTTP.MetricsListen = f.metricsListen
	}
	if f.partitions != 0 {
		cfg.Partitions = f.partitions
	}
	if f.workerID != "" {
		cfg.WorkerID = f.workerID
	}
	if f.replicas != 0 {
		cfg.Replicas = f.replicas
	}
	f.conn.apply(&cfg.NATS)
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

func runServe(parent context.Context, f *serveFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usageErr("--log-level: %v", err)
	}
	lh, err := logHandler(os.Stderr, f.logFormat, level)
	if err != nil {
		return err
	}
	log := slog.New(lh)
	slog.SetDefault(log)
	cfg, err := f.load()
	if err != nil {
		return usageErr("%v", err)
	}
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	stopTracing, err := telemetry.Setup(ctx, thisBuild().Version, log)
	if err != nil {
		return usageErr("%v", err)
	}
	defer stopTracing()

	procs := cfg.ApplyProcs() // before the embedded NATS server starts

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	// Before the embedded NATS server: a second serve must not open the live one's
	// JetStream store.
	unlock, err := app.LockDataDir(cfg.DataDir)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	defer unlock()
	url := cfg.NATS.URL
	if cfg.NATS.Embedded() {
		ns, nopts, err := startEmbedded(cfg)
		if err != nil {
			return err
		}
		defer func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		}()
		url = ns.ClientURL()
		log.Info("embedded NATS server with JetStream", "url", url, "store", filepath.Join(cfg.DataDir, "nats"),
			"auth", embeddedAuth(nopts))
	}

	limit := cfg.ApplyMemoryLimit()
	gcPercent := cfg.ApplyGCPercent()
	defer app.TuneMalloc()()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerBuildInfo(reg)
	p, err := app.Open(cfg, app.Options{Logger: log, Registerer: reg, OwnsServer: cfg.NATS.Embedded()})
	if err != nil {
		return err
	}
	defer p.Close()

	opts, err := natsOptions(cfg.NATS, "cartwright")
	if err != nil {
		return usageErr("%v", err)
	}
	opts = append(opts,
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectBufSize(64<<20),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() || nc.IsDraining() {
				return // our own shutdown
			}
			log.Warn("disconnected from NATS; reconnecting", "err", err)
		}),
		// It runs on NATS's own goroutine, possibly before Connect below has built the
		// worker: Process.Reconnected is safe then.
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("reconnected to NATS", "url", redactURL(nc.ConnectedUrl()))
			p.Reconnected()
		}),
	)
	nc, err := connectWaiting(ctx, url, opts, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	log.Info("connected to NATS", "url", redactURL(nc.ConnectedUrl()))
	if !cfg.NATS.Embedded() && nc.ConnectedServerName() == embeddedServerName {
		// Its JetStream store is in the other worker's data directory and goes when
		// that worker does: it is no place for a group (CONTRACT.md section 10).
		return usageErr("%s is the embedded NATS server of another cartwright worker: run a NATS server of its own for several workers",
			redactURL(nc.ConnectedUrl()))
	}

	if err := p.Connect(ctx, nc); err != nil {
		return err
	}
	w := p.Worker
	hooks, err := startWebhooks(ctx, cfg, nc, url, reg, log)
	if err != nil {
		return err
	}
	web, err := httpapi.Serve(cfg, nc, httpapi.Options{Registry: reg, Ready: w.Ready, Live: w.Live, Version: thisBuild().Version, Logger: log,
		Remember: hooks.remember, VerifySignature: webhooks.NewRequestVerifier(cfg).Verify})
	if err != nil {
		return err
	}
	defer web.Shutdown()
	defer hooks.stop()

	memLimit := "none"
	if limit != math.MaxInt64 {
		memLimit = fmt.Sprintf("%d MiB", limit>>20)
	}
	log.Info("cartwright serving", "tenants", len(cfg.Tenants), "http", cfg.HTTPListen, "data", cfg.DataDir,
		"stock", cfg.Stock, "go_memory_limit", memLimit, "go_gc_percent", gcPercent, "gomaxprocs", procs, "compaction_nice", max(cfg.Store.CompactionNice, 0))
	if !cfg.NATS.Embedded() && cfg.Stock == config.StockStore {
		log.Warn("stock: store with --nats-url: each worker counts the stock alone, so a group of several sells the last unit once per worker; use stock: bucket (the default with --nats-url) for a group")
	}
	runErr := p.Run(ctx)
	hooks.stop() // before the connection it looks platforms up and dead-letters on drains
	// The worker has replied to what it held: bridge requests still waiting now get
	// temporarily_unavailable (their envelopes are applied at the next start).
	web.CloseBridge()
	if runErr != nil {
		return runErr
	}
	if err := nc.Drain(); err != nil {
		log.Warn("draining the NATS connection", "err", err)
	}
	log.Info("stopped cleanly")
	return nil
}

// embeddedServerName names serve's embedded NATS server, so that a worker started with
// --nats-url can tell it is not a server for a group.
const embeddedServerName = "cartwright-embedded"

func startEmbedded(cfg *config.Config) (*server.Server, *server.Options, error) {
	host, portStr, err := net.SplitHostPort(cfg.NATS.Listen)
	if err != nil {
		return nil, nil, usageErr("--nats-listen %q: %v", cfg.NATS.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, nil, usageErr("--nats-listen %q: bad port", cfg.NATS.Listen)
	}
	if port == 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as its default, 4222
	}
	dir := filepath.Join(cfg.DataDir, "nats")
	opts := bus.EmbeddedOptions(host, port, dir)
	opts.ServerName = embeddedServerName
	if cfg.NATS.Config != "" {
		if err := bus.ApplyConfigFile(opts, cfg.NATS.Config); err != nil {
			return nil, nil, usageErr("--nats-config: %v", err)
		}
	} else {
		// The server asks for what the worker presents: a token, or a user and password.
		cred, err := cfg.NATS.Credentials()
		if err != nil {
			return nil, nil, usageErr("%v", err)
		}
		opts.Authorization = cred.Token
		if cred.User != "" && cred.Password != "" {
			opts.Users = []*server.User{{Username: cred.User, Password: cred.Password}}
		}
	}
	if err := bus.CheckEmbeddedExposure(opts); err != nil {
		return nil, nil, usageErr("--nats-listen %s: %v. Set CARTWRIGHT_NATS_TOKEN (or NATS_TOKEN, or --token-file FILE) "+
			"for a token, NATS_USER and NATS_PASSWORD for a user, or --nats-config FILE for a nats-server "+
			"configuration with authorization; or listen on 127.0.0.1", cfg.NATS.Listen, err)
	}
	ns, err := bus.StartEmbedded(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("embedded NATS on %s: %w (is another server listening there? use --nats-listen or --nats-url)", cfg.NATS.Listen, err)
	}
	return ns, opts, nil
}

// embeddedAuth names how the embedded server authenticates clients, for the log.
func embeddedAuth(o *server.Options) string {
	switch {
	case len(o.TrustedOperators) > 0 || len(o.TrustedKeys) > 0:
		return "operator"
	case o.Authorization != "":
		return "token"
	case len(o.Users) > 0 || len(o.Nkeys) > 0 || o.Username != "":
		return "users"
	default:
		return "none (loopback only)"
	}
}

// connectWaiting connects, waiting while NATS is not there yet (a worker started before
// its server): the client retries (nats.RetryOnFailedConnect), every opts' ReconnectWait,
// and the first failure is logged. It gives up when ctx ends (SIGTERM), and at once, with
// exit 2, when the server refuses the credentials: asking again with the same ones cannot
// succeed, and a worker waiting for ever serves no /healthz to say why.
//
// Once connected, a refusal while reconnecting is logged as an ERROR and retried: the
// client would close the connection after two (nats.IgnoreAuthErrorAbort), but by then the
// credentials were good once, and the server's users may be being rotated.
func connectWaiting(ctx context.Context, url string, opts []nats.Option, log *slog.Logger) (*nats.Conn, error) {
	var (
		waiting atomic.Bool // not connected yet: a failed attempt is the start-up's
		warned  atomic.Bool
		lastErr atomic.Pointer[error] // errors of different types: not an atomic.Value
		refused atomic.Pointer[error] // the start-up's authorization error
		logged  atomic.Int64          // when a refusal after start-up was last logged
		settled = make(chan struct{}, 1)
		settle  = func(*nats.Conn) {
			select {
			case settled <- struct{}{}:
			default:
			}
		}
	)
	waiting.Store(true)
	refusedLater := func(err error) {
		if waiting.Load() {
			return // the start-up's: connectWaiting returns it
		}
		// Rotating users takes a while: say so every half minute, not every attempt.
		now, prev := time.Now().UnixNano(), logged.Load()
		if now-prev > int64(30*time.Second) && logged.CompareAndSwap(prev, now) {
			log.Error("NATS refused the credentials while reconnecting; retrying", "url", redactURL(url), "err", err)
		}
	}
	opts = append(opts[:len(opts):len(opts)],
		nats.RetryOnFailedConnect(true),
		nats.IgnoreAuthErrorAbort(),
		nats.ConnectHandler(settle),
		nats.ClosedHandler(settle),
		// A refusal while reconnecting reaches the error handler, not the reconnect one.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			switch {
			case err == nil:
			case authRefused(err):
				refusedLater(err)
			case sub != nil:
				log.Warn("NATS", "err", err, "subject", sub.Subject)
			default:
				log.Warn("NATS", "err", err)
			}
		}),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) {
			if err == nil {
				return
			}
			if !waiting.Load() {
				if authRefused(err) {
					refusedLater(err)
				}
				return
			}
			lastErr.Store(&err)
			if authRefused(err) {
				refused.CompareAndSwap(nil, &err)
				settle(nil)
				return
			}
			if !warned.Swap(true) {
				log.Warn("cannot connect to NATS yet; retrying", "url", redactURL(url), "err", err)
			}
		}),
	)
	giveUp := func(nc *nats.Conn) (*nats.Conn, error) {
		nc.Close()
		return nil, fmt.Errorf("connect to NATS at %s: %w", redactURL(url), cmp.Or(last(&lastErr), ctx.Err()))
	}
	for {
		nc, err := nats.Connect(url, opts...)
		if err != nil {
			if authRefused(err) {
				return nil, credentialsRefused(url, err)
			}
			return nil, fmt.Errorf("connect to NATS at %s: %w", redactURL(url), err)
		}
		for !nc.IsConnected() && !nc.IsClosed() && refused.Load() == nil {
			select {
			case <-ctx.Done():
				return giveUp(nc)
			case <-settled:
			case <-time.After(100 * time.Millisecond):
			}
		}
		if nc.IsConnected() {
			waiting.Store(false)
			return nc, nil
		}
		if err := last(&refused); err != nil {
			nc.Close()
			return nil, credentialsRefused(url, err)
		}
		// Closed by the client for another reason: start again.
		select {
		case <-ctx.Done():
			return giveUp(nc)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// authRefused reports whether err is the server refusing the credentials: an
// authorization violation, or credentials that expired or were revoked. The client
// matches its sentinels only on the server's exact words, so the prefix is checked too.
func authRefused(err error) bool {
	for _, e := range []error{nats.ErrAuthorization, nats.ErrAuthExpired, nats.ErrAuthRevoked, nats.ErrAccountAuthExpired} {
		if errors.Is(err, e) || strings.HasPrefix(strings.ToLower(err.Error()), e.Error()) {
			return true
		}
	}
	return false
}

// credentialsRefused is serve's error for a refusal at start-up: exit 2, as for a bad flag.
func credentialsRefused(url string, err error) error {
	return &exitError{code: exitUsage, err: fmt.Errorf("NATS refused the credentials: %w (at %s; check the token, "+
		"user and password, nkey or creds file the worker presents)", err, redactURL(url))}
}

// last is the error p holds, nil when none.
func last(p *atomic.Pointer[error]) error {
	if e := p.Load(); e != nil {
		return *e
	}
	return nil
}

// logHandler writes serve's log in format (json, text, or "": text when w is a terminal,
// json otherwise). JSON is what log pipelines parse without a pattern per line, and a
// worker that is not on a terminal is almost always feeding one; a person starting
// `cartwright serve` by hand reads text more easily.
func logHandler(w *os.File, format string, level slog.Level) (slog.Handler, error) {
	o := &slog.HandlerOptions{Level: level}
	if format == "" {
		format = "json"
		if fi, err := w.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.NewJSONHandler(w, o), nil
	case "text":
		return slog.NewTextHandler(w, o), nil
	}
	return nil, usageErr("--log-format %q: json or text", format)
}
