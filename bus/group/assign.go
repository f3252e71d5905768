package group

import (
	"hash/fnv"
	"slices"
	"strconv"
)

// Assign says which member should own each partition: out[p] is a member id, "" when
// there is no member. It depends only on the set of ids, so every member computes the
// same answer from the same view of the bucket.
//
// Each partition goes to the member that ranks highest for it (rendezvous hashing) among
// those with room left, and room is capped so that counts differ by at most one. Unlike
// p mod n, a member joining or leaving moves few partitions besides its own share, and
// every move is a hand-over of state.
func Assign(members []string, partitions int) []string {
	out := make([]string, partitions)
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	n := len(ms)
	if n == 0 {
		return out
	}
	base, extra := partitions/n, partitions%n
	counts := make([]int, n)
	atCeil := 0
	for p := range partitions {
		best, bestScore := -1, uint64(0)
		for i, m := range ms {
			if counts[i] > base || (counts[i] == base && atCeil == extra) {
				continue
			}
			if s := score(m, p); best < 0 || s > bestScore {
				best, bestScore = i, s
			}
		}
		// INVARIANT: best >= 0, since the caps add up to exactly partitions.
		counts[best]++
		if counts[best] == base+1 {
			atCeil++
		}
		out[p] = ms[best]
	}
	return out
}

func score(member string, p int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(p)))
	// FNV alone clusters on ids that differ in one trailing character; the splitmix64
	// finaliser spreads them.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
