package bus

import (
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/store"
)

// The outbox's age counts from the first sample that saw its oldest message, moves on
// when that message is published, and starts again once the outbox is empty; a long
// outage keeps a bounded number of samples and never makes the age older than it is.
func TestOutboxAge(t *testing.T) {
	var a outboxAge
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		st   store.OutboxStats
		now  int
		want int
	}{
		{store.OutboxStats{Messages: 2, Oldest: 1, Newest: 2}, 0, 0},
		{store.OutboxStats{Messages: 4, Oldest: 1, Newest: 4}, 5, 5},    // 1 is still there
		{store.OutboxStats{Messages: 2, Oldest: 3, Newest: 4}, 10, 5},   // 3 was seen at 5
		{store.OutboxStats{Messages: 1, Oldest: 9, Newest: 9}, 15, 0},   // everything seen before is gone
		{store.OutboxStats{}, 20, 0},                                    // empty
		{store.OutboxStats{Messages: 1, Oldest: 10, Newest: 10}, 25, 0}, // starts again
	}
	for i, s := range steps {
		if got := a.observe(s.st, at(s.now)); got != time.Duration(s.want)*time.Second {
			t.Errorf("step %d: age %s, want %ds", i, got, s.want)
		}
	}
	// An outage: the oldest message stays, the outbox grows at every sample.
	a = outboxAge{}
	for i := range 10 * maxOutboxSeen {
		got := a.observe(store.OutboxStats{Messages: i + 1, Oldest: 1, Newest: uint64(i + 1)}, at(i))
		if got != time.Duration(i)*time.Second {
			t.Fatalf("sample %d: age %s, want %ds", i, got, i)
		}
	}
	if len(a.seen) > maxOutboxSeen {
		t.Errorf("%d samples kept, want at most %d", len(a.seen), maxOutboxSeen)
	}
}
