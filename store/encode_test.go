package store

import "github.com/cartwright-dev/cartwright/commerce"

// The tests encode single values; the store appends into a batch's scratch buffer.

func encodeRecord(rec *Record) []byte      { return appendRecord(nil, rec) }
func encodeOutgoing(m *Outgoing) []byte    { return appendOutgoing(nil, m) }
func encodeState(st commerce.State) []byte { return appendState(nil, st) }
