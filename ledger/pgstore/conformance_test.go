package pgstore

import (
	"testing"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/storetest"
)

func TestConformance(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) ledger.Store {
		s, _, _ := newStore(t, nil)
		return s
	})
}
