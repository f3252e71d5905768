package bench

import (
	"testing"

	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// The store's activity over a phase: the flushes and compactions between two readings,
// and none of those before the first.
func TestStoreActivity(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	testenv.FillStates(t, st, 0, 20000) // before the phase: its flushes are not the phase's
	before := st.Metrics()
	if before.Flush.Count == 0 {
		t.Fatal("no flush before the phase: the test proves nothing")
	}
	testenv.FillStates(t, st, 20000, 40000)
	if err := st.Compact(); err != nil {
		t.Fatal(err)
	}
	after := st.Metrics()
	got := storeActivity(before, after)
	if got.Flushes < 1 || got.Flushes >= after.Flush.Count {
		t.Errorf("flushes over the phase %d, of %d in all (%d before it)", got.Flushes, after.Flush.Count, before.Flush.Count)
	}
	if got.Compactions < 1 || got.Compactions != after.Compact.Count-before.Compact.Count {
		t.Errorf("compactions over the phase %d, want %d", got.Compactions, after.Compact.Count-before.Compact.Count)
	}
	if got.CompactionSeconds <= 0 || got.CompactionSeconds > after.Compact.Duration.Seconds() {
		t.Errorf("compaction seconds %v, of %v in all", got.CompactionSeconds, after.Compact.Duration.Seconds())
	}
}
