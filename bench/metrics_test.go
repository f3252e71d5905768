package bench

import (
	"fmt"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/store"
)

// The store's activity over a phase: the flushes and compactions between two readings,
// and none of those before the first.
func TestStoreActivity(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	write := func(from, to int) {
		for i := from; i < to; i += 2000 {
			b := st.NewBatch()
			for j := i; j < i+2000; j++ {
				b.PutState("demo", fmt.Sprintf("c%06d", j), commerce.State{Checkout: &commerce.Checkout{ID: fmt.Sprintf("chk_%06d", j), Currency: "USD"}})
			}
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 20000) // before the phase: its flushes are not the phase's
	before := st.Metrics()
	if before.Flush.Count == 0 {
		t.Fatal("no flush before the phase: the test proves nothing")
	}
	write(20000, 40000)
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
