package envelopes

import (
	"encoding/json"
	"strconv"

	"github.com/cartwright-dev/cartwright/commerce"
)

// inData is a data part's object: the action form's action and arguments, and the UCP
// form's keys. Every field stays raw until the action says which ones it reads, so that an
// argument another action would take is ignored like any unknown field. (create_checkout
// reads its own, see inCreate.)
type inData struct {
	Action json.RawMessage `json:"action"`

	Buyer      json.RawMessage `json:"buyer"`
	Checkout   json.RawMessage `json:"checkout"`
	ItemID     json.RawMessage `json:"item_id"`
	Quantity   json.RawMessage `json:"quantity"`
	LineItemID json.RawMessage `json:"line_item_id"`
	Address    json.RawMessage `json:"address"`
	OptionID   json.RawMessage `json:"option_id"`
	Code       json.RawMessage `json:"code"`
	Payment    json.RawMessage `json:"payment"`
	AP2        json.RawMessage `json:"ap2"`
	OrderID    json.RawMessage `json:"order_id"`
	Amount     json.RawMessage `json:"amount"`
	// update_order's lists.
	Events      json.RawMessage `json:"events"`
	Adjustments json.RawMessage `json:"adjustments"`

	UCPCheckout json.RawMessage `json:"a2a.ucp.checkout"`
	UCPPayment  json.RawMessage `json:"a2a.ucp.checkout.payment"`
}

// The UCP keys of a data part. In a JSONPath they need brackets, for their dots.
const (
	KeyCheckout = "a2a.ucp.checkout"
	KeyPayment  = "a2a.ucp.checkout.payment"
	KeySignals  = "a2a.ucp.checkout.signals"
	KeyOrder    = "a2a.ucp.order"
)

// Normalize turns the command's data part into a domain command. The data part holds either
// an "action" with its arguments (CONTRACT.md section 3) or UCP keys: a2a.ucp.checkout
// becomes commerce.UpsertCheckout, a2a.ucp.checkout.payment commerce.CompleteCheckout (it
// wins when both are there). When "action" is present it wins over UCP keys.
//
// REQUIRES: Validate accepted env.
func Normalize(env *Envelope, lim Limits) (commerce.Command, error) {
	lim = lim.withDefaults()
	if env.DataPart < 0 {
		return nil, commerce.E(commerce.KindInternal, commerce.CodeInternalError, "envelope was not validated")
	}
	at := dataPath(env.base, env.DataPart)
	var d inData
	if err := decodeData(env.Data, &d, at); err != nil {
		return nil, err
	}
	if env.PaymentPart >= 0 {
		return twoPartComplete(env, &d, at, lim)
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

// twoPartComplete reads UCP's A2A completion: the command's part holds
// {"action":"complete_checkout"}, the other data part the payment under
// a2a.ucp.checkout.payment (and ap2, and signals, which are not read). The payment and
// ap2 may be given in one of the two parts only.
func twoPartComplete(env *Envelope, d *inData, at string, lim Limits) (commerce.Command, error) {
	payAt := dataPath(env.base, env.PaymentPart)
	name, err := optString(d.Action, at, "action", lim)
	if err != nil {
		return nil, err
	}
	if commerce.Action(name) != commerce.ActCompleteCheckout {
		return nil, commerce.Invalid(payAt, "a second data part is taken only beside {\"action\":\"complete_checkout\"}, "+
			"not beside action %q", clip(name))
	}
	var p inData
	if err := decodeData(env.PaymentData, &p, payAt); err != nil {
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

// dataPath returns the JSONPath of the data object of part i of the message at base.
func dataPath(base string, i int) string {
	if 0 <= i && i < len(dataPaths[0]) {
		switch base {
		case "$.params.message":
			return dataPaths[0][i]
		case "$":
			return dataPaths[1][i]
		}
	}
	return base + ".parts[" + strconv.Itoa(i) + "].data"
}

// dataPaths are the paths of the data objects of the first parts, made once rather than
// for each envelope: [0] in a JSON-RPC request, [1] in a bare message.
var dataPaths = func() (p [2][16]string) {
	for i := range p[0] {
		p[0][i] = "$.params.message.parts[" + strconv.Itoa(i) + "].data"
		p[1][i] = "$.parts[" + strconv.Itoa(i) + "].data"
	}
	return p
}()

// decodeData is decodeObject(raw, d, at, "data"), read with the scanner (scan.go) when raw
// is an object whose keys are each one of inData's, spelled exactly, or a plain ASCII key
// that matches none of them without regard to case. As with encoding/json, the last of a
// repeated key wins, and a field holds the raw bytes of its value, here shared with raw.
func decodeData(raw json.RawMessage, d *inData, at string) error {
	if scanData(raw, d) {
		return nil
	}
	// Through a copy, so that d does not escape to encoding/json and stays on its
	// caller's stack.
	var slow inData
	err := decodeObject(raw, &slow, at, "data")
	*d = slow
	return err
}

// scanData reads raw into d with the scanner and reports whether it could. When it could
// not, d is to be read again.
func scanData(raw []byte, d *inData) bool {
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	s := scanner{in: raw}
	ok := s.members(1, func(key []byte) bool {
		dst := d.field(key)
		if dst == nil {
			return s.other(1, key, dataFields...)
		}
		v, ok := s.value(1) // a repeated key: the last wins, as with encoding/json
		*dst = v
		return ok
	})
	s.ws()
	return ok && s.pos == len(raw)
}

var dataFields = []string{"action", "buyer", "checkout", "item_id", "quantity", "line_item_id", "address",
	"option_id", "code", "payment", "ap2", "order_id", "amount", "events", "adjustments", KeyCheckout, KeyPayment}

// field returns the field of d whose JSON name is key, or nil.
func (d *inData) field(key []byte) *json.RawMessage {
	switch string(key) {
	case "action":
		return &d.Action
	case "buyer":
		return &d.Buyer
	case "checkout":
		return &d.Checkout
	case "item_id":
		return &d.ItemID
	case "quantity":
		return &d.Quantity
	case "line_item_id":
		return &d.LineItemID
	case "address":
		return &d.Address
	case "option_id":
		return &d.OptionID
	case "code":
		return &d.Code
	case "payment":
		return &d.Payment
	case "ap2":
		return &d.AP2
	case "order_id":
		return &d.OrderID
	case "amount":
		return &d.Amount
	case "events":
		return &d.Events
	case "adjustments":
		return &d.Adjustments
	case KeyCheckout:
		return &d.UCPCheckout
	case KeyPayment:
		return &d.UCPPayment
	}
	return nil
}
