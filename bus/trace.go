package bus

import (
	"context"
	"maps"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/telemetry"
)

// chunkTrace traces one chunk of a partition: a span per envelope handled, a span for the
// chunk's commit linked to each of them, and one for its publish. Its zero value (tracing
// off) does nothing and allocates nothing: the partition's hot path stays as it was.
type chunkTrace struct {
	tr    trace.Tracer
	links []trace.Link
}

// envelope starts the span of one envelope's handling, a child of the span its traceparent
// names (the publisher's). The envelope's headers then carry this span instead, so that
// its reply, events and dead letter continue the trace from it; the delivery's own
// headers stay as they came.
func (c *chunkTrace) envelope(ctx context.Context, partition int, e *handlers.Envelope) (context.Context, trace.Span) {
	if c.tr == nil {
		return ctx, nil
	}
	ctx, span := c.tr.Start(telemetry.Extract(ctx, e.Header), "handle envelope",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", e.Subject),
			attribute.String("cartwright.tenant", e.Tenant),
			attribute.String("cartwright.context", e.Context),
			attribute.Int64("cartwright.seq", int64(e.Seq)),
			attribute.Int("cartwright.delivered", e.Delivered),
			attribute.Int("cartwright.partition", partition),
		))
	h := maps.Clone(e.Header)
	if h == nil {
		h = map[string][]string{}
	}
	telemetry.Inject(ctx, h)
	e.Header = h
	return ctx, span
}

// handled ends an envelope's span with what became of it.
func (c *chunkTrace) handled(span trace.Span, out handlers.Outcome) {
	if span == nil {
		return
	}
	if out.Action != "" {
		span.SetName("handle " + out.Action) // actions are few: a name to group by
	}
	span.SetAttributes(
		attribute.String("cartwright.action", out.Action),
		attribute.String("cartwright.message_id", out.MessageID),
		attribute.String("cartwright.outcome", out.Kind.String()),
	)
	if out.Code != "" {
		span.SetAttributes(attribute.String("cartwright.error_code", out.Code))
	}
	switch out.Kind {
	case handlers.Retry:
		if out.Err != nil {
			span.RecordError(out.Err)
		}
		span.SetStatus(codes.Error, "transient failure: returned to JetStream")
	case handlers.DeadLettered:
		span.SetStatus(codes.Error, "dead-lettered: "+out.Code)
	}
	c.links = append(c.links, trace.Link{SpanContext: span.SpanContext()})
	span.End()
}

// commit starts the span of the chunk's commit, linked to its envelopes' spans.
func (c *chunkTrace) commit(ctx context.Context, partition, envelopes, messages int) trace.Span {
	if c.tr == nil {
		return nil
	}
	_, span := c.tr.Start(ctx, "commit", trace.WithLinks(c.links...), trace.WithAttributes(
		attribute.Int("cartwright.partition", partition),
		attribute.Int("cartwright.envelopes", envelopes),
		attribute.Int("cartwright.messages", messages),
	))
	return span
}

// committed ends the commit's span and returns its context, which the chunk's publish
// span continues (the zero context when tracing is off).
func (c *chunkTrace) committed(span trace.Span, err error) trace.SpanContext {
	if span == nil {
		return trace.SpanContext{}
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "commit failed")
	}
	span.End()
	return span.SpanContext()
}

// tracePublish starts the span of a committed chunk's publish, a child of its commit.
func tracePublish(ctx context.Context, commit trace.SpanContext, messages int) trace.Span {
	tr := telemetry.Tracer()
	if tr == nil || !commit.IsValid() {
		return nil
	}
	_, span := tr.Start(trace.ContextWithSpanContext(ctx, commit), "publish",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "nats"),
			attribute.Int("cartwright.messages", messages)))
	return span
}

// published ends the publish span; ok false means some messages stay in the outbox.
func published(span trace.Span, ok bool) {
	if span == nil {
		return
	}
	if !ok {
		span.SetStatus(codes.Error, "some messages stay in the outbox for later")
	}
	span.End()
}
