package store

import (
	"encoding/binary"
	"encoding/json"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
)

// A context's state is read and written for nearly every envelope, so the store keeps it
// in a binary framing rather than JSON: about a third of the bytes (no field names, times
// as integers) and no reflection. The wire formats (replies, events) stay JSON; this is
// the store's own copy.
//
//	state:    version(1)=stateCodecVersion | checkout(ptr) | orders(count+1, each an order)
//	ptr:      0 for nil, 1 then the value
//	slice:    0 for nil, else count+1 then the elements (nil and empty stay apart, as the
//	          domain may tell them apart)
//	string:   uvarint length, bytes
//	int:      varint
//	time:     0 for the zero time, else 1 then unix nanoseconds (varint), read back in UTC
//
// A value starting with '{' is a state written as JSON by an older version, still read.
// Version 2 added the checkout's used mandates after NextLine; version 3 the buyer's
// customer id and consent (after its phone number) and the fulfillment's destinations,
// chosen destination id and requested flag (after its selected option), and an
// order's ShippedAt (after its UpdatedAt); version 4 an order's reported events and
// adjustments (after its ShippedAt). Versions 1 to 3 are still read.
//
// A state is written in the oldest version that holds all of it (see stateVersion): one
// that sets none of version 3's or 4's fields is written as version 2, which a worker of the
// previous release reads, so a group upgraded one worker at a time keeps serving the
// tenants and checkouts that do not use them.
const stateCodecVersion = 4

type stateWriter struct {
	b []byte
	v byte // the version written: stateCodecVersion, or an older one in tests
}

func (w *stateWriter) str(s string) { w.b = appendString(w.b, s) }
func (w *stateWriter) int(v int64)  { w.b = binary.AppendVarint(w.b, v) }
func (w *stateWriter) flag(ok bool) { w.b = append(w.b, boolByte(ok)) }
func (w *stateWriter) count(n int)  { w.b = binary.AppendUvarint(w.b, uint64(n)+1) }
func (w *stateWriter) nilSlice()    { w.b = append(w.b, 0) }
func (w *stateWriter) time(t time.Time) {
	if t.IsZero() {
		w.b = append(w.b, 0)
		return
	}
	w.b = append(w.b, 1)
	w.int(t.UnixNano())
}

// writeSlice writes s as a slice (nil and empty apart), each element with put.
func writeSlice[T any](w *stateWriter, s []T, put func(T)) {
	if s == nil {
		w.nilSlice()
		return
	}
	w.count(len(s))
	for _, v := range s {
		put(v)
	}
}

// readSlice reads what writeSlice wrote, each element with get.
func readSlice[T any](r *stateReader, get func() T) []T {
	n := r.count()
	if n < 0 {
		return nil
	}
	s := make([]T, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		s = append(s, get())
	}
	return s
}

func boolByte(ok bool) byte {
	if ok {
		return 1
	}
	return 0
}

// appendState appends st's framing to b, in the oldest version that holds it.
func appendState(b []byte, st commerce.State) []byte {
	return appendStateVersion(b, st, stateVersion(st))
}

// stateVersion is the oldest framing version that holds all of st: 3 when a buyer has a
// customer id or consent, or a fulfillment destinations, a chosen destination id, the
// requested flag or a partial address, or an order has been shipped; 4 when an order has
// reported events or adjustments; else 2. A partial address fits version 2's bytes,
// but a worker that writes only version 2 would not hold its checkout back from
// completing, so it is kept from such workers too.
func stateVersion(st commerce.State) byte {
	v3 := func(b *commerce.Buyer, f commerce.Fulfillment) bool {
		return b != nil && (b.CustomerID != "" || b.Consent != nil) ||
			f.Destinations != nil || f.DestinationID != "" || f.Requested ||
			f.Address != nil && !f.Address.Complete()
	}
	v := byte(2)
	if c := st.Checkout; c != nil && v3(c.Buyer, c.Fulfillment) {
		v = 3
	}
	for _, o := range st.Orders {
		switch {
		case o == nil:
		case o.Events != nil || o.Adjustments != nil:
			return 4
		case v3(o.Buyer, o.Fulfillment) || !o.ShippedAt.IsZero():
			v = 3
		}
	}
	return v
}

// appendStateVersion appends st's framing in version v, leaving out what v has no place
// for: tests write older versions with it.
func appendStateVersion(b []byte, st commerce.State, v byte) []byte {
	w := &stateWriter{b: b, v: v}
	w.b = append(w.b, v)
	w.flag(st.Checkout != nil)
	if st.Checkout != nil {
		w.checkout(st.Checkout)
	}
	writeSlice(w, st.Orders, func(o *commerce.Order) {
		w.flag(o != nil)
		if o != nil {
			w.order(o)
		}
	})
	return w.b
}

func (w *stateWriter) checkout(c *commerce.Checkout) {
	w.str(c.ID)
	w.str(string(c.Status))
	w.str(c.Currency)
	w.lines(c.LineItems)
	w.buyer(c.Buyer)
	w.flag(c.Context != nil)
	if c.Context != nil {
		w.str(c.Context.AddressCountry)
		w.str(c.Context.AddressRegion)
		w.str(c.Context.PostalCode)
	}
	w.fulfillment(c.Fulfillment)
	writeSlice(w, c.Discounts.Codes, w.str)
	writeSlice(w, c.Discounts.Applied, func(d commerce.AppliedDiscount) {
		w.str(d.Code)
		w.str(d.Title)
		w.int(d.Amount)
	})
	w.totals(c.Totals)
	writeSlice(w, c.Messages, func(m commerce.Message) {
		w.str(string(m.Type))
		w.str(m.Code)
		w.str(m.Path)
		w.str(m.Content)
		w.str(string(m.Severity))
	})
	w.time(c.CreatedAt)
	w.time(c.UpdatedAt)
	w.time(c.ExpiresAt)
	w.str(c.ContinueURL)
	w.flag(c.Order != nil)
	if c.Order != nil {
		w.str(c.Order.ID)
		w.str(c.Order.PermalinkURL)
	}
	w.int(int64(c.NextLine))
	if w.v >= 2 {
		writeSlice(w, c.UsedMandates, w.str)
	}
}

func (w *stateWriter) order(o *commerce.Order) {
	w.str(o.ID)
	w.str(o.CheckoutID)
	w.str(string(o.Status))
	w.str(o.Currency)
	w.lines(o.LineItems)
	w.buyer(o.Buyer)
	w.fulfillment(o.Fulfillment)
	w.totals(o.Totals)
	p := o.Payment
	w.str(p.ID)
	w.str(p.HandlerID)
	w.str(string(p.Status))
	w.int(p.Authorized)
	w.int(p.Captured)
	w.int(p.Refunded)
	w.str(o.PermalinkURL)
	w.time(o.CreatedAt)
	w.time(o.UpdatedAt)
	if w.v >= 3 {
		w.time(o.ShippedAt)
	}
	if w.v >= 4 {
		writeSlice(w, o.Events, func(e commerce.OrderEvent) {
			w.str(e.ID)
			w.str(e.Type)
			w.time(e.OccurredAt)
			w.lineQuantities(e.LineItems)
			w.str(e.TrackingNumber)
			w.str(e.TrackingURL)
			w.str(e.Carrier)
			w.str(e.Description)
		})
		writeSlice(w, o.Adjustments, func(a commerce.Adjustment) {
			w.str(a.ID)
			w.str(a.Type)
			w.str(a.Status)
			w.time(a.OccurredAt)
			w.lineQuantities(a.LineItems)
			w.int(a.Amount)
			w.str(a.Description)
		})
	}
}

func (w *stateWriter) lineQuantities(ls []commerce.LineQuantity) {
	writeSlice(w, ls, func(l commerce.LineQuantity) {
		w.str(l.ID)
		w.int(int64(l.Quantity))
	})
}

func (w *stateWriter) lines(ls []commerce.LineItem) {
	writeSlice(w, ls, func(l commerce.LineItem) {
		w.str(l.ID)
		w.str(l.Item.ID)
		w.str(l.Item.Title)
		w.int(l.Item.Price)
		w.flag(l.Item.Digital)
		w.int(int64(l.Quantity))
		w.totals(l.Totals)
	})
}

func (w *stateWriter) totals(ts []commerce.Total) {
	writeSlice(w, ts, func(t commerce.Total) {
		w.str(string(t.Type))
		w.str(t.DisplayText)
		w.int(t.Amount)
	})
}

func (w *stateWriter) buyer(b *commerce.Buyer) {
	w.flag(b != nil)
	if b != nil {
		w.str(b.FirstName)
		w.str(b.LastName)
		w.str(b.Email)
		w.str(b.PhoneNumber)
		if w.v < 3 {
			return
		}
		w.str(b.CustomerID)
		w.flag(b.Consent != nil)
		if c := b.Consent; c != nil {
			for _, v := range []*bool{c.Analytics, c.Preferences, c.Marketing, c.SaleOfData} {
				w.b = append(w.b, triState(v))
			}
		}
	}
}

// triState is 0 for unset, 1 for false, 2 for true.
func triState(v *bool) byte {
	switch {
	case v == nil:
		return 0
	case *v:
		return 2
	}
	return 1
}

func (w *stateWriter) fulfillment(f commerce.Fulfillment) {
	w.flag(f.Address != nil)
	if a := f.Address; a != nil {
		w.address(*a)
	}
	writeSlice(w, f.Options, func(o commerce.ShippingOption) {
		w.str(o.ID)
		w.str(o.Title)
		w.int(o.Amount)
	})
	w.str(f.SelectedOptionID)
	if w.v < 3 {
		return
	}
	writeSlice(w, f.Destinations, func(d commerce.Destination) {
		w.str(d.ID)
		w.address(d.Address)
		w.flag(d.Saved)
	})
	w.str(f.DestinationID)
	w.flag(f.Requested)
}

func (w *stateWriter) address(a commerce.Address) {
	w.str(a.StreetAddress)
	w.str(a.AddressLocality)
	w.str(a.AddressRegion)
	w.str(a.PostalCode)
	w.str(a.AddressCountry)
}

// stateReader reads what stateWriter wrote; the first error sticks (see reader).
type stateReader struct {
	reader
	version byte // the framing version the value was written with
	// all is the whole value, copied once: the state's strings are cut out of it rather
	// than copied one by one, one allocation per state instead of one per string (a
	// checkout has dozens). They keep all of it alive, no more than the state holds.
	all string
}

// string is reader.string, as a substring of all.
func (r *stateReader) string() string {
	b := r.bytes(r.uvarint())
	if len(b) == 0 {
		return ""
	}
	end := len(r.all) - len(r.b)
	return r.all[end-len(b) : end]
}

// count returns -1 for a nil slice, else its length (bounded by what is left to read, so
// that a corrupt count cannot allocate wildly).
func (r *stateReader) count() int {
	n := r.uvarint()
	if n == 0 || r.err != nil {
		return -1
	}
	if n-1 > uint64(len(r.b)) {
		r.err = errCorrupt
		return -1
	}
	return int(n - 1)
}

func (r *stateReader) flag() bool { return r.byte1() == 1 }

func (r *stateReader) time() time.Time {
	if r.byte1() == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.varint()).UTC()
}

func decodeState(v []byte) (commerce.State, error) {
	return decodeStateUpTo(v, stateCodecVersion)
}

// decodeStateUpTo decodes v as a reader that knows the framing versions up to max does:
// tests read with it as a worker of an older release would.
func decodeStateUpTo(v []byte, max byte) (commerce.State, error) {
	var st commerce.State
	if len(v) > 0 && v[0] == '{' {
		err := json.Unmarshal(v, &st)
		return st, err
	}
	r := &stateReader{reader: reader{b: v}, all: string(v)}
	r.version = r.byte1()
	if r.version < 1 || r.version > max {
		return st, errCorrupt
	}
	if r.flag() {
		st.Checkout = r.checkout()
	}
	st.Orders = readSlice(r, func() *commerce.Order {
		if r.flag() {
			return r.order()
		}
		return nil
	})
	if r.err == nil && len(r.b) != 0 {
		r.err = errCorrupt
	}
	if r.err != nil {
		return commerce.State{}, r.err
	}
	return st, nil
}

func (r *stateReader) checkout() *commerce.Checkout {
	c := &commerce.Checkout{}
	c.ID = r.string()
	c.Status = commerce.Status(r.string())
	c.Currency = r.string()
	c.LineItems = r.lines()
	c.Buyer = r.buyer()
	if r.flag() {
		c.Context = &commerce.BuyerContext{AddressCountry: r.string(), AddressRegion: r.string(), PostalCode: r.string()}
	}
	c.Fulfillment = r.fulfillment()
	c.Discounts.Codes = readSlice(r, r.string)
	c.Discounts.Applied = readSlice(r, func() commerce.AppliedDiscount {
		return commerce.AppliedDiscount{Code: r.string(), Title: r.string(), Amount: r.varint()}
	})
	c.Totals = r.totals()
	c.Messages = readSlice(r, func() commerce.Message {
		return commerce.Message{
			Type: commerce.MessageType(r.string()), Code: r.string(), Path: r.string(),
			Content: r.string(), Severity: commerce.Severity(r.string()),
		}
	})
	c.CreatedAt = r.time()
	c.UpdatedAt = r.time()
	c.ExpiresAt = r.time()
	c.ContinueURL = r.string()
	if r.flag() {
		c.Order = &commerce.OrderRef{ID: r.string(), PermalinkURL: r.string()}
	}
	c.NextLine = int(r.varint())
	if r.version >= 2 {
		c.UsedMandates = readSlice(r, r.string)
	}
	return c
}

func (r *stateReader) order() *commerce.Order {
	o := &commerce.Order{}
	o.ID = r.string()
	o.CheckoutID = r.string()
	o.Status = commerce.OrderStatus(r.string())
	o.Currency = r.string()
	o.LineItems = r.lines()
	o.Buyer = r.buyer()
	o.Fulfillment = r.fulfillment()
	o.Totals = r.totals()
	o.Payment = commerce.Payment{
		ID: r.string(), HandlerID: r.string(), Status: commerce.PaymentStatus(r.string()),
		Authorized: r.varint(), Captured: r.varint(), Refunded: r.varint(),
	}
	o.PermalinkURL = r.string()
	o.CreatedAt = r.time()
	o.UpdatedAt = r.time()
	if r.version >= 3 {
		o.ShippedAt = r.time()
	}
	if r.version >= 4 {
		o.Events = readSlice(r, func() commerce.OrderEvent {
			return commerce.OrderEvent{
				ID: r.string(), Type: r.string(), OccurredAt: r.time(), LineItems: r.lineQuantities(),
				TrackingNumber: r.string(), TrackingURL: r.string(), Carrier: r.string(), Description: r.string(),
			}
		})
		o.Adjustments = readSlice(r, func() commerce.Adjustment {
			return commerce.Adjustment{
				ID: r.string(), Type: r.string(), Status: r.string(), OccurredAt: r.time(), LineItems: r.lineQuantities(),
				Amount: r.varint(), Description: r.string(),
			}
		})
	}
	return o
}

func (r *stateReader) lineQuantities() []commerce.LineQuantity {
	return readSlice(r, func() commerce.LineQuantity {
		return commerce.LineQuantity{ID: r.string(), Quantity: int(r.varint())}
	})
}

func (r *stateReader) lines() []commerce.LineItem {
	return readSlice(r, func() commerce.LineItem {
		var l commerce.LineItem
		l.ID = r.string()
		l.Item = commerce.Item{ID: r.string(), Title: r.string(), Price: r.varint(), Digital: r.flag()}
		l.Quantity = int(r.varint())
		l.Totals = r.totals()
		return l
	})
}

func (r *stateReader) totals() []commerce.Total {
	return readSlice(r, func() commerce.Total {
		return commerce.Total{Type: commerce.TotalType(r.string()), DisplayText: r.string(), Amount: r.varint()}
	})
}

func (r *stateReader) buyer() *commerce.Buyer {
	if !r.flag() {
		return nil
	}
	b := &commerce.Buyer{FirstName: r.string(), LastName: r.string(), Email: r.string(), PhoneNumber: r.string()}
	if r.version >= 3 {
		b.CustomerID = r.string()
		if r.flag() {
			c := &commerce.Consent{}
			for _, v := range []**bool{&c.Analytics, &c.Preferences, &c.Marketing, &c.SaleOfData} {
				switch r.byte1() {
				case 0:
				case 1:
					*v = new(bool)
				case 2:
					t := true
					*v = &t
				default:
					r.err = errCorrupt
				}
			}
			b.Consent = c
		}
	}
	return b
}

func (r *stateReader) address() commerce.Address {
	return commerce.Address{StreetAddress: r.string(), AddressLocality: r.string(),
		AddressRegion: r.string(), PostalCode: r.string(), AddressCountry: r.string()}
}

func (r *stateReader) fulfillment() commerce.Fulfillment {
	var f commerce.Fulfillment
	if r.flag() {
		a := r.address()
		f.Address = &a
	}
	f.Options = readSlice(r, func() commerce.ShippingOption {
		return commerce.ShippingOption{ID: r.string(), Title: r.string(), Amount: r.varint()}
	})
	f.SelectedOptionID = r.string()
	if r.version >= 3 {
		f.Destinations = readSlice(r, func() commerce.Destination {
			return commerce.Destination{ID: r.string(), Address: r.address(), Saved: r.flag()}
		})
		f.DestinationID = r.string()
		f.Requested = r.flag()
	}
	return f
}
