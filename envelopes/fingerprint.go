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

// fingerprint returns the SHA-256 of the canonical form of the message object msg, given
// the effective context. msg is valid JSON: it has been through encoding/json.
func fingerprint(msg []byte, contextID string) [32]byte {
	c := canonPool.Get().(*canonicalizer)
	defer canonPool.Put(c)
	c.in, c.pos, c.out, c.ctx = msg, 0, c.out[:0], contextID
	c.members = c.members[:0]
	if !c.value(0) {
		// Not reachable for JSON that encoding/json accepted; hash the bytes as they are
		// rather than fail the request.
		return sha256.Sum256(msg)
	}
	return sha256.Sum256(c.out)
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
}

// member locates one "key":value member of an object in out.
type member struct{ start, keyEnd, end int }

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
					c.out = c.out[:start] // a null contextId is an absent one
				} else {
					hasContext = true
					c.members = append(c.members, member{start, keyEnd, len(c.out)})
				}
			} else {
				c.members = append(c.members, member{start, keyEnd, len(c.out)})
			}
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
	}
	c.sortMembers(open, first)
	c.out = append(c.out, '}')
	return true
}

// sortMembers rewrites the members of the object opened at out[open] in key order, without
// repeated keys, and pops them off the stack.
func (c *canonicalizer) sortMembers(open, first int) {
	ms := c.members[first:]
	body := open + 1
	c.tmp = append(c.tmp[:0], c.out[body:]...)
	key := func(m member) []byte { return c.tmp[m.start-body : m.keyEnd-body] }
	slices.SortStableFunc(ms, func(a, b member) int { return bytes.Compare(key(a), key(b)) })
	c.out = c.out[:body]
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(key(m), key(ms[i+1])) {
			continue // the last of equal keys wins
		}
		if len(c.out) > body {
			c.out = append(c.out, ',')
		}
		c.out = append(c.out, c.tmp[m.start-body:m.end-body]...)
	}
	c.members = c.members[:first]
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
