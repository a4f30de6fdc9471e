// Package nofloat enforces carbonkit's rule that carbon, points and money never
// touch binary floating point: Check parses a package's Go files, tests
// included, and reports every float type, float literal and float-producing
// call it finds. The one exception is the argument of testing.B.ReportMetric
// in test files, whose signature takes a float64 and which reports a
// benchmark's measurement, never an amount.
package nofloat

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// forbiddenCalls are selector names whose only purpose is converting to or from
// binary floating point (shopspring/decimal's and strconv's).
var forbiddenCalls = map[string]bool{
	"NewFromFloat": true, "NewFromFloat32": true, "NewFromFloatWithExponent": true,
	"Float64": true, "InexactFloat64": true, "ParseFloat": true, "FormatFloat": true,
	"BigFloat": true, "NewFromBigFloat": true, "Float64frombits": true, "Float32frombits": true,
	"Float64bits": true, "Float32bits": true, "NaN": true, "Inf": true, "IsNaN": true, "IsInf": true,
	"Sqrt": true, "Pow": true,
}

// CheckTree is Check for root and every directory below it, except hidden
// ones, testdata, and nested modules (which check themselves).
func CheckTree(root string) ([]string, error) {
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); path != root && err == nil {
			return filepath.SkipDir // a nested module checks itself
		}
		f, err := Check(path)
		found = append(found, f...)
		return err
	})
	sort.Strings(found)
	return found, err
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
		isTest := strings.HasSuffix(name, "_test.go")
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && isTest && sel.Sel.Name == "ReportMetric" {
					return false // a benchmark's measurement, not an amount
				}
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
