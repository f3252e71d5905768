package testenv_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/cartwright-dev/cartwright/"

// layers is the house's plan: for each package, the packages of this module it may
// import (its tests may import more: testenv above all). Data flows one way: bus and
// httpapi take envelopes in, handlers apply them through commerce and providers, store
// keeps the result; app assembles a process from them, and cmd is flags over app.
// A new package, or a new arrow, is a decision: make it here, on purpose.
var layers = map[string][]string{
	"commerce":           {},
	"envelopes":          {"commerce"},
	"providers":          {"bus/ensure", "commerce", "telemetry"}, // bus/ensure: the stock and address buckets
	"config":             {"commerce", "envelopes", "providers"},
	"store":              {"commerce", "providers"}, // providers: the mock payment handler's records it keeps
	"handlers":           {"commerce", "config", "envelopes", "providers", "store"},
	"bus":                {"bus/group", "commerce", "config", "handlers", "store", "telemetry"},
	"bus/group":          {},
	"bus/ensure":         {}, // creating a stream or bucket: a leaf, below whatever keeps one
	"bus/dlq":            {"bus", "handlers"},
	"httpapi":            {"commerce", "config", "envelopes", "handlers", "providers", "telemetry"},
	"app":                {"bus", "bus/group", "commerce", "config", "envelopes", "handlers", "httpapi", "providers", "store", "telemetry"},
	"bench":              {"app", "bus", "commerce", "config", "envelopes", "handlers", "providers", "store", "telemetry"},
	"testenv":            {"app", "bus", "commerce", "config", "envelopes", "handlers", "httpapi", "providers", "store"},
	"cmd/cartwright":     {"app", "bench", "bus", "bus/dlq", "commerce", "config", "envelopes", "handlers", "httpapi", "providers", "store", "telemetry", "webhooks"},
	"telemetry":          {}, // tracing set-up: below everything that records spans
	"chaos":              {},
	"examples/paymentsd": {},
	"webhooks":           {"bus/ensure", "config", "handlers"}, // order webhooks: a Watermill Router on A2A_EVT
}

// TestLayers fails on an import between this module's packages that the plan above does
// not allow, in the manner of Pebble's lint test. The pure packages (commerce,
// envelopes) are also kept free of NATS and Pebble by their own purity tests.
func TestLayers(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = filepath.Dir(filepath.Dir(file))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		seen[pkg] = true
		allowed, ok := layers[pkg]
		if !ok {
			t.Errorf("package %s is not in the plan: add it to layers with the packages it may import", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			if dep := strings.TrimPrefix(imp, module); !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s, which the plan does not allow (it allows %v)", pkg, dep, allowed)
			}
		}
	}
	for pkg := range layers {
		if !seen[pkg] {
			t.Errorf("the plan names %s, which no longer exists", pkg)
		}
	}
}
