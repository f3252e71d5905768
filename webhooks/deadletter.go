package webhooks

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cartwright-dev/cartwright/handlers"
)

// CodeWebhookFailed is the A2A-Error-Code of an order event whose webhook could not be
// delivered within its retries.
const CodeWebhookFailed = "webhook_failed"

// Headers of a webhook dead letter beyond CONTRACT.md section 8's.
const (
	// HdrEventSubject is the subject the event was stored under in A2A_EVT.
	HdrEventSubject = "A2A-Event-Subject"
	// HdrEventID is the event's id (its Nats-Msg-Id in A2A_EVT, Webhook-Id on the wire).
	HdrEventID = "A2A-Event-Id"
)

var token = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// RedeliverySubject is where `cartwright dlq replay` republishes a webhook dead letter
// of tenant's context: <prefix>.webhook.<tenant>.<context>, in the stream
// <PREFIX>_WEBHOOK, which the Router consumes as it consumes A2A_EVT. Replaying there
// rather than to A2A_EVT sends the event to the platform again without storing a second
// copy of it for every other reader of the events.
func RedeliverySubject(prefix, tenant, contextID string) string {
	return prefix + ".webhook." + tenant + "." + contextID
}

// deadLetters is the PoisonQueue's publisher: each message it is given goes to the
// dead-letter stream as CONTRACT.md section 8 shapes a dead letter, code webhook_failed,
// with the event's bytes as they were.
type deadLetters struct {
	js      jetstream.JetStream
	prefix  string
	retries int
	now     func() time.Time
	metrics *metrics
}

func (d *deadLetters) Publish(_ string, msgs ...*message.Message) error {
	for _, m := range msgs {
		if err := d.publish(m); err != nil {
			return err
		}
	}
	return nil
}

func (d *deadLetters) Close() error { return nil }

func (d *deadLetters) publish(m *message.Message) error {
	var ev event
	_ = json.Unmarshal(m.Payload, &ev)
	tenant, ctxID := ev.Tenant, ev.ContextID
	if !token.MatchString(tenant) {
		tenant = "_"
	}
	if !token.MatchString(ctxID) {
		ctxID = "_"
	}
	redrive := m.Metadata.Get(handlers.HdrRedrive)
	out := nats.NewMsg(d.prefix + ".dlq." + tenant + "." + ctxID)
	out.Data = m.Payload
	h := out.Header
	h.Set(handlers.HdrMsgID, "webhook:"+m.UUID+":"+redrive)
	h.Set(handlers.HdrErrorCode, CodeWebhookFailed)
	h.Set(handlers.HdrError, oneLine(m.Metadata.Get(middleware.ReasonForPoisonedKey)))
	h.Set(handlers.HdrOriginalSubject, RedeliverySubject(d.prefix, tenant, ctxID))
	h.Set(handlers.HdrOriginalSeq, m.Metadata.Get(mdStreamSeq))
	h.Set(handlers.HdrAttempts, strconv.Itoa(d.retries+1))
	h.Set(handlers.HdrFailedAt, d.now().UTC().Format(time.RFC3339))
	h.Set(HdrEventSubject, m.Metadata.Get(mdSubject))
	h.Set(HdrEventID, m.UUID)
	if ev.MessageID != "" {
		h.Set(handlers.HdrMessageID, ev.MessageID)
	}
	if tenant != "_" {
		h.Set(handlers.HdrTenant, tenant)
	}
	for _, k := range []string{handlers.HdrTraceParent, handlers.HdrTraceState} {
		if v := m.Metadata.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.js.PublishMsg(ctx, out); err != nil {
		return err
	}
	d.metrics.dead.Inc()
	return nil
}

// oneLine keeps an error to one short line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
