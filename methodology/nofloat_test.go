package methodology

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNoFloat enforces that no file of this package, tests included, uses
// binary floating point: no float32 or float64 identifiers, no float
// literals, and no calls to decimal's float conversions.
func TestNoFloat(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	banned := map[string]bool{
		"float32": true, "float64": true,
		"NewFromFloat": true, "NewFromFloat32": true, "NewFromFloatWithExponent": true,
		"InexactFloat64": true, "Float64": true, "Float32": true, "BigFloat": true, "NewFromBigFloat": true,
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.Ident:
				if banned[x.Name] {
					t.Errorf("%s: %s is banned in this package", fset.Position(x.Pos()), x.Name)
				}
			case *ast.BasicLit:
				if x.Kind == token.FLOAT || x.Kind == token.IMAG {
					t.Errorf("%s: float literal %s", fset.Position(x.Pos()), x.Value)
				}
			}
			return true
		})
	}
}
