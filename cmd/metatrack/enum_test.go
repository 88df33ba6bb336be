package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestChangeKindsComplete: history --kind refuses any kind not in
// changeKinds, so the list must hold every kind of change the library
// records: the string values of the root package's Change* constants.
func TestChangeKindsComplete(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../..", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if !strings.HasPrefix(n.Name, "Change") || !n.IsExported() || i >= len(vs.Values) {
							continue
						}
						names = append(names, n.Name)
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, _ := strconv.Unquote(lit.Value)
							if !slices.Contains(changeKinds, v) {
								t.Errorf("history --kind refuses %q (metatrack.%s): add it to changeKinds", v, n.Name)
							}
						}
					}
				}
			}
		}
	}
	if len(names) < len(changeKinds) {
		t.Errorf("found %d Change* constants (%v), changeKinds has %d", len(names), names, len(changeKinds))
	}
}
