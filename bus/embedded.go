package bus

import (
	"fmt"
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
	}
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
