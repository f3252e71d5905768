package telemetry_test

import (
	"context"
	"fmt"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cartwright-dev/cartwright/telemetry"
)

// Tests trace into memory: Install an SDK provider with an in-memory exporter, and the
// bridge, the partitions and the provider calls record their spans there.
func ExampleInstall() {
	exp := tracetest.NewInMemoryExporter()
	restore := telemetry.Install(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	defer restore()

	_, span := telemetry.Tracer().Start(context.Background(), "handle add_item")
	span.End()
	fmt.Println(len(exp.GetSpans()), exp.GetSpans()[0].Name)
	// Output: 1 handle add_item
}
