package main_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/testenv"
)

// serve writes the changelog by default with --nats-url, where workers may form a group,
// and not with its embedded server; `changelog: false` turns it off. The worker's start
// line says which, and the stream A2A_CL exists only when it is on.
func TestServeChangelogDefault(t *testing.T) {
	cl := func(t *testing.T, url string) bool {
		_, err := testenv.NewClient(t, url).JetStream().Stream(context.Background(), "A2A_CL")
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	t.Run("nats-url", func(t *testing.T) {
		ns := testenv.StartTestNATS(t)
		p := testenv.StartServe(t, "--nats-url", ns.URL(), "--data", t.TempDir(), "--http-listen", "127.0.0.1:0",
			"--partitions", "2")
		if !strings.Contains(p.Output(), `"changelog":true`) || !cl(t, ns.URL()) {
			t.Errorf("changelog off, want on by default with --nats-url (A2A_CL: %v):\n%s", cl(t, ns.URL()), p.Output())
		}
	})
	t.Run("nats-url, changelog false", func(t *testing.T) {
		ns := testenv.StartTestNATS(t)
		p := testenv.StartServe(t, "--config", writeFile(t, "c.yaml", "changelog: false\n"), "--nats-url", ns.URL(),
			"--data", t.TempDir(), "--http-listen", "127.0.0.1:0", "--partitions", "2")
		if !strings.Contains(p.Output(), `"changelog":false`) || cl(t, ns.URL()) {
			t.Errorf("changelog on with changelog: false (A2A_CL: %v):\n%s", cl(t, ns.URL()), p.Output())
		}
	})
	t.Run("embedded", func(t *testing.T) {
		listen := testenv.FreeAddr(t)
		p := testenv.StartServe(t, "--data", t.TempDir(), "--nats-listen", listen, "--http-listen", "127.0.0.1:0",
			"--partitions", "1")
		if !strings.Contains(p.Output(), `"changelog":false`) || cl(t, "nats://"+listen) {
			t.Errorf("changelog on in embedded mode, want off (A2A_CL: %v):\n%s", cl(t, "nats://"+listen), p.Output())
		}
	})
}
