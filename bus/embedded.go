package bus

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions returns options for a one-node nats-server with JetStream listening on
// host:port (port -1 picks a free one) and storing under dir.
func EmbeddedOptions(host string, port int, dir string) *server.Options {
	return &server.Options{
		ServerName: "cartwright",
		Host:       host,
		Port:       port,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  true,
		StoreDir:   dir,
		// Room for the largest envelope plus headers.
		MaxPayload: 1 << 20,
		// JetStream writes its messages through the page cache and syncs them every two
		// minutes by default; the kernel meanwhile writes them back in bursts every five
		// seconds, and the store's fsync'd commits queue behind each burst (replies 80-140
		// ms late at 2,000 envelopes/s, docs/performance.md). Syncing every second spreads
		// that writing out, and loses at most a second of acknowledged messages if the
		// machine (not just the process) goes down. A configuration file's
		// jetstream.sync_interval still wins.
		SyncInterval: EmbeddedSyncInterval,
	}
}

// EmbeddedSyncInterval is how often the embedded server syncs JetStream's files to disk.
const EmbeddedSyncInterval = time.Second

// ApplyConfigFile reads a nats-server configuration file (authorization, accounts, TLS,
// limits) into opts. The listen address and JetStream stay as opts has them whatever the
// file says, so that the worker finds its server; the store directory too, unless the
// file names one.
func ApplyConfigFile(opts *server.Options, file string) error {
	host, port, dir := opts.Host, opts.Port, opts.StoreDir
	if err := opts.ProcessConfigFile(file); err != nil {
		return fmt.Errorf("nats-server configuration %s: %w", file, err)
	}
	opts.Host, opts.Port, opts.JetStream = host, port, true
	if opts.StoreDir == "" {
		opts.StoreDir = dir
	}
	// The worker's process owns signals and its log.
	opts.NoSigs, opts.NoLog = true, true
	return nil
}

// ErrEmbeddedOpen is returned by CheckEmbeddedExposure for a server that would let
// anyone on the network in.
var ErrEmbeddedOpen = errors.New("an embedded NATS server on a non-loopback address needs authentication")

// CheckEmbeddedExposure refuses options that listen beyond loopback without asking
// clients for credentials: such a server would hand every tenant's checkouts, replies and
// dead letters, and the power to publish as any tenant, to whoever reaches the port.
func CheckEmbeddedExposure(opts *server.Options) error {
	if loopbackHost(opts.Host) || authenticated(opts) {
		return nil
	}
	return ErrEmbeddedOpen
}

// loopbackHost reports whether a listen host reaches this machine only; "" and the
// unspecified addresses listen on every interface.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authenticated reports whether every client must present credentials. A no_auth_user
// lets clients in without any, so it does not count.
func authenticated(o *server.Options) bool {
	if o.NoAuthUser != "" {
		return false
	}
	return o.Authorization != "" || o.Username != "" || len(o.Users) > 0 || len(o.Nkeys) > 0 ||
		len(o.TrustedOperators) > 0 || len(o.TrustedKeys) > 0 ||
		o.CustomClientAuthentication != nil || o.AuthCallout != nil
}

// StartEmbedded starts a nats-server in this process and waits until it accepts
// connections.
func StartEmbedded(opts *server.Options) (*server.Server, error) {
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats-server: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("nats-server: not accepting connections after 10s")
	}
	return ns, nil
}
