package commerce_test

import (
	"context"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// Money is bounded where it enters (commerce.MaxPrice, commerce.MaxAmount) and every sum is
// checked: nothing wraps around int64, and a total is never negative.

var errInternal = &commerce.Error{Kind: commerce.KindInternal, Code: commerce.CodeInternalError}

// A catalog price near 2^63 used to wrap: two of them made a total of about -2^63, which
// escaped the escalation limit and was charged and captured as a negative amount.
func TestPriceNear2To63IsRefused(t *testing.T) {
	h := newHarness(t)
	b := providers.Demo()
	b.Items = append(b.Items, providers.CatalogItem{ID: "sku_big", Title: "Big", Price: 1 << 62})
	h.env = b.Wire(h.env)
	h.must(commerce.CreateCheckout{})
	_, err := h.do(commerce.AddItem{ItemID: "sku_big", Quantity: 2})
	if err == nil {
		h.must(commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com"}})
		h.must(commerce.SetShippingAddress{Address: caAddress})
		h.must(commerce.SelectShippingOption{OptionID: "std"})
		res, err := h.do(pay("tok_visa"))
		total, _ := commerce.TotalOf(h.checkout().Totals, commerce.TotalTotal)
		t.Fatalf("a price of 2^62 was accepted: the checkout is %s with total %d; completing it gave %v, events %+v",
			h.checkout().Status, total, err, paymentAmounts(res))
	}
	checkErr(t, err, errInternal, "")
	if msg := err.Error(); !strings.Contains(msg, "sku_big") || !strings.Contains(msg, "4611686018427387904") {
		t.Fatalf("the error does not say which item and price: %v", err)
	}
	if c := h.checkout(); len(c.LineItems) != 0 {
		t.Fatalf("the refused item is in the checkout: %+v", c.LineItems)
	}
}

func paymentAmounts(res commerce.Result) []string {
	var out []string
	for _, e := range res.Events {
		if e.Amount != 0 {
			out = append(out, string(e.Type)+"="+big.NewInt(e.Amount).String())
		}
	}
	return out
}

// With the policy's limits raised far past the defaults, a line of prices within bounds
// can still exceed what an amount may be: an error, not a wrapped total.
func TestLineTotalOverflowIsAnError(t *testing.T) {
	h := newHarness(t)
	b := providers.Demo()
	b.Items = append(b.Items, providers.CatalogItem{ID: "sku_dear", Title: "Dear", Price: 1_000_000_000_000})
	h.env = b.Wire(h.env)
	h.env.Policy.MaxQuantity = 1 << 40
	h.must(commerce.CreateCheckout{})
	res, err := h.do(commerce.AddItem{ItemID: "sku_dear", Quantity: 10_000_000})
	if err == nil {
		t.Fatalf("10^7 × 10^12 was accepted: totals %+v", res.Checkout.Totals)
	}
	checkErr(t, err, errInternal, "")
	// Under the bound the same line is fine.
	c := h.must(commerce.AddItem{ItemID: "sku_dear", Quantity: 100_000}).Checkout
	if got := totals(c)["subtotal"]; got != 100_000_000_000_000_000 {
		t.Fatalf("subtotal %d, want 10^17", got)
	}
}

// Amounts a provider answers with are checked where they enter the domain: a catalog, a
// shipping provider, a tax provider or a discount book that is not the built-in one is
// held to the same bounds.
func TestProviderAmountsOutOfBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(env *commerce.Env)
		want string // in the error
	}{
		{"negative price", func(env *commerce.Env) {
			env.Catalog = providers.NewCatalog([]providers.CatalogItem{{ID: "sku_tee", Title: "Tee", Price: -1}})
		}, "sku_tee"},
		{"price over the bound", func(env *commerce.Env) {
			env.Catalog = providers.NewCatalog([]providers.CatalogItem{{ID: "sku_tee", Title: "Tee", Price: 1_000_000_000_001}})
		}, "1000000000001"},
		{"shipping over the bound", func(env *commerce.Env) {
			env.Shipping = providers.NewShipping(nil, []providers.ShippingRate{{ID: "std", Amount: math.MaxInt64}})
		}, "std"},
		{"negative shipping", func(env *commerce.Env) {
			env.Shipping = providers.NewShipping(nil, []providers.ShippingRate{{ID: "std", Amount: -500}})
		}, "std"},
		{"negative tax", func(env *commerce.Env) { env.Tax = fixedTax(-1) }, "tax"},
		{"tax over the bound", func(env *commerce.Env) { env.Tax = fixedTax(math.MaxInt64) }, "tax"},
		{"percent over 100", func(env *commerce.Env) {
			env.Discounts = providers.NewDiscounts([]providers.DiscountCode{{Code: "SAVE10", Percent: 1000}})
		}, "SAVE10"},
		{"negative fixed discount", func(env *commerce.Env) {
			env.Discounts = providers.NewDiscounts([]providers.DiscountCode{{Code: "SAVE10", Amount: -500}})
		}, "SAVE10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _ := demoEnv()
			tc.set(&env)
			var st commerce.State
			var err error
			for _, cmd := range []commerce.Command{
				commerce.CreateCheckout{},
				commerce.AddItem{ItemID: "sku_tee", Quantity: 2},
				commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com"}},
				commerce.SetShippingAddress{Address: caAddress},
				commerce.SelectShippingOption{OptionID: "std"},
				commerce.ApplyDiscount{Code: "SAVE10"},
			} {
				var res commerce.Result
				res, err = commerce.Apply(context.Background(), env, st, cmd)
				if err != nil {
					break
				}
				st = res.State
			}
			if err == nil {
				t.Fatalf("accepted; totals %+v", st.Checkout.Totals)
			}
			checkErr(t, err, errInternal, "")
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v does not mention %q", err, tc.want)
			}
		})
	}
}

// fixedTax is a tax provider that answers the same amount whatever it is asked.
type fixedTax int64

func (f fixedTax) Tax(context.Context, commerce.TaxQuote) (int64, error) { return int64(f), nil }

// The property: for random prices, quantities, discounts, shipping and tax (mostly within
// bounds, now and then out of them), a checkout either is refused with an internal error,
// exactly when some amount is out of bounds, or has totals that equal the exact
// (arbitrary-precision) sum of their parts, none negative but the discount; its status
// honours the escalation limit, and completing it charges exactly its total.
func TestTotalsProperty(t *testing.T) {
	n := 4000
	if testing.Short() {
		n = 400
	}
	rng := rand.New(rand.NewPCG(20260408, 11))
	for i := range n {
		sc := randomScenario(rng)
		sc.check(t, i)
	}
}

type scenario struct {
	items    []providers.CatalogItem
	qty      []int
	rates    []providers.ShippingRate
	discount *providers.DiscountCode
	taxBP    int64 // built-in tax in basis points, when fixed is nil
	fixed    *int64
	limit    int64
}

func randomScenario(rng *rand.Rand) scenario {
	var sc scenario
	lines := 1 + rng.IntN(5)
	if rng.IntN(4) == 0 {
		lines = 1 + rng.IntN(100)
	}
	for j := range lines {
		sc.items = append(sc.items, providers.CatalogItem{ID: "sku_" + big.NewInt(int64(j)).String(), Title: "x", Price: randomPrice(rng)})
		q := 1 + rng.IntN(999)
		if rng.IntN(3) == 0 {
			q = 999
		}
		sc.qty = append(sc.qty, q)
	}
	for j := range 1 + rng.IntN(3) {
		r := providers.ShippingRate{ID: "r" + big.NewInt(int64(j)).String(), Title: "r", Amount: randomPrice(rng)}
		if rng.IntN(2) == 0 {
			r.FreeFrom = rng.Int64N(maxAmount)
		}
		sc.rates = append(sc.rates, r)
	}
	switch rng.IntN(4) {
	case 0:
	case 1:
		p := rng.Int64N(101)
		if rng.IntN(40) == 0 {
			p = []int64{-1, 101, math.MaxInt64}[rng.IntN(3)]
		}
		sc.discount = &providers.DiscountCode{Code: "D", Title: "d", Percent: p}
	default:
		sc.discount = &providers.DiscountCode{Code: "D", Title: "d", Amount: randomPrice(rng)}
	}
	if rng.IntN(3) == 0 {
		v := []int64{0, rng.Int64N(maxAmount + 1), maxAmount, maxAmount - 1}[rng.IntN(4)]
		if rng.IntN(30) == 0 {
			v = []int64{-1, maxAmount + 1, math.MaxInt64, math.MinInt64}[rng.IntN(4)]
		}
		sc.fixed = &v
	} else {
		sc.taxBP = rng.Int64N(10001)
	}
	if rng.IntN(2) == 0 {
		sc.limit = rng.Int64N(maxAmount)
	}
	return sc
}

// randomPrice is within [0, maxPrice] with weight on the edges, and out of it now and then.
func randomPrice(rng *rand.Rand) int64 {
	switch rng.IntN(60) {
	case 0:
		return []int64{-1, maxPrice + 1, 1 << 62, math.MaxInt64, math.MinInt64}[rng.IntN(5)]
	case 1, 2, 3, 4, 5, 6:
		return maxPrice
	case 7, 8, 9:
		return 0
	case 10, 11, 12, 13, 14, 15, 16, 17, 18, 19:
		return rng.Int64N(10_000)
	}
	return rng.Int64N(maxPrice + 1)
}

// expect computes the totals in arbitrary precision: nil when some amount is out of bounds.
func (sc scenario) expect() map[commerce.TotalType]*big.Int {
	inPrice := func(v int64) bool { return 0 <= v && v <= maxPrice }
	sub := new(big.Int)
	for j, it := range sc.items {
		if !inPrice(it.Price) {
			return nil
		}
		sub.Add(sub, new(big.Int).Mul(big.NewInt(it.Price), big.NewInt(int64(sc.qty[j]))))
	}
	for _, r := range sc.rates {
		if !inPrice(r.Amount) {
			return nil
		}
	}
	off := new(big.Int)
	if d := sc.discount; d != nil {
		switch {
		case d.Percent < 0 || d.Percent > 100 || !inPrice(d.Amount):
			return nil
		case d.Percent > 0:
			off = halfUp(new(big.Int).Mul(sub, big.NewInt(d.Percent)), 100)
		default:
			off.SetInt64(d.Amount)
		}
		if off.Cmp(sub) > 0 {
			off.Set(sub)
		}
	}
	disc := new(big.Int).Sub(sub, off)
	ship := big.NewInt(sc.rates[0].Amount)
	if f := sc.rates[0].FreeFrom; f > 0 && disc.Cmp(big.NewInt(f)) >= 0 {
		ship.SetInt64(0)
	}
	tax := new(big.Int)
	switch {
	case sc.fixed != nil:
		if *sc.fixed < 0 || *sc.fixed > maxAmount {
			return nil
		}
		tax.SetInt64(*sc.fixed)
	case disc.Sign() > 0:
		tax = halfUp(new(big.Int).Mul(disc, big.NewInt(sc.taxBP)), 10000)
	}
	total := new(big.Int).Add(disc, ship)
	total.Add(total, tax)
	if total.Cmp(big.NewInt(maxAmount)) > 0 {
		return nil
	}
	m := map[commerce.TotalType]*big.Int{"subtotal": sub, "fulfillment": ship, "tax": tax, "total": total}
	if sc.discount != nil {
		m["discount"] = new(big.Int).Neg(off)
	}
	return m
}

func halfUp(n *big.Int, d int64) *big.Int {
	q, r := new(big.Int).QuoRem(n, big.NewInt(d), new(big.Int))
	if new(big.Int).Mul(r, big.NewInt(2)).Cmp(big.NewInt(d)) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

func (sc scenario) check(t *testing.T, i int) {
	t.Helper()
	env := commerce.Env{Tenant: "t", Context: "c", Now: t0, Seed: "s", Payments: providers.NewMockPayments(),
		Policy: commerce.Policy{Currency: "USD", EscalationLimit: sc.limit, AutoCapture: true}}
	cat := providers.NewCatalog(sc.items)
	env.Catalog, env.Inventory = cat, cat
	env.Shipping = providers.NewShipping(nil, sc.rates)
	if sc.fixed != nil {
		env.Tax = fixedTax(*sc.fixed)
	} else {
		env.Tax = providers.NewTax([]providers.TaxRate{{Country: "US", BasisPoints: sc.taxBP}})
	}
	u := commerce.UpdateCheckout{
		Buyer:            &commerce.Buyer{Email: "ada@example.com"},
		Address:          &caAddress,
		SelectedOptionID: sc.rates[0].ID,
	}
	if sc.discount != nil {
		env.Discounts = providers.NewDiscounts([]providers.DiscountCode{*sc.discount})
		u.DiscountCodes = []string{sc.discount.Code}
	}
	for j, it := range sc.items {
		u.LineItems = append(u.LineItems, commerce.LineItemInput{ItemID: it.ID, Quantity: sc.qty[j]})
	}
	want := sc.expect()
	res, err := commerce.Apply(context.Background(), env, commerce.State{}, commerce.UpsertCheckout{Update: u})
	if want == nil {
		if err == nil {
			t.Fatalf("scenario %d %+v: accepted with totals %+v; some amount is out of bounds", i, sc, res.Checkout.Totals)
		}
		if k := commerce.KindOf(err); k != commerce.KindInternal {
			t.Fatalf("scenario %d: %v is %s, want internal", i, err, k)
		}
		return
	}
	if err != nil {
		t.Fatalf("scenario %d %+v: %v; want totals %v", i, sc, err, want)
	}
	c := res.Checkout
	checkTotals(t, c.Totals)
	got := map[commerce.TotalType]*big.Int{}
	for _, x := range c.Totals {
		got[x.Type] = big.NewInt(x.Amount)
		if x.Amount < 0 && x.Type != commerce.TotalDiscount {
			t.Fatalf("scenario %d: negative %s in %+v", i, x.Type, c.Totals)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("scenario %d: totals %v, want %v", i, got, want)
	}
	for k, w := range want {
		if got[k] == nil || got[k].Cmp(w) != 0 {
			t.Fatalf("scenario %d: %s is %v, want %v (totals %+v)", i, k, got[k], w, c.Totals)
		}
	}
	for j, l := range c.LineItems {
		w := new(big.Int).Mul(big.NewInt(sc.items[j].Price), big.NewInt(int64(sc.qty[j])))
		if a, _ := commerce.TotalOf(l.Totals, commerce.TotalTotal); big.NewInt(a).Cmp(w) != 0 {
			t.Fatalf("scenario %d: line %d total %d, want %v", i, j, a, w)
		}
	}
	total := want["total"].Int64()
	escalate := sc.limit > 0 && total > sc.limit
	if (c.Status == commerce.StatusRequiresEscalation) != escalate || !escalate && c.Status != commerce.StatusReadyForComplete {
		t.Fatalf("scenario %d: status %s with total %d and limit %d", i, c.Status, total, sc.limit)
	}
	if escalate {
		return
	}
	res, err = commerce.Apply(context.Background(), env, res.State, pay("tok_visa"))
	if err != nil {
		t.Fatalf("scenario %d: completing: %v", i, err)
	}
	for _, e := range res.Events {
		if (e.Type == commerce.EvtPaymentAuthorized || e.Type == commerce.EvtPaymentCaptured) && e.Amount != total {
			t.Fatalf("scenario %d: %s of %d, want the total %d", i, e.Type, e.Amount, total)
		}
	}
}

const (
	maxPrice  = commerce.MaxPrice
	maxAmount = commerce.MaxAmount
)

// The bounds are documented (docs/providers.md) as these numbers.
func TestMoneyBounds(t *testing.T) {
	if maxPrice != 1_000_000_000_000 || maxAmount != 1_000_000_000_000_000_000 {
		t.Fatalf("MaxPrice %d, MaxAmount %d: update docs/providers.md", int64(maxPrice), int64(maxAmount))
	}
}

// MulDivHalfUp agrees with arbitrary precision on any int64s: the same result when it
// fits, ok=false exactly when it does not.
func TestMulDivHalfUpProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	edge := []int64{0, 1, -1, 2, 99, 100, 10000, maxPrice, maxAmount, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1}
	pick := func() int64 {
		switch rng.IntN(3) {
		case 0:
			return edge[rng.IntN(len(edge))]
		case 1:
			return rng.Int64N(20001) - 10000
		}
		return int64(rng.Uint64())
	}
	for range 20000 {
		a, b, d := pick(), pick(), pick()
		got, ok := commerce.MulDivHalfUp(a, b, d)
		if d <= 0 {
			if ok {
				t.Fatalf("MulDivHalfUp(%d, %d, %d) = %d with a divisor that is not positive", a, b, d, got)
			}
			continue
		}
		n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		neg := n.Sign() < 0
		want := halfUp(n.Abs(n), d)
		if neg {
			want.Neg(want)
		}
		if fits := want.IsInt64(); ok != fits || ok && got != want.Int64() {
			t.Fatalf("MulDivHalfUp(%d, %d, %d) = %d, %v; want %v", a, b, d, got, ok, want)
		}
	}
}
