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
	at := env.base + ".parts[" + strconv.Itoa(env.DataPart) + "].data"
	var d inData
	if err := decodeObject(env.Data, &d, at, "data"); err != nil {
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
	if err := decodeObject(env.PaymentData, &p, payAt, "data"); err != nil {
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
