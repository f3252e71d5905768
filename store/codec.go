package store

import (
	"encoding/binary"
	"errors"
	"time"
)

// Records and outbox entries are written once per envelope or more, so they use a small
// binary framing rather than JSON (which would also base64 their byte fields):
//
//	record:  version(1)=1 | fingerprint(32) | seq(uvarint) | at unix nanos(varint) |
//	         flags(1: bit0 error) | code(uvarint len, bytes) | body(rest)
//	outbox:  version(1)=1 | flags(1: bit0 core, bit1 spliced) | subject(uvarint len, bytes) |
//	         headers: count(uvarint), then per name: name(len, bytes), values count,
//	         values(len, bytes)… | data(rest)
//	         spliced: data is prefix(len, bytes) record key(len, bytes) suffix(rest), and
//	         the message's data is the prefix, the record's body, the suffix

const codecVersion = 1

var errCorrupt = errors.New("store: corrupt entry")

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errCorrupt
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) string() string { return string(r.bytes(r.uvarint())) }

func (r *reader) byte1() byte {
	b := r.bytes(1)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// appendRecord appends rec's framing to b.
func appendRecord(b []byte, rec *Record) []byte {
	b = append(b, codecVersion)
	b = append(b, rec.Fingerprint[:]...)
	b = binary.AppendUvarint(b, rec.Seq)
	b = binary.AppendVarint(b, rec.At.UnixNano())
	var flags byte
	if rec.IsError {
		flags |= 1
	}
	b = append(b, flags)
	b = appendString(b, rec.Code)
	return append(b, rec.Body...)
}

func decodeRecord(v []byte) (*Record, error) {
	r := &reader{b: v}
	if r.byte1() != codecVersion {
		return nil, errCorrupt
	}
	rec := &Record{}
	copy(rec.Fingerprint[:], r.bytes(32))
	rec.Seq = r.uvarint()
	rec.At = time.Unix(0, r.varint()).UTC()
	rec.IsError = r.byte1()&1 != 0
	rec.Code = r.string()
	if r.err != nil {
		return nil, r.err
	}
	rec.Body = append([]byte(nil), r.b...)
	return rec, nil
}

// appendOutgoing appends m's framing to b.
func appendOutgoing(b []byte, m *Outgoing) []byte {
	b = append(b, codecVersion)
	var flags byte
	if m.Core {
		flags |= 1
	}
	if m.body != nil {
		flags |= 2
	}
	b = append(b, flags)
	b = appendString(b, m.Subject)
	b = binary.AppendUvarint(b, uint64(len(m.Header)))
	for k, vs := range m.Header {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	if m.body != nil {
		b = appendString(b, string(m.prefix))
		b = appendString(b, string(m.body.key))
		return append(b, m.suffix...)
	}
	return append(b, m.Data...)
}

// decodeOutgoing decodes an outbox entry; spliced reports that m.Data is still to be
// made from m.prefix, the body of the record under key, and m.suffix.
func decodeOutgoing(v []byte) (m Outgoing, key []byte, err error) {
	r := &reader{b: v}
	if r.byte1() != codecVersion {
		return Outgoing{}, nil, errCorrupt
	}
	flags := r.byte1()
	m = Outgoing{Core: flags&1 != 0}
	m.Subject = r.string()
	if n := r.uvarint(); n > 0 && r.err == nil {
		if n > uint64(len(r.b)) {
			return Outgoing{}, nil, errCorrupt
		}
		m.Header = make(map[string][]string, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			k := r.string()
			nv := r.uvarint()
			if nv > uint64(len(r.b)) {
				return Outgoing{}, nil, errCorrupt
			}
			vs := make([]string, 0, nv)
			for j := uint64(0); j < nv && r.err == nil; j++ {
				vs = append(vs, r.string())
			}
			m.Header[k] = vs
		}
	}
	if flags&2 != 0 {
		m.prefix = append([]byte(nil), r.bytes(r.uvarint())...)
		key = append([]byte(nil), r.bytes(r.uvarint())...)
		m.suffix = append([]byte(nil), r.b...)
		if r.err == nil && len(key) == 0 {
			r.err = errCorrupt
		}
	} else {
		m.Data = append([]byte(nil), r.b...)
	}
	if r.err != nil {
		return Outgoing{}, nil, r.err
	}
	return m, key, nil
}
