package rewards_test

import (
	"errors"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

// credit returns a valid credit of points by user, occurring at occurred
// and credited a minute later.
func credit(id string, user carbon.UserID, points carbon.Points, occurred time.Time) rewards.Earning {
	return rewards.Earning{
		ActivityID: id, Partner: "eleme", User: user, Scenario: "food.no-cutlery", Region: carbon.Guangdong,
		OccurredAt: occurred, CreditedAt: occurred.Add(time.Minute),
		Points: points, Reduction: carbon.GramsInt(int64(points) * 10),
	}
}

func TestEarningValidate(t *testing.T) {
	at := time.Date(2026, 4, 22, 12, 0, 0, 0, shanghai)
	valid := credit("a1", "u1", 10, at)
	for _, tc := range []struct {
		name   string
		mutate func(*rewards.Earning)
		paths  []string
	}{
		{"valid credit", func(*rewards.Earning) {}, nil},
		{"valid reversal", func(e *rewards.Earning) { e.Reversal, e.Points, e.Reduction = true, -10, carbon.GramsInt(-100) }, nil},
		{"zero points and reduction", func(e *rewards.Earning) { e.Points, e.Reduction = 0, carbon.Mass{} }, nil},
		{"empty ids", func(e *rewards.Earning) { e.ActivityID, e.Partner, e.User, e.Scenario = "", "", "", "" },
			[]string{"$.activity_id", "$.partner", "$.user", "$.scenario"}},
		{"id with space", func(e *rewards.Earning) { e.User = "u 1" }, []string{"$.user"}},
		{"no region", func(e *rewards.Earning) { e.Region = "" }, []string{"$.region"}},
		{"unknown region", func(e *rewards.Earning) { e.Region = "US-CA" }, []string{"$.region"}},
		{"zero times", func(e *rewards.Earning) { e.OccurredAt, e.CreditedAt = time.Time{}, time.Time{} },
			[]string{"$.occurred_at", "$.credited_at"}},
		{"time out of range", func(e *rewards.Earning) { e.OccurredAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{"$.occurred_at"}},
		{"negative credit", func(e *rewards.Earning) { e.Points, e.Reduction = -1, carbon.GramsInt(-1) }, []string{"$.reduction", "$.points"}},
		{"positive reversal", func(e *rewards.Earning) { e.Reversal = true }, []string{"$.points", "$.reduction"}},
		{"sub-milligram reduction", func(e *rewards.Earning) { e.Reduction = mustMass(t, "0.0001g") }, []string{"$.reduction"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := valid
			tc.mutate(&e)
			err := e.Validate()
			if tc.paths == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, rewards.ErrInvalidEarning)
			var ve *rewards.ValidationError
			require.True(t, errors.As(err, &ve))
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
			}
			require.ElementsMatch(t, tc.paths, paths)
			require.Contains(t, err.Error(), "rewards: invalid earning: ")
		})
	}
}

func TestEarningReverse(t *testing.T) {
	at := time.Date(2026, 4, 22, 12, 0, 0, 0, shanghai)
	e := credit("a1", "u1", 10, at)
	later := at.Add(48 * time.Hour)
	r, err := e.Reverse(later)
	require.NoError(t, err)
	require.True(t, r.Reversal)
	require.Equal(t, carbon.Points(-10), r.Points)
	require.True(t, r.Reduction.Equal(carbon.GramsInt(-100)))
	require.True(t, r.OccurredAt.Equal(e.OccurredAt), "a reversal keeps the action's time")
	require.True(t, r.CreditedAt.Equal(later))
	require.Equal(t, rewards.EarningKey{Partner: "eleme", ActivityID: "a1", Reversal: true}, r.Key())
	require.NotEqual(t, e.Key(), r.Key())
	require.NoError(t, r.Validate())

	_, err = r.Reverse(later)
	require.ErrorIs(t, err, rewards.ErrInvalidEarning)
	_, err = e.Reverse(time.Time{})
	require.ErrorIs(t, err, rewards.ErrInvalidEarning)
	bad := e
	bad.User = ""
	_, err = bad.Reverse(later)
	require.ErrorIs(t, err, rewards.ErrInvalidEarning)
}

func TestLocalWindow(t *testing.T) {
	w, err := rewards.LocalWindow(shanghai, "2026-04-22", "2026-04-28")
	require.NoError(t, err)
	require.True(t, w.Start.Equal(time.Date(2026, 4, 21, 16, 0, 0, 0, time.UTC)))
	require.True(t, w.End.Equal(time.Date(2026, 4, 28, 16, 0, 0, 0, time.UTC)))
	require.True(t, w.Contains(w.Start))
	require.False(t, w.Contains(w.End), "the window is half-open")
	require.True(t, w.Contains(w.End.Add(-time.Nanosecond)))

	one, err := rewards.LocalWindow(time.UTC, "2026-04-22", "2026-04-22")
	require.NoError(t, err)
	require.Equal(t, 24*time.Hour, one.End.Sub(one.Start))

	for _, tc := range []struct {
		name        string
		loc         *time.Location
		first, last string
	}{
		{"nil zone", nil, "2026-04-22", "2026-04-28"},
		{"bad first", shanghai, "2026-4-22", "2026-04-28"},
		{"bad last", shanghai, "2026-04-22", "tomorrow"},
		{"inverted", shanghai, "2026-04-28", "2026-04-22"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rewards.LocalWindow(tc.loc, tc.first, tc.last)
			require.ErrorIs(t, err, rewards.ErrInvalidArgument)
		})
	}
}
