package bus

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cartwright-dev/cartwright/handlers"
	"github.com/cartwright-dev/cartwright/telemetry"
)

// traceChunk is what process and sender do for tracing with one envelope in a chunk.
func traceChunk(ctx context.Context, e *handlers.Envelope) {
	ct := chunkTrace{tr: telemetry.Tracer()}
	ectx, span := ct.envelope(ctx, 1, e)
	_ = ectx
	ct.handled(span, handlers.Outcome{Kind: handlers.Replied, Action: "add_item", MessageID: "m-1"})
	sc := ct.committed(ct.commit(ctx, 1, 1, 2), nil)
	published(tracePublish(ctx, sc, 2), true)
}

func traceEnvelope() *handlers.Envelope {
	return &handlers.Envelope{Subject: "a2a.in.demo.ctx-1", Tenant: "demo", Context: "ctx-1", Usable: true,
		Header: map[string][]string{"traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
		Seq:    7, Delivered: 1}
}

// TestChunkTraceOffCostsNothing: with tracing off, the partition's tracing allocates
// nothing and leaves the envelope's headers as they came (the golden replies depend on
// it).
func TestChunkTraceOffCostsNothing(t *testing.T) {
	t.Cleanup(telemetry.Install(nil))
	e := traceEnvelope()
	hdr := e.Header
	ctx := context.Background()
	if n := testing.AllocsPerRun(1000, func() { traceChunk(ctx, e) }); n != 0 {
		t.Errorf("tracing off: %v allocations per envelope, want 0", n)
	}
	if len(e.Header) != 1 || e.Header["traceparent"][0] != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" ||
		&e.Header["traceparent"][0] != &hdr["traceparent"][0] {
		t.Errorf("tracing off: headers now %v", e.Header)
	}
}

// TestChunkTraceOn: with tracing on, the envelope's headers name its own span (for the
// reply to carry) in the publisher's trace, and the delivery's headers are left alone.
func TestChunkTraceOn(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	t.Cleanup(telemetry.Install(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))))
	e := traceEnvelope()
	delivery := e.Header
	ct := chunkTrace{tr: telemetry.Tracer()}
	_, span := ct.envelope(context.Background(), 1, e)
	ct.handled(span, handlers.Outcome{Kind: handlers.DeadLettered, Action: "add_item", Code: "internal_error"})
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + span.SpanContext().SpanID().String() + "-01"
	if got := telemetry.Header(e.Header).Get("traceparent"); got != want {
		t.Errorf("envelope traceparent %q, want %q", got, want)
	}
	if got := delivery["traceparent"][0]; got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Errorf("the delivery's headers changed: %q", got)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "handle add_item" || spans[0].Status.Code.String() != "Error" ||
		spans[0].Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("spans: %+v", spans)
	}
}

// BenchmarkChunkTrace is the partition's tracing per envelope (a chunk of one: the
// worst case), off and on (sampled, no exporter).
func BenchmarkChunkTrace(b *testing.B) {
	ctx := context.Background()
	b.Run("off", func(b *testing.B) {
		defer telemetry.Install(nil)()
		e := traceEnvelope()
		b.ReportAllocs()
		for b.Loop() {
			traceChunk(ctx, e)
		}
	})
	b.Run("on", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		defer tp.Shutdown(ctx)
		defer telemetry.Install(tp)()
		e := traceEnvelope()
		b.ReportAllocs()
		for b.Loop() {
			traceChunk(ctx, e)
		}
	})
}
