package store

import "testing"

// Outbox counts what is left to publish and names its oldest and newest sequences, so
// that the worker can tell how long the oldest has waited.
func TestOutboxStats(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.Outbox(); err != nil || st != (OutboxStats{}) {
		t.Fatalf("empty outbox: %+v, %v", st, err)
	}
	b := s.NewBatch()
	var out []Outgoing
	for range 5 {
		out = append(out, b.Publish(Outgoing{Subject: "a2a.evt.demo.x", Data: []byte("{}")}))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(out[:2]); err != nil {
		t.Fatal(err)
	}
	st, err := s.Outbox()
	if err != nil {
		t.Fatal(err)
	}
	first, last := seqOf(out[2]), seqOf(out[4])
	if st.Messages != 3 || st.Oldest != first || st.Newest != last {
		t.Errorf("outbox = %+v, want 3 messages from %d to %d", st, first, last)
	}
}

func seqOf(m Outgoing) uint64 {
	var n uint64
	for _, c := range m.Key[1:] {
		n = n<<8 | uint64(c)
	}
	return n
}
