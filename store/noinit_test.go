package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// TestNoProcessPolicy: importing store changes nothing in the process. The malloc tuning
// that once ran from a store init() (arena cap, trim goroutine) is the process's choice,
// made where it is assembled (app.TuneMalloc); a library that imports store, or a test,
// keeps its C library's defaults.
func TestNoProcessPolicy(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "store" {
			continue // the external tests
		}
		for _, imp := range f.Imports {
			if imp.Path.Value == `"C"` {
				t.Errorf("%s: store uses cgo itself (import \"C\")", name)
			}
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "init" {
				t.Errorf("%s: store has an init function", fset.Position(fd.Pos()))
			}
		}
	}
}
