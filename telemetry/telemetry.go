package telemetry

import (
	"context"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of cartwright's spans.
const Scope = "github.com/cartwright-dev/cartwright"

// tracer is the installed tracer; nil while tracing is off.
var tracer atomic.Pointer[trace.Tracer]

// Tracer returns the tracer to start spans with, or nil when tracing is off. Callers test
// for nil before building anything for a span.
func Tracer() trace.Tracer {
	if t := tracer.Load(); t != nil {
		return *t
	}
	return nil
}

// Install makes tp the provider of cartwright's spans (nil turns tracing off) and returns
// a func that puts back what was installed before. Setup calls it; tests call it with an
// SDK provider and an in-memory exporter.
//
// The OpenTelemetry global provider is not used for this: its tracers bind to the first
// provider ever set and would not follow a second Install.
func Install(tp trace.TracerProvider) (restore func()) {
	var next *trace.Tracer
	if tp != nil {
		t := tp.Tracer(Scope)
		next = &t
	}
	prev := tracer.Swap(next)
	return func() { tracer.Store(prev) }
}

// W3C is the propagation the contract speaks: traceparent and tracestate (CONTRACT.md
// section 2), on NATS headers and on provider HTTP requests alike.
var W3C propagation.TextMapPropagator = propagation.TraceContext{}

// Header adapts NATS message headers (and handlers.Envelope's) to propagation: the
// contract's header names are lower case, and publishers differ in how they case them.
type Header map[string][]string

// Get returns the first value of key, matched regardless of case.
func (h Header) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	for k, v := range h {
		if len(v) > 0 && strings.EqualFold(k, key) {
			return v[0]
		}
	}
	return ""
}

// Set replaces every value of key, whatever its case, with value under key as given.
func (h Header) Set(key, value string) {
	for k := range h {
		if k != key && strings.EqualFold(k, key) {
			delete(h, k)
		}
	}
	h[key] = []string{value}
}

// Keys lists the header names.
func (h Header) Keys() []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	return keys
}

// Extract returns ctx with the remote span context the headers carry, if any.
func Extract(ctx context.Context, h map[string][]string) context.Context {
	return W3C.Extract(ctx, Header(h))
}

// Inject writes the span context of ctx into the headers as traceparent and tracestate,
// replacing what they carried. A tracestate the new context has none of is removed.
func Inject(ctx context.Context, h map[string][]string) {
	hh := Header(h)
	for k := range hh {
		if strings.EqualFold(k, "tracestate") {
			delete(hh, k)
		}
	}
	W3C.Inject(ctx, hh)
}
