package handlers

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cartwright-dev/cartwright/commerce"
	"github.com/cartwright-dev/cartwright/envelopes"
	"github.com/cartwright-dev/cartwright/store"
)

// defaultMaxPayload is NATS's default max_payload, the bound of a dead letter when the
// handler is not told the connection's.
const defaultMaxPayload = 1 << 20

// payloadSlack is what a dead letter leaves of the max payload for what the header
// framing may take beyond headerBytes' count.
const payloadSlack = 64

// dlqMarkSuffix names, in the idempotency table, the mark saying that (tenant,
// messageId) was dead-lettered: the key is the messageId with this suffix. '/' never
// appears in a messageId, so the mark cannot be taken for a request's record; it is
// kept and swept as the idempotency records are (IdempotencyRetention).
const dlqMarkSuffix = "/dlq"

// deadLetter queues the original bytes to the dead-letter subject, and an error reply
// when the subject names a tenant and context.
//
// The bytes are redacted (envelopes.Redact: no credential reaches the dead-letter
// stream) and, when they would not fit in one NATS message with the headers, truncated.
//
// INVARIANT: a request is dead-lettered once per tenant and messageId (CONTRACT.md
// section 8). The first dead letter of a messageId carries Nats-Msg-Id
// <tenant>:<messageId>:dlq, so JetStream drops another within the dead-letter stream's
// duplicate window (a copy handled by another worker, say); the mark kept in the store
// answers later copies for as long as idempotency records live. A copy with other
// content, and a redrive (HdrRedrive) that fails again, are dead-lettered anew, under
// an id of their own: their bytes are not kept anywhere else.
func (h *Handler) deadLetter(b *store.Batch, e *Envelope, req *envelopes.Request, replyTo string, ce *commerce.Error) Outcome {
	if done, out := h.answered(b, e); done {
		return out
	}
	msgID := ""
	if req != nil {
		msgID = req.MessageID
	}
	id, publish, err := h.deadLetterID(b, e, req)
	if err != nil {
		return Outcome{Kind: Retry, Err: commerce.Transient("store read", err)}
	}
	if publish {
		b.Publish(h.deadLetterMsg(e, msgID, id, ce))
	}
	if !e.Usable {
		replyTo = "" // no tenant and context to answer in
	}
	h.answer(b, e, req, replyTo, false, nil, ce)
	if !publish {
		// Its dead letter is already kept: the error reply is the whole outcome.
		return Outcome{Kind: Replied, Code: ce.Code}
	}
	return Outcome{Kind: DeadLettered, Code: ce.Code}
}

// deadLetterID returns the Nats-Msg-Id of the envelope's dead letter, or publish false
// when its request is already dead-lettered (see deadLetter). It keeps the mark in b.
func (h *Handler) deadLetterID(b *store.Batch, e *Envelope, req *envelopes.Request) (id string, publish bool, err error) {
	seq := strconv.FormatUint(e.Seq, 10)
	if req == nil || req.MessageID == "" || !e.Usable {
		return seq + ":dlq", true, nil
	}
	key := req.MessageID + dlqMarkSuffix
	mark, err := b.Record(e.Tenant, key)
	if err != nil {
		return "", false, err
	}
	redrive := e.header(HdrRedrive)
	id = e.Tenant + ":" + req.MessageID + ":dlq"
	switch {
	case mark == nil:
		b.PutRecord(e.Tenant, key, &store.Record{Fingerprint: req.Fingerprint, Seq: e.Seq, At: e.Time, IsError: true, Body: []byte(redrive)})
		return id, true, nil
	case mark.Fingerprint != req.Fingerprint:
		return id + ":" + seq, true, nil
	case slices.Contains(strings.Split(string(mark.Body), "\n"), redrive):
		return "", false, nil
	default:
		// A redrive that failed again: the dead letter it came from is gone.
		body := append(append(slices.Clone(mark.Body), '\n'), redrive...)
		b.PutRecord(e.Tenant, key, &store.Record{Fingerprint: mark.Fingerprint, Seq: mark.Seq, At: mark.At, IsError: true, Body: body})
		return id + ":" + seq, true, nil
	}
}

// deadLetterMsg builds the dead letter of CONTRACT.md section 8.
func (h *Handler) deadLetterMsg(e *Envelope, msgID, id string, ce *commerce.Error) store.Outgoing {
	subj := h.prefix + ".dlq._._"
	if e.Usable {
		subj = h.prefix + ".dlq." + e.Tenant + "." + e.Context
	}
	hdr := map[string][]string{
		HdrMsgID:           {id},
		HdrErrorCode:       {ce.Code},
		HdrError:           {oneLine(ce.Message)},
		HdrOriginalSubject: {e.Subject},
		HdrOriginalSeq:     {strconv.FormatUint(e.Seq, 10)},
		HdrAttempts:        {strconv.Itoa(e.Delivered)},
		HdrFailedAt:        {h.clock().UTC().Format(time.RFC3339)},
	}
	if e.Usable {
		hdr[HdrTenant] = []string{e.Tenant}
	}
	if msgID != "" {
		hdr[HdrMessageID] = []string{msgID}
	}
	copyTrace(hdr, e)
	data, redacted := envelopes.Redact(e.Data)
	if redacted {
		hdr[HdrRedacted] = []string{"true"}
	}
	if headerBytes(hdr)+len(data)+payloadSlack > h.maxPayload {
		// Redaction can lengthen the bytes, and the headers come on top of what the
		// inbound stream took: cut the body rather than fail to publish the dead letter
		// at all. Redaction came first, so no credential is cut in half and kept.
		hdr[HdrTruncated] = []string{"true"}
		hdr[HdrOriginalSize] = []string{strconv.Itoa(len(e.Data))}
		keep := h.maxPayload - headerBytes(hdr) - payloadSlack
		data = data[:max(0, min(keep, len(data)))]
	}
	return store.Outgoing{Subject: subj, Header: hdr, Data: data}
}

// headerBytes is the size of hdr as NATS sends it: "NATS/1.0\r\n", a "key: value\r\n"
// line per value, and a blank line.
func headerBytes(hdr map[string][]string) int {
	n := len("NATS/1.0\r\n") + len("\r\n")
	for k, vs := range hdr {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n
}

// redactedCredential returns, for a complete_checkout whose credential is the
// redaction marker (a redacted dead letter replayed), the error that asks the agent to
// send it again with its credential; nil for anything else. The error is invalid_params
// with the path of the credential: CONTRACT.md section 7 has no code of its own for it.
// It is answered and not remembered under the messageId (see reject), so that the
// request sent again with its credential is applied.
func redactedCredential(e *Envelope, req *envelopes.Request) *commerce.Error {
	c, ok := req.Command.(commerce.CompleteCheckout)
	if !ok {
		return nil
	}
	redacted := c.AP2 != nil && c.AP2.CheckoutMandate == envelopes.RedactionMarker
	for _, in := range c.Instruments {
		redacted = redacted || in.Credential.Token == envelopes.RedactionMarker || in.Credential.Type == envelopes.RedactionMarker
	}
	if !redacted {
		return nil
	}
	return commerce.Invalid(envelopes.RedactedPath(e.Data),
		"the credential was removed from this request when it was dead-lettered: send it again with its credential")
}
