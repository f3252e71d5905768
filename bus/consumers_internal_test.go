package bus

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// seqMsg is a delivery as far as the watermark cares: its stream sequence.
type seqMsg struct {
	jetstream.Msg
	seq uint64
}

func (m seqMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.seq}}, nil
}

func msgs(seqs ...uint64) []jetstream.Msg {
	out := make([]jetstream.Msg, len(seqs))
	for i, s := range seqs {
		out[i] = seqMsg{seq: s}
	}
	return out
}

// TestMarkStopsBelowARetry: an envelope returned to JetStream for a retry holds the
// watermark below it until it is applied, or a consumer created after the watermark
// would never deliver it.
func TestMarkStopsBelowARetry(t *testing.T) {
	var k mark
	if got := k.advance(msgs(1, 2, 3), nil); got != 3 {
		t.Fatalf("chunk 1-3: %d, want 3", got)
	}
	if got := k.advance(msgs(4, 5, 6), msgs(5)); got != 4 {
		t.Fatalf("chunk 4-6 with 5 returned: %d, want 4", got)
	}
	if got := k.advance(msgs(7, 8), nil); got != 0 {
		t.Fatalf("chunk 7-8 while 5 waits: %d, want 0 (no move)", got)
	}
	if got := k.advance(msgs(5), nil); got != 5 {
		t.Fatalf("5 applied: %d, want 5 (not past what this chunk holds)", got)
	}
	if got := k.advance(msgs(9), nil); got != 9 {
		t.Fatalf("chunk 9: %d, want 9", got)
	}
	if got := k.advance(msgs(3, 4), nil); got != 0 {
		t.Fatalf("a replay below the watermark: %d, want 0 (never back)", got)
	}
}
