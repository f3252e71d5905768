package envelopes

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// RedactionMarker takes the place of a credential value in a dead letter (CONTRACT.md
// section 8). It is a JSON string, so that a redacted request still parses and its
// replay can be answered: see RedactedPath.
const RedactionMarker = "[redacted]"

var quotedMarker = []byte(`"` + RedactionMarker + `"`)

// Redact returns raw with every credential value it can find replaced by RedactionMarker,
// and whether it replaced any. raw is left as it is.
//
// When raw is JSON, what is replaced is: every member value of an object under a
// `credential` or `ap2` key (the whole value when it is not an object), every
// `checkout_mandate` value, and every `token` value below a key naming a payment
// (`payment`, `a2a.ucp.checkout.payment`, `instruments`). Keys are matched without regard
// to case, and after unescaping, as encoding/json matches them when the request is
// decoded. Nothing else changes: key order, white space and the other values stay byte
// for byte.
//
// When raw is not JSON (a parse_error dead letter), Redact cannot know what is a key, so
// it is conservative: after each of the names above and `mandate`, wherever it appears
// and whatever case, followed by a colon, the value is replaced: a string up to its
// closing quote, an object or array up to its matching bracket, anything else up to the
// next `,`, `}`, `]` or line end; a value that does not end is replaced up to the end
// of raw. Anything shaped like a JWT (`eyJ…` in three dot-separated base64url parts) is
// replaced wherever it is. What survives is what no credential was found in.
func Redact(raw []byte) ([]byte, bool) {
	var spans []span
	if json.Valid(raw) {
		w := walker{src: raw}
		w.value(skipSpace(raw, 0), false, false)
		spans = w.spans
	} else {
		spans = lexicalSpans(raw)
	}
	if len(spans) == 0 {
		return raw, false
	}
	return replace(raw, spans), true
}

// RedactedPath returns the JSONPath in raw (JSON) of the first credential Redact replaced:
// the credential object or the mandate that holds RedactionMarker. It is "$" when raw
// holds no marker where a credential belongs.
func RedactedPath(raw []byte) string {
	if !json.Valid(raw) {
		return "$"
	}
	w := walker{src: raw, findMarker: true}
	w.value(skipSpace(raw, 0), false, false)
	if w.found == nil {
		return "$"
	}
	return jsonPath(w.found)
}

// walker walks JSON that json.Valid accepted, noting the spans of credential values.
type walker struct {
	src   []byte
	spans []span
	// path is the keys and indices down to the current value, kept only when looking
	// for a marker.
	path       []string
	findMarker bool
	found      []string // the path of the first redacted credential, when findMarker
}

// value walks the value that starts at i and returns where it ends. inPayment says a key
// naming a payment is above it; secret that every member of this object is a credential
// value (the object is a credential or an ap2 object).
func (w *walker) value(i int, inPayment, secret bool) int {
	switch w.src[i] {
	case '{':
		return w.object(i, inPayment, secret)
	case '[':
		i = skipSpace(w.src, i+1)
		n := 0
		for w.src[i] != ']' {
			w.push("[" + strconv.Itoa(n) + "]")
			i = skipSpace(w.src, w.value(i, inPayment, false))
			w.pop()
			n++
			if w.src[i] == ',' {
				i = skipSpace(w.src, i+1)
			}
		}
		return i + 1
	case '"':
		return stringEnd(w.src, i)
	default:
		j := i
		for j < len(w.src) && !bytes.ContainsRune([]byte(",}] \t\r\n"), rune(w.src[j])) {
			j++
		}
		return j
	}
}

func (w *walker) object(i int, inPayment, secret bool) int {
	i = skipSpace(w.src, i+1)
	for w.src[i] != '}' {
		kEnd := stringEnd(w.src, i)
		key := decodeKey(w.src[i:kEnd])
		v := skipSpace(w.src, skipSpace(w.src, kEnd)+1) // past the colon
		w.push(key)
		var end int
		lk := strings.ToLower(key)
		switch {
		case secret || lk == "checkout_mandate" || (lk == "token" && inPayment):
			end = w.secret(v)
		case lk == "credential" || lk == "ap2":
			if w.src[v] == '{' {
				end = w.object(v, inPayment, true)
			} else {
				end = w.secret(v)
			}
		default:
			end = w.value(v, inPayment || strings.Contains(lk, "payment") || lk == "instruments", false)
		}
		w.pop()
		i = skipSpace(w.src, end)
		if w.src[i] == ',' {
			i = skipSpace(w.src, i+1)
		}
	}
	return i + 1
}

// secret notes the value at i as a credential value and returns where it ends. A null
// hides nothing and stays.
func (w *walker) secret(i int) int {
	end := w.value(i, false, false)
	v := w.src[i:end]
	if bytes.Equal(v, []byte("null")) {
		return end
	}
	if w.findMarker {
		if w.found == nil && bytes.Equal(v, quotedMarker) {
			w.found = slices.Clone(w.path)
			// Point at the credential, not at one of its fields.
			if n := len(w.found); n >= 2 && strings.EqualFold(w.found[n-2], "credential") {
				w.found = w.found[:n-1]
			}
		}
		return end
	}
	w.spans = append(w.spans, span{i, end})
	return end
}

func (w *walker) push(seg string) {
	if w.findMarker {
		w.path = append(w.path, seg)
	}
}

func (w *walker) pop() {
	if w.findMarker {
		w.path = w.path[:len(w.path)-1]
	}
}

// jsonPath writes segments as this package writes paths: .key, ['odd.key'], [i].
func jsonPath(segs []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range segs {
		switch {
		case strings.HasPrefix(s, "["):
			b.WriteString(s)
		case plainKey(s):
			b.WriteString("." + s)
		default:
			b.WriteString("['" + strings.ReplaceAll(s, "'", `\'`) + "']")
		}
	}
	return b.String()
}

func plainKey(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// decodeKey returns the key the quoted JSON string q names, unescaped.
func decodeKey(q []byte) string {
	if bytes.IndexByte(q, '\\') < 0 {
		return string(q[1 : len(q)-1])
	}
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(q)
	}
	return s
}

// stringEnd returns the index just past the string whose opening quote is at i, or
// len(src) when it does not end.
func stringEnd(src []byte, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(src)
}

func skipSpace(src []byte, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\r' || src[i] == '\n') {
		i++
	}
	return i
}

// lexicalNames are the names after which a value is replaced in bytes that are not JSON.
var lexicalNames = [][]byte{[]byte("credential"), []byte("token"), []byte("ap2"), []byte("checkout_mandate"), []byte("mandate")}

// lexicalSpans finds credential values in bytes that are not JSON (see Redact).
func lexicalSpans(src []byte) []span {
	var spans []span
	// ASCII only: bytes.ToLower would change the length of bytes that are not UTF-8.
	lower := make([]byte, len(src))
	for i, c := range src {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	for _, name := range lexicalNames {
		// reach is where the last value replaced after this name ends: a name inside it
		// is replaced already, and skipping it keeps the scan linear whatever the bytes.
		reach := 0
		for from := 0; ; {
			k := bytes.Index(lower[from:], name)
			if k < 0 {
				break
			}
			at := from + k + len(name)
			from = from + k + 1
			if from-1 < reach {
				continue
			}
			i := at
			if i < len(src) && (src[i] == '"' || src[i] == '\'') {
				i++
			}
			i = skipSpace(src, i)
			if i >= len(src) || src[i] != ':' {
				continue
			}
			v := skipSpace(src, i+1)
			if v >= len(src) {
				continue
			}
			end := lexicalEnd(src, v)
			if bytes.Equal(src[v:end], []byte("null")) {
				continue
			}
			spans = append(spans, span{v, end})
			reach = end
		}
	}
	for from := 0; ; {
		k := bytes.Index(src[from:], []byte("eyJ"))
		if k < 0 {
			break
		}
		start := from + k
		end, dots := start, 0
		for end < len(src) && (isBase64URL(src[end]) || src[end] == '.') {
			if src[end] == '.' {
				dots++
			}
			end++
		}
		if dots >= 2 {
			spans = append(spans, span{start, end})
		}
		from = max(end, start+1)
	}
	return spans
}

// lexicalEnd returns where the value starting at v ends, as well as can be told in bytes
// that are not JSON; len(src) when it does not end.
func lexicalEnd(src []byte, v int) int {
	switch src[v] {
	case '"':
		return stringEnd(src, v)
	case '\'':
		if j := bytes.IndexByte(src[v+1:], '\''); j >= 0 {
			return v + 1 + j + 1
		}
		return len(src)
	case '{', '[':
		depth := 0
		for j := v; j < len(src); j++ {
			switch src[j] {
			case '"':
				j = stringEnd(src, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(src)
	default:
		j := v
		for j < len(src) && !bytes.ContainsRune([]byte(",}]\r\n"), rune(src[j])) {
			j++
		}
		return j
	}
}

func isBase64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// replace returns src with each span (merged where they overlap) replaced by the quoted
// marker.
func replace(src []byte, spans []span) []byte {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	out := make([]byte, 0, len(src))
	last := 0
	for i := 0; i < len(spans); {
		s := spans[i]
		for i++; i < len(spans) && spans[i].start < s.end; i++ {
			s.end = max(s.end, spans[i].end)
		}
		out = append(out, src[last:s.start]...)
		out = append(out, quotedMarker...)
		last = s.end
	}
	return append(out, src[last:]...)
}
