package commerce_test

import (
	"reflect"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

func TestNoCheckout(t *testing.T) {
	cmds := []commerce.Command{
		commerce.GetCheckout{}, commerce.UpdateCheckout{}, commerce.AddItem{ItemID: "sku_tee", Quantity: 1},
		commerce.UpdateItem{LineItemID: "li_1", Quantity: 1}, commerce.RemoveItem{LineItemID: "li_1"},
		commerce.SetBuyer{}, commerce.SetShippingAddress{}, commerce.ListShippingOptions{},
		commerce.SelectShippingOption{OptionID: "std"}, commerce.ApplyDiscount{Code: "SAVE10"},
		commerce.RemoveDiscount{Code: "SAVE10"}, pay("tok_visa"), commerce.CancelCheckout{},
		commerce.GetOrder{OrderID: "ord_x"}, commerce.CancelOrder{OrderID: "ord_x"},
		commerce.CapturePayment{OrderID: "ord_x"}, commerce.VoidPayment{OrderID: "ord_x"},
		commerce.RefundPayment{OrderID: "ord_x"},
	}
	for _, cmd := range cmds {
		t.Run(string(cmd.Action()), func(t *testing.T) {
			h := newHarness(t)
			path := ""
			switch cmd.Action() {
			case commerce.ActGetOrder, commerce.ActCancelOrder, commerce.ActCapturePayment, commerce.ActVoidPayment, commerce.ActRefundPayment:
				path = "order_id"
			}
			res := h.fails(cmd, commerce.ErrNotFound, path)
			if res.Changed {
				t.Fatal("a refused command changed the state")
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	h := newHarness(t)
	h.fails(nil, errUnknown, "")
}

func TestCreateCheckout(t *testing.T) {
	h := newHarness(t)
	res := h.must(commerce.CreateCheckout{
		LineItems: []commerce.LineItemInput{{ItemID: "sku_tee", Quantity: 1}, {ItemID: "sku_gift", Quantity: 2}, {ItemID: "sku_tee", Quantity: 1}},
		Buyer:     &commerce.Buyer{Email: "ada@example.com"},
		Context:   &commerce.BuyerContext{AddressCountry: "US"},
	})
	c := res.Checkout
	env, _ := demoEnv()
	if c.ID != commerce.NewID("chk", "msg-1", 0) || c.Currency != "USD" || !c.CreatedAt.Equal(t0) || !c.UpdatedAt.Equal(t0) ||
		!c.ExpiresAt.Equal(t0.Add(env.Policy.CheckoutTTL)) || len(res.Events) != 0 {
		t.Fatalf("created %+v", c)
	}
	if len(c.LineItems) != 2 || c.LineItems[0].ID != "li_1" || c.LineItems[0].Quantity != 2 || c.LineItems[1].ID != "li_2" {
		t.Fatalf("lines %+v (repeated items are one line)", c.LineItems)
	}
	if c.Status != commerce.StatusIncomplete || c.Buyer.Email != "ada@example.com" || c.Context.AddressCountry != "US" {
		t.Fatalf("status %s, buyer %+v, context %+v", c.Status, c.Buyer, c.Context)
	}

	h.fails(commerce.CreateCheckout{}, commerce.ErrCheckoutExists, "")

	// A bad line refuses the whole create, and says which.
	h2 := newHarness(t)
	h2.fails(commerce.CreateCheckout{LineItems: []commerce.LineItemInput{{ItemID: "sku_tee", Quantity: 1}, {ItemID: "sku_mug", Quantity: 0}}},
		errInvalid, "line_items[1].quantity")
	if h2.st.Checkout != nil {
		t.Fatal("a refused create left a checkout")
	}
	h2.fails(commerce.CreateCheckout{LineItems: []commerce.LineItemInput{{Quantity: 1}}}, errInvalid, "line_items[0].item.id")
}

func TestCreateAfterFinal(t *testing.T) {
	h := newHarness(t)
	first := h.ready()
	h.must(pay("tok_visa"))
	c := h.must(commerce.CreateCheckout{}).Checkout
	if c.ID == first.ID || len(c.LineItems) != 0 || len(h.st.Orders) != 1 {
		t.Fatalf("new checkout %+v, orders %d", c, len(h.st.Orders))
	}
	h.must(commerce.CancelCheckout{})
	h.must(commerce.CreateCheckout{})
}

func TestAddItem(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	if c := h.must(commerce.AddItem{ItemID: "sku_cap", Quantity: 3}).Checkout; c.LineItems[0].Quantity != 3 {
		t.Fatalf("first add: %+v", c.LineItems)
	}
	c := h.must(commerce.AddItem{ItemID: "sku_cap", Quantity: 2}).Checkout
	if len(c.LineItems) != 1 || c.LineItems[0].Quantity != 5 || c.LineItems[0].Totals[0].Amount != 10000 {
		t.Fatalf("lines %+v", c.LineItems)
	}
	// Five caps in stock: a sixth is out of stock, and the line stays as it was.
	c = h.must(commerce.AddItem{ItemID: "sku_cap", Quantity: 1}).Checkout
	if m := message(t, c, commerce.MsgOutOfStock); m.Path != "$.line_items[0].quantity" || c.LineItems[0].Quantity != 5 {
		t.Fatalf("message %+v, lines %+v", m, c.LineItems)
	}

	h.fails(commerce.AddItem{ItemID: "sku_tee", Quantity: 0}, errInvalid, "quantity")
	h.fails(commerce.AddItem{ItemID: "sku_tee", Quantity: 1000}, errInvalid, "quantity")
	h.fails(commerce.AddItem{ItemID: "", Quantity: 1}, errInvalid, "item_id")
	h.must(commerce.AddItem{ItemID: "sku_gift", Quantity: 999})
	h.fails(commerce.AddItem{ItemID: "sku_gift", Quantity: 1}, errInvalid, "quantity")
}

func TestMaxLineItems(t *testing.T) {
	h := newHarness(t)
	h.env.Policy.MaxLineItems = 2
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 1})
	h.must(commerce.AddItem{ItemID: "sku_mug", Quantity: 1})
	h.must(commerce.AddItem{ItemID: "sku_mug", Quantity: 1}) // raising a line adds none
	h.fails(commerce.AddItem{ItemID: "sku_gift", Quantity: 1}, errInvalid, "item_id")
	h.fails(commerce.UpdateCheckout{LineItems: []commerce.LineItemInput{{ItemID: "sku_tee", Quantity: 1}, {ItemID: "sku_mug", Quantity: 1}, {ItemID: "sku_gift", Quantity: 1}}},
		errInvalid, "line_items")
}

func TestUpdateAndRemoveItem(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 1})
	h.must(commerce.AddItem{ItemID: "sku_cap", Quantity: 1})

	c := h.must(commerce.UpdateItem{LineItemID: "li_1", Quantity: 4}).Checkout
	if c.LineItems[0].Quantity != 4 {
		t.Fatalf("lines %+v", c.LineItems)
	}
	c = h.must(commerce.UpdateItem{LineItemID: "li_2", Quantity: 6}).Checkout
	if message(t, c, commerce.MsgOutOfStock).Path != "$.line_items[1].quantity" || c.LineItems[1].Quantity != 1 {
		t.Fatalf("lines %+v", c.LineItems)
	}
	h.fails(commerce.UpdateItem{LineItemID: "li_9", Quantity: 1}, commerce.ErrNotFound, "line_item_id")
	h.fails(commerce.UpdateItem{LineItemID: "li_1", Quantity: -1}, errInvalid, "quantity")
	h.fails(commerce.UpdateItem{LineItemID: "li_1", Quantity: 1000}, errInvalid, "quantity")

	c = h.must(commerce.UpdateItem{LineItemID: "li_1", Quantity: 0}).Checkout
	if len(c.LineItems) != 1 || c.LineItems[0].ID != "li_2" {
		t.Fatalf("after removing li_1: %+v", c.LineItems)
	}
	c = h.must(commerce.RemoveItem{LineItemID: "li_2"}).Checkout
	if len(c.LineItems) != 0 || c.Status != commerce.StatusIncomplete {
		t.Fatalf("after removing li_2: %+v", c)
	}
	h.fails(commerce.RemoveItem{LineItemID: "li_2"}, commerce.ErrNotFound, "line_item_id")

	// Ids are never reused.
	c = h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 1}).Checkout
	if c.LineItems[0].ID != "li_3" {
		t.Fatalf("new line id %s, want li_3", c.LineItems[0].ID)
	}
}

func TestSetBuyerReplaces(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{Buyer: &commerce.Buyer{FirstName: "Ada", Email: "ada@example.com"}})
	c := h.must(commerce.SetBuyer{Buyer: commerce.Buyer{LastName: "Lovelace"}}).Checkout
	if !reflect.DeepEqual(*c.Buyer, commerce.Buyer{LastName: "Lovelace"}) {
		t.Fatalf("buyer %+v", c.Buyer)
	}
}

func TestStatusRules(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	// Digital goods need no shipping.
	h.must(commerce.AddItem{ItemID: "sku_gift", Quantity: 1})
	c := h.must(commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com"}}).Checkout
	if c.Status != commerce.StatusReadyForComplete {
		t.Fatalf("digital only: %s", c.Status)
	}
	// A physical one does.
	c = h.must(commerce.AddItem{ItemID: "sku_mug", Quantity: 1}).Checkout
	if c.Status != commerce.StatusIncomplete {
		t.Fatalf("physical without shipping: %s", c.Status)
	}
	h.must(commerce.SetShippingAddress{Address: caAddress})
	c = h.must(commerce.SelectShippingOption{OptionID: "exp"}).Checkout
	if c.Status != commerce.StatusReadyForComplete {
		t.Fatalf("with shipping: %s", c.Status)
	}
	// Without an email it is incomplete again.
	c = h.must(commerce.SetBuyer{Buyer: commerce.Buyer{FirstName: "Ada"}}).Checkout
	if c.Status != commerce.StatusIncomplete {
		t.Fatalf("no email: %s", c.Status)
	}
	h.fails(pay("tok_visa"), commerce.ErrInvalidTransition, "")
}

func TestEscalationDisabled(t *testing.T) {
	h := newHarness(t)
	h.env.Policy.EscalationLimit = 0
	h.must(commerce.CreateCheckout{Buyer: &commerce.Buyer{Email: "ada@example.com"}})
	c := h.must(commerce.AddItem{ItemID: "sku_gift", Quantity: 999}).Checkout
	if c.Status != commerce.StatusReadyForComplete {
		t.Fatalf("status %s with no escalation limit", c.Status)
	}
}
