package envelopes

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// The hand-written encoders of the resources, replies, events and errors. They write
// straight from the domain's values, with no wire struct in between, the bytes
// encoding/json writes for the wire structs (Checkout, Order, Event, AgentMessage,
// RPCError and what they hold) as the reference builders fill them (checkoutWire,
// orderWire, in wire_reference_test.go): the same field order, the same fields left out
// (omitempty), the same escapes (<, > and & too, U+2028 and U+2029, invalid UTF-8 as
// U+FFFD) and numbers. encode_diff_test.go holds them to that, byte for byte, on random
// checkouts and orders (and FuzzEncoders on the fuzzer's strings). A change of a wire
// struct is a change here and in the reference builders. Only the payment handlers, a
// map with free-form config, are left to encoding/json.
//
// This file holds the JSON primitives and the error body; encode_checkout.go and
// encode_order.go the resources; resources.go the replies and events around them.

// encSafe[b] reports whether the ASCII byte b goes into a JSON string as it is:
// encoding/json's htmlSafeSet (it escapes <, > and & by default).
var encSafe = func() (t [utf8.RuneSelf]bool) {
	for b := ' '; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = false, false, false, false, false
	return t
}()

const encHex = "0123456789abcdef"

// encString appends s as a JSON string, quoted.
func encString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = encStringBody(dst, s)
	return append(dst, '"')
}

// encStringBody appends s as encoding/json writes it between the quotes: control
// characters, quotes, backslashes, <, > and & escaped, U+2028 and U+2029 escaped, and each
// byte of invalid UTF-8 replaced by \ufffd.
func encStringBody(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if encSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', encHex[b>>4], encHex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', encHex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// encTimestamp appends t quoted, as RFC 3339 in UTC with as many fractional digits as it
// has; "" for the zero time. Nothing in it needs an escape.
func encTimestamp(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	if !t.IsZero() {
		dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	}
	return append(dst, '"')
}

// encField appends the comma before a field of the object opened at dst[open] (its '{'),
// unless the field is the first, then the field's quoted name and colon, given as
// `"name":`.
func encField(dst []byte, open int, name string) []byte {
	if len(dst) > open+1 {
		dst = append(dst, ',')
	}
	return append(dst, name...)
}

// encOptString appends the field name: s unless s is "" (omitempty).
func encOptString(dst []byte, open int, name, s string) []byte {
	if s == "" {
		return dst
	}
	return encString(encField(dst, open, name), s)
}

// encNextString appends the field name: s, name given with its leading comma, unless s is
// "" (omitempty).
func encNextString(dst []byte, name, s string) []byte {
	if s == "" {
		return dst
	}
	return encString(append(dst, name...), s)
}

// encOptBool appends the field name: *b unless b is nil (omitempty).
func encOptBool(dst []byte, open int, name string, b *bool) []byte {
	if b == nil {
		return dst
	}
	return strconv.AppendBool(encField(dst, open, name), *b)
}

// encErrorBody appends the RPCError of ErrorBody.
func encErrorBody(dst []byte, rpcCode int, code, msg, path, messageID string) []byte {
	dst = strconv.AppendInt(append(dst, `{"code":`...), int64(rpcCode), 10)
	dst = encString(append(dst, `,"message":`...), msg)
	dst = encString(append(dst, `,"data":{"code":`...), code)
	if path != "" {
		dst = encString(append(dst, `,"path":`...), path)
	}
	if messageID != "" {
		dst = encString(append(dst, `,"messageId":`...), messageID)
	}
	return append(dst, "}}"...)
}

// encPaymentHandlers encodes ph as the ucp.payment_handlers of a checkout; nil when
// the field is left out (no handlers). The handlers' config is free-form: encoding/json
// writes it.
func encPaymentHandlers(ph PaymentHandlers) []byte {
	if len(ph) == 0 {
		return nil
	}
	b, err := json.Marshal(ph)
	if err != nil {
		panic("envelopes: encoding payment handlers: " + err.Error())
	}
	return b
}
