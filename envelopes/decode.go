package envelopes

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Envelope is a request envelope as Decode read it: its form, its JSON-RPC id and the A2A
// message, not yet checked against the subject it arrived on.
type Envelope struct {
	JSONRPC bool            // false for a bare A2A message
	ID      json.RawMessage // the JSON-RPC id as sent (a string or an integer); nil when absent or null
	Method  string          // the JSON-RPC method; "" for a bare message

	MessageID string  // valid whenever Decode did not fail before it (see Parse)
	Kind      string  // the message's kind, or its alias type
	Role      string  // "" when absent
	ContextID *string // nil when absent
	Tenant    *string // metadata.tenant; nil when absent
	Parts     []Part

	// DataPart is the index in Parts of the part that carries the command, and Data its
	// data object. Validate sets them; DataPart is -1 before.
	DataPart int
	Data     json.RawMessage
	// PaymentPart and PaymentData are the second data part of UCP's A2A completion, which
	// carries a2a.ucp.checkout.payment beside a part {"action":"complete_checkout"}.
	// Validate sets them; PaymentPart is -1 when the message has one data part.
	PaymentPart int
	PaymentData json.RawMessage

	// Message is the A2A message object as sent. It shares the bytes given to Decode, as
	// the parts' Data do (they are copies only when encoding/json read the envelope, see
	// scan.go): those bytes must not change while the envelope is in use.
	Message json.RawMessage

	base string // JSONPath of the message: "$.params.message", or "$" for a bare message
}

// Part is a part of the message as sent: its kind (or its alias type; "" when it has
// neither) and, when it has one, its data.
type Part struct {
	Kind string
	Data json.RawMessage
}

// Path returns the JSONPath of the message in the envelope: "$.params.message", or "$"
// for a bare message.
func (e *Envelope) Path() string { return e.base }

// inEnvelope is the top level of any envelope: the JSON-RPC fields, and the fields by which
// a bare message is recognized.
type inEnvelope struct {
	JSONRPC   jsonString      `json:"jsonrpc"`
	ID        json.RawMessage `json:"id"`
	Method    jsonString      `json:"method"`
	Params    *inParams       `json:"params"`
	Kind      jsonString      `json:"kind"`
	Type      jsonString      `json:"type"`
	MessageID present         `json:"messageId"`
	Parts     present         `json:"parts"`
}

type inParams struct {
	Message json.RawMessage `json:"message"`
}

// present records that a field is there (and not null) without copying its value.
type present bool

func (p *present) UnmarshalJSON(b []byte) error {
	*p = string(b) != "null"
	return nil
}

// inMessage is an A2A message. Only parts and metadata can make encoding/json report a
// type error; the strings report theirs through jsonString.
type inMessage struct {
	Kind      jsonString  `json:"kind"`
	Type      jsonString  `json:"type"`
	Role      jsonString  `json:"role"`
	MessageID jsonString  `json:"messageId"`
	ContextID jsonString  `json:"contextId"`
	Parts     []inPart    `json:"parts"`
	Metadata  *inMetadata `json:"metadata"`
}

type inPart struct {
	Kind jsonString      `json:"kind"`
	Type jsonString      `json:"type"`
	Data json.RawMessage `json:"data"`
}

type inMetadata struct {
	Tenant jsonString `json:"tenant"`
}

// kindOf returns the kind, or its alias type.
func kindOf(kind, typ jsonString) jsonString {
	if kind.Set {
		return kind
	}
	return typ
}

const methodSend = "message/send"

// Decode reads raw as a request envelope: a JSON-RPC 2.0 message/send request, or a bare A2A
// message. It checks, in this order, the size (envelope_too_large), the JSON (parse_error),
// the form (invalid_envelope), the method (unsupported_method), the messageId
// (invalid_envelope: without it no reply can be matched and nothing made idempotent), the
// message kind (invalid_envelope) and the types of the message's fields and parts
// (invalid_params).
//
// On failure it still returns the envelope as far as it was read, so that the caller can
// address the error reply: ID once the form is known, MessageID once it is valid.
func Decode(raw []byte, lim Limits) (*Envelope, error) {
	return decode(new(Envelope), raw, lim.withDefaults(), "")
}

// decode is Decode into env, which it returns unless the scanner gave up (scan.go).
// contextID, when known, is the context the message most likely names.
func decode(env *Envelope, raw []byte, lim Limits, contextID string) (*Envelope, error) {
	if env.decodeFast(raw, lim, contextID) {
		return env, nil
	}
	return decodeSlow(raw, lim)
}

// decodeFast reads raw into env with the scanner and reports whether it could: whether raw
// is an envelope that Decode accepts, read exactly as decodeSlow reads it. When it could
// not, env is to be thrown away.
func (env *Envelope) decodeFast(raw []byte, lim Limits, contextID string) bool {
	if len(raw) > lim.MaxEnvelopeBytes || firstByte(raw) != '{' {
		return false
	}
	var e scanEnvelope
	if !e.scan(raw) {
		return false
	}
	*env = Envelope{DataPart: -1, PaymentPart: -1}
	var m *scanMessage
	if rpc := stringField(e.jsonrpc); rpc.Set {
		// readRPC, where it accepts.
		env.JSONRPC = true
		env.base = "$.params.message"
		method := stringField(e.method)
		if env.readID(e.id, lim) != nil || rpc.S != "2.0" || method.Bad || method.S != methodSend || e.message == nil {
			return false
		}
		env.ID = bytes.Clone(env.ID) // as encoding/json copies a json.RawMessage
		env.Method = method.S
		env.Message = e.message
		m = &e.msg
	} else {
		if k := kindOf(stringField(e.top.kind), stringField(e.top.typ)); k.S != "message" &&
			!(!isNull(e.top.messageID) && e.top.partsSet) {
			return false
		}
		env.base = "$"
		env.Message = raw
		m = &e.top
	}
	// readMessage, where it accepts.
	id := stringField(m.messageID)
	kind := kindOf(stringField(m.kind), stringField(m.typ))
	role, ctx := stringField(m.role), contextField(m.contextID, contextID)
	if !validMessageID(id.S) || kind.Set && kind.S != "message" || role.Bad || ctx.Bad {
		return false
	}
	env.MessageID = id.S
	env.Kind = kind.S
	env.Role = role.S
	env.ContextID = ctx.ptr()
	if m.metadata {
		tenant := stringField(m.tenant)
		if tenant.Bad {
			return false
		}
		env.Tenant = tenant.ptr()
	}
	env.Parts = m.parts
	if env.Parts == nil {
		env.Parts = []Part{}
	}
	return true
}

// contextField is stringField(raw), without a copy when raw is contextID.
func contextField(raw []byte, contextID string) jsonString {
	if n := len(raw); n > 2 && raw[0] == '"' && string(raw[1:n-1]) == contextID &&
		!strings.Contains(contextID, `\`) && utf8.ValidString(contextID) {
		return jsonString{S: contextID, Set: true}
	}
	return stringField(raw)
}

// decodeSlow is Decode by encoding/json, for the envelopes the scanner gives up on.
func decodeSlow(raw []byte, lim Limits) (*Envelope, error) {
	if len(raw) > lim.MaxEnvelopeBytes {
		return nil, malformed(commerce.CodeEnvelopeTooLarge,
			"envelope is %d bytes, over the limit of %d", len(raw), lim.MaxEnvelopeBytes)
	}
	if first := firstByte(raw); first != '{' {
		if !json.Valid(raw) {
			return nil, malformed(commerce.CodeParseError, "envelope is not valid JSON")
		}
		return nil, malformed(commerce.CodeInvalidEnvelope, "envelope is not a JSON object")
	}
	var top inEnvelope
	if err := json.Unmarshal(raw, &top); err != nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, malformed(commerce.CodeParseError, "envelope is not valid JSON")
		}
		// Else params is not an object: top.Params stays nil and readRPC says so.
	}

	env := &Envelope{DataPart: -1, PaymentPart: -1}
	if top.JSONRPC.Set {
		if err := env.readRPC(&top, lim); err != nil {
			return env, err
		}
	} else {
		if k := kindOf(top.Kind, top.Type); k.S != "message" && !(top.MessageID && top.Parts) {
			env.MessageID = peekMessageID(raw)
			if env.MessageID != "" {
				env.Message = raw
			}
			return env, malformed(commerce.CodeInvalidEnvelope,
				"envelope is neither a JSON-RPC request nor an A2A message")
		}
		env.base = "$"
		env.Message = raw
	}
	return env, env.readMessage()
}

// readRPC reads the JSON-RPC wrapper of a request and locates its message. The id, and
// the messageId when the message has a valid one, are read even when the wrapper is
// refused, so that the error reply can be addressed.
func (env *Envelope) readRPC(top *inEnvelope, lim Limits) error {
	env.JSONRPC = true
	env.base = "$.params.message"
	err := env.readID(top.ID, lim)
	if top.Params != nil && firstByte(top.Params.Message) == '{' {
		env.Message = top.Params.Message
	}
	if err == nil && top.JSONRPC.S != "2.0" {
		err = malformed(commerce.CodeInvalidEnvelope, `jsonrpc must be "2.0"`)
	}
	method := top.Method.S
	env.Method = method
	switch {
	case err != nil:
	case !top.Method.Set || top.Method.Bad:
		err = malformed(commerce.CodeInvalidEnvelope, "method is required and must be a string")
	case method != methodSend:
		err = refused(commerce.CodeUnsupportedMethod, "$.method",
			"method %q is not supported; use %q", clip(method), methodSend)
	case env.Message == nil:
		err = malformed(commerce.CodeInvalidEnvelope, "params.message must be an A2A message object")
	}
	if err != nil {
		env.MessageID = peekMessageID(env.Message)
	}
	return err
}

// readID reads a JSON-RPC id: a string, an integer, or null. It is echoed in the reply
// as sent, so a number is bounded like a string, by the length of its text; and it is an
// integer, as JSON-RPC 2.0 asks (numbers SHOULD NOT contain fractional parts).
func (env *Envelope) readID(id json.RawMessage, lim Limits) error {
	switch c := firstByte(id); {
	case isNull(id):
	case c == '"':
		if len(id) > lim.MaxStringBytes+2 {
			return malformed(commerce.CodeInvalidEnvelope, "id is longer than %d bytes", lim.MaxStringBytes)
		}
		env.ID = id
	case c == '-' || (c >= '0' && c <= '9'):
		if len(id) > lim.MaxStringBytes {
			return malformed(commerce.CodeInvalidEnvelope, "id is longer than %d characters", lim.MaxStringBytes)
		}
		if _, _, isInt := rawInt(id); !isInt {
			return malformed(commerce.CodeInvalidEnvelope, "a numeric id must be an integer, without a fraction or an exponent")
		}
		env.ID = id
	default:
		return malformed(commerce.CodeInvalidEnvelope, "id must be a string, an integer or null")
	}
	return nil
}

// readMessage decodes env.Message, with its parts.
func (env *Envelope) readMessage() error {
	var m inMessage
	typeErr := json.Unmarshal(env.Message, &m)
	if !validMessageID(m.MessageID.S) {
		return malformed(commerce.CodeInvalidEnvelope,
			"messageId is required and must match [A-Za-z0-9._:-]{1,128}")
	}
	env.MessageID = m.MessageID.S
	kind := kindOf(m.Kind, m.Type)
	if kind.Set && kind.S != "message" {
		return malformed(commerce.CodeInvalidEnvelope, `kind must be "message"`)
	}
	if typeErr != nil {
		return locate(env.Message, &m, env.base, typeErr)
	}
	for _, f := range []struct {
		s    jsonString
		name string
	}{{m.Role, "role"}, {m.ContextID, "contextId"}} {
		if f.s.Bad {
			return commerce.Invalid(join(env.base, f.name), "%s must be a string", f.name)
		}
	}
	env.Kind = kind.S
	env.Role = m.Role.S
	env.ContextID = m.ContextID.ptr()
	if m.Metadata != nil {
		if m.Metadata.Tenant.Bad {
			return commerce.Invalid(env.base+".metadata.tenant", "tenant must be a string")
		}
		env.Tenant = m.Metadata.Tenant.ptr()
	}
	env.Parts = make([]Part, len(m.Parts))
	for i, p := range m.Parts {
		kind := kindOf(p.Kind, p.Type)
		if kind.Bad {
			return commerce.Invalid(index(env.base+".parts", i)+".kind", "kind must be a string")
		}
		env.Parts[i] = Part{Kind: kind.S, Data: p.Data}
	}
	return nil
}

// peekMessageID returns the messageId of a message that will not be decoded further, when
// it has a valid one, so that even an unsupported request gets an addressed error reply.
func peekMessageID(msg json.RawMessage) string {
	if firstByte(msg) != '{' {
		return ""
	}
	var m struct {
		MessageID jsonString `json:"messageId"`
	}
	_ = json.Unmarshal(msg, &m)
	if validMessageID(m.MessageID.S) {
		return m.MessageID.S
	}
	return ""
}

// validMessageID reports whether id matches [A-Za-z0-9._:-]{1,128}.
func validMessageID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// firstByte returns the first byte of raw that is not JSON white space, or 0.
func firstByte(raw []byte) byte {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}
