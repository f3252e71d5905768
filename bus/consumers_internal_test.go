package bus

import (
	"testing"
)

func seqs(s ...uint64) []uint64 { return s }

// TestMarkStopsBelowARetry: an envelope returned to JetStream for a retry holds the
// watermark below it until it is applied, or a consumer created after the watermark
// would never deliver it.
func TestMarkStopsBelowARetry(t *testing.T) {
	var k mark
	if got := k.advance(seqs(1, 2, 3), nil); got != 3 {
		t.Fatalf("chunk 1-3: %d, want 3", got)
	}
	if got := k.advance(seqs(4, 5, 6), seqs(5)); got != 4 {
		t.Fatalf("chunk 4-6 with 5 returned: %d, want 4", got)
	}
	if got := k.advance(seqs(7, 8), nil); got != 0 {
		t.Fatalf("chunk 7-8 while 5 waits: %d, want 0 (no move)", got)
	}
	if got := k.advance(seqs(5), nil); got != 5 {
		t.Fatalf("5 applied: %d, want 5 (not past what this chunk holds)", got)
	}
	if got := k.advance(seqs(9), nil); got != 9 {
		t.Fatalf("chunk 9: %d, want 9", got)
	}
	if got := k.advance(seqs(3, 4), nil); got != 0 {
		t.Fatalf("a replay below the watermark: %d, want 0 (never back)", got)
	}
}
