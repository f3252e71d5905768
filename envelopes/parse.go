package envelopes

import (
	"encoding/json"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Request is an inbound envelope, read: who to answer and what to do.
type Request struct {
	JSONRPC   bool            // false for a bare A2A message
	ID        json.RawMessage // the JSON-RPC id exactly as sent; nil for bare messages (encode as null)
	MessageID string          // the idempotency key; "" when it could not be read
	ContextID string          // effective: the message's, or the subject's when absent
	DataPart  int             // index in parts of the command's data part; -1 until located
	Command   commerce.Command
	// Fingerprint is the SHA-256 of the message's canonical content (see fingerprint.go):
	// the same for a retry with another JSON-RPC id, bare or wrapped, re-ordered or
	// re-spaced. It is set whenever MessageID is, errors included, so that an error reply
	// can be made idempotent too.
	Fingerprint [32]byte
}

// Parse decodes, validates and normalizes one envelope that arrived on
// a2a.in.<tenant>.<contextID>.
//
// On failure it returns a *commerce.Error AND the request filled as far as it could be read
// (ID and MessageID when readable), so that the caller can address the error reply. The
// error's kind says what to do: KindMalformed (parse_error, invalid_envelope,
// envelope_too_large) is dead-lettered as well as answered; KindInvalid (unsupported_method,
// unknown_action, invalid_params, tenant_mismatch, context_mismatch) is only answered.
//
// A message with an object that repeats a key, or holds two keys that differ only in case,
// is invalid_params at the second of them: encoding/json would read one of them and ignore
// the other, which the idempotency fingerprint cannot tell apart (fingerprint.go).
//
// REQUIRES: tenant and contextID are the subject's tokens, already checked by the caller.
func Parse(raw []byte, tenant, contextID string, lim Limits) (*Request, error) {
	req, err := parse(raw, tenant, contextID, lim)
	if checkParse != nil {
		checkParse(raw, tenant, contextID, lim, req, err)
	}
	return req, err
}

// checkParse, when set, sees every Parse and its result: the package's tests set it to
// hold Parse to the encoding/json parser it replaced (same_test.go).
var checkParse func(raw []byte, tenant, contextID string, lim Limits, req *Request, err error)

func parse(raw []byte, tenant, contextID string, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	req := &Request{ContextID: contextID, DataPart: -1}
	var local Envelope
	env, err := decode(&local, raw, lim, contextID)
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
		// Decode read the message with encoding/json, which the fingerprint does not
		// agree with on such keys (fingerprint.go): what it read is not what was sent.
		return req, duplicateKey(env.Message, env.base)
	}
	if err := Validate(env, tenant, contextID, lim); err != nil {
		return req, err
	}
	req.DataPart = env.DataPart
	cmd, err := Normalize(env, lim)
	if err != nil {
		return req, err
	}
	req.Command = cmd
	return req, nil
}
