package envelopes

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// update_order reads the platform's events and adjustments, and the order shows them:
// tracking fields on its fulfillment events, adjustments as sent.
func TestUpdateOrderParsedAndShown(t *testing.T) {
	raw := rpc(`{"action":"update_order","order_id":"ord_1",
		"events":[{"id":"evt_1","type":"shipped","occurred_at":"2026-04-08T12:00:00+02:00","line_items":[{"id":"li_1","quantity":2}],
			"tracking_number":"TRACK123","tracking_url":"http://track.me/123","carrier":"FedEx","description":"Shipped via FedEx"}],
		"adjustments":[{"id":"adj_1","type":"refund","status":"pending","amount":500,"description":"Customer refund request"}]}`)
	req, err := Parse([]byte(raw), testTenant, testContext, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 4, 8, 10, 0, 0, 0, time.UTC)
	want := commerce.UpdateOrder{OrderID: "ord_1",
		Events: []commerce.OrderEvent{{ID: "evt_1", Type: "shipped", OccurredAt: at, LineItems: []commerce.LineQuantity{{ID: "li_1", Quantity: 2}},
			TrackingNumber: "TRACK123", TrackingURL: "http://track.me/123", Carrier: "FedEx", Description: "Shipped via FedEx"}},
		Adjustments: []commerce.Adjustment{{ID: "adj_1", Type: "refund", Status: "pending", Amount: 500, Description: "Customer refund request"}},
	}
	if !reflect.DeepEqual(req.Command, want) {
		t.Fatalf("command %#v\nwant %#v", req.Command, want)
	}
	// Neither list: both kept (nil).
	req, err = Parse([]byte(rpc(`{"action":"update_order","order_id":"ord_1"}`)), testTenant, testContext, Limits{})
	if err != nil || !reflect.DeepEqual(req.Command, commerce.UpdateOrder{OrderID: "ord_1"}) {
		t.Fatalf("no lists: %#v %v", req.Command, err)
	}

	const D = "$.params.message.parts[0].data"
	parseErr(t, rpc(`{"action":"update_order","order_id":"ord_1","adjustments":{"id":"adj_1","amount":100}}`), commerce.CodeInvalidParams, D+".adjustments")
	parseErr(t, rpc(`{"action":"update_order","order_id":"ord_1","events":[{"id":"e","type":"shipped","occurred_at":"yesterday"}]}`),
		commerce.CodeInvalidParams, D+".events[0].occurred_at")
	parseErr(t, rpc(`{"action":"update_order","order_id":"ord_1","adjustments":[{"id":"a","type":"refund"}]}`), commerce.CodeInvalidParams, D+".adjustments[0].status")
	parseErr(t, rpc(`{"action":"update_order"}`), commerce.CodeInvalidParams, D+".order_id")

	o := &commerce.Order{ID: "ord_1", Events: want.Events, Adjustments: want.Adjustments}
	b, err := EncodeOrder(o)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Fulfillment struct {
			Events []FulfillmentEvent `json:"events"`
		} `json:"fulfillment"`
		Adjustments []Adjustment `json:"adjustments"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Fulfillment.Events) != 1 || got.Fulfillment.Events[0].TrackingNumber != "TRACK123" || got.Fulfillment.Events[0].OccurredAt != "2026-04-08T10:00:00Z" ||
		len(got.Adjustments) != 1 || got.Adjustments[0].Amount != 500 || got.Adjustments[0].Status != "pending" {
		t.Fatalf("order %s", b)
	}
	// An order without any: neither member (the demo's orders are unchanged).
	if b, _ := EncodeOrder(&commerce.Order{ID: "ord_2"}); strings.Contains(string(b), "adjustments") || strings.Contains(string(b), "events") {
		t.Fatalf("plain order %s", b)
	}
}
