package rewards_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// crossBadges covers every criterion kind, filters, levels, nested windows
// and composites.
func crossBadges(t testing.TB) []rewards.Badge {
	t.Helper()
	week2 := mustWindow(t, "2026-04-08", "2026-04-14")
	firstHalf := mustWindow(t, "2026-04-01", "2026-04-15")
	early := mustWindow(t, "2026-04-01", "2026-04-19")
	late := mustWindow(t, "2026-04-10", "2026-04-30")
	return []rewards.Badge{
		{ID: "points", Title: "Points", Levels: []rewards.Criterion{
			{Kind: rewards.KindPoints, Min: 300}, {Kind: rewards.KindPoints, Min: 1500}, {Kind: rewards.KindPoints, Min: 6000}}},
		{ID: "reduction", Title: "Reduction", Levels: []rewards.Criterion{
			{Kind: rewards.KindReduction, MinReduction: mustMass(t, "1kg")},
			{Kind: rewards.KindReduction, MinReduction: mustMass(t, "4.5kg")},
			{Kind: rewards.KindReduction, MinReduction: mustMass(t, "20.000001kg")}}},
		{ID: "box-actions", Title: "Boxes", Levels: []rewards.Criterion{
			{Kind: rewards.KindActions, Scenario: "logistics.box-reuse", Min: 5},
			{Kind: rewards.KindActions, Scenario: "logistics.box-reuse", Min: 15},
			{Kind: rewards.KindActions, Scenario: "logistics.box-reuse", Min: 60}}},
		{ID: "all-scenarios", Title: "All-rounder", Levels: []rewards.Criterion{{Kind: rewards.KindScenarios, Min: 6}}},
		{ID: "metro-scenarios", Title: "Metro explorer", Levels: []rewards.Criterion{{Kind: rewards.KindScenarios, Partner: "metro", Min: 3}}},
		{ID: "partners", Title: "Connector", Levels: []rewards.Criterion{{Kind: rewards.KindPartners, Min: 3}, {Kind: rewards.KindPartners, Min: 5}}},
		{ID: "streak", Title: "Streak", Levels: []rewards.Criterion{
			{Kind: rewards.KindStreak, TimeZone: "Asia/Shanghai", Min: 3},
			{Kind: rewards.KindStreak, TimeZone: "Asia/Shanghai", Min: 7},
			{Kind: rewards.KindStreak, TimeZone: "Asia/Shanghai", Min: 20}}},
		{ID: "first-resale", Title: "First resale", Levels: []rewards.Criterion{{Kind: rewards.KindFirst, Scenario: "secondhand.resale"}}},
		{ID: "week2", Title: "Week two", Levels: []rewards.Criterion{{Kind: rewards.KindWindow, Window: &week2, Of: []rewards.Criterion{
			{Kind: rewards.KindAllOf, Of: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 100}, {Kind: rewards.KindScenarios, Min: 4}}}}}}},
		{ID: "either", Title: "Either", Levels: []rewards.Criterion{{Kind: rewards.KindAnyOf, Of: []rewards.Criterion{
			{Kind: rewards.KindStreak, TimeZone: "UTC", Partner: "cainiao", Min: 4},
			{Kind: rewards.KindReduction, Scenario: "transport.metro", MinReduction: mustMass(t, "1.5kg")}}}}},
		{ID: "nested", Title: "Nested windows", Levels: []rewards.Criterion{{Kind: rewards.KindWindow, Window: &early, Of: []rewards.Criterion{
			{Kind: rewards.KindWindow, Window: &late, Of: []rewards.Criterion{{Kind: rewards.KindActions, Min: 12}}}}}}},
		{ID: "first-half", Title: "First half", Levels: []rewards.Criterion{
			{Kind: rewards.KindWindow, Window: &firstHalf, Of: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 200}}},
			{Kind: rewards.KindWindow, Window: &firstHalf, Of: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 700}}}}},
	}
}

func crossBoards(t testing.TB) []rewards.Board {
	t.Helper()
	return []rewards.Board{
		{ID: "national", Window: mustWindow(t, "2026-04-01", "2026-05-31")},
		{ID: "gd-week2", Window: mustWindow(t, "2026-04-08", "2026-04-14"), Region: carbon.Guangdong, Grace: time.Hour},
		{ID: "bj", Window: mustWindow(t, "2026-04-03", "2026-05-31"), Region: carbon.Beijing},
	}
}

// TestCrossCheckAgainstBruteForce feeds a seeded random workload of 100,000
// earnings (5% reversals, 1% repeats) over 1,000 users to boards, badges and
// footprints, then recomputes every result by brute force from the list of
// earnings and compares: every board's full order, ranks and reached times,
// Top, Rank with neighbours and Count; every award with its level, time and
// earning; every badge's progress; mascot levels; and every footprint cell.
func TestCrossCheckAgainstBruteForce(t *testing.T) {
	t.Parallel() // long and CPU-bound: run beside TestProgrammeCrossCheck
	w := newWorkload(20260422, 100_000, 1000)
	ctx := context.Background()
	clock := carbon.NewTestClock(workloadFrom)
	boards, err := rewards.NewBoards(rewards.NewMemBoardStore(), &rewards.BoardsOptions{Clock: clock})
	require.NoError(t, err)
	for _, b := range crossBoards(t) {
		require.NoError(t, boards.Define(ctx, b))
	}
	defs := crossBadges(t)
	badges, err := rewards.NewBadges(rewards.NewMemBadgeStore(), defs, nil)
	require.NoError(t, err)
	feet, err := rewards.NewFootprints(rewards.NewMemFootprintStore(), shanghai)
	require.NoError(t, err)

	seen := map[rewards.EarningKey]bool{}
	for _, e := range w.feed {
		clock.Set(e.CreditedAt)
		repeat := seen[e.Key()]
		seen[e.Key()] = true
		_, err := boards.Apply(ctx, e)
		require.NoError(t, err)
		res, err := badges.Apply(ctx, e)
		require.NoError(t, err)
		require.Equal(t, !repeat, res.Applied, "earning %s", e.Key())
		ok, err := feet.Apply(ctx, e)
		require.NoError(t, err)
		require.Equal(t, !repeat, ok, "earning %s", e.Key())
	}
	clock.Set(time.Date(2026, 6, 1, 0, 0, 0, 0, shanghai)) // every board has closed

	t.Run("Boards", func(t *testing.T) {
		for _, b := range crossBoards(t) {
			t.Run(string(b.ID), func(t *testing.T) { checkBoard(t, boards, b, w.truth) })
		}
	})
	t.Run("Badges", func(t *testing.T) { checkBadges(t, badges, defs, w) })
	t.Run("Footprints", func(t *testing.T) { checkFootprints(t, feet, w) })
}

func checkBoard(t *testing.T, boards *rewards.Boards, b rewards.Board, truth []rewards.Earning) {
	ctx := context.Background()
	type member struct {
		score carbon.Points
		at    time.Time
	}
	byUser := map[carbon.UserID]*member{}
	for _, e := range truth {
		if e.Points == 0 || (b.Region != "" && e.Region != b.Region) ||
			e.OccurredAt.Before(b.Window.Start) || !e.OccurredAt.Before(b.Window.End) ||
			!e.CreditedAt.Before(b.Window.End.Add(b.Grace)) {
			continue
		}
		m := byUser[e.User]
		if m == nil {
			m = &member{}
			byUser[e.User] = m
		}
		m.score += e.Points
		if e.CreditedAt.After(m.at) {
			m.at = e.CreditedAt
		}
	}
	var want []rewards.Standing
	for u, m := range byUser {
		want = append(want, rewards.Standing{User: u, Score: m.score, ReachedAt: m.at.UTC()})
	}
	slices.SortFunc(want, func(a, b rewards.Standing) int {
		return cmp.Or(-cmp.Compare(a.Score, b.Score), a.ReachedAt.Compare(b.ReachedAt), cmp.Compare(a.User, b.User))
	})
	for i := range want {
		want[i].Position = i
		higher := 0
		for _, o := range want {
			if o.Score > want[i].Score {
				higher++
			}
		}
		want[i].Rank = higher + 1
	}
	require.NotEmpty(t, want)

	n, err := boards.Count(ctx, b.ID)
	require.NoError(t, err)
	require.Equal(t, len(want), n)
	var got []rewards.Standing
	for off := 0; off < n; off += 97 {
		page, err := boards.Page(ctx, b.ID, off, 97)
		require.NoError(t, err)
		got = append(got, page...)
	}
	require.Equal(t, want, got)

	top, err := boards.Top(ctx, b.ID, 10)
	require.NoError(t, err)
	require.Equal(t, want[:min(10, len(want))], top)

	for i := 0; i < len(want); i += 37 {
		nb, err := boards.Rank(ctx, b.ID, want[i].User, 3)
		require.NoError(t, err)
		require.Equal(t, want[i], nb.Member)
		require.Equal(t, want[max(0, i-3):i], nonNil(nb.Above))
		require.Equal(t, want[i+1:min(len(want), i+4)], nonNil(nb.Below))
	}

	snap, err := boards.Snapshot(ctx, b.ID, 5)
	require.NoError(t, err)
	require.True(t, snap.FrozenAt.Equal(b.ClosesAt()))
	require.Equal(t, len(want), snap.Members)
	require.Equal(t, want[:min(5, len(want))], snap.Top)
}

func nonNil(s []rewards.Standing) []rewards.Standing {
	if s == nil {
		return []rewards.Standing{}
	}
	return s
}

func checkBadges(t *testing.T, badges *rewards.Badges, defs []rewards.Badge, w *workload) {
	ctx := context.Background()
	byUser := map[carbon.UserID][]rewards.Earning{}
	for _, e := range w.truth {
		byUser[e.User] = append(byUser[e.User], e)
	}
	levels := rewards.DefaultLevelScale()
	awardedLevels := 0
	for _, u := range w.users {
		es := byUser[u]
		bu := newBruteUser(es)
		// Awards: replay prefix by prefix, recomputing every criterion from
		// the prefix itself.
		var want []rewards.Award
		awarded := map[[2]any]bool{}
		for k := range es {
			for _, b := range defs {
				for j, lv := range b.Levels {
					if awarded[[2]any{b.ID, j}] {
						continue
					}
					if bruteMeasure(lv, bu, k+1, time.Time{}, time.Time{}).met {
						awarded[[2]any{b.ID, j}] = true
						want = append(want, rewards.Award{User: u, Badge: b.ID, Level: j + 1, AwardedAt: es[k].CreditedAt, Earning: es[k].Key()})
					}
				}
			}
		}
		got, err := badges.Awards(ctx, u)
		require.NoError(t, err)
		require.Equal(t, len(want), len(got), "user %s", u)
		for i := range want {
			require.True(t, want[i].AwardedAt.Equal(got[i].AwardedAt), "user %s award %d", u, i)
			got[i].AwardedAt = want[i].AwardedAt
		}
		require.Equal(t, want, got, "user %s", u)
		awardedLevels += len(want)

		// Progress towards the lowest level not awarded.
		prog, err := badges.Progress(ctx, u)
		require.NoError(t, err)
		for i, b := range defs {
			next := len(b.Levels) - 1
			for j := range b.Levels {
				if !awarded[[2]any{b.ID, j}] {
					next = j
					break
				}
			}
			m := bruteMeasure(b.Levels[next], bu, len(es), time.Time{}, time.Time{})
			require.Equal(t, next+1, prog[i].Level, "user %s badge %s", u, b.ID)
			require.Equal(t, m.current, prog[i].Measure.Current, "user %s badge %s", u, b.ID)
			require.Equal(t, m.target, prog[i].Measure.Target, "user %s badge %s", u, b.ID)
			require.Equal(t, m.met, prog[i].Measure.Met, "user %s badge %s", u, b.ID)
		}

		var lifetime carbon.Points
		for _, e := range es {
			lifetime += e.Points
		}
		lv, err := badges.Level(ctx, u)
		require.NoError(t, err)
		require.Equal(t, levels.For(lifetime), lv, "user %s", u)
	}
	// The workload must exercise the badges, not pass vacuously.
	require.Greater(t, awardedLevels, 2*len(w.users))
}

type bruteResult struct {
	current, target int64
	met             bool
}

// bruteUser is one user's earnings with values the brute force needs often,
// computed once: reductions in milligrams and calendar days by time zone.
type bruteUser struct {
	es   []rewards.Earning
	mg   []int64
	days map[string][]string
	net  map[string]int64 // scratch
}

func newBruteUser(es []rewards.Earning) *bruteUser {
	u := &bruteUser{es: es, days: map[string][]string{}, net: map[string]int64{}}
	for _, e := range es {
		mg, err := e.Reduction.IntIn(carbon.Milligram, carbon.TowardZero)
		if err != nil {
			panic(err)
		}
		u.mg = append(u.mg, mg)
	}
	return u
}

func (u *bruteUser) day(i int, zone string) string {
	d, ok := u.days[zone]
	if !ok {
		loc := mustZone(zone)
		for _, e := range u.es {
			d = append(d, e.OccurredAt.In(loc).Format(time.DateOnly))
		}
		u.days[zone] = d
	}
	return d[i]
}

// bruteMeasure evaluates c over the first n of u's earnings from scratch,
// counting only earnings that occurred in [from, to) (zero: unbounded).
func bruteMeasure(c rewards.Criterion, u *bruteUser, n int, from, to time.Time) bruteResult {
	es := u.es[:n]
	switch c.Kind {
	case rewards.KindWindow:
		f, e := c.Window.Start, c.Window.End
		if !from.IsZero() && from.After(f) {
			f = from
		}
		if !to.IsZero() && to.Before(e) {
			e = to
		}
		return bruteMeasure(c.Of[0], u, n, f, e)
	case rewards.KindAllOf, rewards.KindAnyOf:
		var met int64
		for _, sub := range c.Of {
			if bruteMeasure(sub, u, n, from, to).met {
				met++
			}
		}
		if c.Kind == rewards.KindAllOf {
			return bruteResult{met, int64(len(c.Of)), met == int64(len(c.Of))}
		}
		return bruteResult{min(met, 1), 1, met > 0}
	}
	in := func(e rewards.Earning) bool {
		return (c.Scenario == "" || e.Scenario == c.Scenario) && (c.Partner == "" || e.Partner == c.Partner) &&
			(from.IsZero() || !e.OccurredAt.Before(from)) && (to.IsZero() || e.OccurredAt.Before(to))
	}
	sign := func(e rewards.Earning) int64 {
		if e.Reversal {
			return -1
		}
		return 1
	}
	positive := func(m map[string]int64) (n int64) {
		for _, v := range m {
			if v > 0 {
				n++
			}
		}
		return n
	}
	var cur int64
	switch c.Kind {
	case rewards.KindPoints:
		for _, e := range es {
			if in(e) {
				cur += int64(e.Points)
			}
		}
		return bruteResult{cur, c.Min, cur >= c.Min}
	case rewards.KindReduction:
		for i, e := range es {
			if in(e) {
				cur += u.mg[i]
			}
		}
		target, _ := c.MinReduction.IntIn(carbon.Milligram, carbon.TowardZero)
		return bruteResult{cur, target, carbon.Grams(decimal.New(cur, -3)).Cmp(c.MinReduction) >= 0}
	case rewards.KindActions, rewards.KindFirst:
		for _, e := range es {
			if in(e) {
				cur += sign(e)
			}
		}
		if c.Kind == rewards.KindFirst {
			return bruteResult{min(max(cur, 0), 1), 1, cur > 0}
		}
		return bruteResult{cur, c.Min, cur >= c.Min}
	case rewards.KindScenarios, rewards.KindPartners:
		net := u.net
		clear(net)
		for _, e := range es {
			if in(e) {
				k := string(e.Scenario)
				if c.Kind == rewards.KindPartners {
					k = string(e.Partner)
				}
				net[k] += sign(e)
			}
		}
		cur = positive(net)
	case rewards.KindStreak:
		net := u.net
		clear(net)
		for i, e := range es {
			if in(e) {
				net[u.day(i, c.TimeZone)] += sign(e)
			}
		}
		var days []time.Time
		for d, v := range net {
			if v > 0 {
				day, _ := time.Parse(time.DateOnly, d)
				days = append(days, day)
			}
		}
		slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
		run := int64(0)
		for i, d := range days {
			if i > 0 && d.Sub(days[i-1]) == 24*time.Hour {
				run++
			} else {
				run = 1
			}
			cur = max(cur, run)
		}
	}
	return bruteResult{cur, c.Min, cur >= c.Min}
}

func checkFootprints(t *testing.T, feet *rewards.Footprints, w *workload) {
	ctx := context.Background()
	type cellKey struct {
		user carbon.UserID
		cell rewards.FootprintCell
	}
	want := map[cellKey]rewards.FootprintTotals{}
	for _, e := range w.truth {
		y, m, _ := e.OccurredAt.In(shanghai).Date()
		k := cellKey{e.User, rewards.FootprintCell{Month: rewards.Month{Year: y, Month: m}, Scenario: e.Scenario, Partner: e.Partner}}
		t := want[k]
		t.Reduction = t.Reduction.Add(e.Reduction)
		t.Points += e.Points
		if e.Reversal {
			t.Actions--
		} else {
			t.Actions++
		}
		want[k] = t
	}
	from, to := rewards.Month{Year: 2026, Month: time.March}, rewards.Month{Year: 2026, Month: time.June}
	cells := 0
	for _, u := range w.users {
		fp, err := feet.Report(ctx, u, from, to)
		require.NoError(t, err)
		var total rewards.FootprintTotals
		for _, r := range fp.Rows {
			wt, ok := want[cellKey{u, r.FootprintCell}]
			require.True(t, ok, "user %s cell %+v", u, r.FootprintCell)
			require.True(t, wt.Equal(r.FootprintTotals), "user %s cell %+v: got %+v want %+v", u, r.FootprintCell, r.FootprintTotals, wt)
			total, err = total.Add(wt)
			require.NoError(t, err)
			cells++
		}
		require.True(t, total.Equal(fp.Total), "user %s total", u)
	}
	require.Equal(t, len(want), cells, "every cell reported")
}

func mustWindow(t testing.TB, first, last string) rewards.Window {
	t.Helper()
	w, err := rewards.LocalWindow(shanghai, first, last)
	require.NoError(t, err)
	return w
}

func mustMass(t testing.TB, s string) carbon.Mass {
	t.Helper()
	m, err := carbon.ParseMass(s)
	require.NoError(t, err)
	return m
}
