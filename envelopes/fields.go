package envelopes

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/cartwright-dev/cartwright/commerce"
)

// The helpers below check one leaf of a decoded tree (see locate.go): a json.RawMessage
// that they type-check themselves, so that each refusal carries the exact JSONPath of the
// field, money and quantities are refused as floats, and a field that the command does not
// read is ignored like any unknown field whatever its type. The path of a field is only
// built when there is an error to report.

// isNull reports whether a field is absent or JSON null: both mean "not given".
func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

func join(path, name string) string { return path + "." + name }

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// rawString returns the string that raw holds, and whether raw is a JSON string.
func rawString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// optString reads an optional string field (absent and null give "").
func optString(raw json.RawMessage, path, name string, lim Limits) (string, error) {
	return boundedString(raw, path, name, lim.MaxStringBytes)
}

// reqString reads a required, non-empty string field.
func reqString(raw json.RawMessage, path, name string, lim Limits) (string, error) {
	if isNull(raw) {
		return "", commerce.Invalid(join(path, name), "%s is required", name)
	}
	s, err := optString(raw, path, name, lim)
	if err == nil && s == "" {
		return "", commerce.Invalid(join(path, name), "%s must not be empty", name)
	}
	return s, err
}

// elemString reads element i of the array at path at: a required, non-empty string.
func elemString(raw json.RawMessage, at string, i int, what string, lim Limits) (string, error) {
	s, ok := rawString(raw)
	switch {
	case !ok:
		return "", commerce.Invalid(index(at, i), "%s must be a string", what)
	case s == "":
		return "", commerce.Invalid(index(at, i), "%s must not be empty", what)
	case len(s) > lim.MaxStringBytes:
		return "", commerce.Invalid(index(at, i), "%s is longer than %d bytes", what, lim.MaxStringBytes)
	case hasControl(s):
		return "", commerce.Invalid(index(at, i), "%s must not hold control characters", what)
	}
	return s, nil
}

func boundedString(raw json.RawMessage, path, name string, max int) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	s, ok := rawString(raw)
	if !ok {
		return "", commerce.Invalid(join(path, name), "%s must be a string", name)
	}
	if len(s) > max {
		return "", commerce.Invalid(join(path, name), "%s is longer than %d bytes", name, max)
	}
	if hasControl(s) {
		return "", commerce.Invalid(join(path, name), "%s must not hold control characters", name)
	}
	return s, nil
}

// hasControl reports whether s holds a control character (Unicode Cc: C0, which includes
// tab and line breaks, DEL and C1). Every string a command reads names something (an id,
// a code, a token, an email, a name, a line of an address): none has a use for one, and a
// NUL or an escape sequence in it only waits to confuse a log, a terminal or a provider.
//
// REQUIRES: s is valid UTF-8 (rawString makes it so), so a C1 control is 0xC2 0x80-0x9F.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20, c == 0x7f:
			return true
		case c == 0xc2 && i+1 < len(s) && s[i+1] <= 0x9f:
			return true
		}
	}
	return false
}

// optBool reads an optional boolean field.
func optBool(raw json.RawMessage, path, name string) (bool, error) {
	switch string(raw) {
	case "", "null", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, commerce.Invalid(join(path, name), "%s must be a boolean", name)
}

// reqInt reads a required integer field in [min, max]. Money and quantities are integers:
// a number with a fraction or an exponent is refused, even 2.0.
func reqInt(raw json.RawMessage, path, name string, min, max int64) (int64, error) {
	if isNull(raw) {
		return 0, commerce.Invalid(join(path, name), "%s is required", name)
	}
	n, ok, isNum := rawInt(raw)
	if !isNum {
		return 0, commerce.Invalid(join(path, name), "%s must be an integer", name)
	}
	if !ok || n < min || n > max {
		return 0, rangeError(path, name, min, max)
	}
	return n, nil
}

func rangeError(path, name string, min, max int64) error {
	if max == maxInt64 {
		if min == 1 {
			return commerce.Invalid(join(path, name), "%s must be a positive integer", name)
		}
		return commerce.Invalid(join(path, name), "%s must be at least %d", name, min)
	}
	return commerce.Invalid(join(path, name), "%s must be between %d and %d", name, min, max)
}

const maxInt64 = 1<<63 - 1

// rawInt parses raw as a JSON integer. isNum is false when raw is not an integer literal
// (a string, a fraction, an exponent); ok is false when it is one but overflows int64.
func rawInt(raw json.RawMessage) (n int64, ok, isNum bool) {
	b := []byte(raw)
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false, false
	}
	var u uint64
	overflow := false
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false, false
		}
		if overflow || u > (1<<63)/10 {
			overflow = true // u*10 alone is past every int64
			continue
		}
		u = u*10 + uint64(c-'0')
		overflow = u > 1<<63
	}
	switch {
	case overflow:
		return 0, false, true
	case neg && u <= 1<<63:
		return int64(-u), true, true // -u wraps to the right value, 1<<63 included
	case !neg && u <= maxInt64:
		return int64(u), true, true
	}
	return 0, false, true
}

// decodeObject decodes the JSON object raw into v, a struct of json.RawMessage fields,
// which cannot fail for any object: so anything else is "must be an object".
func decodeObject(raw json.RawMessage, v any, path, name string) error {
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, v) != nil {
		return commerce.Invalid(path, "%s must be an object", name)
	}
	return nil
}

func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	}
	return "of another type"
}

// malformed is an error about an envelope that cannot be read as one.
func malformed(code, format string, args ...any) *commerce.Error {
	return commerce.E(commerce.KindMalformed, code, format, args...)
}

// refused is a KindInvalid error other than invalid_params, about the field at path.
func refused(code, path, format string, args ...any) *commerce.Error {
	e := commerce.E(commerce.KindInvalid, code, format, args...)
	e.Path = path
	return e
}

// clip shortens a sender's string for an error message.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
