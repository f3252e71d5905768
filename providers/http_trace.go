package providers

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/cartwright-dev/cartwright/telemetry"
)

// trace starts the client span of one attempt of a call and propagates it to the provider
// in the request's traceparent and tracestate, so that the merchant's service can join
// the envelope's trace. Nothing happens with tracing off.
//
// The span carries the route template, never the path: paths hold ids, and the query
// and headers may hold secrets.
func (c *httpCore) trace(req *http.Request, call httpCall) trace.Span {
	tr := telemetry.Tracer()
	if tr == nil {
		return nil
	}
	ctx, span := tr.Start(req.Context(), call.String(),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", call.method),
			attribute.String("url.template", call.route),
			attribute.String("server.address", req.URL.Hostname()),
			attribute.String("cartwright.provider", c.name),
		))
	telemetry.W3C.Inject(ctx, propagation.HeaderCarrier(req.Header))
	return span
}

// endCall ends an attempt's span with the status the provider answered, or the failure.
func endCall(span trace.Span, resp *http.Response, err error) {
	if span == nil {
		return
	}
	switch {
	case err != nil:
		// Not the error itself: a url.Error names the URL.
		span.SetStatus(codes.Error, "no answer")
		span.SetAttributes(attribute.String("error.type", "connection"))
	case resp != nil:
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 500 {
			span.SetStatus(codes.Error, resp.Status)
		}
	}
	span.End()
}
