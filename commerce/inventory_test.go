package commerce_test

import (
	"context"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

func capsLeft(t *testing.T, h *harness) int64 {
	t.Helper()
	n, _, err := h.env.Inventory.Available(context.Background(), "sku_cap")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// capCheckout is a ready checkout for two Canvas Caps (stock 5).
func capCheckout(t *testing.T, h *harness) {
	t.Helper()
	h.must(commerce.CreateCheckout{LineItems: []commerce.LineItemInput{{ItemID: "sku_cap", Quantity: 2}}})
	h.must(commerce.SetBuyer{Buyer: commerce.Buyer{Email: "a@example.com"}})
	h.must(commerce.SetShippingAddress{Address: caAddress})
	h.must(commerce.SelectShippingOption{OptionID: "std"})
}

func TestStockIsReservedAtCompletionAndReleasedByCancel(t *testing.T) {
	h := newHarness(t)
	capCheckout(t, h)
	if n := capsLeft(t, h); n != 5 {
		t.Fatalf("before completion: %d caps, want 5 (adding to a cart holds nothing)", n)
	}
	res := h.must(pay("tok_visa"))
	if n := capsLeft(t, h); n != 3 {
		t.Fatalf("after completion: %d caps, want 3", n)
	}
	// A redelivered completion reserves nothing more.
	if ok, _, err := h.env.Inventory.Reserve(context.Background(), res.Checkout.ID, res.Reserve); !ok || err != nil {
		t.Fatalf("reserving again: %v %v", ok, err)
	}
	if n := capsLeft(t, h); n != 3 {
		t.Fatalf("after reserving twice: %d caps, want 3", n)
	}
	h.must(commerce.CancelOrder{OrderID: res.Checkout.Order.ID})
	if n := capsLeft(t, h); n != 5 {
		t.Fatalf("after cancel_order: %d caps, want 5", n)
	}
}

func TestDeclineReleasesTheHold(t *testing.T) {
	h := newHarness(t)
	capCheckout(t, h)
	h.must(pay("tok_decline"))
	if n := capsLeft(t, h); n != 5 {
		t.Fatalf("after a decline: %d caps, want 5", n)
	}
}

func TestTransientPaymentFailureKeepsTheHoldUntilCancel(t *testing.T) {
	h := newHarness(t)
	capCheckout(t, h)
	if _, err := h.do(pay("tok_flaky")); commerce.KindOf(err) != commerce.KindTransient {
		t.Fatalf("flaky payment: %v, want a transient error", err)
	}
	if n := capsLeft(t, h); n != 3 {
		t.Fatalf("while the payment is retried: %d caps, want 3 (held)", n)
	}
	h.must(commerce.CancelCheckout{})
	if n := capsLeft(t, h); n != 5 {
		t.Fatalf("after cancel_checkout: %d caps, want 5", n)
	}
}

func TestShortStockAtReservation(t *testing.T) {
	h := newHarness(t)
	capCheckout(t, h)
	// Another buyer takes four caps between this checkout's lines and its completion.
	if ok, _, _ := h.env.Inventory.Reserve(context.Background(), "chk_other", []commerce.Reservation{{CheckoutID: "chk_other", ItemID: "sku_cap", Quantity: 4}}); !ok {
		t.Fatal("could not reserve for the other buyer")
	}
	res := h.must(pay("tok_visa"))
	if res.Checkout.Status == commerce.StatusCompleted {
		t.Fatalf("completed although the stock was short")
	}
	message(t, res.Checkout, commerce.MsgOutOfStock) // fails the test when it is missing
	if h.pay.Stats().Authorizations != 0 {
		t.Fatal("charged although the stock was short")
	}
}

// A completion whose first attempt reserved the stock and went no further (a transient
// payment failure here; a worker killed before it committed, with the stock kept outside
// its store, in the same way) completes on its retry although the count left for others
// is short by then: the hold is this checkout's. It must not answer out_of_stock and
// leave the units held by a checkout that will never ship them.
func TestRetryOfAReservedCompletionWhenStockRanOut(t *testing.T) {
	h := newHarness(t)
	capCheckout(t, h)
	if _, err := h.do(pay("tok_flaky")); commerce.KindOf(err) != commerce.KindTransient {
		t.Fatalf("flaky payment: %v, want a transient error", err)
	}
	// Other buyers take the three caps left.
	if ok, _, _ := h.env.Inventory.Reserve(context.Background(), "chk_other", []commerce.Reservation{{CheckoutID: "chk_other", ItemID: "sku_cap", Quantity: 3}}); !ok {
		t.Fatal("could not reserve for the other buyers")
	}
	res := h.must(pay("tok_visa"))
	if res.Checkout.Status != commerce.StatusCompleted {
		t.Fatalf("the retry left the checkout %s with %v, want completed: it holds its two caps", res.Checkout.Status, res.Checkout.Messages)
	}
	if n := capsLeft(t, h); n != 0 {
		t.Fatalf("after the retry: %d caps left, want 0", n)
	}
}

// A checkout refused for short stock holds nothing afterwards, whatever an earlier
// attempt of it had reserved.
func TestShortStockAfterAnInterruptedAttemptHoldsNothing(t *testing.T) {
	h := newHarness(t)
	capCheckout(t, h)
	// Another buyer takes four caps; this checkout's earlier attempt had reserved nothing.
	if ok, _, _ := h.env.Inventory.Reserve(context.Background(), "chk_other", []commerce.Reservation{{CheckoutID: "chk_other", ItemID: "sku_cap", Quantity: 4}}); !ok {
		t.Fatal("could not reserve for the other buyer")
	}
	res := h.must(pay("tok_visa"))
	message(t, res.Checkout, commerce.MsgOutOfStock)
	if n := capsLeft(t, h); n != 1 {
		t.Fatalf("after the refusal: %d caps left, want 1", n)
	}
}
