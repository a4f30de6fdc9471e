package rewards_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

// builtinActivity returns a random activity of a random built-in scenario
// that satisfies its methodology's conditions.
func builtinActivity(rng *rand.Rand, t testing.TB) (carbon.Scenario, map[string]carbon.Quantity, map[string]string) {
	q := func(format string, args ...any) carbon.Quantity { return qty(t, fmt.Sprintf(format, args...)) }
	switch rng.IntN(9) {
	case 0:
		return "food.no-cutlery", map[string]carbon.Quantity{"orders": q("%d order", 1+rng.IntN(10))}, map[string]string{"cutlery": "none"}
	case 1:
		return "logistics.box-reuse", map[string]carbon.Quantity{"boxes": q("%d box", 1+rng.IntN(20))}, nil
	case 2:
		return "logistics.e-waybill", map[string]carbon.Quantity{"waybills": q("%d sheet", 1+rng.IntN(100))}, nil
	case 3:
		cats := []string{"phone", "laptop", "tablet", "clothing", "book"}
		conds := []string{"like-new", "good", "fair"}
		return "secondhand.resale", map[string]carbon.Quantity{"items": q("1 item")},
			map[string]string{"category": cats[rng.IntN(len(cats))], "condition": conds[rng.IntN(len(conds))]}
	case 4:
		return "transport.bus", map[string]carbon.Quantity{"distance": q("%d.%d km", 1+rng.IntN(30), rng.IntN(10))}, nil
	case 5:
		return "transport.metro", map[string]carbon.Quantity{"distance": q("%d.%d km", 1+rng.IntN(30), rng.IntN(10))}, nil
	case 6:
		return "transport.bicycle", map[string]carbon.Quantity{"distance": q("%d km", 1+rng.IntN(15))}, nil
	case 7:
		return "transport.walk", map[string]carbon.Quantity{"distance": q("%d km", 1+rng.IntN(9))}, nil
	}
	return "enterprise.electricity-saving", map[string]carbon.Quantity{"electricity_saved": q("%d kWh", 1+rng.IntN(20))}, nil
}

// TestProgrammeCrossCheck drives a seeded random workload of 100,000
// actions over 1,000 users through the Programme (earnings under caps and
// a campaign, replays, reversals, redemptions fulfilled and cancelled,
// donations), then rebuilds every Earning from the ledger's change feed
// alone (EarningFromEntry) and recomputes boards, badges, mascot levels
// and footprints from it by brute force, comparing with what the
// Programme's consumers say.
func TestProgrammeCrossCheck(t *testing.T) {
	t.Parallel() // CPU-bound for a while: let the rest of the suite run beside it
	actions, nUsers := 100_000, 1000
	if testing.Short() {
		actions = 20_000
	}
	ctx := context.Background()
	clock := carbon.NewTestClock(workloadFrom)
	l, err := ledger.New(memstore.New(), &ledger.Options{Clock: clock, Expiry: pointsExpire})
	require.NoError(t, err)
	// The boards read a clock of their own, held at the start until the
	// workload ends: with the shared one, a worker moving it past a board's
	// close would freeze the board before the other worker's earning,
	// credited before the close, reached it, and the brute force cannot
	// know which earnings arrived late. Freezing itself is tested in
	// leaderboard_test.go.
	boardClock := carbon.NewTestClock(workloadFrom)
	boards, err := rewards.NewBoards(rewards.NewMemBoardStore(), &rewards.BoardsOptions{Clock: boardClock})
	require.NoError(t, err)
	for _, b := range crossBoards(t) {
		require.NoError(t, boards.Define(ctx, b))
	}
	defs := crossBadges(t)
	badges, err := rewards.NewBadges(rewards.NewMemBadgeStore(), defs, nil)
	require.NoError(t, err)
	feet, err := rewards.NewFootprints(rewards.NewMemFootprintStore(), shanghai)
	require.NoError(t, err)
	pol := basePolicy()
	pol.DefaultScenarioCap = 200
	pol.DailyCap = 600
	pol.Campaigns = []rewards.Campaign{{ID: "gd", Window: mustWindow(t, "2026-04-10", "2026-04-20"), Regions: []carbon.Region{carbon.Guangdong}, Multiplier: dec("1.5")}}
	p, err := rewards.NewProgramme(methodology.Builtin(), l, &rewards.ProgrammeOptions{
		Clock: clock, TimeZone: shanghai, Policies: []rewards.EarnPolicy{pol}, Partners: partners,
		Badges: badges, Boards: boards, Footprints: feet,
		Sponsors: []rewards.Sponsor{{Name: "acme", FenPerPoint: 1}},
	})
	require.NoError(t, err)
	require.NoError(t, p.FundSponsor(ctx, "fund", "acme", 1<<40))
	require.NoError(t, p.AddReward(ctx, rewards.Reward{ID: "coffee", Kind: rewards.RewardCoupon, Title: "Coffee", Payee: "cafe", Cost: 20, Stock: 1 << 40}))
	w := &workload{}
	for i := 0; i < nUsers; i++ {
		u := carbon.UserID(fmt.Sprintf("u%04d", i))
		w.users = append(w.users, u)
		_, err := l.OpenUser(ctx, u)
		require.NoError(t, err)
		for _, pt := range partners {
			_, err := l.LinkPartner(ctx, u, pt)
			require.NoError(t, err)
		}
	}

	// Two workers, each owning half of the users, so that every user's
	// actions happen in one order (the order the brute force replays) while
	// the programme, the ledger and the stores are used concurrently.
	const workers = 2
	// The workload spans about a month whatever its size: the clock moves
	// up to step per action.
	step := 50 * time.Second * 100_000 / time.Duration(actions)
	results := make([]map[string]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []carbon.UserID
			for i := g; i < nUsers; i += workers {
				mine = append(mine, w.users[i])
			}
			results[g], errs[g] = crossWorkload(ctx, t, p, clock, uint64(g), mine, actions/workers, step)
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	counts := map[string]int{}
	for _, c := range results {
		for k, v := range c {
			counts[k] += v
		}
	}
	t.Logf("workload: %v", counts)
	for _, k := range []string{"earn", "replay", "reversal", "fulfil", "cancel", "donate", "capped"} {
		require.NotZero(t, counts[k], k)
	}

	// The truth, from the ledger alone.
	var after uint64
	for {
		es, err := l.Changes(ctx, after, 1000)
		require.NoError(t, err)
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			ern, ok, err := rewards.EarningFromEntry(e)
			require.NoError(t, err)
			if ok {
				w.truth = append(w.truth, ern)
			}
		}
		after = es[len(es)-1].Seq
	}
	require.Greater(t, len(w.truth), actions/2)
	clock.Set(time.Date(2026, 6, 1, 0, 0, 0, 0, shanghai)) // every board has closed
	boardClock.Set(clock.Now())

	// The checks only read, from stores safe for concurrent use: they run
	// side by side.
	t.Run("Boards", func(t *testing.T) {
		t.Parallel()
		for _, b := range crossBoards(t) {
			t.Run(string(b.ID), func(t *testing.T) { checkBoard(t, boards, b, w.truth) })
		}
	})
	t.Run("Badges", func(t *testing.T) {
		t.Parallel()
		checkBadges(t, badges, defs, w)
	})
	t.Run("Footprints", func(t *testing.T) {
		t.Parallel()
		checkFootprints(t, feet, w)
	})
	t.Run("Ledger", func(t *testing.T) {
		t.Parallel()
		n, err := l.VerifyChain(ctx)
		require.NoError(t, err)
		require.Equal(t, after, n)
		tb, err := l.TrialBalance(ctx)
		require.NoError(t, err)
		for _, a := range tb {
			require.Zero(t, a.Sum, a.Asset)
			require.Zero(t, a.Held, a.Asset, "every redemption was resolved")
		}
	})
}

// crossWorkload runs n random actions of users through p from seed, the
// clock moving up to step before each, and counts them by kind.
func crossWorkload(ctx context.Context, t testing.TB, p *rewards.Programme, clock *carbon.TestClock, seed uint64, users []carbon.UserID, n int, step time.Duration) (map[string]int, error) {
	rng := rand.New(rand.NewPCG(20261128, seed))
	var credited []carbon.Activity // credits not yet reversed
	var all []carbon.Activity
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		now := clock.Advance(time.Duration(rng.Int64N(int64(step))))
		u := users[rng.IntN(len(users))]
		key := fmt.Sprintf("%d-%d", seed, i)
		switch r := rng.IntN(100); {
		case r < 2 && len(all) > 0:
			a := all[rng.IntN(len(all))]
			rc, err := p.Earn(ctx, a)
			if err != nil {
				return counts, err
			}
			if !rc.Replayed {
				return counts, fmt.Errorf("replay of %s not reported as one", a.ID)
			}
			counts["replay"]++
		case r < 8 && len(credited) > 0:
			j := rng.IntN(len(credited))
			a := credited[j]
			_, err := p.ReverseEarning(ctx, a.Partner, a.ID, "rev-"+a.ID)
			switch {
			case err == nil:
				credited[j] = credited[len(credited)-1]
				credited = credited[:len(credited)-1]
				counts["reversal"]++
			case errors.Is(err, rewards.ErrInsufficientPoints):
				counts["reversal refused"]++ // spent already
			default:
				return counts, err
			}
		case r < 14:
			rd, err := p.Redeem(ctx, rewards.RedeemRequest{Key: "rd-" + key, User: u, RewardID: "coffee"})
			if errors.Is(err, rewards.ErrInsufficientPoints) {
				counts["redeem refused"]++
				continue
			}
			if err != nil {
				return counts, err
			}
			if rng.IntN(10) < 7 {
				_, err = p.Fulfil(ctx, rd.ID)
				counts["fulfil"]++
			} else {
				_, err = p.Cancel(ctx, rd.ID)
				counts["cancel"]++
			}
			if err != nil {
				return counts, err
			}
		case r < 18:
			_, err := p.Donate(ctx, rewards.DonateRequest{Key: "dn-" + key, User: u, Points: carbon.Points(1 + rng.IntN(15)), Sponsor: "acme"})
			if errors.Is(err, rewards.ErrInsufficientPoints) {
				counts["donate refused"]++
				continue
			}
			if err != nil {
				return counts, err
			}
			counts["donate"]++
		default:
			sc, qs, attrs := builtinActivity(rng, t)
			a := carbon.Activity{ID: "act-" + key, Partner: partners[rng.IntN(len(partners))], User: u,
				Scenario: sc, Region: regions[rng.IntN(len(regions))], OccurredAt: now.Add(-time.Duration(rng.IntN(7200)) * time.Second),
				Quantities: qs, Attributes: attrs}
			rc, err := p.Earn(ctx, a)
			if err != nil {
				return counts, err
			}
			all = append(all, a)
			if rc.Entry != "" {
				credited = append(credited, a)
			}
			if rc.Capped != rewards.CapNone {
				counts["capped"]++
			}
			counts["earn"]++
		}
	}
	return counts, nil
}
