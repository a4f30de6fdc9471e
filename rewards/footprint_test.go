package rewards_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

func TestFootprintMonthsInTheStatedZone(t *testing.T) {
	ctx := context.Background()
	f, err := rewards.NewFootprints(rewards.NewMemFootprintStore(), shanghai)
	require.NoError(t, err)
	// 31 March 16:30 UTC is 1 April 00:30 in Shanghai.
	aprilInShanghai := time.Date(2026, 3, 31, 16, 30, 0, 0, time.UTC)
	march := credit("a1", "u1", 10, time.Date(2026, 3, 31, 15, 59, 0, 0, time.UTC))
	april := credit("a2", "u1", 20, aprilInShanghai)
	metro := credit("a3", "u1", 5, aprilInShanghai)
	metro.Scenario, metro.Partner = "transport.metro", "metro"
	for _, e := range []rewards.Earning{march, april, metro, april} {
		_, err := f.Apply(ctx, e)
		require.NoError(t, err)
	}
	rev, err := april.Reverse(time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	ok, err := f.Apply(ctx, rev)
	require.NoError(t, err)
	require.True(t, ok)

	mar, apr := rewards.Month{Year: 2026, Month: time.March}, rewards.Month{Year: 2026, Month: time.April}
	may := rewards.Month{Year: 2026, Month: time.May}
	fp, err := f.Report(ctx, "u1", mar, may)
	require.NoError(t, err)
	tot := func(g int64, p carbon.Points, n int64) rewards.FootprintTotals {
		return rewards.FootprintTotals{Reduction: carbon.GramsInt(g), Points: p, Actions: n}
	}
	require.True(t, tot(150, 15, 2).Equal(fp.Total), "%+v", fp.Total)
	require.True(t, tot(100, 10, 1).Equal(fp.ByMonth[mar]))
	require.True(t, tot(50, 5, 1).Equal(fp.ByMonth[apr]), "the reversal subtracts from April, the month of the action")
	require.NotContains(t, fp.ByMonth, may)
	require.True(t, tot(100, 10, 1).Equal(fp.ByScenario["food.no-cutlery"]))
	require.True(t, tot(50, 5, 1).Equal(fp.ByPartner["metro"]))
	require.Len(t, fp.Rows, 3)
	require.Equal(t, "Asia/Shanghai", fp.TimeZone)

	onlyApril, err := f.Report(ctx, "u1", apr, apr)
	require.NoError(t, err)
	require.True(t, tot(50, 5, 1).Equal(onlyApril.Total))

	enc, err := json.Marshal(onlyApril)
	require.NoError(t, err)
	require.Contains(t, string(enc), `"by_month":{"2026-04":{"reduction":"50g","points":5,"actions":1}}`)
}

// Every Earning that Validate accepts has a month, east and west of UTC:
// the ends of the range of times fall in December 1899 and January 2200.
func TestFootprintEveryValidEarningHasAMonth(t *testing.T) {
	ctx := context.Background()
	first := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)
	for _, loc := range []*time.Location{time.UTC, shanghai, mustZone("America/Los_Angeles")} {
		t.Run(loc.String(), func(t *testing.T) {
			f, err := rewards.NewFootprints(rewards.NewMemFootprintStore(), loc)
			require.NoError(t, err)
			for i, at := range []time.Time{first, last} {
				e := credit(fmt.Sprint("a", i), "u1", 10, at)
				e.CreditedAt = at
				require.NoError(t, e.Validate())
				ok, err := f.Apply(ctx, e)
				require.NoError(t, err, "%s in %s", at, loc)
				require.True(t, ok)
			}
			from, to := rewards.MonthOf(first, loc), rewards.MonthOf(last, loc)
			fp, err := f.Report(ctx, "u1", from, to)
			require.NoError(t, err)
			require.Equal(t, carbon.Points(20), fp.Total.Points)
			require.Len(t, fp.ByMonth, 2)
		})
	}
	require.Equal(t, rewards.Month{Year: 2200, Month: time.January}, rewards.MonthOf(last, shanghai))
	require.Equal(t, rewards.Month{Year: 1899, Month: time.December}, rewards.MonthOf(first, mustZone("America/Los_Angeles")))
}

func TestFootprintBadInput(t *testing.T) {
	ctx := context.Background()
	f, err := rewards.NewFootprints(rewards.NewMemFootprintStore(), time.UTC)
	require.NoError(t, err)
	apr, may := rewards.Month{Year: 2026, Month: time.April}, rewards.Month{Year: 2026, Month: time.May}
	for _, tc := range []struct {
		name     string
		user     carbon.UserID
		from, to rewards.Month
	}{
		{"bad user", "", apr, may},
		{"inverted", "u1", may, apr},
		{"zero month", "u1", rewards.Month{}, may},
		{"month 13", "u1", apr, rewards.Month{Year: 2026, Month: 13}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.Report(ctx, tc.user, tc.from, tc.to)
			require.ErrorIs(t, err, rewards.ErrInvalidArgument)
		})
	}
	_, err = f.Apply(ctx, rewards.Earning{})
	require.ErrorIs(t, err, rewards.ErrInvalidEarning)
	_, err = rewards.NewFootprints(nil, time.UTC)
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
	_, err = rewards.NewFootprints(rewards.NewMemFootprintStore(), nil)
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
	// A zone weeks from UTC would place valid earnings outside every
	// valid month.
	_, err = rewards.NewFootprints(rewards.NewMemFootprintStore(), time.FixedZone("far", 40*24*3600))
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
}

func TestMonth(t *testing.T) {
	m, err := rewards.ParseMonth("2026-04")
	require.NoError(t, err)
	require.Equal(t, rewards.Month{Year: 2026, Month: time.April}, m)
	require.Equal(t, "2026-04", m.String())
	for _, good := range []string{"1899-12", "1900-01", "2199-12", "2200-01"} {
		_, err := rewards.ParseMonth(good)
		require.NoError(t, err, good)
	}
	for _, bad := range []string{"", "2026-4", "2026-13", "1800-01", "1899-11", "2200-02", "April"} {
		_, err := rewards.ParseMonth(bad)
		require.ErrorIs(t, err, rewards.ErrInvalidArgument, bad)
	}
	var back rewards.Month
	require.NoError(t, json.Unmarshal([]byte(`"2026-12"`), &back))
	require.Equal(t, rewards.Month{Year: 2026, Month: time.December}, back)
	_, err = json.Marshal(rewards.Month{})
	require.Error(t, err)
	require.Equal(t, -1, m.Compare(back))

	// A nil zone is UTC, not t's own: 31 March 16:30 UTC is in April in
	// Shanghai only.
	at := time.Date(2026, 3, 31, 16, 30, 0, 0, time.UTC).In(shanghai)
	require.Equal(t, rewards.Month{Year: 2026, Month: time.April}, rewards.MonthOf(at, shanghai))
	require.Equal(t, rewards.Month{Year: 2026, Month: time.March}, rewards.MonthOf(at, nil))
}
