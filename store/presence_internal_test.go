package store

import (
	"fmt"
	"hash/maphash"
	"testing"
)

// TestPresenceFilterHasNoFalseNegatives: every key added is "may have"; keys never added
// are "may have" by chance in about 1 % of questions at the size the filter was made for,
// and a nil filter answers "may have" to all.
func TestPresenceFilterHasNoFalseNegatives(t *testing.T) {
	const n = 200_000
	f := newPresenceFilter(n, maphash.MakeSeed())
	f.capacity = n // measured at its size, not the minimum's
	f.blocks = make([]presenceBlock, (n*presenceBitsPerKey+511)/512)
	for i := range n {
		f.add(fmt.Appendf(nil, "cdemo\x00ctx-%d", i))
	}
	for i := range n {
		if !f.mayHave(fmt.Appendf(nil, "cdemo\x00ctx-%d", i)) {
			t.Fatalf("ctx-%d was added and is not held", i)
		}
	}
	fp := 0
	for i := range n {
		if f.mayHave(fmt.Appendf(nil, "cdemo\x00other-%d", i)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 0.02 || fp == 0 {
		t.Fatalf("false positives at its size: %.2f %%, want about 1 %%", 100*rate)
	}
	// A new key whose bits were all set already is not counted: 0.18 % at this size.
	if added, _ := (&Store{present: f}).PresenceFilterStats(); added > n || added < n*99/100 {
		t.Fatalf("%d added, want %d less a few in a thousand", added, n)
	}
	var off *presenceFilter
	off.add([]byte("k"))
	if !off.mayHave([]byte("anything")) {
		t.Fatal("a nil filter answered that a key is absent")
	}
}
