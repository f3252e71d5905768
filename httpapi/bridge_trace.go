package httpapi

import (
	"context"
	"net/http"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/cartwright-dev/cartwright/telemetry"
)

// traceRequest starts the server span of a bridge request, a child of the caller's
// traceparent when it sent a valid one. With tracing off it returns r unchanged and no
// span.
func traceRequest(r *http.Request) (*http.Request, trace.Span) {
	tr := telemetry.Tracer()
	if tr == nil {
		return r, nil
	}
	ctx := telemetry.W3C.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := tr.Start(ctx, r.Method+" "+bridgePattern,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", bridgePattern),
			// The path's tenant is not authenticated yet: clipped like everything shown.
			attribute.String("cartwright.tenant", clipString(r.PathValue("tenant"))),
		))
	return r.WithContext(ctx), span
}

// endRequest ends the request's span with its outcome (cartwright_bridge_requests_total's).
func endRequest(span trace.Span, outcome string) {
	if span == nil {
		return
	}
	span.SetAttributes(attribute.String("cartwright.bridge.outcome", outcome))
	if outcome == outcomeTimeout {
		span.SetStatus(codes.Error, "no reply in time, or the bus refused the publish")
	}
	span.End()
}

// tracePublish starts the producer span of the envelope's publish to JetStream and writes
// it into m's traceparent and tracestate, so that the worker's span of the envelope
// continues this trace. With tracing off it does nothing and returns nil.
func tracePublish(ctx context.Context, m *nats.Msg, messageID string) trace.Span {
	tr := telemetry.Tracer()
	if tr == nil {
		return nil
	}
	ctx, span := tr.Start(ctx, "publish a2a.in",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", m.Subject),
			attribute.String("cartwright.message_id", clipString(messageID)),
		))
	telemetry.Inject(ctx, m.Header)
	return span
}

func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "publish failed")
	}
	span.End()
}
