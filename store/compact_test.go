package store_test

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/vfs"

	"github.com/cartwright-dev/cartwright/store"
	"github.com/cartwright-dev/cartwright/testenv"
)

// TestCompactLeavesOnlyTheBottomLevel: after Compact, the files the writes left in the
// upper levels are all merged into the bottom one, and every state is still there.
func TestCompactLeavesOnlyTheBottomLevel(t *testing.T) {
	s, err := store.Open("db", store.Options{FS: vfs.NewMem(), MemTableBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 40000
	testenv.FillStates(t, s, 0, n)
	upper := func() (files int64) {
		m := s.Metrics()
		for l := 0; l < len(m.Levels)-1; l++ {
			files += m.Levels[l].NumFiles
		}
		return files
	}
	if upper() == 0 {
		t.Fatal("the writes left no file above the bottom level: the test proves nothing")
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if f := upper(); f != 0 {
		t.Errorf("%d files above the bottom level after Compact, want 0", f)
	}
	b := s.NewBatch()
	defer b.Discard()
	for _, i := range []int{0, 1, n / 2, n - 1} {
		st, err := b.State("demo", fmt.Sprintf("c%06d", i))
		if err != nil || st.Checkout == nil || st.Checkout.ID != fmt.Sprintf("chk_%06d", i) {
			t.Errorf("state %d after Compact: %+v, %v", i, st.Checkout, err)
		}
	}
}
