package envelopes

import (
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/cartwright-dev/cartwright/commerce"
)

// Resources encodes the reply and the events of one envelope, each checkout and order
// they carry encoded once: a completion's checkout goes in its reply and in
// checkout.completed, its order in order.created and the payment events. The zero value
// is ready for use; Release ends it. It is not safe for concurrent use.
//
// Every reply and event it returns is a slice of its own, exactly as long as it is: they
// go into the store's batch and the outgoing messages, which outlive the envelope. Only
// the scratch space (the encoded resources) is reused, from one envelope to the next.
//
// REQUIRES: a checkout or order passed in does not change while the Resources is in use:
// it is known again by its pointer.
type Resources struct {
	buf     []byte  // the encoded resources, then the message being built
	pooled  *[]byte // where buf came from, to go back to the pool
	entries [4]resourceEntry
	n       int
}

// resourceEntry is an encoded resource, buf[start:end].
type resourceEntry struct {
	c          *commerce.Checkout
	o          *commerce.Order
	ph         PaymentHandlers // the payment handlers a checkout lists
	start, end int
}

// scratchPool holds the scratch buffers of Resources. A buffer that grew past
// maxScratch (a very large checkout) is dropped rather than kept.
var scratchPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 8<<10)
	return &b
}}

const maxScratch = 256 << 10

// Release hands the scratch space back. The Resources may be used again afterwards, as
// new.
func (r *Resources) Release() {
	if r.pooled != nil && cap(r.buf) <= maxScratch {
		*r.pooled = r.buf[:0]
		scratchPool.Put(r.pooled)
	}
	*r = Resources{}
}

func (r *Resources) scratch() {
	if r.pooled == nil {
		r.pooled = scratchPool.Get().(*[]byte)
		r.buf = (*r.pooled)[:0]
	}
}

// samePH reports whether a and b are the same map (or both nil).
func samePH(a, b PaymentHandlers) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// checkout returns where c, listing ph, is encoded in buf.
func (r *Resources) checkout(c *commerce.Checkout, ph PaymentHandlers) (start, end int) {
	for _, e := range r.entries[:r.n] {
		if e.c == c && samePH(e.ph, ph) {
			return e.start, e.end
		}
	}
	start = len(r.buf)
	r.buf = encCheckout(r.buf, c, encPaymentHandlers(ph))
	r.remember(resourceEntry{c: c, ph: ph, start: start, end: len(r.buf)})
	return start, len(r.buf)
}

// order returns where o is encoded in buf.
func (r *Resources) order(o *commerce.Order) (start, end int) {
	for _, e := range r.entries[:r.n] {
		if e.o == o {
			return e.start, e.end
		}
	}
	start = len(r.buf)
	r.buf = encOrder(r.buf, o)
	r.remember(resourceEntry{o: o, start: start, end: len(r.buf)})
	return start, len(r.buf)
}

// remember keeps e for the next message; past a few resources (never, today) the
// others are encoded each time.
func (r *Resources) remember(e resourceEntry) {
	if r.n < len(r.entries) {
		r.entries[r.n] = e
		r.n++
	}
}

// resSpan is a resource's place in buf: [start, end), none when end is 0.
type resSpan struct{ start, end int }

// resource encodes the checkout and the order a message carries (either may be nil)
// before the message is built, so that the message is the last thing in buf.
func (r *Resources) resource(c *commerce.Checkout, o *commerce.Order, ph PaymentHandlers) (cs, ors resSpan) {
	r.scratch()
	if c != nil {
		cs.start, cs.end = r.checkout(c, ph)
	}
	if o != nil {
		ors.start, ors.end = r.order(o)
	}
	return cs, ors
}

// appendResource appends the Resource object of the checkout and the order at cs and ors.
func (r *Resources) appendResource(cs, ors resSpan) {
	r.buf = append(r.buf, '{')
	if cs.end > 0 {
		r.buf = append(r.buf, `"a2a.ucp.checkout":`...)
		r.buf = append(r.buf, r.buf[cs.start:cs.end]...)
	}
	if ors.end > 0 {
		if cs.end > 0 {
			r.buf = append(r.buf, ',')
		}
		r.buf = append(r.buf, `"a2a.ucp.order":`...)
		r.buf = append(r.buf, r.buf[ors.start:ors.end]...)
	}
	r.buf = append(r.buf, '}')
}

// take returns a copy of the message built in buf from mark on, and drops it from buf.
func (r *Resources) take(mark int) []byte {
	out := make([]byte, len(r.buf)-mark)
	copy(out, r.buf[mark:])
	r.buf = r.buf[:mark]
	return out
}

// ResultBody is TenantResultBody, with the resources encoded once per Resources.
func (r *Resources) ResultBody(messageID, contextID string, c *commerce.Checkout, o *commerce.Order, ph PaymentHandlers) []byte {
	return r.take(r.resultBody(messageID, contextID, c, o, ph))
}

// FramedResult is ResultBody framed for its reply: msg is prefix, the body and suffix
// (WrapFrame's), and body is the part of msg between them, capped so that appending to
// it copies. One allocation serves the record's body and the reply, which carry the
// same bytes.
func (r *Resources) FramedResult(prefix, suffix []byte, messageID, contextID string, c *commerce.Checkout, o *commerce.Order, ph PaymentHandlers) (msg, body []byte) {
	mark := r.resultBody(messageID, contextID, c, o, ph)
	n := len(r.buf) - mark
	msg = make([]byte, 0, len(prefix)+n+len(suffix))
	msg = append(append(append(msg, prefix...), r.buf[mark:]...), suffix...)
	r.buf = r.buf[:mark]
	return msg, msg[len(prefix) : len(prefix)+n : len(prefix)+n]
}

// resultBody builds the result's body at the end of buf, and returns where it starts.
func (r *Resources) resultBody(messageID, contextID string, c *commerce.Checkout, o *commerce.Order, ph PaymentHandlers) int {
	cs, ors := r.resource(c, o, ph)
	mark := len(r.buf)
	r.buf = append(r.buf, `{"kind":"message","role":"agent","messageId":"`...)
	r.buf = encStringBody(r.buf, messageID)
	r.buf = append(r.buf, `:reply","contextId":`...)
	r.buf = encString(r.buf, contextID)
	r.buf = append(r.buf, `,"parts":[{"kind":"data","data":`...)
	r.appendResource(cs, ors)
	r.buf = append(r.buf, "}]}"...)
	return mark
}

// Event is EncodeEvent, with the resources encoded once per Resources.
func (r *Resources) Event(m EventMeta, ev commerce.Event) []byte {
	cs, ors := r.resource(ev.Checkout, ev.Order, m.PaymentHandlers)
	mark := len(r.buf)
	r.buf = encString(append(r.buf, `{"id":`...), m.ID)
	r.buf = encString(append(r.buf, `,"type":`...), string(ev.Type))
	r.buf = encString(append(r.buf, `,"tenant":`...), m.Tenant)
	r.buf = encString(append(r.buf, `,"context_id":`...), m.Context)
	r.buf = encString(append(r.buf, `,"message_id":`...), m.MessageID)
	r.buf = encTimestamp(append(r.buf, `,"occurred_at":`...), m.OccurredAt)
	if ev.Amount != 0 || strings.HasPrefix(string(ev.Type), "payment.") {
		r.buf = strconv.AppendInt(append(r.buf, `,"amount":`...), ev.Amount, 10)
	}
	r.buf = append(r.buf, `,"data":`...)
	r.appendResource(cs, ors)
	r.buf = append(r.buf, '}')
	return r.take(mark)
}
