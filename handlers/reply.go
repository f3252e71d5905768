package handlers

import (
	"strconv"
	"strings"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/store"
)

// parse is envelopes.Parse, with the request never nil so that error paths can read it.
func parse(raw []byte, tenant, context string, lim envelopes.Limits) (*envelopes.Request, error) {
	req, err := envelopes.Parse(raw, tenant, context, lim)
	if req == nil {
		req = &envelopes.Request{}
	}
	if err != nil {
		return req, commerce.AsError(err)
	}
	return req, nil
}

func (h *Handler) defaultReplySubject(e *Envelope) string {
	return h.prefix + ".out." + e.Tenant + "." + e.Context
}

// replySubject applies the A2A-Reply-To rules of CONTRACT.md section 2.
func (h *Handler) replySubject(e *Envelope) (string, *commerce.Error) {
	rt := e.header(HdrReplyTo)
	if rt == "" {
		return h.defaultReplySubject(e), nil
	}
	if validSubject(rt) && (strings.HasPrefix(rt, "_INBOX.") || strings.HasPrefix(rt, h.prefix+".out."+e.Tenant+".")) {
		return rt, nil
	}
	return "", commerce.E(commerce.KindInvalid, commerce.CodeReplySubjectForbidden,
		"replies may go to _INBOX.> or %s.out.%s.>, not %q", h.prefix, e.Tenant, rt)
}

// validSubject reports whether s is a literal subject we may publish to: non-empty
// tokens, no wildcards, no white space.
func validSubject(s string) bool {
	if s == "" || len(s) > 512 {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return false
		}
	}
	return true
}

// framed is a reply already made around its record's body (Resources.FramedResult):
// msg is prefix, the body and suffix. The zero value is none.
type framed struct{ msg, prefix, suffix []byte }

// queueReply queues the reply carried by rec, addressed to the request's id. f, when it
// holds a message, is that reply already made.
func (h *Handler) queueReply(b *store.Batch, e *Envelope, req *envelopes.Request, subject string, rec *store.Record, replayed bool, f framed) {
	msgID := ""
	var id []byte
	if req != nil {
		msgID, id = req.MessageID, req.ID
	}
	// A client takes a message as its answer only when both name its own request
	// (CONTRACT.md section 2): anyone may send a reply to an _INBOX.
	hdr := make(map[string][]string, 8)
	v := headerValues(8)
	hdr[HdrTenant] = v.one(e.Tenant)
	switch {
	case msgID == "":
		hdr[HdrMsgID] = v.one(strconv.FormatUint(e.Seq, 10) + ":reply")
	case remembered(rec):
		hdr[HdrMsgID] = v.one(e.Tenant + ":" + msgID + ":reply")
	default:
		// JetStream drops a second publish with the same id inside the duplicate window:
		// an outcome that is not the messageId's own must not take its id, or the real
		// reply after a reply_subject_forbidden, or a conflict after the first success,
		// never reaches A2A_OUT. The sequence still makes a redelivery of this very
		// envelope a duplicate.
		hdr[HdrMsgID] = v.one(e.Tenant + ":" + msgID + ":reply:" + strconv.FormatUint(e.Seq, 10))
	}
	if msgID != "" {
		hdr[HdrMessageID] = v.one(msgID)
	}
	if rec.IsError {
		hdr[HdrStatus] = v.one("error")
		hdr[HdrErrorCode] = v.one(rec.Code)
	} else {
		hdr[HdrStatus] = v.one("ok")
	}
	if replayed {
		hdr[HdrReplayed] = v.one("true")
	}
	copyTraceTo(hdr, e, &v)
	m := store.Outgoing{Subject: subject, Header: hdr, Core: strings.HasPrefix(subject, "_INBOX.")}
	if len(rec.Body) == 0 {
		m.Data = envelopes.Wrap(id, rec.Body, rec.IsError)
		b.Publish(m)
		return
	}
	if f.msg != nil {
		m.Data = f.msg
		b.PublishReply(m, rec, f.prefix, f.suffix)
		return
	}
	prefix, suffix := envelopes.WrapFrame(id, rec.IsError)
	b.PublishReply(m, rec, prefix, suffix)
}

// remembered reports whether rec is the reply remembered under its messageId (the first
// outcome, which every replay repeats) rather than the outcome of one delivery only.
// INVARIANT: only records kept under a messageId carry a fingerprint; Parse sets one
// whenever it read a messageId.
func remembered(rec *store.Record) bool { return rec.Fingerprint != [32]byte{} }

// queueEvent queues the i-th domain event of the envelope. Its Nats-Msg-Id is derived
// from the envelope, so that however often the envelope is handled, the event is stored
// once.
func (h *Handler) queueEvent(b *store.Batch, e *Envelope, req *envelopes.Request, i int, ev commerce.Event) {
	id := e.Tenant + ":" + req.MessageID + ":evt:" + strconv.Itoa(i)
	hdr := make(map[string][]string, 6)
	v := headerValues(5)
	hdr[HdrMsgID] = v.one(id)
	hdr[HdrMessageID] = v.one(req.MessageID)
	hdr[HdrEventType] = v.one(string(ev.Type))
	copyTraceTo(hdr, e, &v)
	// The checkout or order an event carries is most often the reply's too: e.enc
	// encodes it once for all of them.
	data := e.enc.Event(envelopes.EventMeta{
		ID: id, Tenant: e.Tenant, Context: e.Context, MessageID: req.MessageID, OccurredAt: e.Time,
		PaymentHandlers: h.paymentHandlers(e.Tenant),
	}, ev)
	b.Publish(store.Outgoing{Subject: h.prefix + ".evt." + e.Tenant + "." + string(ev.Type), Header: hdr, Data: data})
}

func copyTrace(hdr map[string][]string, e *Envelope) { copyTraceTo(hdr, e, &valueSlab{}) }

func copyTraceTo(hdr map[string][]string, e *Envelope, v *valueSlab) {
	for _, k := range []string{HdrTraceParent, HdrTraceState} {
		if s := e.header(k); s != "" {
			hdr[k] = v.one(s)
		}
	}
}

// valueSlab hands out the one-value slices of a header from one array, so that a
// message's header costs one allocation for its values rather than one each. Each slice
// is capped at its one value: a header Add that appends to it copies it first.
type valueSlab struct{ a []string }

func headerValues(n int) valueSlab { return valueSlab{a: make([]string, 0, n)} }

func (v *valueSlab) one(s string) []string {
	v.a = append(v.a, s)
	n := len(v.a)
	return v.a[n-1 : n : n]
}

// paymentHandlers returns the payment handlers the checkouts of tenant list (nil for a
// tenant not configured, or that lists none).
func (h *Handler) paymentHandlers(tenant string) envelopes.PaymentHandlers {
	if t := h.tenants[tenant]; t != nil {
		return t.paymentHandlers
	}
	return nil
}
