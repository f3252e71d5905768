package commerce_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

func TestComplete(t *testing.T) {
	h := newHarness(t)
	h.ready()
	h.must(commerce.AddItem{ItemID: "sku_gift", Quantity: 1})
	h.must(commerce.AddItem{ItemID: "sku_cap", Quantity: 2})
	before := h.checkout()
	res := h.must(pay("tok_visa"))

	c := res.Checkout
	if len(h.st.Orders) != 1 {
		t.Fatalf("%d orders", len(h.st.Orders))
	}
	o := h.st.Orders[0]
	if o.ID != commerce.NewID("ord", fmt.Sprintf("msg-%d", h.n), 0) || c.Order.ID != o.ID || o.CheckoutID != c.ID {
		t.Fatalf("order %s for checkout %s, ref %+v", o.ID, o.CheckoutID, c.Order)
	}
	if o.Status != commerce.OrderPlaced || o.Currency != "USD" || !reflect.DeepEqual(o.LineItems, before.LineItems) ||
		!reflect.DeepEqual(o.Totals, before.Totals) || !reflect.DeepEqual(o.Fulfillment, before.Fulfillment) ||
		!reflect.DeepEqual(o.Buyer, before.Buyer) || !o.CreatedAt.Equal(t0) {
		t.Fatalf("order %+v does not match checkout %+v", o, before)
	}
	total, _ := commerce.TotalOf(before.Totals, commerce.TotalTotal)
	wantPay := commerce.Payment{ID: o.Payment.ID, HandlerID: "mock", Status: commerce.PaymentCaptured, Authorized: total, Captured: total}
	if o.Payment != wantPay || !strings.HasPrefix(o.Payment.ID, "pay_") {
		t.Fatalf("payment %+v, want %+v", o.Payment, wantPay)
	}
	wantEvents := []commerce.EventType{commerce.EvtCheckoutCompleted, commerce.EvtOrderCreated, commerce.EvtPaymentAuthorized, commerce.EvtPaymentCaptured}
	if got := eventTypes(res); !reflect.DeepEqual(got, wantEvents) {
		t.Fatalf("events %v", got)
	}
	if res.Events[0].Checkout != c || res.Events[1].Order != o || res.Events[2].Amount != total || res.Events[3].Amount != total {
		t.Fatalf("event payloads %+v", res.Events)
	}
	// The gift card is not counted, so it reserves nothing.
	wantReserve := []commerce.Reservation{{CheckoutID: c.ID, ItemID: "sku_tee", Quantity: 2}, {CheckoutID: c.ID, ItemID: "sku_cap", Quantity: 2}}
	if !reflect.DeepEqual(res.Reserve, wantReserve) {
		t.Fatalf("reserve %+v", res.Reserve)
	}

	h.fails(pay("tok_visa"), commerce.ErrCheckoutImmutable, "")
	h.fails(commerce.CancelCheckout{}, commerce.ErrCheckoutImmutable, "")
	// The UCP form opens a new checkout: there is no open one.
	if next := h.must(commerce.UpsertCheckout{}).Checkout; next.ID == c.ID || len(h.st.Orders) != 1 {
		t.Fatalf("upsert after completion: %+v", next)
	}
}

func TestCompleteAuthorizeOnly(t *testing.T) {
	h := newHarness(t)
	h.env.Policy.AutoCapture = false
	h.ready()
	res := h.must(pay("tok_visa"))
	o := res.State.Orders[0]
	if o.Payment.Status != commerce.PaymentAuthorized || o.Payment.Captured != 0 {
		t.Fatalf("payment %+v", o.Payment)
	}
	if got := eventTypes(res); len(got) != 3 || got[2] != commerce.EvtPaymentAuthorized {
		t.Fatalf("events %v", got)
	}
}

func TestCompleteRefusals(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	_, err := h.do(pay("tok_visa"))
	checkErr(t, err, commerce.ErrInvalidTransition, "")
	if !strings.Contains(err.Error(), "no line items") {
		t.Fatalf("error %v does not say why", err)
	}
	// Without an address, or without an option, in the words UCP's suite looks for.
	h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 1})
	h.must(commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com"}})
	if _, err = h.do(pay("tok_visa")); err == nil || !strings.Contains(err.Error(), "Fulfillment address and option must be selected") {
		t.Fatalf("no address: %v", err)
	}
	h.must(commerce.SetShippingAddress{Address: caAddress})
	if _, err = h.do(pay("tok_visa")); err == nil || !strings.Contains(err.Error(), "Fulfillment option must be selected") {
		t.Fatalf("no option: %v", err)
	}

	h.must(commerce.CancelCheckout{})
	h = newHarness(t)
	h.ready()
	h.fails(commerce.CompleteCheckout{}, errInvalid, "payment.instruments")
	two := commerce.CompleteCheckout{Instruments: []commerce.PaymentInstrument{
		{ID: "a", HandlerID: "mock", Credential: commerce.Credential{Token: "tok_visa"}},
		{ID: "b", HandlerID: "mock", Selected: true},
	}}
	h.fails(two, errInvalid, "payment.instruments[1].credential.token")
	if s := h.pay.Stats(); s != (providers.MockStats{}) {
		t.Fatalf("refused completions reached the processor: %+v", s)
	}
}

// stockOut is an inventory whose stock ran out after the lines were added: its count
// says so, and so does a reservation (which the completion still asks for, in case an
// earlier attempt of this checkout held the stock).
type stockOut struct{}

func (stockOut) Available(_ context.Context, item string) (int64, bool, error) {
	if item == "sku_gift" {
		return 0, true, nil
	}
	return 1, false, nil
}

func (stockOut) Reserve(_ context.Context, _ string, lines []commerce.Reservation) (bool, string, error) {
	if len(lines) == 0 {
		return false, "", errors.New("reserve called with no lines")
	}
	return false, lines[0].ItemID, nil
}

func (stockOut) Release(context.Context, string) error { return nil }

func TestCompleteRechecksStock(t *testing.T) {
	h := newHarness(t)
	h.ready()
	h.env.Inventory = stockOut{}
	res := h.must(pay("tok_visa"))
	c := res.Checkout
	if !res.Changed || c.Status != commerce.StatusReadyForComplete || message(t, c, commerce.MsgOutOfStock).Path != "$.line_items[0].quantity" {
		t.Fatalf("short stock: changed %v, status %s, messages %+v", res.Changed, c.Status, c.Messages)
	}
	if len(res.Reserve) != 0 || len(res.Events) != 0 || h.pay.Stats() != (providers.MockStats{}) {
		t.Fatal("short stock charged or reserved")
	}
}

func TestCancelCheckout(t *testing.T) {
	h := newHarness(t)
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_poster", Quantity: 1})
	res := h.must(commerce.CancelCheckout{})
	if res.Checkout.Status != commerce.StatusCanceled || len(res.Checkout.Messages) != 0 || res.Checkout.Expired() {
		t.Fatalf("canceled %+v", res.Checkout)
	}
	if got := eventTypes(res); !reflect.DeepEqual(got, []commerce.EventType{commerce.EvtCheckoutCanceled}) || len(res.Release) != 0 {
		t.Fatalf("events %v, release %v", got, res.Release)
	}
	h.fails(commerce.CancelCheckout{}, commerce.ErrCheckoutImmutable, "")
	h.fails(commerce.SetBuyer{}, commerce.ErrCheckoutImmutable, "")
	// Past its expiry a canceled checkout stays canceled, not expired.
	h.env.Now = t0.Add(24 * time.Hour)
	h.fails(commerce.SetBuyer{}, commerce.ErrCheckoutImmutable, "")
}
