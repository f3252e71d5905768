// Package testenv holds what tests need to run cartwright against real parts: an embedded
// nats-server with JetStream on a random loopback port, temporary stores, a fixed clock
// and a driver for the real binary.
package testenv

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cartwright-dev/cartwright/bus"
)

// NATS is an embedded server started for one test.
type NATS struct {
	Server *server.Server
	Dir    string
	Port   int
	edit   func(*server.Options)
}

// URL is the client URL of the server.
func (n *NATS) URL() string { return n.Server.ClientURL() }

// Restart shuts the server down and starts it again on the same port and store, as an
// operator restarting nats-server would.
func (n *NATS) Restart(t testing.TB) {
	t.Helper()
	n.Server.Shutdown()
	n.Server.WaitForShutdown()
	opts := bus.EmbeddedOptions("127.0.0.1", n.Port, n.Dir)
	if n.edit != nil {
		n.edit(opts)
		opts.Port = n.Port
	}
	ns, err := bus.StartEmbedded(opts)
	if err != nil {
		t.Fatal(err)
	}
	n.Server = ns
}

// StartTestNATS starts a JetStream server on a random loopback port with its store in a
// temporary directory, and stops it when the test ends.
func StartTestNATS(t testing.TB) *NATS {
	t.Helper()
	return StartTestNATSWith(t, nil)
}

// StartTestNATSConfig starts a server as StartTestNATS does, with conf, the text of a
// nats-server configuration file (users, permissions, accounts), applied to it.
func StartTestNATSConfig(t testing.TB, conf string) *NATS {
	t.Helper()
	file := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return StartTestNATSWith(t, func(o *server.Options) {
		if err := bus.ApplyConfigFile(o, file); err != nil {
			t.Fatal(err)
		}
	})
}

// StartTestNATSWith starts a server as StartTestNATS does, with its options changed by
// edit first: a token, users and their permissions, accounts, a fixed port. Restart
// applies edit again.
func StartTestNATSWith(t testing.TB, edit func(*server.Options)) *NATS {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "nats")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := bus.EmbeddedOptions("127.0.0.1", -1, dir)
	if edit != nil {
		edit(opts)
	}
	ns, err := bus.StartEmbedded(opts)
	if err != nil {
		t.Fatal(err)
	}
	n := &NATS{Server: ns, Dir: dir, edit: edit}
	n.Port = ns.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() {
		n.Server.Shutdown()
		n.Server.WaitForShutdown()
	})
	return n
}
