package commerce_test

import (
	"reflect"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

func TestShippingAddress(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 1})
	h.fails(commerce.SelectShippingOption{OptionID: "std"}, errInvalid, "option_id")

	c := h.must(commerce.SetShippingAddress{Address: caAddress}).Checkout
	want := []commerce.ShippingOption{{ID: "std", Title: "Standard", Amount: 500}, {ID: "exp", Title: "Express", Amount: 1500}}
	if !reflect.DeepEqual(c.Fulfillment.Options, want) {
		t.Fatalf("options %+v", c.Fulfillment.Options)
	}
	// Tax is charged once an address is known, before any option is chosen.
	if got := totals(c); got["tax"] != 206 || got["total"] != 2706 {
		t.Fatalf("totals %v", got)
	}
	h.fails(commerce.SelectShippingOption{OptionID: "drone"}, errInvalid, "option_id")
	h.must(commerce.SelectShippingOption{OptionID: "exp"})

	// Canada: undeliverable. The address is kept, the options and the selection are not.
	ca := commerce.Address{AddressLocality: "Toronto", AddressRegion: "ON", AddressCountry: "CA"}
	c = h.must(commerce.SetShippingAddress{Address: ca}).Checkout
	m := message(t, c, commerce.MsgAddressUndeliverable)
	if m.Type != commerce.MessageError || m.Severity != commerce.SeverityRequiresBuyerInput || m.Path != "$.fulfillment" {
		t.Fatalf("message %+v", m)
	}
	if *c.Fulfillment.Address != ca || c.Fulfillment.Options != nil || c.Fulfillment.SelectedOptionID != "" || c.Status != commerce.StatusIncomplete {
		t.Fatalf("fulfillment %+v, status %s", c.Fulfillment, c.Status)
	}
	if _, ok := commerce.TotalOf(c.Totals, commerce.TotalFulfillment); ok {
		t.Fatalf("fulfillment total without a selection: %+v", c.Totals)
	}
	h.fails(commerce.SelectShippingOption{OptionID: "std"}, errInvalid, "option_id")

	// The address stays undeliverable, and says so after any change.
	c = h.must(commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com"}}).Checkout
	message(t, c, commerce.MsgAddressUndeliverable)

	// Outside California there is no tax, but a tax entry (0) once the address is known.
	c = h.must(commerce.SetShippingAddress{Address: commerce.Address{StreetAddress: "1 Broadway", AddressLocality: "New York", AddressRegion: "NY", PostalCode: "10004", AddressCountry: "US"}}).Checkout
	if tax, ok := commerce.TotalOf(c.Totals, commerce.TotalTax); !ok || tax != 0 || len(c.Messages) != 0 {
		t.Fatalf("totals %+v, messages %v", c.Totals, messageCodes(c))
	}
}

func TestListShippingOptionsIsARead(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_poster", Quantity: 1}) // leaves a message
	h.must(commerce.SetShippingAddress{Address: caAddress})
	before := h.checkout()
	res := h.must(commerce.ListShippingOptions{})
	if res.Changed || res.Checkout != before || len(res.Checkout.Fulfillment.Options) != 2 {
		t.Fatalf("list: changed %v, options %+v", res.Changed, res.Checkout.Fulfillment.Options)
	}
	if res := h.must(commerce.GetCheckout{}); res.Changed || res.Checkout != before {
		t.Fatal("get changed something")
	}
}

func TestFreeShippingFollowsDiscount(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 4}) // 10000: standard is free
	h.must(commerce.SetShippingAddress{Address: caAddress})
	c := h.must(commerce.SelectShippingOption{OptionID: "std"}).Checkout
	if got := totals(c)["fulfillment"]; got != 0 {
		t.Fatalf("shipping %d, want free", got)
	}
	// A discount takes the subtotal under the threshold: standard costs again.
	c = h.must(commerce.ApplyDiscount{Code: "FLAT5"}).Checkout
	want := map[commerce.TotalType]int64{"subtotal": 10000, "discount": -500, "fulfillment": 500, "tax": 784, "total": 10784}
	if got := totals(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("totals %v, want %v", got, want)
	}
}

func TestDiscounts(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_mug", Quantity: 1})

	c := h.must(commerce.ApplyDiscount{Code: "BOGUS"}).Checkout
	m := message(t, c, commerce.MsgDiscountInvalid)
	if m.Type != commerce.MessageWarning || m.Severity != commerce.SeverityRecoverable || len(c.Discounts.Codes) != 0 {
		t.Fatalf("message %+v, discounts %+v", m, c.Discounts)
	}
	if _, ok := commerce.TotalOf(c.Totals, commerce.TotalDiscount); ok || c.Status != commerce.StatusIncomplete {
		t.Fatalf("totals %+v", c.Totals)
	}

	// Codes are matched without regard to case and kept as the book spells them.
	c = h.must(commerce.ApplyDiscount{Code: "save10"}).Checkout
	wantApplied := []commerce.AppliedDiscount{{Code: "SAVE10", Title: "10% off", Amount: -140}}
	if !reflect.DeepEqual(c.Discounts.Codes, []string{"SAVE10"}) || !reflect.DeepEqual(c.Discounts.Applied, wantApplied) || len(c.Messages) != 0 {
		t.Fatalf("discounts %+v, messages %v", c.Discounts, messageCodes(c))
	}

	// The same code again changes nothing.
	if res := h.must(commerce.ApplyDiscount{Code: "SAVE10"}); res.Changed {
		t.Fatal("the same code again changed the checkout")
	}

	c = h.must(commerce.ApplyDiscount{Code: "FLAT5"}).Checkout
	if m := message(t, c, commerce.MsgDiscountCombination); m.Type != commerce.MessageWarning || len(c.Discounts.Codes) != 1 || c.Discounts.Codes[0] != "SAVE10" {
		t.Fatalf("message %+v, discounts %+v", m, c.Discounts)
	}

	c = h.must(commerce.RemoveDiscount{Code: "SAVE10"}).Checkout
	if c.Discounts.Codes != nil || c.Discounts.Applied != nil || len(c.Messages) != 0 {
		t.Fatalf("after remove: %+v", c.Discounts)
	}
	if res := h.must(commerce.RemoveDiscount{Code: "SAVE10"}); res.Changed {
		t.Fatal("removing an absent code changed the checkout")
	}

	// A fixed discount never exceeds the subtotal.
	h.must(commerce.UpdateItem{LineItemID: "li_1", Quantity: 0})
	h.must(commerce.AddItem{ItemID: "sku_poster", Quantity: 1}) // no line, a message
	h.must(commerce.AddItem{ItemID: "sku_gift", Quantity: 1})
	h.must(commerce.UpdateItem{LineItemID: "li_2", Quantity: 0})
	c = h.must(commerce.ApplyDiscount{Code: "FLAT5"}).Checkout
	if got := totals(c); got["subtotal"] != 0 || got["discount"] != 0 || got["total"] != 0 {
		t.Fatalf("empty checkout with FLAT5: %v", got)
	}
	h.fails(commerce.ApplyDiscount{Code: ""}, errInvalid, "code")
}

func TestPercentDiscountRoundsHalfUp(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 1})
	h.must(commerce.AddItem{ItemID: "sku_mug", Quantity: 1}) // 3900 → 10 % is 390
	h.must(commerce.AddItem{ItemID: "sku_cap", Quantity: 1}) // 5900 → 590
	c := h.must(commerce.ApplyDiscount{Code: "SAVE10"}).Checkout
	if got := totals(c)["discount"]; got != -590 {
		t.Fatalf("discount %d", got)
	}
	// 10 % of 2505 is 250.5: rounded half up.
	if got, _ := commerce.MulDivHalfUp(2505, 10, 100); got != 251 {
		t.Fatalf("MulDivHalfUp(2505, 10, 100) = %d", got)
	}
}
