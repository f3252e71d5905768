// Package telemetry turns OpenTelemetry tracing on from the standard OTEL_* environment
// variables, and holds the switch the instrumented code tests first.
//
// Tracing is off unless an OTLP endpoint is configured. Off, Tracer returns nil and the
// instrumented paths (the bridge, the partition loop, the provider calls) build no span,
// context or attribute: one atomic load each.
package telemetry
