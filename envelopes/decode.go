package envelopes

import (
	"encoding/json"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Envelope is a request envelope as Decode read it: its form, its JSON-RPC id and the A2A
// message, not yet checked against the subject it arrived on.
type Envelope struct {
	JSONRPC bool            // false for a bare A2A message
	ID      json.RawMessage // the JSON-RPC id as sent (a string or a number); nil when absent or null
	Method  string          // the JSON-RPC method; "" for a bare message

	MessageID string  // valid whenever Decode did not fail before it (see Parse)
	Kind      string  // the message's kind, or its alias type
	Role      string  // "" when absent
	ContextID *string // nil when absent
	Tenant    *string // metadata.tenant; nil when absent
	Parts     []json.RawMessage

	// DataPart is the index in Parts of the part that carries the command, and Data its
	// data object. Validate sets them; DataPart is -1 before.
	DataPart int
	Data     json.RawMessage

	// Message is the A2A message object as sent. For a bare message it shares the bytes
	// given to Decode.
	Message json.RawMessage

	base string // JSONPath of the message: "$.params.message", or "$" for a bare message
}

// Path returns the JSONPath of the message in the envelope: "$.params.message", or "$"
// for a bare message.
func (e *Envelope) Path() string { return e.base }

// inEnvelope is the top level of any envelope: the JSON-RPC fields, and the fields by which
// a bare message is recognized.
type inEnvelope struct {
	JSONRPC   json.RawMessage `json:"jsonrpc"`
	ID        json.RawMessage `json:"id"`
	Method    json.RawMessage `json:"method"`
	Params    json.RawMessage `json:"params"`
	Kind      json.RawMessage `json:"kind"`
	Type      json.RawMessage `json:"type"`
	MessageID json.RawMessage `json:"messageId"`
	Parts     json.RawMessage `json:"parts"`
}

type inParams struct {
	Message json.RawMessage `json:"message"`
}

type inMessage struct {
	Kind      *string           `json:"kind"`
	Type      *string           `json:"type"`
	Role      *string           `json:"role"`
	MessageID json.RawMessage   `json:"messageId"`
	ContextID *string           `json:"contextId"`
	Parts     []json.RawMessage `json:"parts"`
	Metadata  *inMetadata       `json:"metadata"`
}

type inMetadata struct {
	Tenant *string `json:"tenant"`
}

const methodSend = "message/send"

// Decode reads raw as a request envelope: a JSON-RPC 2.0 message/send request, or a bare A2A
// message. It checks, in this order, the size (envelope_too_large), the JSON (parse_error),
// the form (invalid_envelope), the method (unsupported_method), the messageId
// (invalid_envelope: without it no reply can be matched and nothing made idempotent), the
// message kind (invalid_envelope) and the types of the message's fields (invalid_params).
//
// On failure it still returns the envelope as far as it was read, so that the caller can
// address the error reply: ID once the form is known, MessageID once it is valid.
func Decode(raw []byte, lim Limits) (*Envelope, error) {
	lim = lim.withDefaults()
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
		// Every field is a json.RawMessage: only bad JSON fails here.
		return nil, malformed(commerce.CodeParseError, "envelope is not valid JSON")
	}

	env := &Envelope{DataPart: -1}
	if !isNull(top.JSONRPC) {
		if err := env.readRPC(&top, lim); err != nil {
			return env, err
		}
	} else {
		if !isMessageKind(top.Kind, top.Type) && (isNull(top.MessageID) || isNull(top.Parts)) {
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
	return env, env.readMessage(lim)
}

// readRPC reads the JSON-RPC wrapper of a request and locates its message. The id, and
// the messageId when the message has a valid one, are read even when the wrapper is
// refused, so that the error reply can be addressed.
func (env *Envelope) readRPC(top *inEnvelope, lim Limits) error {
	env.JSONRPC = true
	env.base = "$.params.message"
	idErr := env.readID(top.ID, lim)
	var params inParams
	if firstByte(top.Params) == '{' {
		_ = json.Unmarshal(top.Params, &params) // cannot fail: an object into RawMessage fields
	}
	if firstByte(params.Message) == '{' {
		env.Message = params.Message
	}
	err := idErr
	if v, ok := rawString(top.JSONRPC); err == nil && (!ok || v != "2.0") {
		err = malformed(commerce.CodeInvalidEnvelope, `jsonrpc must be "2.0"`)
	}
	method, ok := rawString(top.Method)
	env.Method = method
	switch {
	case err != nil:
	case !ok:
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

// readID reads a JSON-RPC id: a string, a number, or null.
func (env *Envelope) readID(id json.RawMessage, lim Limits) error {
	switch c := firstByte(id); {
	case isNull(id):
	case c == '"':
		if len(id) > lim.MaxStringBytes+2 {
			return malformed(commerce.CodeInvalidEnvelope, "id is longer than %d bytes", lim.MaxStringBytes)
		}
		env.ID = id
	case c == '-' || (c >= '0' && c <= '9'):
		env.ID = id
	default:
		return malformed(commerce.CodeInvalidEnvelope, "id must be a string, a number or null")
	}
	return nil
}

// readMessage decodes env.Message.
func (env *Envelope) readMessage(lim Limits) error {
	var m inMessage
	typeErr := json.Unmarshal(env.Message, &m)
	id, ok := rawString(m.MessageID)
	if !ok || !validMessageID(id) {
		return malformed(commerce.CodeInvalidEnvelope,
			"messageId is required and must match [A-Za-z0-9._:-]{1,128}")
	}
	env.MessageID = id
	switch {
	case m.Kind != nil:
		env.Kind = *m.Kind
	case m.Type != nil:
		env.Kind = *m.Type
	}
	if (m.Kind != nil || m.Type != nil) && env.Kind != "message" {
		return malformed(commerce.CodeInvalidEnvelope, `kind must be "message", not %q`, clip(env.Kind))
	}
	if typeErr != nil {
		return typeError(env.base, typeErr)
	}
	if m.Role != nil {
		env.Role = *m.Role
	}
	env.ContextID = m.ContextID
	if m.Metadata != nil {
		env.Tenant = m.Metadata.Tenant
	}
	env.Parts = m.Parts
	return nil
}

// peekMessageID returns the messageId of a message that will not be decoded further, when
// it has a valid one, so that even an unsupported request gets an addressed error reply.
func peekMessageID(msg json.RawMessage) string {
	if firstByte(msg) != '{' {
		return ""
	}
	var m struct {
		MessageID json.RawMessage `json:"messageId"`
	}
	_ = json.Unmarshal(msg, &m)
	if id, ok := rawString(m.MessageID); ok && validMessageID(id) {
		return id
	}
	return ""
}

// isMessageKind reports whether kind, or its alias typ, says "message".
func isMessageKind(kind, typ json.RawMessage) bool {
	if !isNull(kind) {
		s, _ := rawString(kind)
		return s == "message"
	}
	s, _ := rawString(typ)
	return s == "message"
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
