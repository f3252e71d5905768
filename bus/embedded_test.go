package bus_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/bus"
)

// The embedded server syncs JetStream's files every second, not every two minutes
// (nats-server's default): its writes then reach the disk steadily rather than in the
// kernel's five-second bursts that the store's fsync'd commits would queue behind.
func TestEmbeddedSyncInterval(t *testing.T) {
	ns, err := bus.StartEmbedded(bus.EmbeddedOptions("127.0.0.1", -1, filepath.Join(t.TempDir(), "nats")))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	if got := ns.JetStreamConfig().SyncInterval; got != time.Second {
		t.Fatalf("JetStream sync interval %v, want 1s", got)
	}
}

// An operator's nats-server configuration file still decides.
func TestEmbeddedSyncIntervalFromFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(file, []byte("jetstream { sync_interval: 5s }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := bus.EmbeddedOptions("127.0.0.1", -1, filepath.Join(dir, "nats"))
	if err := bus.ApplyConfigFile(o, file); err != nil {
		t.Fatal(err)
	}
	ns, err := bus.StartEmbedded(o)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	if got := ns.JetStreamConfig().SyncInterval; got != 5*time.Second {
		t.Fatalf("JetStream sync interval %v, want the file's 5s", got)
	}
}
