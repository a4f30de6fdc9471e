// Package nofloat enforces carbonkit's rule that carbon, points and money never
// touch binary floating point: Check parses a package's Go files, tests
// included, and reports every float type, float literal and float-producing
// call it finds.
package nofloat

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
)

// forbiddenCalls are selector names whose only purpose is converting to or from
// binary floating point (shopspring/decimal's and strconv's).
var forbiddenCalls = map[string]bool{
	"NewFromFloat": true, "NewFromFloat32": true, "NewFromFloatWithExponent": true,
	"Float64": true, "InexactFloat64": true, "ParseFloat": true, "FormatFloat": true,
	"BigFloat": true, "NewFromBigFloat": true,
}

// Check returns one line per use of floating point in the Go files of dir
// (not its subdirectories), or nil when there is none.
func Check(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var found []string
	report := func(pos token.Pos, what string) {
		found = append(found, fmt.Sprintf("%s: %s", fset.Position(pos), what))
	}
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if n.Name == "float32" || n.Name == "float64" || n.Name == "complex64" || n.Name == "complex128" {
					report(n.Pos(), "type "+n.Name)
				}
			case *ast.BasicLit:
				if n.Kind == token.FLOAT || n.Kind == token.IMAG {
					report(n.Pos(), "literal "+n.Value)
				}
			case *ast.SelectorExpr:
				if forbiddenCalls[n.Sel.Name] {
					report(n.Pos(), "call "+n.Sel.Name)
				}
			}
			return true
		})
	}
	sort.Strings(found)
	return found, nil
}
