package ledger_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoFloats parses every Go file of the ledger packages and fails on any
// floating-point type, literal or math float function: amounts are
// integers. The one exception is the argument of testing.B.ReportMetric in
// benchmarks, whose signature takes a float64.
func TestNoFloats(t *testing.T) {
	var files []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d Go files: run from the ledger directory", len(files))
	}
	fset := token.NewFileSet()
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		allowed := map[ast.Node]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "ReportMetric" && strings.HasSuffix(path, "_test.go") {
					ast.Inspect(call.Args[0], func(m ast.Node) bool {
						allowed[m] = true
						return true
					})
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			if allowed[n] {
				return true
			}
			switch x := n.(type) {
			case *ast.Ident:
				switch x.Name {
				case "float32", "float64", "complex64", "complex128":
					t.Errorf("%s: %s", fset.Position(x.Pos()), x.Name)
				}
			case *ast.BasicLit:
				if x.Kind == token.FLOAT || x.Kind == token.IMAG {
					t.Errorf("%s: float literal %s", fset.Position(x.Pos()), x.Value)
				}
			case *ast.SelectorExpr:
				if id, ok := x.X.(*ast.Ident); ok && id.Name == "math" && strings.Contains("Float64frombits Float32frombits Float64bits Float32bits NaN Inf IsNaN IsInf Floor Ceil Round Trunc Sqrt Pow Log Exp", x.Sel.Name) {
					t.Errorf("%s: math.%s", fset.Position(x.Pos()), x.Sel.Name)
				}
			}
			return true
		})
	}
}
