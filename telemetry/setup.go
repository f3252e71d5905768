package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Configured reports whether the environment asks for traces: an OTLP endpoint is set
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and neither
// OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none turns them off.
func Configured() bool {
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	if strings.EqualFold(strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")), "none") {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Setup installs a tracer provider that exports over OTLP (HTTP, protobuf) as the
// standard OTEL_* environment variables say: endpoint, headers, timeout, TLS
// (OTEL_EXPORTER_OTLP_[TRACES_]*), sampler (OTEL_TRACES_SAMPLER, _ARG; default: every
// span, following the caller's decision), service name and resource attributes
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES; default service.name "cartwright").
// When Configured is false it installs nothing and tracing stays off.
//
// shutdown turns tracing off and flushes the spans not yet exported, for at most five
// seconds; it is never nil.
func Setup(ctx context.Context, version string, log *slog.Logger) (shutdown func(), err error) {
	none := func() {}
	if !Configured() {
		return none, nil
	}
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto != "" && proto != "http/protobuf" {
		// The gRPC exporter would double the dependency tree; collectors take both.
		return none, fmt.Errorf("tracing: OTLP protocol %q is not supported: use http/protobuf "+
			"(a collector's port 4318), or unset OTEL_EXPORTER_OTLP_PROTOCOL", proto)
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return none, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", "cartwright")}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	// Later options win: the environment's service name over the default.
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithTelemetrySDK(),
		resource.WithHost(), resource.WithFromEnv())
	if err != nil && res == nil {
		return none, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	restore := Install(tp)
	// Libraries that trace through the globals join the same traces.
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(W3C)
	log.Info("tracing on: exporting spans over OTLP", "endpoint", endpoint(), "sampler",
		cmp.Or(os.Getenv("OTEL_TRACES_SAMPLER"), "parentbased_always_on"))
	return func() {
		restore()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			log.Warn("tracing: flushing the last spans", "err", err)
		}
	}, nil
}

// endpoint is where spans go, for the log: the URL without its user information or query.
func endpoint() string {
	e := cmp.Or(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	u, err := url.Parse(e)
	if err != nil {
		return "(unparsable)"
	}
	u.User, u.RawQuery = nil, ""
	return u.String()
}
