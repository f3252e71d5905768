package testenv

import (
	"fmt"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/store"
)

// FillStates writes the states of contexts c<from> to c<to> of tenant demo (small
// checkouts, about 60 bytes each) in commits of 2,000: with a 1 MiB memtable, 20,000 of
// them flush several files, for tests of what the store does with its levels.
func FillStates(t testing.TB, st *store.Store, from, to int) {
	t.Helper()
	for i := from; i < to; i += 2000 {
		b := st.NewBatch()
		for j := i; j < min(i+2000, to); j++ {
			b.PutState("demo", fmt.Sprintf("c%06d", j), commerce.State{Checkout: &commerce.Checkout{ID: fmt.Sprintf("chk_%06d", j), Currency: "USD"}})
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}
