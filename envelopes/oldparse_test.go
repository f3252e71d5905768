package envelopes

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/cartwright-dev/cartwright/commerce"
)

// A frozen copy of the envelope parser as it was before the one-pass scanner (decode.go,
// scan.go): Parse, Decode and Normalize's entry, all on encoding/json. The differential
// tests (same_test.go) hold the parser to it: the same Request, fingerprint included, and
// the same error, code, message and path, for every input. Do not change it to follow the
// parser; it is the reference the parser is held to.

func oldParse(raw []byte, tenant, contextID string, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	req := &Request{ContextID: contextID, DataPart: -1}
	env, err := oldDecode(raw, lim)
	dupKeys := false
	if env != nil {
		req.JSONRPC = env.JSONRPC
		req.ID = env.ID
		req.MessageID = env.MessageID
		if env.MessageID != "" && len(env.Message) > 0 {
			req.Fingerprint, dupKeys = fingerprint(env.Message, contextID)
		}
	}
	if err != nil {
		return req, err
	}
	if dupKeys {
		return req, duplicateKey(env.Message, env.base)
	}
	if err := Validate(env, tenant, contextID, lim); err != nil {
		return req, err
	}
	req.DataPart = env.DataPart
	cmd, err := oldNormalize(env, lim)
	if err != nil {
		return req, err
	}
	req.Command = cmd
	return req, nil
}

func oldDecode(raw []byte, lim Limits) (*Envelope, error) {
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
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, malformed(commerce.CodeParseError, "envelope is not valid JSON")
		}
	}

	env := &Envelope{DataPart: -1, PaymentPart: -1}
	if top.JSONRPC.Set {
		if err := oldReadRPC(env, &top, lim); err != nil {
			return env, err
		}
	} else {
		if k := kindOf(top.Kind, top.Type); k.S != "message" && !(top.MessageID && top.Parts) {
			env.MessageID = oldPeekMessageID(raw)
			if env.MessageID != "" {
				env.Message = raw
			}
			return env, malformed(commerce.CodeInvalidEnvelope,
				"envelope is neither a JSON-RPC request nor an A2A message")
		}
		env.base = "$"
		env.Message = raw
	}
	return env, oldReadMessage(env)
}

func oldReadRPC(env *Envelope, top *inEnvelope, lim Limits) error {
	env.JSONRPC = true
	env.base = "$.params.message"
	err := oldReadID(env, top.ID, lim)
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
		env.MessageID = oldPeekMessageID(env.Message)
	}
	return err
}

func oldReadID(env *Envelope, id json.RawMessage, lim Limits) error {
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

func oldReadMessage(env *Envelope) error {
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

func oldPeekMessageID(msg json.RawMessage) string {
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

// oldDecodeObject is decodeObject as it was: inData decoded by encoding/json.
func oldDecodeObject(raw json.RawMessage, v any, path, name string) error {
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, v) != nil {
		return commerce.Invalid(path, "%s must be an object", name)
	}
	return nil
}

func oldNormalize(env *Envelope, lim Limits) (commerce.Command, error) {
	lim = lim.withDefaults()
	if env.DataPart < 0 {
		return nil, commerce.E(commerce.KindInternal, commerce.CodeInternalError, "envelope was not validated")
	}
	at := env.base + ".parts[" + strconv.Itoa(env.DataPart) + "].data"
	var d inData
	if err := oldDecodeObject(env.Data, &d, at, "data"); err != nil {
		return nil, err
	}
	if env.PaymentPart >= 0 {
		return oldTwoPartComplete(env, &d, at, lim)
	}
	switch {
	case !isNull(d.Action):
		return normalizeAction(&d, env.Data, at, lim)
	case !isNull(d.UCPPayment):
		return ucpComplete(&d, at, lim)
	case !isNull(d.UCPCheckout):
		u, err := parseCheckoutObject(d.UCPCheckout, at+"['"+KeyCheckout+"']", lim)
		if err != nil {
			return nil, err
		}
		return commerce.UpsertCheckout{Update: u}, nil
	}
	return nil, commerce.Invalid(at+".action",
		"action is required, or a UCP key (%s, %s)", KeyCheckout, KeyPayment)
}

func oldTwoPartComplete(env *Envelope, d *inData, at string, lim Limits) (commerce.Command, error) {
	payAt := env.base + ".parts[" + strconv.Itoa(env.PaymentPart) + "].data"
	name, err := optString(d.Action, at, "action", lim)
	if err != nil {
		return nil, err
	}
	if commerce.Action(name) != commerce.ActCompleteCheckout {
		return nil, commerce.Invalid(payAt, "a second data part is taken only beside {\"action\":\"complete_checkout\"}, "+
			"not beside action %q", clip(name))
	}
	var p inData
	if err := oldDecodeObject(env.PaymentData, &p, payAt, "data"); err != nil {
		return nil, err
	}
	keyAt := payAt + "['" + KeyPayment + "']"
	switch {
	case isNull(p.UCPPayment):
		return nil, commerce.Invalid(keyAt, "%s is required in the data part beside complete_checkout", KeyPayment)
	case !isNull(d.Payment):
		return nil, commerce.Invalid(keyAt, "the payment is given twice: as payment beside the action and as %s", KeyPayment)
	case !isNull(d.AP2) && !isNull(p.AP2):
		return nil, commerce.Invalid(join(payAt, "ap2"), "ap2 is given twice, in both data parts")
	}
	ap2, ap2At := p.AP2, join(payAt, "ap2")
	if !isNull(d.AP2) {
		ap2, ap2At = d.AP2, join(at, "ap2")
	}
	return completeCheckout(p.UCPPayment, keyAt, ap2, ap2At, lim)
}
