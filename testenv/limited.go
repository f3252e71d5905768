package testenv

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// LimitedAccount starts a server whose account SHOP has JetStream limits (64 MiB of file
// storage, and a max_bytes required on every stream) and returns a JetStream context of
// one of its users; the connection is closed when the test ends.
func LimitedAccount(t testing.TB) jetstream.JetStream {
	t.Helper()
	n := StartTestNATSConfig(t, `accounts { SHOP {
		jetstream { max_file: 64MB, max_mem: 1MB, max_bytes_required: true }
		users [{user: w, password: pw}]
	} }`)
	nc, err := nats.Connect(n.URL(), nats.UserInfo("w", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}
