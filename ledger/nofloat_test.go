package ledger_test

import (
	"testing"

	"github.com/carbonkit/carbonkit/internal/nofloat"
	"github.com/stretchr/testify/require"
)

// Amounts are integers: no Go file of the ledger packages (memstore and
// storetest included) uses binary floating point.
func TestNoFloats(t *testing.T) {
	found, err := nofloat.CheckTree(".")
	require.NoError(t, err)
	require.Empty(t, found)
}
