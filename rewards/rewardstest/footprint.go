package rewardstest

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

// RunFootprintStore checks that the stores newStore returns keep the
// rewards.FootprintStore contract: sums per cell, idempotency, overflow
// changing nothing, month ranges and order, the valid months, and
// concurrent adds.
func RunFootprintStore(t *testing.T, newStore func(t *testing.T) rewards.FootprintStore) {
	apr := rewards.Month{Year: 2026, Month: time.April}
	may := rewards.Month{Year: 2026, Month: time.May}
	jun := rewards.Month{Year: 2026, Month: time.June}
	cell := func(m rewards.Month, s carbon.Scenario, p carbon.PartnerID) rewards.FootprintCell {
		return rewards.FootprintCell{Month: m, Scenario: s, Partner: p}
	}
	totals := func(g int64, p carbon.Points, n int64) rewards.FootprintTotals {
		return rewards.FootprintTotals{Reduction: carbon.GramsInt(g), Points: p, Actions: n}
	}

	t.Run("NewUserHasNoRows", func(t *testing.T) {
		s := newStore(t)
		rows, err := s.Rows(ctx(), "u1", apr, jun)
		require.NoError(t, err)
		require.Empty(t, rows)
	})

	t.Run("SumsPerCellInOrder", func(t *testing.T) {
		s := newStore(t)
		adds := []struct {
			n    int
			cell rewards.FootprintCell
			d    rewards.FootprintTotals
		}{
			{1, cell(may, "s2", "p1"), totals(10, 1, 1)},
			{2, cell(apr, "s1", "p2"), totals(20, 2, 1)},
			{3, cell(may, "s2", "p1"), totals(30, 3, 1)},
			{4, cell(apr, "s1", "p1"), totals(40, 4, 1)},
			{5, cell(jun, "s1", "p1"), totals(50, 5, 1)},
			{6, cell(may, "s2", "p1"), totals(-10, -1, -1)},
		}
		for _, a := range adds {
			ok, err := s.Add(ctx(), "u1", key(a.n), a.cell, a.d)
			require.NoError(t, err)
			require.True(t, ok)
		}
		ok, err := s.Add(ctx(), "u1", key(1), cell(may, "s2", "p1"), totals(10, 1, 1))
		require.NoError(t, err)
		require.False(t, ok, "a repeated key is not added again")

		rows, err := s.Rows(ctx(), "u1", apr, may)
		require.NoError(t, err)
		require.Len(t, rows, 3)
		want := []rewards.FootprintRow{
			{FootprintCell: cell(apr, "s1", "p1"), FootprintTotals: totals(40, 4, 1)},
			{FootprintCell: cell(apr, "s1", "p2"), FootprintTotals: totals(20, 2, 1)},
			{FootprintCell: cell(may, "s2", "p1"), FootprintTotals: totals(30, 3, 1)},
		}
		for i, w := range want {
			require.Equal(t, w.FootprintCell, rows[i].FootprintCell)
			require.True(t, w.FootprintTotals.Equal(rows[i].FootprintTotals), "row %d: %+v", i, rows[i])
		}
		other, err := s.Rows(ctx(), "u2", apr, jun)
		require.NoError(t, err)
		require.Empty(t, other)
	})

	t.Run("OverflowChangesNothing", func(t *testing.T) {
		s := newStore(t)
		c := cell(apr, "s1", "p1")
		_, err := s.Add(ctx(), "u1", key(1), c, totals(1, math.MaxInt64, 1))
		require.NoError(t, err)
		ok, err := s.Add(ctx(), "u1", key(2), c, totals(1, 1, 1))
		require.ErrorIs(t, err, rewards.ErrOverflow)
		require.False(t, ok)
		rows, err := s.Rows(ctx(), "u1", apr, apr)
		require.NoError(t, err)
		require.Len(t, rows, 1)
		require.True(t, totals(1, math.MaxInt64, 1).Equal(rows[0].FootprintTotals))
	})

	t.Run("MonthRange", func(t *testing.T) {
		// The valid months are those of the times an Earning can carry, in
		// a time zone east or west of UTC: December 1899 to January 2200.
		s := newStore(t)
		first, last := rewards.Month{Year: 1899, Month: time.December}, rewards.Month{Year: 2200, Month: time.January}
		for i, m := range []rewards.Month{first, last} {
			ok, err := s.Add(ctx(), "u1", key(i), cell(m, "s1", "p1"), totals(1, 1, 1))
			require.NoError(t, err, m)
			require.True(t, ok)
		}
		for i, m := range []rewards.Month{{Year: 1899, Month: time.November}, {Year: 2200, Month: time.February}, {}} {
			ok, err := s.Add(ctx(), "u1", key(10+i), cell(m, "s1", "p1"), totals(1, 1, 1))
			require.ErrorIs(t, err, rewards.ErrInvalidArgument, m)
			require.False(t, ok)
		}
		rows, err := s.Rows(ctx(), "u1", first, last)
		require.NoError(t, err)
		require.Len(t, rows, 2)
		require.Equal(t, first, rows[0].Month)
		require.Equal(t, last, rows[1].Month)
	})

	t.Run("ConcurrentAdds", func(t *testing.T) {
		s := newStore(t)
		const workers, perWorker = 8, 100
		var wg sync.WaitGroup
		errs := make(chan error, workers*perWorker)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perWorker; i++ {
					// Workers add the same keys to two users' cells.
					u := carbon.UserID([]string{"u1", "u2"}[i%2])
					if _, err := s.Add(context.Background(), u, key(i), cell(apr, "s1", "p1"), totals(1, 2, 1)); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		for _, u := range []carbon.UserID{"u1", "u2"} {
			rows, err := s.Rows(ctx(), u, apr, apr)
			require.NoError(t, err)
			require.Len(t, rows, 1)
			require.True(t, totals(perWorker/2, 2*perWorker/2, perWorker/2).Equal(rows[0].FootprintTotals), "%s: %+v", u, rows[0])
		}
	})
}
