package envelopes

import (
	"encoding/json"

	"github.com/cartwright-dev/cartwright/commerce"
)

// normalizeAction reads the action form: {"action": "...", ...arguments}. at is the JSONPath
// of the data object.
func normalizeAction(d *inData, data json.RawMessage, at string, lim Limits) (commerce.Command, error) {
	name, err := optString(d.Action, at, "action", lim)
	if err != nil {
		return nil, err
	}
	cmd, err := actionCommand(name, d, data, at, lim)
	if err != nil {
		return nil, err // never a half-read command
	}
	return cmd, nil
}

// actionCommand builds the command of the named action. With an error, the command it
// returns is to be thrown away.
func actionCommand(name string, d *inData, data json.RawMessage, at string, lim Limits) (commerce.Command, error) {
	switch commerce.Action(name) {
	case commerce.ActCreateCheckout:
		return createCheckout(data, at, lim)
	case commerce.ActGetCheckout:
		return commerce.GetCheckout{}, nil
	case commerce.ActUpdateCheckout:
		if isNull(d.Checkout) {
			return nil, commerce.Invalid(join(at, "checkout"), "checkout is required")
		}
		return parseCheckoutObject(d.Checkout, join(at, "checkout"), lim)
	case commerce.ActAddItem:
		id, err := reqString(d.ItemID, at, "item_id", lim)
		if err != nil {
			return nil, err
		}
		q, err := reqInt(d.Quantity, at, "quantity", 1, int64(lim.MaxQuantity))
		if err != nil {
			return nil, err
		}
		return commerce.AddItem{ItemID: id, Quantity: int(q)}, nil
	case commerce.ActUpdateItem:
		id, err := reqString(d.LineItemID, at, "line_item_id", lim)
		if err != nil {
			return nil, err
		}
		q, err := reqInt(d.Quantity, at, "quantity", 0, int64(lim.MaxQuantity))
		if err != nil {
			return nil, err
		}
		return commerce.UpdateItem{LineItemID: id, Quantity: int(q)}, nil
	case commerce.ActRemoveItem:
		id, err := reqString(d.LineItemID, at, "line_item_id", lim)
		return commerce.RemoveItem{LineItemID: id}, err
	case commerce.ActSetBuyer:
		if isNull(d.Buyer) {
			return nil, commerce.Invalid(join(at, "buyer"), "buyer is required")
		}
		b, err := parseBuyer(d.Buyer, join(at, "buyer"), lim)
		if err != nil {
			return nil, err
		}
		return commerce.SetBuyer{Buyer: *b}, nil
	case commerce.ActSetShippingAddress:
		if isNull(d.Address) {
			return nil, commerce.Invalid(join(at, "address"), "address is required")
		}
		a, err := parseAddress(d.Address, join(at, "address"), "address", lim)
		return commerce.SetShippingAddress{Address: a}, err
	case commerce.ActListShippingOptions:
		return commerce.ListShippingOptions{}, nil
	case commerce.ActSelectShippingOption:
		id, err := reqString(d.OptionID, at, "option_id", lim)
		return commerce.SelectShippingOption{OptionID: id}, err
	case commerce.ActApplyDiscount:
		code, err := reqString(d.Code, at, "code", lim)
		return commerce.ApplyDiscount{Code: code}, err
	case commerce.ActRemoveDiscount:
		code, err := reqString(d.Code, at, "code", lim)
		return commerce.RemoveDiscount{Code: code}, err
	case commerce.ActCompleteCheckout:
		if isNull(d.Payment) {
			return nil, commerce.Invalid(join(at, "payment"), "payment is required")
		}
		return completeCheckout(d.Payment, join(at, "payment"), d.AP2, join(at, "ap2"), lim)
	case commerce.ActCancelCheckout:
		return commerce.CancelCheckout{}, nil
	case commerce.ActGetOrder:
		id, err := reqString(d.OrderID, at, "order_id", lim)
		return commerce.GetOrder{OrderID: id}, err
	case commerce.ActCancelOrder:
		id, err := reqString(d.OrderID, at, "order_id", lim)
		return commerce.CancelOrder{OrderID: id}, err
	case commerce.ActShipOrder:
		id, err := reqString(d.OrderID, at, "order_id", lim)
		return commerce.ShipOrder{OrderID: id}, err
	case commerce.ActUpdateOrder:
		return updateOrder(d, at, lim)
	case commerce.ActVoidPayment:
		id, err := reqString(d.OrderID, at, "order_id", lim)
		return commerce.VoidPayment{OrderID: id}, err
	case commerce.ActCapturePayment:
		id, amount, err := orderAmount(d, at, lim)
		return commerce.CapturePayment{OrderID: id, Amount: amount}, err
	case commerce.ActRefundPayment:
		id, amount, err := orderAmount(d, at, lim)
		return commerce.RefundPayment{OrderID: id, Amount: amount}, err
	}
	return nil, refused(commerce.CodeUnknownAction, join(at, "action"), "unknown action %q", clip(name))
}

// inCreate is the arguments of create_checkout.
type inCreate struct {
	LineItems []inLineItem `json:"line_items"`
	Buyer     *inBuyer     `json:"buyer"`
	Context   *inContext   `json:"context"`
}

func createCheckout(data json.RawMessage, at string, lim Limits) (commerce.Command, error) {
	var in inCreate
	if err := decodeTree(data, &in, at, "data"); err != nil {
		return nil, err
	}
	var c commerce.CreateCheckout
	var err error
	if c.LineItems, err = lineItems(in.LineItems, at, lim); err != nil {
		return nil, err
	}
	if in.Buyer != nil {
		if c.Buyer, err = buyer(in.Buyer, join(at, "buyer"), lim); err != nil {
			return nil, err
		}
	}
	if in.Context != nil {
		if c.Context, err = buyerContext(in.Context, join(at, "context"), lim); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// orderAmount reads order_id and the optional amount of capture_payment and refund_payment:
// a positive integer number of minor units.
func orderAmount(d *inData, at string, lim Limits) (string, *int64, error) {
	id, err := reqString(d.OrderID, at, "order_id", lim)
	if err != nil || isNull(d.Amount) {
		return id, nil, err
	}
	n, err := reqInt(d.Amount, at, "amount", 1, maxInt64)
	if err != nil {
		return "", nil, err
	}
	return id, &n, nil
}
