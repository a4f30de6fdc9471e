package nofloat_test

import (
	"os"
	"path/filepath"
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
