package commerce

import (
	"errors"
	"fmt"
)

// Kind classifies a failure once, where it happens. The kind decides what the worker does
// with the envelope (reply, retry, dead-letter); the wire code of CONTRACT.md section 7 is
// carried alongside for the reply.
type Kind uint8

const (
	// KindInternal is a bug: the envelope is dead-lettered with internal_error.
	KindInternal Kind = iota
	// KindInvalid is a client mistake in the request: an error reply, no state change.
	KindInvalid
	// KindNotFound is a reference to something that does not exist: an error reply.
	KindNotFound
	// KindConflict is a request that the current state refuses (checkout_exists,
	// checkout_immutable, idempotency_conflict, invalid_transition): an error reply.
	KindConflict
	// KindTransient is a failure that may go away if retried (a provider timing out, a
	// publish not acknowledged). Retried with backoff, then dead-lettered with
	// temporarily_unavailable.
	KindTransient
	// KindMalformed is a request that cannot be read as an envelope at all (parse_error,
	// invalid_envelope, envelope_too_large, an unusable subject): dead-lettered, and an
	// error reply where the subject allows one.
	KindMalformed
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindTransient:
		return "transient"
	case KindMalformed:
		return "malformed"
	default:
		return "internal"
	}
}

// Error is a classified failure. Code is the snake_case code of CONTRACT.md section 7;
// Path, when set, is the JSONPath of the offending field in the request.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Path    string
	Err     error // the underlying cause, if any; never shown on the wire
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is match on the code, so that callers can test against the sentinels
// below whatever the message says.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// E builds an *Error.
func E(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is an invalid_params error about the field at path.
func Invalid(path, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: CodeInvalidParams, Message: fmt.Sprintf(format, args...), Path: path}
}

// Transient wraps err as a transient failure of op.
func Transient(op string, err error) *Error {
	return &Error{Kind: KindTransient, Code: CodeTemporarilyUnavailable, Message: op + " is temporarily unavailable", Err: err}
}

// AsError returns err as an *Error; anything unclassified is internal.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindInternal, Code: CodeInternalError, Message: "internal error", Err: err}
}

// KindOf returns the kind of err (KindInternal for anything unclassified).
func KindOf(err error) Kind { return AsError(err).Kind }

// The codes of CONTRACT.md section 7. Their JSON-RPC numbers are wire knowledge and live in
// envelopes.RPCCode.
const (
	CodeParseError             = "parse_error"
	CodeInvalidEnvelope        = "invalid_envelope"
	CodeUnsupportedMethod      = "unsupported_method"
	CodeUnknownAction          = "unknown_action"
	CodeInvalidParams          = "invalid_params"
	CodeEnvelopeTooLarge       = "envelope_too_large"
	CodeTenantMismatch         = "tenant_mismatch"
	CodeContextMismatch        = "context_mismatch"
	CodeReplySubjectForbidden  = "reply_subject_forbidden"
	CodeUnknownTenant          = "unknown_tenant"
	CodeNotFound               = "not_found"
	CodeCheckoutExists         = "checkout_exists"
	CodeCheckoutImmutable      = "checkout_immutable"
	CodeCheckoutExpired        = "checkout_expired"
	CodeIdempotencyConflict    = "idempotency_conflict"
	CodeInvalidTransition      = "invalid_transition"
	CodeMandateRequired        = "mandate_required"
	CodeMandateInvalidSig      = "mandate_invalid_signature"
	CodeMandateExpired         = "mandate_expired"
	CodeMandateScopeMismatch   = "mandate_scope_mismatch"
	CodeTemporarilyUnavailable = "temporarily_unavailable"
	CodeInternalError          = "internal_error"
)

// Sentinels for errors.Is; they match any *Error with the same code.
var (
	ErrNotFound            = &Error{Kind: KindNotFound, Code: CodeNotFound}
	ErrCheckoutExists      = &Error{Kind: KindConflict, Code: CodeCheckoutExists}
	ErrCheckoutImmutable   = &Error{Kind: KindConflict, Code: CodeCheckoutImmutable}
	ErrCheckoutExpired     = &Error{Kind: KindConflict, Code: CodeCheckoutExpired}
	ErrInvalidTransition   = &Error{Kind: KindConflict, Code: CodeInvalidTransition}
	ErrIdempotencyConflict = &Error{Kind: KindConflict, Code: CodeIdempotencyConflict}
)
