package store

import "github.com/cockroachdb/pebble"

// Compactions rewrite the store's lower levels in the background: on this workload an
// L0 compaction takes a core for 130-190 ms about every other memtable flush. Run at the
// same priority as everything else, it took one of two cores from the partition loops,
// the NATS client and a NATS server beside them, and the envelopes that came meanwhile
// waited: most replies over 5 ms at a steady 2,000 envelopes/s came in such bursts
// (docs/performance.md, "What the tail waits for, chunk by chunk"). With Options.CompactionNice,
// each compaction runs on an OS thread of its own at that nice value, which the kernel
// schedules only when the other threads leave it room; it takes longer, and the
// envelopes do not wait for it.

// niceListener lowers the priority of every compaction's goroutine as it begins.
func niceListener(nice int) *pebble.EventListener {
	return &pebble.EventListener{
		CompactionBegin: func(pebble.CompactionInfo) {
			// Pebble runs each compaction on a goroutine of its own, which ends with it,
			// and calls CompactionBegin on it.
			if lowerPriority(nice) == nil && compactionLowered != nil {
				compactionLowered()
			}
		},
	}
}

// compactionLowered, when set (tests), is called on a compaction's goroutine once its
// priority is lowered.
var compactionLowered func()
