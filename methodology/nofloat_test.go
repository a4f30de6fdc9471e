package methodology

import (
	"testing"

	"github.com/carbonkit/carbonkit/internal/nofloat"
	"github.com/stretchr/testify/require"
)

// TestNoFloat enforces that no file of this package, tests included, uses
// binary floating point.
func TestNoFloat(t *testing.T) {
	found, err := nofloat.Check(".")
	require.NoError(t, err)
	require.Empty(t, found)
}
