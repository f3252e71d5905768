package commerce_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// commerce is pure (doc.go): it reads no clock, draws no random numbers, does no I/O and
// imports nothing of the wire, NATS or Pebble. Only these standard packages are allowed.
var allowedImports = map[string]bool{
	"context": true, "crypto/sha256": true, "encoding/base32": true, "errors": true, "math": true, "math/bits": true,
	"fmt": true, "reflect": true, "slices": true, "strconv": true, "strings": true, "time": true,
}

func TestPure(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !allowedImports[path] {
				t.Errorf("%s imports %s", name, path)
			}
		}
		for _, banned := range []string{"time.Now(", "time.Since(", "time.Until(", "`json:"} {
			if strings.Contains(string(src), banned) {
				t.Errorf("%s uses %s", name, banned)
			}
		}
	}
}
