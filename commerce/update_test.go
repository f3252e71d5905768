package commerce_test

import (
	"reflect"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

func fullUpdate() commerce.UpdateCheckout {
	return commerce.UpdateCheckout{
		LineItems:        []commerce.LineItemInput{{ItemID: "sku_tee", Quantity: 2}},
		Buyer:            &commerce.Buyer{Email: "ada@example.com"},
		Context:          &commerce.BuyerContext{AddressCountry: "US", AddressRegion: "CA"},
		Address:          &caAddress,
		SelectedOptionID: "std",
		DiscountCodes:    []string{"SAVE10"},
	}
}

func TestUpsertCreatesThenUpdates(t *testing.T) {
	h := newHarness(t)
	c := h.must(commerce.UpsertCheckout{Update: fullUpdate()}).Checkout
	want := map[commerce.TotalType]int64{"subtotal": 5000, "discount": -500, "fulfillment": 500, "tax": 371, "total": 5371}
	if got := totals(c); !reflect.DeepEqual(got, want) || c.Status != commerce.StatusReadyForComplete {
		t.Fatalf("created: totals %v, status %s, messages %v", got, c.Status, messageCodes(c))
	}
	id := c.ID

	u := fullUpdate()
	u.LineItems = []commerce.LineItemInput{{ItemID: "sku_mug", Quantity: 1}, {ItemID: "sku_gift", Quantity: 1}}
	u.DiscountCodes = []string{"FLAT5", "SAVE10", "NOPE"}
	u.SelectedOptionID = "exp"
	c = h.must(commerce.UpsertCheckout{Update: u}).Checkout
	if c.ID != id {
		t.Fatalf("upsert replaced the open checkout %s with %s", id, c.ID)
	}
	// Full replacement: new lines, numbered on from li_2.
	if len(c.LineItems) != 2 || c.LineItems[0].ID != "li_2" || c.LineItems[1].ID != "li_3" {
		t.Fatalf("lines %+v", c.LineItems)
	}
	if !reflect.DeepEqual(c.Discounts.Codes, []string{"FLAT5"}) {
		t.Fatalf("codes %v", c.Discounts.Codes)
	}
	if got := messageCodes(c); !reflect.DeepEqual(got, []string{commerce.MsgDiscountCombination, commerce.MsgDiscountInvalid}) {
		t.Fatalf("messages %v", got)
	}
	if c.Messages[0].Path != "$.discounts.codes[1]" || c.Messages[1].Path != "$.discounts.codes[2]" {
		t.Fatalf("message paths %+v", c.Messages)
	}
	if c.Fulfillment.SelectedOptionID != "exp" || totals(c)["fulfillment"] != 1500 {
		t.Fatalf("fulfillment %+v", c.Fulfillment)
	}
}

func TestUpdateClears(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.UpsertCheckout{Update: fullUpdate()})
	c := h.must(commerce.UpdateCheckout{}).Checkout
	if c.LineItems != nil || c.Buyer != nil || c.Context != nil || c.Fulfillment.Address != nil ||
		c.Fulfillment.Options != nil || c.Discounts.Codes != nil || c.Status != commerce.StatusIncomplete {
		t.Fatalf("after an empty update: %+v", c)
	}
	if !reflect.DeepEqual(totals(c), map[commerce.TotalType]int64{"subtotal": 0, "total": 0}) {
		t.Fatalf("totals %+v", c.Totals)
	}
}

func TestUpdateRefusals(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.UpsertCheckout{Update: fullUpdate()})
	before := h.checkout()

	u := fullUpdate()
	u.SelectedOptionID = "drone"
	h.fails(commerce.UpdateCheckout(u), errInvalid, "fulfillment")

	u = fullUpdate()
	u.Address = &commerce.Address{AddressCountry: "FR"}
	h.fails(commerce.UpdateCheckout(u), errInvalid, "fulfillment")

	u = fullUpdate()
	u.Address = nil
	h.fails(commerce.UpdateCheckout(u), errInvalid, "fulfillment")

	u = fullUpdate()
	u.LineItems = append(u.LineItems, commerce.LineItemInput{ItemID: "sku_mug", Quantity: 1000})
	h.fails(commerce.UpdateCheckout(u), errInvalid, "line_items[1].quantity")

	u = fullUpdate()
	u.DiscountCodes = []string{"SAVE10", ""}
	h.fails(commerce.UpdateCheckout(u), errInvalid, "discounts.codes[1]")

	if h.checkout() != before {
		t.Fatal("a refused update changed the checkout")
	}

	// Stock problems are messages, as with add_item.
	u = fullUpdate()
	u.LineItems = []commerce.LineItemInput{{ItemID: "sku_poster", Quantity: 1}, {ItemID: "sku_zzz", Quantity: 1}}
	u.SelectedOptionID = ""
	c := h.must(commerce.UpdateCheckout(u)).Checkout
	if got := messageCodes(c); !reflect.DeepEqual(got, []string{commerce.MsgOutOfStock, commerce.MsgItemUnavailable}) || len(c.LineItems) != 0 {
		t.Fatalf("messages %v, lines %+v", got, c.LineItems)
	}
}
