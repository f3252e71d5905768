package store

import "testing"

// TestSeqRecordsSetGivesUpWhenFull: past its bound the set stops answering from memory
// (every sequence may have a record, and the store is read), and frees what it held.
func TestSeqRecordsSetGivesUpWhenFull(t *testing.T) {
	var s seqRecords
	for seq := range uint64(maxSeqRecordsKnown) {
		s.add(seq)
	}
	if s.full || !s.mayHave(3) || s.mayHave(maxSeqRecordsKnown+5) {
		t.Fatalf("at the bound: full %v, 3 %v, past it %v", s.full, s.mayHave(3), s.mayHave(maxSeqRecordsKnown+5))
	}
	s.remove(3)
	if s.mayHave(3) {
		t.Fatal("a removed sequence is still named")
	}
	s.add(maxSeqRecordsKnown + 1)
	s.add(3)
	if !s.full || s.m != nil || !s.mayHave(maxSeqRecordsKnown+5) {
		t.Fatalf("past the bound: full %v, %d held, an unknown sequence %v", s.full, len(s.m), s.mayHave(maxSeqRecordsKnown+5))
	}
	if k, ok := seqOfKey(seqKey(1 << 40)); !ok || k != 1<<40 {
		t.Fatalf("seqOfKey(seqKey(2^40)) = %d, %v", k, ok)
	}
	for _, k := range [][]byte{idemKey("demo", "12345678"), nil, {tagSeq}} {
		if _, ok := seqOfKey(k); ok {
			t.Errorf("%q read as a sequence record's key", k)
		}
	}
}
