package envelopes

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// The reference encoders: encoding/json of the wire structs, as replies, events and
// errors were encoded before the hand-written encoders. The encoders must write exactly
// their bytes, for every checkout and order.

func refResultBody(messageID, contextID string, c *commerce.Checkout, o *commerce.Order, ph PaymentHandlers) []byte {
	var data Resource
	if c != nil {
		data.Checkout = checkoutWire(c)
		data.Checkout.UCP.PaymentHandlers = ph
	}
	if o != nil {
		data.Order = orderWire(o)
	}
	return refMarshal(AgentMessage{
		Kind:      "message",
		Role:      "agent",
		MessageID: messageID + ":reply",
		ContextID: contextID,
		Parts:     []ReplyPart{{Kind: "data", Data: &data}},
	})
}

func refEncodeEvent(m EventMeta, ev commerce.Event) []byte {
	w := Event{
		ID:         m.ID,
		Type:       string(ev.Type),
		Tenant:     m.Tenant,
		ContextID:  m.Context,
		MessageID:  m.MessageID,
		OccurredAt: timestamp(m.OccurredAt),
	}
	if ev.Amount != 0 || strings.HasPrefix(string(ev.Type), "payment.") {
		amount := ev.Amount
		w.Amount = &amount
	}
	if ev.Checkout != nil {
		w.Data.Checkout = checkoutWire(ev.Checkout)
		w.Data.Checkout.UCP.PaymentHandlers = m.PaymentHandlers
	}
	if ev.Order != nil {
		w.Data.Order = orderWire(ev.Order)
	}
	return refMarshal(w)
}

func refErrorBody(e *commerce.Error, messageID string) []byte {
	if e == nil {
		e = commerce.AsError(errors.New("no error given"))
	}
	code := e.Code
	if code == "" {
		code = commerce.CodeInternalError
	}
	msg := e.Message
	if msg == "" {
		msg = code
	}
	return refMarshal(RPCError{
		Code:    RPCCode(code),
		Message: msg,
		Data:    &ErrorData{Code: code, Path: e.Path, MessageID: messageID},
	})
}

func refMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// gen makes random checkouts and orders. Every string comes from str: a pool of the
// awkward (escapes, HTML, U+2028, invalid UTF-8, multi-byte runes) plus, in the fuzz
// test, the fuzzer's own strings.
type gen struct {
	r     *rand.Rand
	extra []string
}

var awkward = []string{
	"", "a", "chk_7f3a", "Cartwright Tee", `"quoted"`, `back\slash`, "<script>&amp;</script>",
	"line\nbreak\r\ttab", "\b\f\x00\x01\x1f\x7f", "\u2028\u2029", "é日本🎉", "\xff\xfe", "\xe2\x80",
	"a\xe2\x80\xa8b", "ok\xc3", "\u00a0\u200b\ufeff", "'single' /slash/", "\U0010FFFF", "\xed\xa0\x80",
	strings.Repeat("long ", 40),
}

func (g *gen) str() string {
	if len(g.extra) > 0 && g.r.IntN(3) == 0 {
		return g.extra[g.r.IntN(len(g.extra))]
	}
	if g.r.IntN(4) == 0 {
		return awkward[g.r.IntN(len(awkward))] + awkward[g.r.IntN(len(awkward))]
	}
	return awkward[g.r.IntN(len(awkward))]
}

var amounts = []int64{0, 1, -1, 9743, -1000, 1 << 53, math.MaxInt64, math.MinInt64, math.MaxInt32 + 1}

func (g *gen) amount() int64 {
	if g.r.IntN(3) == 0 {
		return g.r.Int64() - g.r.Int64()
	}
	return amounts[g.r.IntN(len(amounts))]
}

func (g *gen) n(max int) int { return g.r.IntN(max + 1) }

func (g *gen) when() time.Time {
	switch g.r.IntN(5) {
	case 0:
		return time.Time{}
	case 1:
		return time.Date(2026, 4, 8, 12, 0, 0, 0, time.UTC)
	case 2:
		return time.Date(2026, 4, 8, 12, 0, 0, g.r.IntN(1e9), time.FixedZone("x", 3600*g.r.IntN(12)))
	case 3:
		return time.Unix(0, g.r.Int64N(1<<62))
	default:
		return time.Date(1+g.r.IntN(9998), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), g.r.IntN(24), g.r.IntN(60), g.r.IntN(60), g.r.IntN(1e9), time.UTC)
	}
}

func (g *gen) totals() []commerce.Total {
	if g.r.IntN(8) == 0 {
		return nil
	}
	types := []commerce.TotalType{commerce.TotalSubtotal, commerce.TotalDiscount, commerce.TotalFulfillment, commerce.TotalTax, commerce.TotalTotal}
	ts := make([]commerce.Total, g.n(5))
	for i := range ts {
		ts[i] = commerce.Total{Type: types[g.r.IntN(len(types))], Amount: g.amount()}
		if g.r.IntN(2) == 0 {
			ts[i].Type = commerce.TotalType(g.str())
		}
		if g.r.IntN(2) == 0 {
			ts[i].DisplayText = g.str()
		}
	}
	return ts
}

func (g *gen) lines() []commerce.LineItem {
	if g.r.IntN(8) == 0 {
		return nil
	}
	ls := make([]commerce.LineItem, g.n(4))
	for i := range ls {
		ls[i] = commerce.LineItem{
			ID:       g.str(),
			Item:     commerce.Item{ID: g.str(), Title: g.str(), Price: g.amount(), Digital: g.r.IntN(3) == 0},
			Quantity: int(g.amount()),
			Totals:   g.totals(),
		}
	}
	return ls
}

func (g *gen) boolp() *bool {
	switch g.r.IntN(3) {
	case 0:
		return nil
	case 1:
		v := true
		return &v
	default:
		v := false
		return &v
	}
}

func (g *gen) buyer() *commerce.Buyer {
	if g.r.IntN(3) == 0 {
		return nil
	}
	b := &commerce.Buyer{CustomerID: g.str()}
	for _, f := range []*string{&b.FirstName, &b.LastName, &b.Email, &b.PhoneNumber} {
		if g.r.IntN(2) == 0 {
			*f = g.str()
		}
	}
	if g.r.IntN(2) == 0 {
		b.Consent = &commerce.Consent{Analytics: g.boolp(), Preferences: g.boolp(), Marketing: g.boolp(), SaleOfData: g.boolp()}
	}
	return b
}

func (g *gen) address() commerce.Address {
	var a commerce.Address
	for _, f := range []*string{&a.StreetAddress, &a.AddressLocality, &a.AddressRegion, &a.PostalCode, &a.AddressCountry} {
		if g.r.IntN(3) > 0 {
			*f = g.str()
		}
	}
	return a
}

func (g *gen) fulfillment() commerce.Fulfillment {
	var f commerce.Fulfillment
	if g.r.IntN(4) == 0 {
		return f
	}
	if g.r.IntN(2) == 0 {
		a := g.address()
		f.Address = &a
		if g.r.IntN(2) == 0 {
			f.DestinationID = []string{destinationID, "dest_2", g.str()}[g.r.IntN(3)]
		}
	}
	for range g.n(3) {
		id := []string{destinationID, "dest_2", "home", g.str()}[g.r.IntN(4)]
		f.Destinations = append(f.Destinations, commerce.Destination{ID: id, Address: g.address(), Saved: g.r.IntN(2) == 0})
	}
	f.Requested = g.r.IntN(2) == 0
	if g.r.IntN(2) == 0 {
		f.Options = []commerce.ShippingOption{}
	}
	for range g.n(3) {
		f.Options = append(f.Options, commerce.ShippingOption{ID: g.str(), Title: g.str(), Amount: g.amount()})
	}
	if g.r.IntN(2) == 0 {
		f.SelectedOptionID = g.str()
	}
	return f
}

func (g *gen) checkout() *commerce.Checkout {
	statuses := []commerce.Status{commerce.StatusIncomplete, commerce.StatusReadyForComplete,
		commerce.StatusRequiresEscalation, commerce.StatusCompleted, commerce.StatusCanceled}
	c := &commerce.Checkout{
		ID:          g.str(),
		Status:      statuses[g.r.IntN(len(statuses))],
		Currency:    []string{"USD", "EUR", g.str()}[g.r.IntN(3)],
		LineItems:   g.lines(),
		Buyer:       g.buyer(),
		Fulfillment: g.fulfillment(),
		Totals:      g.totals(),
		CreatedAt:   g.when(),
		UpdatedAt:   g.when(),
		ExpiresAt:   g.when(),
		NextLine:    g.n(9),
	}
	if g.r.IntN(2) == 0 {
		c.Context = &commerce.BuyerContext{}
		for _, f := range []*string{&c.Context.AddressCountry, &c.Context.AddressRegion, &c.Context.PostalCode} {
			if g.r.IntN(2) == 0 {
				*f = g.str()
			}
		}
	}
	if g.r.IntN(3) > 0 {
		for range g.n(3) {
			c.Discounts.Codes = append(c.Discounts.Codes, g.str())
		}
		for range g.n(3) {
			c.Discounts.Applied = append(c.Discounts.Applied, commerce.AppliedDiscount{Code: g.str(), Title: g.str(), Amount: g.amount()})
		}
	}
	if g.r.IntN(2) == 0 {
		c.Messages = []commerce.Message{}
		for range g.n(3) {
			c.Messages = append(c.Messages, commerce.Message{
				Type: commerce.MessageType(g.str()), Code: g.str(), Path: g.str(), Content: g.str(), Severity: commerce.Severity(g.str()),
			})
		}
	}
	if g.r.IntN(2) == 0 {
		c.ContinueURL = g.str()
	}
	if g.r.IntN(2) == 0 {
		c.Order = &commerce.OrderRef{ID: g.str()}
		if g.r.IntN(2) == 0 {
			c.Order.PermalinkURL = g.str()
		}
	}
	return c
}

func (g *gen) lineQty() []commerce.LineQuantity {
	if g.r.IntN(4) == 0 {
		return nil
	}
	ls := make([]commerce.LineQuantity, g.n(3))
	for i := range ls {
		ls[i] = commerce.LineQuantity{ID: g.str(), Quantity: int(g.amount())}
	}
	return ls
}

func (g *gen) order() *commerce.Order {
	pay := []commerce.PaymentStatus{commerce.PaymentAuthorized, commerce.PaymentCaptured, commerce.PaymentPartiallyRefunded,
		commerce.PaymentRefunded, commerce.PaymentVoided}
	o := &commerce.Order{
		ID:          g.str(),
		CheckoutID:  g.str(),
		Status:      []commerce.OrderStatus{commerce.OrderPlaced, commerce.OrderCanceled}[g.r.IntN(2)],
		Currency:    g.str(),
		LineItems:   g.lines(),
		Buyer:       g.buyer(),
		Fulfillment: g.fulfillment(),
		Totals:      g.totals(),
		Payment: commerce.Payment{ID: g.str(), HandlerID: g.str(), Status: pay[g.r.IntN(len(pay))],
			Authorized: g.amount(), Captured: g.amount(), Refunded: g.amount()},
		PermalinkURL: g.str(),
		CreatedAt:    g.when(),
		UpdatedAt:    g.when(),
	}
	if g.r.IntN(2) == 0 {
		o.ShippedAt = g.when()
	}
	if g.r.IntN(2) == 0 {
		o.Events = []commerce.OrderEvent{}
		for range g.n(3) {
			e := commerce.OrderEvent{ID: g.str(), Type: g.str(), OccurredAt: g.when(), LineItems: g.lineQty()}
			for _, f := range []*string{&e.TrackingNumber, &e.TrackingURL, &e.Carrier, &e.Description} {
				if g.r.IntN(2) == 0 {
					*f = g.str()
				}
			}
			o.Events = append(o.Events, e)
		}
	}
	if g.r.IntN(2) == 0 {
		o.Adjustments = []commerce.Adjustment{}
		for range g.n(3) {
			a := commerce.Adjustment{ID: g.str(), Type: g.str(), Status: g.str(), OccurredAt: g.when(), LineItems: g.lineQty(), Amount: g.amount()}
			if g.r.IntN(2) == 0 {
				a.Description = g.str()
			}
			o.Adjustments = append(o.Adjustments, a)
		}
	}
	return o
}

func (g *gen) paymentHandlers() PaymentHandlers {
	switch g.r.IntN(4) {
	case 0:
		return nil
	case 1:
		return PaymentHandlers{}
	}
	ph := PaymentHandlers{}
	for range 1 + g.n(2) {
		name := g.str()
		for range 1 + g.n(1) {
			h := PaymentHandler{ID: g.str(), Version: g.str(), Spec: g.str(), Schema: g.str()}
			for range g.n(2) {
				h.AvailableInstruments = append(h.AvailableInstruments, AvailableInstrument{Type: g.str()})
			}
			if g.r.IntN(2) == 0 {
				h.Config = map[string]any{g.str(): g.str(), "n": float64(g.amount()), "nested": map[string]any{"b": true, "l": []any{g.str(), nil}}}
			}
			ph[name] = append(ph[name], h)
		}
	}
	return ph
}

var eventTypes = []commerce.EventType{commerce.EvtCheckoutCompleted, commerce.EvtCheckoutCanceled, commerce.EvtCheckoutExpired,
	commerce.EvtOrderCreated, commerce.EvtOrderCanceled, commerce.EvtOrderShipped, commerce.EvtOrderUpdated,
	commerce.EvtPaymentAuthorized, commerce.EvtPaymentCaptured, commerce.EvtPaymentVoided, commerce.EvtPaymentRefunded}

// checkEncoders compares every encoder with its reference on what g makes next.
func checkEncoders(t *testing.T, g *gen) {
	t.Helper()
	c, o, ph := g.checkout(), g.order(), g.paymentHandlers()
	same := func(what string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs from encoding/json\n got: %s\nwant: %s", what, got, want)
		}
	}
	msgID, ctxID := g.str(), g.str()
	same("checkout reply", TenantResultBody(msgID, ctxID, c, nil, ph), refResultBody(msgID, ctxID, c, nil, ph))
	same("order reply", TenantResultBody(msgID, ctxID, nil, o, ph), refResultBody(msgID, ctxID, nil, o, ph))
	same("checkout and order reply", TenantResultBody(msgID, ctxID, c, o, ph), refResultBody(msgID, ctxID, c, o, ph))
	same("empty reply", ResultBody(msgID, ctxID, nil, nil), refResultBody(msgID, ctxID, nil, nil, nil))
	same("plain checkout reply", ResultBody(msgID, ctxID, c, nil), refResultBody(msgID, ctxID, c, nil, nil))

	m := EventMeta{ID: g.str(), Tenant: g.str(), Context: g.str(), MessageID: g.str(), OccurredAt: g.when(), PaymentHandlers: ph}
	ev := commerce.Event{Type: eventTypes[g.r.IntN(len(eventTypes))]}
	if g.r.IntN(2) == 0 {
		ev.Type = commerce.EventType(g.str())
	}
	if g.r.IntN(2) == 0 {
		ev.Amount = g.amount()
	}
	switch g.r.IntN(4) {
	case 0:
		ev.Checkout = c
	case 1:
		ev.Order = o
	case 2:
		ev.Checkout, ev.Order = c, o
	}
	same("event", EncodeEvent(m, ev), refEncodeEvent(m, ev))

	got, err := EncodeCheckout(c)
	if err != nil {
		t.Fatal(err)
	}
	same("EncodeCheckout", got, refMarshal(checkoutWire(c)))
	if got, err = EncodeOrder(o); err != nil {
		t.Fatal(err)
	}
	same("EncodeOrder", got, refMarshal(orderWire(o)))

	codes := []string{"", commerce.CodeNotFound, commerce.CodeParseError, commerce.CodeInvalidParams, g.str()}
	ce := &commerce.Error{Code: codes[g.r.IntN(len(codes))], Message: g.str(), Path: g.str()}
	same("error", ErrorBody(ce, msgID), refErrorBody(ce, msgID))
}

// TestEncodersMatchReflection holds the hand-written encoders to encoding/json's bytes on
// the samples, on the corner cases and on thousands of random checkouts and orders.
func TestEncodersMatchReflection(t *testing.T) {
	same := func(what string, got, want []byte) {
		t.Helper()
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs from encoding/json\n got: %s\nwant: %s", what, got, want)
		}
	}
	c, o := sampleCheckout(), sampleOrder()
	same("sample checkout", ResultBody("msg-1", testContext, c, nil), refResultBody("msg-1", testContext, c, nil, nil))
	same("sample order", ResultBody("msg-1", testContext, nil, o), refResultBody("msg-1", testContext, nil, o, nil))
	o.ShippedAt = o.UpdatedAt
	same("shipped order", ResultBody("msg-1", testContext, nil, o), refResultBody("msg-1", testContext, nil, o, nil))
	for _, c := range []*commerce.Checkout{
		{},
		{Fulfillment: commerce.Fulfillment{Requested: true}},
		{Fulfillment: commerce.Fulfillment{SelectedOptionID: "std"}},
		{Fulfillment: commerce.Fulfillment{Destinations: []commerce.Destination{{ID: destinationID}}}},
		{Fulfillment: commerce.Fulfillment{Address: &commerce.Address{}, Destinations: []commerce.Destination{{ID: destinationID}, {ID: "x"}}}},
		{Fulfillment: commerce.Fulfillment{Address: &commerce.Address{}, DestinationID: "x", Destinations: []commerce.Destination{{ID: destinationID}, {ID: "x"}}}},
		{Messages: []commerce.Message{}, Discounts: commerce.Discounts{Codes: []string{}, Applied: []commerce.AppliedDiscount{}}},
		{Buyer: &commerce.Buyer{}, Context: &commerce.BuyerContext{}, Order: &commerce.OrderRef{}},
	} {
		same("corner checkout", ResultBody("m", "c", c, nil), refResultBody("m", "c", c, nil, nil))
		for _, typ := range eventTypes {
			m := EventMeta{ID: "e", OccurredAt: time.Unix(1, 5)}
			same("corner event", EncodeEvent(m, commerce.Event{Type: typ, Checkout: c}), refEncodeEvent(m, commerce.Event{Type: typ, Checkout: c}))
		}
	}
	for _, o := range []*commerce.Order{
		{},
		{ShippedAt: time.Unix(1, 0)},
		{Events: []commerce.OrderEvent{{}}},
		{Events: []commerce.OrderEvent{}, Adjustments: []commerce.Adjustment{}},
		{Adjustments: []commerce.Adjustment{{LineItems: []commerce.LineQuantity{}}, {LineItems: []commerce.LineQuantity{{}}}}},
		{ShippedAt: time.Unix(1, 0), Events: []commerce.OrderEvent{{ID: "e"}}, Fulfillment: commerce.Fulfillment{Requested: true}},
	} {
		same("corner order", ResultBody("m", "c", nil, o), refResultBody("m", "c", nil, o, nil))
	}
	same("nil error", ErrorBody(nil, ""), refErrorBody(nil, ""))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for seed := range n {
		g := &gen{r: rand.New(rand.NewPCG(uint64(seed), 7))}
		checkEncoders(t, g)
	}
}

// FuzzEncoders is TestEncodersMatchReflection with the fuzzer's strings in the string
// fields: go test -fuzz FuzzEncoders ./envelopes.
func FuzzEncoders(f *testing.F) {
	for _, s := range awkward {
		f.Add(uint64(len(s)), s, "")
	}
	f.Add(uint64(1), "\u2028<>&", "\xff")
	f.Fuzz(func(t *testing.T, seed uint64, a, b string) {
		g := &gen{r: rand.New(rand.NewPCG(seed, seed>>7)), extra: []string{a, b}}
		checkEncoders(t, g)
	})
}

// TestResourcesEncodeOnce: one Resources encodes a completion's checkout and order once
// for the reply and all the events, with the bytes of the encoders that encode each
// anew; what it returns is the caller's own, untouched by later use of the Resources or
// of its scratch space by another.
func TestResourcesEncodeOnce(t *testing.T) {
	c, evs := completion()
	ph := PaymentHandlers{"dev.ucp.mock": {{ID: "mock", Version: UCPVersion, Config: map[string]any{"a": "<b>"}}}}
	m := EventMeta{ID: "demo:m:evt:0", Tenant: testTenant, Context: testContext, MessageID: "m", OccurredAt: time.Unix(5, 6), PaymentHandlers: ph}
	var r Resources
	var got, want [][]byte
	got = append(got, r.ResultBody("m", testContext, c, nil, ph))
	want = append(want, refResultBody("m", testContext, c, nil, ph))
	// Framed for its reply: the reply is the frame around the same body, and the body
	// a capped part of it.
	prefix, suffix := WrapFrame([]byte(`7`), false)
	msg, body := r.FramedResult(prefix, suffix, "m", testContext, c, nil, ph)
	got = append(got, body)
	want = append(want, want[0])
	if w := Wrap([]byte(`7`), want[0], false); !bytes.Equal(msg, w) {
		t.Fatalf("framed result:\n got: %s\nwant: %s", msg, w)
	}
	for _, ev := range evs {
		got = append(got, r.Event(m, ev))
		want = append(want, refEncodeEvent(m, ev))
	}
	if r.n != 2 {
		t.Errorf("%d resources encoded for a checkout and an order", r.n)
	}
	// Another tenant's handlers (another map) make another checkout resource.
	m2 := m
	m2.PaymentHandlers = nil
	got = append(got, r.Event(m2, evs[0]))
	want = append(want, refEncodeEvent(m2, evs[0]))
	if r.n != 3 {
		t.Errorf("%d resources after the checkout without handlers, want 3", r.n)
	}
	r.Release()
	// The scratch space goes to the next user: the messages already returned stay.
	var other Resources
	for range 3 {
		other.ResultBody(strings.Repeat("x", 100), "c", sampleCheckout(), sampleOrder(), nil)
	}
	other.Release()
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("message %d:\n got: %s\nwant: %s", i, got[i], want[i])
		}
		if cap(got[i]) != len(got[i]) {
			t.Errorf("message %d has spare capacity %d: it is not a slice of its own", i, cap(got[i])-len(got[i]))
		}
	}
	// Released, it starts afresh: nothing of the previous envelope is known.
	if r.n != 0 || r.buf != nil {
		t.Errorf("a released Resources still holds %d resources", r.n)
	}
	if b := r.ResultBody("m", testContext, c, nil, ph); !bytes.Equal(b, want[0]) {
		t.Fatalf("after Release:\n got: %s\nwant: %s", b, want[0])
	}
	r.Release()
}
