package group_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cartwright-dev/cartwright/bus/group"
)

func TestAssignIsEvenAndDeterministic(t *testing.T) {
	for n := 1; n <= 7; n++ {
		members := make([]string, n)
		for i := range members {
			members[i] = fmt.Sprintf("host-%d.data", i)
		}
		for _, partitions := range []int{1, 4, 16, 17, 64} {
			got := group.Assign(members, partitions)
			counts := map[string]int{}
			for p, m := range got {
				if !slices.Contains(members, m) {
					t.Fatalf("n=%d p=%d: partition %d assigned to %q", n, partitions, p, m)
				}
				counts[m]++
			}
			lo, hi := partitions, 0
			for _, m := range members {
				lo, hi = min(lo, counts[m]), max(hi, counts[m])
			}
			if hi-lo > 1 {
				t.Errorf("n=%d partitions=%d: counts %v differ by more than one", n, partitions, counts)
			}
			// Every member computes it from its own view, in its own order.
			rev := slices.Clone(members)
			slices.Reverse(rev)
			if again := group.Assign(append(rev, members[0]), partitions); !slices.Equal(again, got) {
				t.Errorf("n=%d partitions=%d: another order of the same members gives another assignment", n, partitions)
			}
		}
	}
	if got := group.Assign(nil, 3); !slices.Equal(got, []string{"", "", ""}) {
		t.Errorf("no members: %q", got)
	}
}

// A joiner mostly takes partitions from the others; few move between the others.
func TestAssignMovesLittle(t *testing.T) {
	const partitions = 64
	members := []string{"a", "b", "c"}
	before := group.Assign(members, partitions)
	after := group.Assign(append(members, "d"), partitions)
	moved, toD := 0, 0
	for p := range before {
		if before[p] != after[p] {
			moved++
			if after[p] == "d" {
				toD++
			}
		}
	}
	t.Logf("a fourth member over %d partitions: %d move, %d of them to it", partitions, moved, toD)
	if toD != partitions/4 {
		t.Fatalf("the joiner got %d partitions, want %d", toD, partitions/4)
	}
	// p mod n would move 48 of 64 here.
	if moved > partitions/2 {
		t.Fatalf("%d of %d partitions move when a fourth member joins", moved, partitions)
	}
}
