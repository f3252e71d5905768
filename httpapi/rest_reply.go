package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
)

// From the worker's reply to the REST response (rest.go).

// restPaths map a JSONPath into the envelope to one into the REST body.
var restPaths = []struct{ from, to string }{
	{"$.params.message.parts[0].data['" + envelopes.KeyCheckout + "']", "$"},
	{"$.params.message.parts[0].data['" + envelopes.KeyPayment + "']", "$.payment"},
	{"$.params.message.parts[0].data.checkout", "$"},
	{"$.params.message.parts[0].data.ap2", "$.ap2"},
	{"$.params.message.parts[0].data.events", "$.fulfillment.events"},
	{"$.params.message.parts[0].data", "$"},
}

func restPath(p string) string {
	for _, m := range restPaths {
		if rest, ok := strings.CutPrefix(p, m.from); ok {
			return m.to + rest
		}
	}
	return p
}

// restStatusOf is the HTTP status of a worker error code.
func restStatusOf(code string) int {
	switch code {
	case commerce.CodeNotFound, commerce.CodeUnknownTenant:
		return http.StatusNotFound
	case commerce.CodeCheckoutExists, commerce.CodeCheckoutImmutable, commerce.CodeCheckoutExpired,
		commerce.CodeIdempotencyConflict, commerce.CodeInvalidTransition:
		return http.StatusConflict
	case commerce.CodeEnvelopeTooLarge:
		return http.StatusRequestEntityTooLarge
	case commerce.CodeTemporarilyUnavailable:
		return http.StatusServiceUnavailable
	case commerce.CodeInternalError:
		return http.StatusInternalServerError
	}
	if strings.HasPrefix(code, "mandate_") {
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// restResponse maps the worker's reply to op's status and body. The resource is the
// reply's, with the ids of this binding: a checkout's id is its session (contextID), an
// order's <context>.<order id>. The mapping is a function of the reply's bytes, so a
// replayed reply gives the same response, byte for byte.
func restResponse(v *ucpBinding, op, contextID string, reply []byte) (int, []byte) {
	var rep struct {
		Result *struct {
			Parts []struct {
				Data map[string]json.RawMessage `json:"data"`
			} `json:"parts"`
		} `json:"result"`
		Error *envelopes.RPCError `json:"error"`
	}
	if err := json.Unmarshal(reply, &rep); err != nil || (rep.Result == nil && rep.Error == nil) {
		return http.StatusBadGateway, v.errorBody(commerce.CodeInternalError, "the worker's reply could not be read", "")
	}
	if rep.Error != nil {
		code, path := commerce.CodeInternalError, ""
		if rep.Error.Data != nil {
			code, path = rep.Error.Data.Code, restPath(rep.Error.Data.Path)
		}
		status := restStatusOf(code)
		if code == commerce.CodeInvalidTransition && v.invalidTransition != 0 {
			status = v.invalidTransition
		}
		if code == commerce.CodeInvalidParams && op == opUpdateOrder {
			// The order sent is JSON, but not an order cartwright can take.
			status = http.StatusUnprocessableEntity
		}
		return status, v.errorBody(code, rep.Error.Message, path)
	}
	if len(rep.Result.Parts) == 0 {
		return http.StatusBadGateway, v.errorBody(commerce.CodeInternalError, "the worker's reply holds no resource", "")
	}
	d := rep.Result.Parts[0].Data
	if o, ok := d[envelopes.KeyOrder]; ok {
		var ref struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(o, &ref)
		return http.StatusOK, setMembers(o, map[string]any{"id": contextID + "." + ref.ID, "checkout_id": contextID})
	}
	c, ok := d[envelopes.KeyCheckout]
	if !ok {
		return http.StatusBadGateway, v.errorBody(commerce.CodeInternalError, "the worker's reply holds no resource", "")
	}
	var chk struct {
		Status string `json:"status"`
		Order  *struct {
			ID string `json:"id"`
		} `json:"order"`
		Messages []struct {
			Code string `json:"code"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(c, &chk)
	set := map[string]any{"id": contextID}
	if chk.Order != nil {
		var order json.RawMessage
		var top map[string]json.RawMessage
		_ = json.Unmarshal(c, &top)
		order = setMembers(top["order"], map[string]any{"id": contextID + "." + chk.Order.ID})
		set["order"] = order
	}
	out := setMembers(c, set)
	switch {
	case op == opCreate:
		return http.StatusCreated, out
	case op == opComplete && chk.Status != "completed":
		for _, m := range chk.Messages {
			if m.Code == commerce.MsgPaymentFailed {
				return http.StatusPaymentRequired, out
			}
		}
	}
	return http.StatusOK, out
}

// setMembers returns the JSON object obj with the values of the members named in set
// replaced, in the order obj has them; obj as it is when it is not an object.
func setMembers(obj json.RawMessage, set map[string]any) []byte {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return obj
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for i := 0; dec.More(); i++ {
		t, err := dec.Token()
		if err != nil {
			return obj
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return obj
		}
		if nv, ok := set[key]; ok {
			v, _ = json.Marshal(nv)
		}
		if i > 0 {
			out.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(v)
	}
	out.WriteByte('}')
	return out.Bytes()
}
