package commerce_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/providers"
)

// t0 is the fixed time the tests run at.
var t0 = time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC)

// demoEnv is the demo tenant wired into an Env at t0, with its own mock payments.
func demoEnv() (commerce.Env, *providers.MockPayments) {
	pay := providers.NewMockPayments()
	env := providers.Demo().Wire(commerce.Env{
		Tenant:   "demo",
		Context:  "ctx-1",
		Now:      t0,
		Seed:     "seed",
		Policy:   providers.DemoPolicy(),
		Payments: pay,
	})
	return env, pay
}

// harness drives one context the way the worker does: each command gets a fresh seed,
// and a result is committed whenever it says Changed, even with an error.
type harness struct {
	t   *testing.T
	env commerce.Env
	pay *providers.MockPayments
	st  commerce.State
	n   int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	env, pay := demoEnv()
	return &harness{t: t, env: env, pay: pay}
}

// do applies cmd and checks what must hold of every result: the input is not modified,
// an unchanged result hands the input back, and every open checkout's totals add up.
func (h *harness) do(cmd commerce.Command) (commerce.Result, error) {
	h.t.Helper()
	h.n++
	env := h.env
	env.Seed = fmt.Sprintf("msg-%d", h.n)
	before := h.st.Clone()
	res, err := commerce.Apply(context.Background(), env, h.st, cmd)
	if !reflect.DeepEqual(before, h.st) {
		h.t.Fatalf("%s modified its input state", cmd.Action())
	}
	if !res.Changed && !reflect.DeepEqual(res.State, h.st) {
		h.t.Fatalf("%s: unchanged result with a different state", cmd.Action())
	}
	if res.Changed {
		h.st = res.State
	}
	if err == nil && (res.Checkout == nil) == (res.Order == nil) {
		h.t.Fatalf("%s: want exactly one of Checkout and Order in the reply", cmd.Action())
	}
	if c := res.State.Checkout; c != nil {
		checkTotals(h.t, c.Totals)
		for _, l := range c.LineItems {
			checkTotals(h.t, l.Totals)
		}
	}
	return res, err
}

// must applies cmd and fails the test on an error.
func (h *harness) must(cmd commerce.Command) commerce.Result {
	h.t.Helper()
	res, err := h.do(cmd)
	if err != nil {
		h.t.Fatalf("%s: %v", cmd.Action(), err)
	}
	return res
}

// fails applies cmd and checks that it fails with the code and kind of want.
func (h *harness) fails(cmd commerce.Command, want *commerce.Error, path string) commerce.Result {
	h.t.Helper()
	res, err := h.do(cmd)
	checkErr(h.t, err, want, path)
	return res
}

func (h *harness) checkout() *commerce.Checkout {
	h.t.Helper()
	if h.st.Checkout == nil {
		h.t.Fatal("no checkout")
	}
	return h.st.Checkout
}

// ready builds a ready_for_complete checkout: two tees to California, standard shipping.
func (h *harness) ready() *commerce.Checkout {
	h.t.Helper()
	h.must(commerce.CreateCheckout{})
	h.must(commerce.AddItem{ItemID: "sku_tee", Quantity: 2})
	h.must(commerce.SetBuyer{Buyer: commerce.Buyer{Email: "ada@example.com"}})
	h.must(commerce.SetShippingAddress{Address: caAddress})
	c := h.must(commerce.SelectShippingOption{OptionID: "std"}).Checkout
	if c.Status != commerce.StatusReadyForComplete {
		h.t.Fatalf("status %s, want ready_for_complete (messages %+v)", c.Status, c.Messages)
	}
	return c
}

var caAddress = commerce.Address{
	StreetAddress: "1 Market St", AddressLocality: "San Francisco", AddressRegion: "CA",
	PostalCode: "94105", AddressCountry: "US",
}

func pay(token string) commerce.CompleteCheckout {
	return commerce.CompleteCheckout{Instruments: []commerce.PaymentInstrument{{
		ID: "pi_1", HandlerID: "mock", Type: "card", Selected: true,
		Credential: commerce.Credential{Type: "token", Token: token},
	}}}
}

func checkErr(t *testing.T, err error, want *commerce.Error, path string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", want.Code)
	}
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %s", err, want.Code)
	}
	e := commerce.AsError(err)
	if e.Kind != want.Kind {
		t.Fatalf("error %v has kind %s, want %s", err, e.Kind, want.Kind)
	}
	if e.Path != path {
		t.Fatalf("error %v has path %q, want %q", err, e.Path, path)
	}
}

// Sentinels for errors without their own in errors.go.
var (
	errInvalid = &commerce.Error{Kind: commerce.KindInvalid, Code: commerce.CodeInvalidParams}
	errUnknown = &commerce.Error{Kind: commerce.KindInvalid, Code: commerce.CodeUnknownAction}
)

// checkTotals checks the invariant of a totals list: one subtotal, one total (last), and
// the others add up to it.
func checkTotals(t *testing.T, totals []commerce.Total) {
	t.Helper()
	var sum int64
	counts := map[commerce.TotalType]int{}
	for i, x := range totals {
		counts[x.Type]++
		if x.Type == commerce.TotalTotal {
			if i != len(totals)-1 {
				t.Fatalf("total is not last in %+v", totals)
			}
			continue
		}
		sum += x.Amount
	}
	total, _ := commerce.TotalOf(totals, commerce.TotalTotal)
	if counts[commerce.TotalSubtotal] != 1 || counts[commerce.TotalTotal] != 1 || sum != total {
		t.Fatalf("totals do not add up: %+v", totals)
	}
	if d, ok := commerce.TotalOf(totals, commerce.TotalDiscount); ok && d > 0 {
		t.Fatalf("positive discount in %+v", totals)
	}
}

// totals returns a checkout's totals as a map for comparison.
func totals(c *commerce.Checkout) map[commerce.TotalType]int64 {
	m := map[commerce.TotalType]int64{}
	for _, x := range c.Totals {
		m[x.Type] = x.Amount
	}
	return m
}

// messageCodes returns the codes of c's messages.
func messageCodes(c *commerce.Checkout) []string {
	var codes []string
	for _, m := range c.Messages {
		codes = append(codes, m.Code)
	}
	return codes
}

func message(t *testing.T, c *commerce.Checkout, code string) commerce.Message {
	t.Helper()
	for _, m := range c.Messages {
		if m.Code == code {
			return m
		}
	}
	t.Fatalf("no %s message in %+v", code, c.Messages)
	return commerce.Message{}
}

func eventTypes(res commerce.Result) []commerce.EventType {
	var types []commerce.EventType
	for _, e := range res.Events {
		types = append(types, e.Type)
	}
	return types
}

func ptr[T any](v T) *T { return &v }
