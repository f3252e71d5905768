package envelopes

// A scanner reads the envelope's JSON in one pass, without reflection, for the envelopes
// that are what they should be. It accepts a subset of what encoding/json accepts and
// reads it as encoding/json would; for everything else (a syntax error, a repeated field,
// a key that matches a field only without regard to case, a value of the wrong type, any
// envelope Decode refuses) it gives up, and Decode reads the envelope with encoding/json
// as it always has (decodeSlow). So the scanner only has to be right about what it
// accepts, and only quick there:
//
//   - it accepts only JSON that encoding/json accepts (strings without raw control
//     characters and with valid escapes, numbers of JSON's grammar, nothing after the
//     value), nested at most maxScanDepth deep;
//   - at the levels whose fields Decode reads (the envelope, params, the message, its
//     parts and metadata) a key is either one of the fields, spelled exactly and given
//     once, or a key of plain ASCII that no field's name equals without regard to case;
//   - each field's value is handed to what encoding/json would have handed it: the raw
//     value to jsonString.UnmarshalJSON, the raw bytes to a json.RawMessage (which here
//     shares them rather than copying them; only the JSON-RPC id, which Parse returns,
//     is copied).

// maxScanDepth bounds the nesting the scanner follows; deeper JSON goes to encoding/json,
// whose own bound (10000) it stays well inside of.
const maxScanDepth = 1000

type scanner struct {
	in  []byte
	pos int
}

func (s *scanner) ws() {
	for s.pos < len(s.in) {
		switch s.in[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// next skips white space and returns the byte there, or 0 at the end.
func (s *scanner) next() byte {
	s.ws()
	if s.pos < len(s.in) {
		return s.in[s.pos]
	}
	return 0
}

// str reads the string at s.pos (an opening quote) and returns the bytes between the
// quotes, and whether they hold an escape. ok is false for a string encoding/json refuses:
// unterminated, with a control character, or with an escape it does not know.
func (s *scanner) str() (inner []byte, escaped, ok bool) {
	start := s.pos + 1
	for i := start; i < len(s.in); i++ {
		switch c := s.in[i]; {
		case c == '"':
			s.pos = i + 1
			return s.in[start:i], escaped, true
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			escaped = true
			i++
			if i >= len(s.in) {
				return nil, false, false
			}
			switch s.in[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s.in) {
					return nil, false, false
				}
				for _, h := range s.in[i+1 : i+5] {
					if !isHex(h) {
						return nil, false, false
					}
				}
				i += 4
			default:
				return nil, false, false
			}
		}
	}
	return nil, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number reads a number of JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	in, i := s.in, s.pos
	if i < len(in) && in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && '1' <= in[i] && in[i] <= '9':
		for i++; i < len(in) && isDigit(in[i]); i++ {
		}
	default:
		return false
	}
	if i < len(in) && in[i] == '.' {
		i++
		if i >= len(in) || !isDigit(in[i]) {
			return false
		}
		for ; i < len(in) && isDigit(in[i]); i++ {
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		if i >= len(in) || !isDigit(in[i]) {
			return false
		}
		for ; i < len(in) && isDigit(in[i]); i++ {
		}
	}
	s.pos = i
	return true
}

func (s *scanner) literal(lit string) bool {
	if len(s.in)-s.pos < len(lit) || string(s.in[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

// value reads any value at depth (the number of containers around it) and returns its
// raw bytes.
func (s *scanner) value(depth int) ([]byte, bool) {
	c := s.next()
	start := s.pos
	var ok bool
	switch c {
	case '{':
		ok = s.skipObject(depth + 1)
	case '[':
		ok = s.skipArray(depth + 1)
	case '"':
		_, _, ok = s.str()
	case 't':
		ok = s.literal("true")
	case 'f':
		ok = s.literal("false")
	case 'n':
		ok = s.literal("null")
	default:
		ok = s.number()
	}
	if !ok {
		return nil, false
	}
	return s.in[start:s.pos], true
}

// skipObject reads the object at s.pos, at depth, whatever its keys.
func (s *scanner) skipObject(depth int) bool {
	if depth > maxScanDepth {
		return false
	}
	s.pos++ // {
	if s.next() == '}' {
		s.pos++
		return true
	}
	for {
		if s.next() != '"' {
			return false
		}
		if _, _, ok := s.str(); !ok || !s.colon() {
			return false
		}
		if _, ok := s.value(depth); !ok {
			return false
		}
		switch s.next() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

func (s *scanner) skipArray(depth int) bool {
	if depth > maxScanDepth {
		return false
	}
	s.pos++ // [
	if s.next() == ']' {
		s.pos++
		return true
	}
	for {
		if _, ok := s.value(depth); !ok {
			return false
		}
		switch s.next() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return true
		default:
			return false
		}
	}
}

func (s *scanner) colon() bool {
	if s.next() != ':' {
		return false
	}
	s.pos++
	return true
}

// members reads the object at s.pos, at depth, calling member for each key with the
// scanner at its value; member reads the value and reports whether to go on. A key that
// is not plain (escaped, or not ASCII) stops the scan: no field is matched by such a key
// on the fast path.
func (s *scanner) members(depth int, member func(key []byte) bool) bool {
	if depth > maxScanDepth || s.next() != '{' {
		return false
	}
	s.pos++
	if s.next() == '}' {
		s.pos++
		return true
	}
	for {
		if s.next() != '"' {
			return false
		}
		key, escaped, ok := s.str()
		if !ok || escaped || !s.colon() || !member(key) {
			return false
		}
		switch s.next() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// otherKey reports whether key, which matched none of names exactly, is surely no other
// spelling of one of them to encoding/json: plain ASCII that equals none of them without
// regard to case. (encoding/json also folds "ſ" to "s" and the Kelvin sign to "k": a key
// with any non-ASCII byte is not taken.)
func otherKey(key []byte, names ...string) bool {
	for _, c := range key {
		if c >= 0x80 {
			return false
		}
	}
	for _, n := range names {
		if len(key) == len(n) && asciiEqualFold(key, []byte(n)) {
			return false
		}
	}
	return true
}

// other skips the value of key, a member that matched none of names exactly, and reports
// false when key may be one of them in another case (see otherKey) or the value is bad.
func (s *scanner) other(depth int, key []byte, names ...string) bool {
	if !otherKey(key, names...) {
		return false
	}
	_, ok := s.value(depth)
	return ok
}

// once reads a member's value into *dst, and reports false when the member repeats (it was
// read already) or the value is bad.
func (s *scanner) once(depth int, dst *[]byte) bool {
	if *dst != nil {
		return false
	}
	v, ok := s.value(depth)
	*dst = v
	return ok
}

// scanMessage is what the scanner read of a message's fields (or, for the envelope's top
// level, of the fields a bare message has): the raw values, nil when absent.
type scanMessage struct {
	kind, typ, role, messageID, contextID []byte
	metadata                              bool // an object, not null
	tenant                                []byte
	partsSet                              bool // parts is present and not null
	parts                                 []Part
}

var messageFields = []string{"kind", "type", "role", "messageId", "contextId", "parts", "metadata"}

// field reads the value of the message field key, and reports false when the scan must
// give up: key repeats a field, or its value is not of the field's type.
func (m *scanMessage) field(s *scanner, depth int, key []byte) (known, ok bool) {
	var dst *[]byte
	switch string(key) {
	case "kind":
		dst = &m.kind
	case "type":
		dst = &m.typ
	case "role":
		dst = &m.role
	case "messageId":
		dst = &m.messageID
	case "contextId":
		dst = &m.contextID
	case "parts":
		if m.partsSet || m.parts != nil {
			return true, false
		}
		if s.next() == 'n' {
			return true, false // null parts: let encoding/json say what it means
		}
		m.partsSet = true
		m.parts = make([]Part, 0, 2)
		return true, s.readParts(depth, &m.parts)
	case "metadata":
		if m.metadata || s.next() != '{' {
			return true, false
		}
		m.metadata = true
		return true, s.members(depth+1, func(key []byte) bool {
			if string(key) == "tenant" {
				return s.once(depth+1, &m.tenant)
			}
			return s.other(depth+1, key, "tenant")
		})
	default:
		return false, true
	}
	return true, s.once(depth, dst)
}

// readParts reads the parts array at s.pos: objects, each with a kind (or type) and data.
func (s *scanner) readParts(depth int, parts *[]Part) bool {
	depth++
	if depth > maxScanDepth || s.next() != '[' {
		return false
	}
	s.pos++
	if s.next() == ']' {
		s.pos++
		return true
	}
	for {
		var kind, typ, data []byte
		ok := s.members(depth+1, func(key []byte) bool {
			var dst *[]byte
			switch string(key) {
			case "kind":
				dst = &kind
			case "type":
				dst = &typ
			case "data":
				dst = &data
			default:
				return s.other(depth+1, key, "kind", "type", "data")
			}
			return s.once(depth+1, dst)
		})
		if !ok {
			return false
		}
		k := kindOf(stringField(kind), stringField(typ))
		if k.Bad {
			return false
		}
		*parts = append(*parts, Part{Kind: k.S, Data: data})
		switch s.next() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// stringField is what encoding/json makes of the raw value of a jsonString field (nil
// when absent).
func stringField(raw []byte) jsonString {
	var s jsonString
	if raw != nil {
		_ = s.UnmarshalJSON(raw)
	}
	return s
}

// scanEnvelope is what the scanner read of an envelope.
type scanEnvelope struct {
	top                 scanMessage // the top level's message fields, for a bare message
	jsonrpc, id, method []byte
	params              bool
	message             []byte // params.message, an object
	msg                 scanMessage
}

var envelopeFields = []string{"jsonrpc", "id", "method", "params",
	"kind", "type", "role", "messageId", "contextId", "parts", "metadata"}

// scan reads raw, an envelope whose first byte is '{', and reports whether it could.
func (e *scanEnvelope) scan(raw []byte) bool {
	s := scanner{in: raw}
	ok := s.members(1, func(key []byte) bool {
		var dst *[]byte
		switch string(key) {
		case "jsonrpc":
			dst = &e.jsonrpc
		case "id":
			dst = &e.id
		case "method":
			dst = &e.method
		case "params":
			if e.params || s.next() != '{' {
				return false
			}
			e.params = true
			return s.members(2, func(key []byte) bool {
				if string(key) != "message" {
					return s.other(2, key, "message")
				}
				if e.message != nil || s.next() != '{' {
					return false
				}
				start := s.pos
				ok := s.members(3, func(key []byte) bool {
					if known, ok := e.msg.field(&s, 3, key); known {
						return ok
					}
					return s.other(3, key, messageFields...)
				})
				e.message = raw[start:s.pos]
				return ok
			})
		default:
			if known, ok := e.top.field(&s, 1, key); known {
				return ok
			}
			return s.other(1, key, envelopeFields...)
		}
		return s.once(1, dst)
	})
	s.ws()
	return ok && s.pos == len(raw)
}
