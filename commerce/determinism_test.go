package commerce_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
)

// The chaos test uses commerce as its reference model, and a redelivered envelope must
// produce what its first delivery did: Apply is a function of env, state and command.
func TestApplyIsDeterministic(t *testing.T) {
	h := newHarness(t)
	h.ready()
	steps := []commerce.Command{
		commerce.ApplyDiscount{Code: "SAVE10"},
		commerce.AddItem{ItemID: "sku_nope", Quantity: 1},
		commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com"}}, // clears the message
		pay("tok_decline"),
		pay("tok_visa"),
		commerce.RefundPayment{OrderID: "(filled in)", Amount: ptr[int64](100)},
		commerce.CreateCheckout{LineItems: []commerce.LineItemInput{{ItemID: "sku_gift", Quantity: 30}}, Buyer: &commerce.Buyer{Email: "a@b.c"}},
	}
	for i, cmd := range steps {
		if r, ok := cmd.(commerce.RefundPayment); ok {
			r.OrderID = h.st.Orders[0].ID
			cmd = r
		}
		env := h.env
		env.Seed = "step-" + string(rune('a'+i))
		in := h.st.Clone()
		first, err1 := commerce.Apply(t.Context(), env, h.st, cmd)
		second, err2 := commerce.Apply(t.Context(), env, h.st, cmd)
		if !reflect.DeepEqual(first, second) || !reflect.DeepEqual(err1, err2) {
			t.Fatalf("%s: two applications differ:\n%+v\n%+v", cmd.Action(), first, second)
		}
		if !reflect.DeepEqual(in, h.st) {
			t.Fatalf("%s modified its input", cmd.Action())
		}
		if err1 != nil {
			t.Fatalf("%s: %v", cmd.Action(), err1)
		}
		h.st = first.State
	}
	if s := h.pay.Stats(); s.Authorizations != 1 || s.Declines != 1 || s.Refunds != 1 {
		t.Fatalf("the processor acted more than once per step: %+v", s)
	}
}

func TestNewID(t *testing.T) {
	id := commerce.NewID("chk", "msg-1", 0)
	if len(id) != len("chk_")+20 || id[:4] != "chk_" || id != commerce.NewID("chk", "msg-1", 0) {
		t.Fatalf("NewID = %q", id)
	}
	for _, r := range id[4:] {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			t.Fatalf("%q is not lowercase base32", id)
		}
	}
	others := []string{commerce.NewID("chk", "msg-2", 0), commerce.NewID("chk", "msg-1", 1), commerce.NewID("ord", "msg-1", 0)}
	for _, o := range others {
		if o[4:] == id[4:] {
			t.Fatalf("%s and %s collide", id, o)
		}
	}
}

func TestMulDivHalfUp(t *testing.T) {
	for _, c := range []struct{ a, b, d, want int64 }{
		{4500, 825, 10000, 371},
		{10300, 825, 10000, 850},
		{5000, 825, 10000, 413},
		{0, 825, 10000, 0},
		{1, 1, 2, 1},
		{-3, 1, 2, -2},
		{5000, 10, 100, 500},
		// The product needs more than 64 bits; the result does not.
		{100_000_000_000_000_000, 825, 10000, 8_250_000_000_000_000},
		{commerce.MaxAmount, 10000, 10000, commerce.MaxAmount},
		{math.MaxInt64, 99, 100, 9131138316486228049}, // 9131138316486228048.93
		{math.MinInt64, 1, 2, -4611686018427387904},   // exact
		{math.MinInt64, 1, 1, math.MinInt64},          // |result| is 2^63
		{-(1 << 62) - 1, 3, 2, -6917529027641081858},  // -6917529027641081857.5
	} {
		if got, ok := commerce.MulDivHalfUp(c.a, c.b, c.d); got != c.want || !ok {
			t.Errorf("MulDivHalfUp(%d, %d, %d) = %d, %v; want %d", c.a, c.b, c.d, got, ok, c.want)
		}
	}
	for _, c := range []struct{ a, b, d int64 }{
		{math.MaxInt64, 2, 1},
		{math.MaxInt64, math.MaxInt64, 2},
		{math.MinInt64, -1, 1},
		{1, 1, 0},
		{1, 1, -1},
	} {
		if got, ok := commerce.MulDivHalfUp(c.a, c.b, c.d); ok {
			t.Errorf("MulDivHalfUp(%d, %d, %d) = %d, ok; want not ok", c.a, c.b, c.d, got)
		}
	}
}

func TestPolicyDefaults(t *testing.T) {
	p := commerce.Policy{}.WithDefaults()
	if p.CheckoutTTL != commerce.DefaultCheckoutTTL || p.MaxLineItems != 100 || p.MaxQuantity != 999 {
		t.Fatalf("defaults %+v", p)
	}
	// A zero Env (no providers, zero policy) still opens checkouts.
	res, err := commerce.Apply(t.Context(), commerce.Env{Now: t0, Seed: "s"}, commerce.State{}, commerce.CreateCheckout{
		LineItems: []commerce.LineItemInput{{ItemID: "sku_tee", Quantity: 1}},
	})
	if err != nil || !res.Checkout.ExpiresAt.Equal(t0.Add(commerce.DefaultCheckoutTTL)) || message(t, res.Checkout, commerce.MsgItemUnavailable).Code == "" {
		t.Fatalf("zero env: %v, %+v", err, res.Checkout)
	}
}
