package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// event is what this package reads of a domain event (docs/events.md).
type event struct {
	ID         string                     `json:"id"`
	Type       string                     `json:"type"`
	Tenant     string                     `json:"tenant"`
	ContextID  string                     `json:"context_id"`
	MessageID  string                     `json:"message_id"`
	OccurredAt string                     `json:"occurred_at"`
	Data       map[string]json.RawMessage `json:"data"`
}

// keyOrder is the data key of the order resource in an event.
const keyOrder = "a2a.ucp.order"

// hookTypes maps the domain events that become order webhooks to the event_type they
// are sent as. A cancel_order of a captured payment emits payment.refunded then
// order.canceled: the platform gets both.
var hookTypes = map[string]string{
	"order.created":    "order_placed",
	"order.shipped":    "order_shipped",
	"order.canceled":   "order_canceled",
	"payment.refunded": "order_refunded",
}

// payload is the body POSTed to the platform: the event, and the order as the REST
// binding shows it (its id <context>.<order id>, its checkout_id the checkout session's
// id, which is the context).
type payload struct {
	EventID     string          `json:"event_id"`
	EventType   string          `json:"event_type"`
	CreatedTime string          `json:"created_time"`
	CheckoutID  string          `json:"checkout_id"`
	Order       json.RawMessage `json:"order"`
}

// failure is a failed attempt, with the reason the failures metric counts it under.
type failure struct {
	reason string
	error
}

func (f failure) Unwrap() error { return f.error }

// handle is the Router's handler: one order event, delivered to the platform behind its
// checkout.
//
// Delivery contract: a nil return acks the event (delivered, or nothing to deliver to);
// an error is retried by the Retry middleware with backoff, and once the retries are
// spent the PoisonQueue middleware dead-letters the event (webhook_failed) and acks it;
// only when that publish fails is the event nacked, to come back later. A panic is
// turned into an error by the Recoverer and takes the same path. The event is acked
// after the platform answered 2xx, so a worker that dies in between sends it again: a
// platform deduplicates by Webhook-Id (the event's id).
func (s *Service) handle(msg *message.Message) error {
	var ev event
	if err := json.Unmarshal(msg.Payload, &ev); err != nil {
		return failure{"invalid", fmt.Errorf("the event is not JSON: %w", err)}
	}
	kind, ok := hookTypes[ev.Type]
	if !ok {
		return nil
	}
	order := ev.Data[keyOrder]
	if len(order) == 0 {
		return failure{"invalid", fmt.Errorf("event %s carries no %s", ev.ID, keyOrder)}
	}
	ctx := msg.Context()
	profile, err := lookupAgent(ctx, s.agents, ev.Tenant, ev.ContextID)
	if err != nil {
		return failure{"internal", fmt.Errorf("look up the checkout's platform: %w", err)}
	}
	if profile == "" {
		s.metrics.skipped.WithLabelValues("no_agent").Inc()
		return nil
	}
	hook, version, err := s.profiles.webhookURL(ctx, profile)
	if errors.Is(err, errNoWebhook) {
		s.metrics.skipped.WithLabelValues("no_webhook").Inc()
		return nil
	}
	if err != nil {
		return failure{"profile", err}
	}
	// A platform on an older UCP version gets the order in that version's shape, as
	// its REST binding shows it (GET /2026-01-11/orders/{id}).
	o := s.o.OrderFor(version, restOrder(order, ev.ContextID))
	body, err := json.Marshal(payload{
		EventID:     ev.ID,
		EventType:   kind,
		CreatedTime: ev.OccurredAt,
		CheckoutID:  ev.ContextID,
		Order:       o,
	})
	if err != nil {
		return failure{"invalid", err}
	}
	if err := s.post(ctx, hook, ev, body); err != nil {
		return err
	}
	s.metrics.delivered.WithLabelValues(kind).Inc()
	return nil
}

// restOrder is the order with the ids the REST binding gives it.
func restOrder(order json.RawMessage, contextID string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(order, &m) != nil {
		return order
	}
	var id string
	_ = json.Unmarshal(m["id"], &id)
	m["id"], _ = json.Marshal(contextID + "." + id)
	m["checkout_id"], _ = json.Marshal(contextID)
	b, err := json.Marshal(m)
	if err != nil {
		return order
	}
	return b
}

// post sends body to hook, signed, with Standard Webhooks' Webhook-Id and
// Webhook-Timestamp.
func (s *Service) post(ctx context.Context, hook string, ev event, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		return failure{"invalid", err}
	}
	ts := time.Now()
	if t, err := time.Parse(time.RFC3339Nano, ev.OccurredAt); err == nil {
		ts = t
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Webhook-Id", ev.ID)
	req.Header.Set("Webhook-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("UCP-Agent", `profile="`+s.businessProfile(ev.Tenant)+`"`)
	if s.key != nil {
		if err := Sign(req, body, s.key, s.cfg.KeyID, time.Now()); err != nil {
			return failure{"internal", err}
		}
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		s.metrics.latency.WithLabelValues("network").Observe(time.Since(start).Seconds())
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a platform's token
		}
		return failure{"network", fmt.Errorf("webhook POST: %w", err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		s.metrics.latency.WithLabelValues("ok").Observe(time.Since(start).Seconds())
		return nil
	}
	s.metrics.latency.WithLabelValues("status").Observe(time.Since(start).Seconds())
	return failure{"status", fmt.Errorf("webhook POST answered status %d", resp.StatusCode)}
}
