package commerce_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// TestUpdateOrder: update_order records the platform's fulfillment events and
// adjustments (order.updated), each list sent replacing the one before and a list left
// out kept; cartwright's own shipped event sent back is left out; a line the order does
// not have, an adjustment status UCP does not know or an unknown order is refused.
func TestUpdateOrder(t *testing.T) {
	h, id := placed(t, true)
	line := h.st.Orders[0].LineItems[0]
	at := time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC)
	ev := commerce.OrderEvent{ID: "evt_1", Type: "shipped", OccurredAt: at, TrackingNumber: "TRACK123",
		TrackingURL: "http://track.me/123", Description: "Shipped via FedEx",
		LineItems: []commerce.LineQuantity{{ID: line.ID, Quantity: line.Quantity}}}
	own := commerce.OrderEvent{ID: commerce.ShippedEventID, Type: "shipped"}
	res := h.must(commerce.UpdateOrder{OrderID: id, Events: []commerce.OrderEvent{own, ev}})
	if !res.Changed || !reflect.DeepEqual(res.Order.Events, []commerce.OrderEvent{ev}) || res.Order.Adjustments != nil {
		t.Fatalf("events %+v, adjustments %+v", res.Order.Events, res.Order.Adjustments)
	}
	if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtOrderUpdated}) {
		t.Fatalf("domain events %v", got)
	}

	adj := commerce.Adjustment{ID: "adj_1", Type: "refund", Status: commerce.AdjustmentPending, OccurredAt: at, Amount: 500, Description: "Customer refund request"}
	res = h.must(commerce.UpdateOrder{OrderID: id, Adjustments: []commerce.Adjustment{adj}})
	if !reflect.DeepEqual(res.Order.Adjustments, []commerce.Adjustment{adj}) || len(res.Order.Events) != 1 {
		t.Fatalf("adjustments %+v, events kept %+v", res.Order.Adjustments, res.Order.Events)
	}
	if h.st.Orders[0].Adjustments[0].Amount != 500 || h.st.Orders[0].Events[0].TrackingNumber != "TRACK123" {
		t.Fatalf("not in the state: %+v", h.st.Orders[0])
	}

	bad := adj
	bad.Status = "INVALID_STATUS"
	h.fails(commerce.UpdateOrder{OrderID: id, Adjustments: []commerce.Adjustment{bad}}, errInvalid, "adjustments[0].status")
	stray := ev
	stray.LineItems = []commerce.LineQuantity{{ID: "li_9", Quantity: 1}}
	h.fails(commerce.UpdateOrder{OrderID: id, Events: []commerce.OrderEvent{stray}}, errInvalid, "events[0].line_items[0].id")
	h.fails(commerce.UpdateOrder{OrderID: "ord_nope"}, commerce.ErrNotFound, "order_id")
	if len(h.st.Orders[0].Adjustments) != 1 || h.st.Orders[0].Adjustments[0].Status != commerce.AdjustmentPending {
		t.Fatalf("a refused update changed the order: %+v", h.st.Orders[0].Adjustments)
	}
}
