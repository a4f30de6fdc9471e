package pgstore

import (
	"testing"

	"github.com/carbonkit/carbonkit/internal/nofloat"
)

// TestNoFloats: amounts are integers, here as in the core.
func TestNoFloats(t *testing.T) {
	found, err := nofloat.Check(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Error(f)
	}
}
