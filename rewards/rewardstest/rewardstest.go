// Package rewardstest is the conformance suite for the stores of package
// rewards: RunBoardStore, RunBadgeStore, RunFootprintStore, RunCapStore,
// RunReceiptStore, RunCatalogStore and RunRedemptionStore. A store
// implementation runs the one for its interface from its own tests:
//
//	func TestConformance(t *testing.T) {
//		rewardstest.RunBoardStore(t, func(t *testing.T) rewards.BoardStore { return newStore(t) })
//	}
//
// Each run gets a fresh, empty store from the constructor. The suites use
// only the stores' interfaces (and, for badges, rewards.Badges over the
// store), never the in-memory defaults' internals.
package rewardstest

import (
	"context"
	"fmt"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
)

// base is the time the suites' earnings are credited from.
var base = time.Date(2026, 4, 22, 8, 0, 0, 0, time.UTC)

func key(n int) rewards.EarningKey {
	return rewards.EarningKey{Partner: "p1", ActivityID: fmt.Sprintf("a%d", n)}
}

func at(minutes int) time.Time { return base.Add(time.Duration(minutes) * time.Minute) }

func earning(user carbon.UserID, n int, points carbon.Points) rewards.Earning {
	return rewards.Earning{
		ActivityID: fmt.Sprintf("a%d", n), Partner: "p1", User: user, Scenario: "food.no-cutlery",
		Region: carbon.Guangdong, OccurredAt: at(n), CreditedAt: at(n).Add(time.Second),
		Points: points, Reduction: carbon.GramsInt(int64(points)),
	}
}

func ctx() context.Context { return context.Background() }
