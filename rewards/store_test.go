package rewards_test

import (
	"testing"

	"github.com/carbonkit/carbonkit/internal/nofloat"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/carbonkit/carbonkit/rewards/rewardstest"
	"github.com/stretchr/testify/require"
)

func TestMemBoardStore(t *testing.T) {
	rewardstest.RunBoardStore(t, func(*testing.T) rewards.BoardStore { return rewards.NewMemBoardStore() })
}

func TestMemBadgeStore(t *testing.T) {
	rewardstest.RunBadgeStore(t, func(*testing.T) rewards.BadgeStore { return rewards.NewMemBadgeStore() })
}

func TestMemFootprintStore(t *testing.T) {
	rewardstest.RunFootprintStore(t, func(*testing.T) rewards.FootprintStore { return rewards.NewMemFootprintStore() })
}

// Points and CO2e never touch binary floating point, in this package or its
// conformance suite.
func TestNoFloat(t *testing.T) {
	for _, dir := range []string{".", "rewardstest"} {
		found, err := nofloat.Check(dir)
		require.NoError(t, err)
		require.Empty(t, found, dir)
	}
}

func TestMemCapStore(t *testing.T) {
	rewardstest.RunCapStore(t, func(*testing.T) rewards.CapStore { return rewards.NewMemCapStore() })
}

func TestMemReceiptStore(t *testing.T) {
	rewardstest.RunReceiptStore(t, func(*testing.T) rewards.ReceiptStore { return rewards.NewMemReceiptStore() })
}

func TestMemCatalogStore(t *testing.T) {
	rewardstest.RunCatalogStore(t, func(*testing.T) rewards.CatalogStore { return rewards.NewMemCatalogStore() })
}

func TestMemRedemptionStore(t *testing.T) {
	rewardstest.RunRedemptionStore(t, func(*testing.T) rewards.RedemptionStore { return rewards.NewMemRedemptionStore() })
}
