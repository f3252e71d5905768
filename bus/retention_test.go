package bus_test

import (
	"context"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/config"
	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestRetentionReachesTheStreams: the max ages configured in YAML are the streams' when
// they are created, and when a worker starts on streams that exist.
func TestRetentionReachesTheStreams(t *testing.T) {
	cfg, err := config.Parse([]byte("idempotency_retention: 36h\n" +
		"retention:\n  requests: 72h\n  replies: 12h\n  dead_letters: 240h\n  events: 48h\n"))
	if err != nil {
		t.Fatal(err)
	}
	w := testenv.StartWorker(t, cfg, handlers.Options{})
	if cfg.IdempotencyRetention != 36*time.Hour {
		t.Errorf("idempotency retention %s", cfg.IdempotencyRetention)
	}
	c := testenv.NewClient(t, w.NATS.URL())
	check := func(want map[string]time.Duration) {
		t.Helper()
		for name, age := range want {
			s, err := c.JetStream().Stream(context.Background(), name)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.CachedInfo().Config.MaxAge; got != age {
				t.Errorf("%s: max age %s, want %s", name, got, age)
			}
		}
	}
	check(map[string]time.Duration{"A2A_IN": 72 * time.Hour, "A2A_OUT": 12 * time.Hour, "A2A_DLQ": 240 * time.Hour, "A2A_EVT": 48 * time.Hour})

	w.Stop()
	cfg.Retention.DeadLetters = 96 * time.Hour
	cfg.Retention.Requests = 0 // back to the default
	cfg.SetDefaults()
	w.Start()
	check(map[string]time.Duration{"A2A_IN": 7 * 24 * time.Hour, "A2A_OUT": 12 * time.Hour, "A2A_DLQ": 96 * time.Hour, "A2A_EVT": 48 * time.Hour})
}
