package envelopes

import (
	"encoding/json"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// update_order: the fulfillment events and adjustments a platform reports of an order
// (docs/contract.md, section 3), and how the order shows them.

// Adjustment is UCP's order adjustment: a refund, return, credit and the like, after the
// order was placed.
type Adjustment struct {
	ID          string               `json:"id"`
	Type        string               `json:"type"`
	OccurredAt  string               `json:"occurred_at"`
	Status      string               `json:"status"`
	LineItems   []FulfillmentLineQty `json:"line_items,omitempty"`
	Amount      int64                `json:"amount"`
	Description string               `json:"description,omitempty"`
}

// updateOrder reads update_order: {order_id, events?, adjustments?}, each list an array of
// UCP's fulfillment events and adjustments.
func updateOrder(d *inData, at string, lim Limits) (commerce.Command, error) {
	id, err := reqString(d.OrderID, at, "order_id", lim)
	if err != nil {
		return nil, err
	}
	cmd := commerce.UpdateOrder{OrderID: id}
	if !isNull(d.Events) {
		var raws []json.RawMessage
		if json.Unmarshal(d.Events, &raws) != nil {
			return nil, commerce.Invalid(join(at, "events"), "events must be an array")
		}
		cmd.Events = []commerce.OrderEvent{}
		for i, raw := range raws {
			e, err := orderEvent(raw, index(join(at, "events"), i), lim)
			if err != nil {
				return nil, err
			}
			cmd.Events = append(cmd.Events, e)
		}
	}
	if !isNull(d.Adjustments) {
		var raws []json.RawMessage
		if json.Unmarshal(d.Adjustments, &raws) != nil {
			return nil, commerce.Invalid(join(at, "adjustments"), "adjustments must be an array")
		}
		cmd.Adjustments = []commerce.Adjustment{}
		for i, raw := range raws {
			a, err := adjustment(raw, index(join(at, "adjustments"), i), lim)
			if err != nil {
				return nil, err
			}
			cmd.Adjustments = append(cmd.Adjustments, a)
		}
	}
	return cmd, nil
}

type inReported struct {
	ID             json.RawMessage `json:"id"`
	Type           json.RawMessage `json:"type"`
	OccurredAt     json.RawMessage `json:"occurred_at"`
	LineItems      json.RawMessage `json:"line_items"`
	TrackingNumber json.RawMessage `json:"tracking_number"`
	TrackingURL    json.RawMessage `json:"tracking_url"`
	Carrier        json.RawMessage `json:"carrier"`
	Description    json.RawMessage `json:"description"`
	Status         json.RawMessage `json:"status"`
	Amount         json.RawMessage `json:"amount"`
}

func readReported(raw json.RawMessage, at string, lim Limits) (inReported, string, string, time.Time, []commerce.LineQuantity, error) {
	var in inReported
	if firstByte(raw) != '{' || json.Unmarshal(raw, &in) != nil {
		return in, "", "", time.Time{}, nil, commerce.Invalid(at, "must be an object")
	}
	id, err := reqString(in.ID, at, "id", lim)
	if err != nil {
		return in, "", "", time.Time{}, nil, err
	}
	typ, err := reqString(in.Type, at, "type", lim)
	if err != nil {
		return in, "", "", time.Time{}, nil, err
	}
	var when time.Time
	if s, err := optString(in.OccurredAt, at, "occurred_at", lim); err != nil {
		return in, "", "", time.Time{}, nil, err
	} else if s != "" {
		if when, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return in, "", "", time.Time{}, nil, commerce.Invalid(join(at, "occurred_at"), "occurred_at must be an RFC 3339 date-time")
		}
		when = when.UTC()
	}
	var lines []commerce.LineQuantity
	if !isNull(in.LineItems) {
		var raws []struct {
			ID       json.RawMessage `json:"id"`
			Quantity json.RawMessage `json:"quantity"`
		}
		if json.Unmarshal(in.LineItems, &raws) != nil {
			return in, "", "", time.Time{}, nil, commerce.Invalid(join(at, "line_items"), "line_items must be an array of {id, quantity}")
		}
		for j, l := range raws {
			lat := index(join(at, "line_items"), j)
			lid, err := reqString(l.ID, lat, "id", lim)
			if err != nil {
				return in, "", "", time.Time{}, nil, err
			}
			q, err := reqInt(l.Quantity, lat, "quantity", 0, int64(lim.MaxQuantity))
			if err != nil {
				return in, "", "", time.Time{}, nil, err
			}
			lines = append(lines, commerce.LineQuantity{ID: lid, Quantity: int(q)})
		}
	}
	return in, id, typ, when, lines, nil
}

func orderEvent(raw json.RawMessage, at string, lim Limits) (commerce.OrderEvent, error) {
	in, id, typ, when, lines, err := readReported(raw, at, lim)
	if err != nil {
		return commerce.OrderEvent{}, err
	}
	e := commerce.OrderEvent{ID: id, Type: typ, OccurredAt: when, LineItems: lines}
	for _, f := range []struct {
		raw  json.RawMessage
		name string
		to   *string
	}{{in.TrackingNumber, "tracking_number", &e.TrackingNumber}, {in.TrackingURL, "tracking_url", &e.TrackingURL},
		{in.Carrier, "carrier", &e.Carrier}, {in.Description, "description", &e.Description}} {
		if *f.to, err = optString(f.raw, at, f.name, lim); err != nil {
			return commerce.OrderEvent{}, err
		}
	}
	return e, nil
}

func adjustment(raw json.RawMessage, at string, lim Limits) (commerce.Adjustment, error) {
	in, id, typ, when, lines, err := readReported(raw, at, lim)
	if err != nil {
		return commerce.Adjustment{}, err
	}
	a := commerce.Adjustment{ID: id, Type: typ, OccurredAt: when, LineItems: lines}
	if a.Status, err = reqString(in.Status, at, "status", lim); err != nil {
		return commerce.Adjustment{}, err
	}
	if a.Description, err = optString(in.Description, at, "description", lim); err != nil {
		return commerce.Adjustment{}, err
	}
	if !isNull(in.Amount) {
		if a.Amount, err = reqInt(in.Amount, at, "amount", 0, commerce.MaxAmount); err != nil {
			return commerce.Adjustment{}, err
		}
	}
	return a, nil
}
