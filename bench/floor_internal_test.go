package bench

import "testing"

// TestEnvelopeMessageID: the skeleton names each reply after its envelope's messageId, as
// the worker does, and keys the envelope's idempotency record by it.
func TestEnvelopeMessageID(t *testing.T) {
	m := newBenchMix("a2a", "demo", 'k', 4, [3]string{"a", "b", "c"})
	for i, cs := range m.all() {
		if got, want := envelopeMessageID(m.envelope(i, cs[0], cs[1])), m.messageID(i); got != want {
			t.Fatalf("envelope %d: messageId %q, want %q", i, got, want)
		}
	}
	for _, data := range []string{``, `{"messageId":`, `{"messageId":"unterminated`, `{"id":"x"}`} {
		if got := envelopeMessageID([]byte(data)); got != "" {
			t.Errorf("%q: messageId %q, want none", data, got)
		}
	}
}
