package envelopes

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Reply is a JSON-RPC response as cartwright sends it (CONTRACT.md section 4): a result
// that is an A2A message from the agent, or an error.
type Reply struct {
	JSONRPC string          `json:"jsonrpc,omitempty"`
	ID      json.RawMessage `json:"id,omitempty"`
	Result  *AgentMessage   `json:"result,omitempty"`
	Error   *RPCError       `json:"error,omitempty"`
}

// AgentMessage is the A2A message of a success reply.
type AgentMessage struct {
	Kind      string      `json:"kind"`
	Role      string      `json:"role"`
	MessageID string      `json:"messageId"`
	ContextID string      `json:"contextId"`
	Parts     []ReplyPart `json:"parts"`
}

// ReplyPart is a part of a reply message.
type ReplyPart struct {
	Kind string    `json:"kind"`
	Text string    `json:"text,omitempty"`
	Data *Resource `json:"data,omitempty"`
}

// Resource is the data of a reply's data part or of an event: a checkout or an order.
type Resource struct {
	Checkout *Checkout `json:"a2a.ucp.checkout,omitempty"`
	Order    *Order    `json:"a2a.ucp.order,omitempty"`
}

// RPCError is the error object of a JSON-RPC error response.
type RPCError struct {
	Code    int        `json:"code"`
	Message string     `json:"message"`
	Data    *ErrorData `json:"data,omitempty"`
}

// ErrorData is cartwright's data on an error: the code of CONTRACT.md section 7, the JSONPath
// of the field at fault and the messageId of the request, when known.
type ErrorData struct {
	Code      string `json:"code"`
	Path      string `json:"path,omitempty"`
	MessageID string `json:"messageId,omitempty"`
}

// ResultBody returns the result of a success reply to the message messageID in context
// contextID: an agent message whose one data part carries the checkout or the order. The
// caller passes exactly one of c and o.
func ResultBody(messageID, contextID string, c *commerce.Checkout, o *commerce.Order) []byte {
	return TenantResultBody(messageID, contextID, c, o, nil)
}

// TenantResultBody is ResultBody for a tenant whose checkouts list its payment handlers ph
// (nil: none listed, as ResultBody).
func TenantResultBody(messageID, contextID string, c *commerce.Checkout, o *commerce.Order, ph PaymentHandlers) []byte {
	var r Resources
	defer r.Release()
	return r.ResultBody(messageID, contextID, c, o, ph)
}

// ErrorBody returns the error of an error reply to the message messageID ("" when it could
// not be read). The cause behind e (e.Err) never goes on the wire.
func ErrorBody(e *commerce.Error, messageID string) []byte {
	if e == nil {
		e = commerce.AsError(errors.New("no error given"))
	}
	code := e.Code
	if code == "" {
		code = commerce.CodeInternalError
	}
	msg := e.Message
	if msg == "" {
		msg = code
	}
	dst := make([]byte, 0, len(`{"code":-32000,"message":"","data":{"code":"","path":"","messageId":""}}`)+
		len(msg)+2*len(code)+len(e.Path)+len(messageID))
	return encErrorBody(dst, RPCCode(code), code, msg, e.Path, messageID)
}

// RPCCode is the JSON-RPC error code that goes with a wire code (CONTRACT.md section 7).
// The number is wire knowledge, so it lives here, where error replies are encoded; commerce
// keeps only the kind and the snake_case code.
func RPCCode(code string) int {
	switch code {
	case commerce.CodeParseError:
		return -32700
	case commerce.CodeInvalidEnvelope, commerce.CodeEnvelopeTooLarge, commerce.CodeTenantMismatch,
		commerce.CodeContextMismatch, commerce.CodeReplySubjectForbidden, commerce.CodeUnknownTenant:
		return -32600
	case commerce.CodeUnsupportedMethod, commerce.CodeUnknownAction:
		return -32601
	case commerce.CodeInvalidParams:
		return -32602
	case commerce.CodeNotFound:
		// Not -32001: -32001 to -32006 are A2A's own codes (-32001 is TaskNotFound).
		return -32011
	case commerce.CodeCheckoutExists, commerce.CodeCheckoutImmutable, commerce.CodeCheckoutExpired,
		commerce.CodeIdempotencyConflict, commerce.CodeInvalidTransition:
		return -32010
	case commerce.CodeMandateRequired, commerce.CodeMandateInvalidSig, commerce.CodeMandateExpired,
		commerce.CodeMandateScopeMismatch:
		return -32020
	case commerce.CodeTemporarilyUnavailable:
		return -32030
	default:
		return -32603
	}
}

// Wrap makes the JSON-RPC response {"jsonrpc":"2.0","id":id,"result"|"error":body}. An
// absent id is written null, as it is for a bare message.
func Wrap(id json.RawMessage, body []byte, isError bool) []byte {
	if len(body) == 0 {
		body = []byte("null")
	}
	prefix, suffix := WrapFrame(id, isError)
	out := make([]byte, 0, len(prefix)+len(body)+len(suffix))
	return append(append(append(out, prefix...), body...), suffix...)
}

// WrapFrame returns what Wrap puts before and after the body.
func WrapFrame(id json.RawMessage, isError bool) (prefix, suffix []byte) {
	if len(id) == 0 || !json.Valid(id) {
		id = json.RawMessage("null")
	}
	prefix = make([]byte, 0, len(`{"jsonrpc":"2.0","id":,"result":`)+len(id))
	prefix = append(prefix, `{"jsonrpc":"2.0","id":`...)
	prefix = append(prefix, id...)
	if isError {
		prefix = append(prefix, `,"error":`...)
	} else {
		prefix = append(prefix, `,"result":`...)
	}
	return prefix, closeBrace[:1:1]
}

// closeBrace is shared by every reply: WrapFrame hands it out with no spare capacity.
var closeBrace = []byte("}")

// DecodeReply reads a reply: a JSON-RPC response, or just its result (an agent message) or
// its error object.
func DecodeReply(b []byte) (*Reply, error) {
	var probe struct {
		JSONRPC json.RawMessage `json:"jsonrpc"`
		Result  json.RawMessage `json:"result"`
		Error   json.RawMessage `json:"error"`
		Kind    json.RawMessage `json:"kind"`
		Parts   json.RawMessage `json:"parts"`
		Code    json.RawMessage `json:"code"`
	}
	if firstByte(b) != '{' {
		return nil, errors.New("envelopes: a reply is a JSON object")
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("envelopes: reading reply: %w", err)
	}
	r := new(Reply)
	var err error
	switch {
	case !isNull(probe.JSONRPC) || !isNull(probe.Result) || !isNull(probe.Error):
		err = json.Unmarshal(b, r)
	case !isNull(probe.Kind) || !isNull(probe.Parts):
		r.Result = new(AgentMessage)
		err = json.Unmarshal(b, r.Result)
	case !isNull(probe.Code):
		r.Error = new(RPCError)
		err = json.Unmarshal(b, r.Error)
	default:
		return nil, errors.New("envelopes: not a JSON-RPC response, an agent message or an error")
	}
	if err != nil {
		return nil, fmt.Errorf("envelopes: reading reply: %w", err)
	}
	if r.Result == nil && r.Error == nil {
		return nil, errors.New("envelopes: reply has neither result nor error")
	}
	return r, nil
}

// OK reports whether the reply is a success.
func (r *Reply) OK() bool { return r.Error == nil }

// Code returns the error code of CONTRACT.md section 7, or "" for a success.
func (r *Reply) Code() string {
	if r.Error == nil {
		return ""
	}
	if r.Error.Data != nil && r.Error.Data.Code != "" {
		return r.Error.Data.Code
	}
	return commerce.CodeInternalError
}

// Data returns the data of the result's first data part, or nil.
func (r *Reply) Data() *Resource {
	if r.Result == nil {
		return nil
	}
	for _, p := range r.Result.Parts {
		if p.Data != nil {
			return p.Data
		}
	}
	return nil
}

// Checkout returns the checkout the reply carries, or nil.
func (r *Reply) Checkout() *Checkout {
	if d := r.Data(); d != nil {
		return d.Checkout
	}
	return nil
}

// Order returns the order the reply carries, or nil.
func (r *Reply) Order() *Order {
	if d := r.Data(); d != nil {
		return d.Order
	}
	return nil
}
