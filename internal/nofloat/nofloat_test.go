package nofloat_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carbonkit/carbonkit/internal/nofloat"
	"github.com/stretchr/testify/require"
)

func TestCheckFindsEachKind(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\n" +
		"import \"strconv\"\n\n" +
		"var a float64\n" +
		"var b = 1.5\n" +
		"var c, _ = strconv.ParseFloat(\"1\", 64)\n" +
		"var d = 2i\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o600))
	found, err := nofloat.Check(dir)
	require.NoError(t, err)
	require.Len(t, found, 4, "found: %v", found)
}

func TestReportMetricIsTheOneException(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\nimport \"testing\"\n\n" +
		"func BenchmarkX(b *testing.B) { b.ReportMetric(float64(3)/2.0, \"x/op\") }\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p_test.go"), []byte(src), 0o600))
	found, err := nofloat.Check(dir)
	require.NoError(t, err)
	require.Empty(t, found)
	// Outside a test file the same code is reported.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "q.go"), []byte(strings.Replace(src, "BenchmarkX", "benchmarkY", 1)), 0o600))
	found, err = nofloat.Check(dir)
	require.NoError(t, err)
	require.Len(t, found, 2, "found: %v", found)
}

func TestCheckTree(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	require.NoError(t, os.Mkdir(sub, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "p.go"), []byte("package p\n\nvar x = math.NaN()\n"), 0o600))
	found, err := nofloat.CheckTree(root)
	require.NoError(t, err)
	require.Len(t, found, 1, "found: %v", found)
}

func TestCheckPassesCleanCode(t *testing.T) {
	dir := t.TempDir()
	src := "package p\n\nvar n int64 = 3\nvar s = \"1.5\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o600))
	found, err := nofloat.Check(dir)
	require.NoError(t, err)
	require.Empty(t, found)
}

// The package that enforces the rule keeps it too.
func TestSelf(t *testing.T) {
	found, err := nofloat.Check(".")
	require.NoError(t, err)
	// This file names the forbidden things only inside string literals.
	require.Empty(t, found)
}
