package envelopes

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"slices"
	"sync"
)

// The fingerprint identifies a message's content for idempotency (CONTRACT.md section 6.3):
// a retry with the same messageId must carry the same content, whatever its JSON-RPC id,
// whether it is wrapped in a JSON-RPC request or sent bare, and however its keys are ordered
// or spaced. It is the SHA-256 of a canonical form of the message object:
//
//   - object keys sorted (by their canonical encoding), a repeated key kept once, its last
//     value winning as it does for encoding/json;
//   - no white space between tokens;
//   - strings with the fewest escapes: only '"', '\' and control characters are escaped,
//     so "\u00e9" and "é" are the same string;
//   - numbers exactly as written: 1 and 1.0 differ, as money never has a fraction;
//   - the message's contextId set to the effective context when the message has none (or
//     null), so that a message that omits it and one that names the subject's context match.
//
// The canonical form keeps the case of keys, while encoding/json, which Decode and
// Normalize read the message with, takes a key that differs from a field's name only in
// case (under Unicode simple folding, so "ſ" is an "s") for that field and lets the last
// of them win: {"Quantity":7,"quantity":1} and {"quantity":1,"Quantity":7} have one
// canonical form but are read as 1 and 7. So the pass that canonicalizes also finds the
// objects that hold two keys equal under that folding (a repeated key among them), and
// Parse refuses such a message (duplicateKey says where). Its fingerprint is the canonical
// form's followed by a NUL byte, which no canonical form holds (control characters are
// escaped): a refused message never shares a fingerprint with an accepted one.

// fingerprint returns the SHA-256 of the canonical form of the message object msg, given
// the effective context, and whether some object of msg holds two keys that encoding/json
// takes for one. msg is valid JSON: it has been through encoding/json.
func fingerprint(msg []byte, contextID string) (sum [32]byte, dupKeys bool) {
	c := canonPool.Get().(*canonicalizer)
	defer canonPool.Put(c)
	c.in, c.pos, c.out, c.ctx, c.dup = msg, 0, c.out[:0], contextID, false
	c.members = c.members[:0]
	if !c.value(0) {
		// Not reachable for JSON that encoding/json accepted; hash the bytes as they are
		// rather than fail the request.
		return sha256.Sum256(msg), false
	}
	if c.dup {
		c.out = append(c.out, 0)
	}
	return sha256.Sum256(c.out), c.dup
}

var canonPool = sync.Pool{New: func() any { return new(canonicalizer) }}

type canonicalizer struct {
	in  []byte
	pos int
	out []byte
	ctx string
	// members is a stack of the members of the objects being written: each object pushes
	// its own and pops them when it is done.
	members []member
	tmp     []byte
	// dup is set once an object is found to hold two keys equal under folding;
	// folded and folds are scratch space for finding them.
	dup    bool
	folded []byte
	folds  []span
}

// member locates one "key":value member of an object in out.
type member struct{ start, keyEnd, end int }

// span is the range [start, end) of a buffer: a folded key in canonicalizer.folded, or a
// credential value Redact replaces.
type span struct{ start, end int }

func (c *canonicalizer) ws() {
	for c.pos < len(c.in) {
		switch c.in[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *canonicalizer) value(depth int) bool {
	c.ws()
	if c.pos >= len(c.in) {
		return false
	}
	switch b := c.in[c.pos]; b {
	case '{':
		return c.object(depth)
	case '[':
		return c.array(depth)
	case '"':
		return c.str()
	case 't':
		return c.literal("true")
	case 'f':
		return c.literal("false")
	case 'n':
		return c.literal("null")
	}
	start := c.pos
	for c.pos < len(c.in) {
		switch b := c.in[c.pos]; {
		case '0' <= b && b <= '9', b == '-', b == '+', b == '.', b == 'e', b == 'E':
			c.pos++
			continue
		}
		break
	}
	if c.pos == start {
		return false
	}
	c.out = append(c.out, c.in[start:c.pos]...)
	return true
}

func (c *canonicalizer) literal(lit string) bool {
	if !bytes.HasPrefix(c.in[c.pos:], []byte(lit)) {
		return false
	}
	c.pos += len(lit)
	c.out = append(c.out, lit...)
	return true
}

func (c *canonicalizer) array(depth int) bool {
	c.pos++ // [
	c.out = append(c.out, '[')
	c.ws()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		c.out = append(c.out, ']')
		return true
	}
	for {
		if !c.value(depth + 1) {
			return false
		}
		c.ws()
		if c.pos >= len(c.in) {
			return false
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			c.out = append(c.out, ',')
		case ']':
			c.pos++
			c.out = append(c.out, ']')
			return true
		default:
			return false
		}
	}
}

const contextKey = `"contextId"`

func (c *canonicalizer) object(depth int) bool {
	c.pos++ // {
	first := len(c.members)
	open := len(c.out)
	c.out = append(c.out, '{')
	hasContext := false
	// A null contextId of the message is dropped from the canonical form, but its key
	// still counts when looking for keys that repeat; the contextId added for the
	// effective context is written, but is no key of the message. Each is the member that
	// starts at that offset in out, if any.
	dropped, added := -1, -1
	// folding says whether some key has an upper-case letter or a non-ASCII character:
	// only then can two different keys be equal under folding.
	folding := foldNone
	c.ws()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
	} else {
		for {
			c.ws()
			start := len(c.out)
			if c.pos >= len(c.in) || c.in[c.pos] != '"' || !c.str() {
				return false
			}
			keyEnd := len(c.out)
			if folding != foldUnicode {
				folding = max(folding, foldingOf(c.out[start+1:keyEnd-1]))
			}
			c.ws()
			if c.pos >= len(c.in) || c.in[c.pos] != ':' {
				return false
			}
			c.pos++
			c.out = append(c.out, ':')
			if !c.value(depth + 1) {
				return false
			}
			if depth == 0 && string(c.out[start:keyEnd]) == contextKey {
				if string(c.out[keyEnd+1:]) == "null" {
					dropped = start // a null contextId is an absent one
				} else {
					hasContext = true
				}
			}
			c.members = append(c.members, member{start, keyEnd, len(c.out)})
			c.ws()
			if c.pos >= len(c.in) {
				return false
			}
			if c.in[c.pos] == ',' {
				c.pos++
				continue
			}
			if c.in[c.pos] != '}' {
				return false
			}
			c.pos++
			break
		}
	}
	if depth == 0 && !hasContext {
		start := len(c.out)
		c.out = append(c.out, contextKey...)
		keyEnd := len(c.out)
		c.out = append(c.out, ':')
		c.out = appendString(c.out, c.ctx)
		c.members = append(c.members, member{start, keyEnd, len(c.out)})
		added = start
	}
	c.sortMembers(open, first, folding, dropped, added)
	c.out = append(c.out, '}')
	return true
}

// sortMembers rewrites the members of the object opened at out[open] in key order, without
// repeated keys, and pops them off the stack. On the way it sets c.dup when two keys of
// the message are equal, or (when folding) equal under folding.
//
// INVARIANT: for an object without such keys (every message Parse accepts) the output is
// what it has always been, so that fingerprints kept in idempotency records still match.
func (c *canonicalizer) sortMembers(open, first int, folding foldLevel, dropped, added int) {
	ms := c.members[first:]
	body := open + 1
	c.tmp = append(c.tmp[:0], c.out[body:]...)
	key := func(m member) []byte { return c.tmp[m.start-body : m.keyEnd-body] }
	slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(key(a), key(b)) })
	if folding != foldNone && !c.dup {
		c.foldedDup(ms, key, folding, added)
	}
	c.out = c.out[:body]
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(key(m), key(ms[i+1])) {
			if m.start != added && ms[i+1].start != added {
				c.dup = true
			}
			continue // the last of equal keys wins
		}
		if m.start == dropped {
			continue
		}
		if len(c.out) > body {
			c.out = append(c.out, ',')
		}
		c.out = append(c.out, c.tmp[m.start-body:m.end-body]...)
	}
	c.members = c.members[:first]
}

// foldedDup sets c.dup when two of the message's keys among ms are equal under folding
// (appendFoldedKey). The keys are folded in their canonical encoding, which folds alike
// exactly the keys whose decoded strings fold alike: the escapes it writes are ASCII and
// keep their shape.
func (c *canonicalizer) foldedDup(ms []member, key func(member) []byte, folding foldLevel, added int) {
	if folding == foldASCII && len(ms) <= 16 {
		// The common case (messageId and contextId beside lower-case keys): ASCII keys
		// fold alike only if they are as long, and a few are compared faster than sorted.
		for i, a := range ms {
			for _, b := range ms[i+1:] {
				if a.start != added && b.start != added && asciiEqualFold(key(a), key(b)) {
					c.dup = true
					return
				}
			}
		}
		return
	}
	c.folded, c.folds = c.folded[:0], c.folds[:0]
	for _, m := range ms {
		if m.start == added {
			continue
		}
		start := len(c.folded)
		c.folded = appendFoldedKey(c.folded, key(m))
		c.folds = append(c.folds, span{start, len(c.folded)})
	}
	f := func(s span) []byte { return c.folded[s.start:s.end] }
	slices.SortFunc(c.folds, func(a, b span) int { return bytes.Compare(f(a), f(b)) })
	for i := 1; i < len(c.folds); i++ {
		if bytes.Equal(f(c.folds[i-1]), f(c.folds[i])) {
			c.dup = true
			return
		}
	}
}

// str writes the string at c.pos in canonical form.
func (c *canonicalizer) str() bool {
	start := c.pos
	i := start + 1
	escaped := false
	for ; i < len(c.in); i++ {
		switch c.in[i] {
		case '\\':
			escaped = true
			i++
			continue
		case '"':
		default:
			continue
		}
		break
	}
	if i >= len(c.in) {
		return false
	}
	c.pos = i + 1
	if !escaped {
		c.out = append(c.out, c.in[start:c.pos]...)
		return true
	}
	var s string
	if json.Unmarshal(c.in[start:c.pos], &s) != nil {
		return false
	}
	c.out = appendString(c.out, s)
	return true
}

// appendString appends s as a JSON string with the fewest escapes.
func appendString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b == '"' || b == '\\':
			out = append(out, '\\', b)
		case b < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
		default:
			out = append(out, b)
		}
	}
	return append(out, '"')
}
