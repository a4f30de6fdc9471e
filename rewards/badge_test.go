package rewards_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

var day0 = time.Date(2026, 4, 20, 12, 0, 0, 0, shanghai)

// act is an earning of points in scenario with partner by u1, occurring at
// day0 plus offset.
func act(id string, scenario carbon.Scenario, partner carbon.PartnerID, points carbon.Points, offset time.Duration) rewards.Earning {
	e := credit(id, "u1", points, day0.Add(offset))
	e.Scenario, e.Partner = scenario, partner
	return e
}

func reverse(t *testing.T, e rewards.Earning) rewards.Earning {
	t.Helper()
	r, err := e.Reverse(e.CreditedAt.Add(time.Hour))
	require.NoError(t, err)
	return r
}

func TestBadgeCriteria(t *testing.T) {
	const day = 24 * time.Hour
	w := mustWindow(t, "2026-04-21", "2026-04-22")
	box, food, metro := carbon.Scenario("logistics.box-reuse"), carbon.Scenario("food.no-cutlery"), carbon.Scenario("transport.metro")
	type step struct {
		e      rewards.Earning
		awards []int // levels awarded by this step
	}
	for _, tc := range []struct {
		name  string
		badge []rewards.Criterion
		steps func(t *testing.T) []step
		// progress after the last step, towards the next level
		current, target int64
	}{
		{
			name:  "points with levels",
			badge: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 10}, {Kind: rewards.KindPoints, Min: 30}, {Kind: rewards.KindPoints, Min: 50}},
			steps: func(t *testing.T) []step {
				return []step{{act("a", food, "p", 9, 0), nil}, {act("b", food, "p", 1, 0), []int{1}}, {act("c", food, "p", 45, 0), []int{2, 3}}}
			},
			current: 55, target: 50,
		},
		{
			name:  "reduction",
			badge: []rewards.Criterion{{Kind: rewards.KindReduction, MinReduction: mustMass(t, "0.15kg")}},
			steps: func(t *testing.T) []step {
				return []step{{act("a", food, "p", 10, 0), nil}, {act("b", food, "p", 5, 0), []int{1}}} // 100g then 150g
			},
			current: 150_000, target: 150_000,
		},
		{
			name:  "actions in a scenario",
			badge: []rewards.Criterion{{Kind: rewards.KindActions, Scenario: box, Min: 2}},
			steps: func(t *testing.T) []step {
				return []step{{act("a", box, "p", 0, 0), nil}, {act("b", food, "p", 1, 0), nil}, {act("c", box, "p", 0, 0), []int{1}}}
			},
			current: 2, target: 2,
		},
		{
			name:  "distinct scenarios with a reversal",
			badge: []rewards.Criterion{{Kind: rewards.KindScenarios, Min: 3}},
			steps: func(t *testing.T) []step {
				a := act("a", box, "p", 1, 0)
				return []step{{a, nil}, {act("b", food, "p", 1, 0), nil}, {reverse(t, a), nil}, {act("c", metro, "p", 1, 0), nil}, {act("d", box, "p", 1, 0), []int{1}}}
			},
			current: 3, target: 3,
		},
		{
			name:  "distinct partners",
			badge: []rewards.Criterion{{Kind: rewards.KindPartners, Min: 2}, {Kind: rewards.KindPartners, Min: 3}},
			steps: func(t *testing.T) []step {
				return []step{{act("a", food, "p1", 1, 0), nil}, {act("b", food, "p1", 1, 0), nil}, {act("c", food, "p2", 1, 0), []int{1}}}
			},
			current: 2, target: 3,
		},
		{
			name:  "streak in Shanghai days",
			badge: []rewards.Criterion{{Kind: rewards.KindStreak, TimeZone: "Asia/Shanghai", Min: 3}},
			steps: func(t *testing.T) []step {
				// day0 is noon in Shanghai; 12h later is the next Shanghai day
				// but the same UTC day.
				return []step{{act("a", food, "p", 1, 0), nil}, {act("b", food, "p", 1, 12*time.Hour), nil}, {act("c", food, "p", 1, 3*day), nil},
					{act("d", food, "p", 1, 2*day), []int{1}}}
			},
			current: 4, target: 3,
		},
		{
			name:  "streak broken by a reversal",
			badge: []rewards.Criterion{{Kind: rewards.KindStreak, TimeZone: "UTC", Min: 3}},
			steps: func(t *testing.T) []step {
				b := act("b", food, "p", 1, day)
				return []step{{act("a", food, "p", 1, 0), nil}, {b, nil}, {reverse(t, b), nil}, {act("c", food, "p", 1, 2*day), nil}}
			},
			current: 1, target: 3,
		},
		{
			name:  "first in a scenario",
			badge: []rewards.Criterion{{Kind: rewards.KindFirst, Scenario: metro}},
			steps: func(t *testing.T) []step {
				return []step{{act("a", food, "p", 1, 0), nil}, {act("b", metro, "p", 0, 0), []int{1}}, {act("c", metro, "p", 0, 0), nil}}
			},
			current: 1, target: 1,
		},
		{
			name: "within a window",
			badge: []rewards.Criterion{{Kind: rewards.KindWindow, Window: &w, Of: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 10}}},
				{Kind: rewards.KindWindow, Window: &w, Of: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 20}}}},
			steps: func(t *testing.T) []step {
				// day0 is 20 April; the window is 21 and 22 April, Shanghai time.
				return []step{{act("a", food, "p", 50, 0), nil}, {act("b", food, "p", 8, day), nil}, {act("c", food, "p", 8, 3*day), nil},
					{act("d", food, "p", 2, 2*day), []int{1}}}
			},
			current: 10, target: 20,
		},
		{
			name: "all of",
			badge: []rewards.Criterion{{Kind: rewards.KindAllOf, Of: []rewards.Criterion{
				{Kind: rewards.KindPoints, Min: 5}, {Kind: rewards.KindFirst, Scenario: box}}}},
			steps: func(t *testing.T) []step {
				return []step{{act("a", food, "p", 9, 0), nil}, {act("b", box, "p", 0, 0), []int{1}}}
			},
			current: 2, target: 2,
		},
		{
			name: "any of",
			badge: []rewards.Criterion{{Kind: rewards.KindAnyOf, Of: []rewards.Criterion{
				{Kind: rewards.KindPoints, Min: 100}, {Kind: rewards.KindFirst, Scenario: box}}}},
			steps: func(t *testing.T) []step {
				return []step{{act("a", food, "p", 9, 0), nil}, {act("b", box, "p", 0, 0), []int{1}}}
			},
			current: 1, target: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			b, err := rewards.NewBadges(rewards.NewMemBadgeStore(), []rewards.Badge{{ID: "x", Title: "X", Levels: tc.badge}}, nil)
			require.NoError(t, err)
			var want []rewards.Award
			for i, s := range tc.steps(t) {
				res, err := b.Apply(ctx, s.e)
				require.NoError(t, err)
				require.True(t, res.Applied)
				var levels []int
				for _, a := range res.Awards {
					levels = append(levels, a.Level)
					require.Equal(t, s.e.Key(), a.Earning)
					require.True(t, a.AwardedAt.Equal(s.e.CreditedAt))
					want = append(want, a)
				}
				require.Equal(t, s.awards, levels, "step %d", i)
			}
			got, err := b.Awards(ctx, "u1")
			require.NoError(t, err)
			require.Equal(t, len(want), len(got))
			prog, err := b.Progress(ctx, "u1")
			require.NoError(t, err)
			require.Len(t, prog, 1)
			require.Equal(t, tc.current, prog[0].Measure.Current)
			require.Equal(t, tc.target, prog[0].Measure.Target)
			require.Equal(t, len(got), prog[0].Awarded)
			require.Equal(t, len(got) == len(tc.badge), prog[0].Complete)
		})
	}
}

func TestBadgeAwardsAreNeverRevoked(t *testing.T) {
	ctx := context.Background()
	b, err := rewards.NewBadges(rewards.NewMemBadgeStore(), []rewards.Badge{{ID: "ten", Title: "Ten",
		Levels: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 10}}}}, nil)
	require.NoError(t, err)
	e := credit("a1", "u1", 10, day0)
	res, err := b.Apply(ctx, e)
	require.NoError(t, err)
	require.Len(t, res.Awards, 1)

	res, err = b.Apply(ctx, reverse(t, e))
	require.NoError(t, err)
	require.True(t, res.Applied)
	require.Empty(t, res.Awards)
	awards, err := b.Awards(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, awards, 1, "the award stands")
	prog, err := b.Progress(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, rewards.Progress{Badge: "ten", Levels: 1, Awarded: 1, Complete: true, Level: 1,
		Measure: rewards.Measure{Kind: rewards.KindPoints, Current: 0, Target: 10}}, prog[0], "progress went down")

	// Earning it again does not award it again.
	res, err = b.Apply(ctx, credit("a2", "u1", 10, day0))
	require.NoError(t, err)
	require.Empty(t, res.Awards)
}

func TestBadgeApplyRepeatsAndBadInput(t *testing.T) {
	ctx := context.Background()
	b, err := rewards.NewBadges(rewards.NewMemBadgeStore(), []rewards.Badge{{ID: "ten", Title: "Ten",
		Levels: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 10}}}}, nil)
	require.NoError(t, err)
	e := credit("a1", "u1", 150, day0)
	first, err := b.Apply(ctx, e)
	require.NoError(t, err)
	require.True(t, first.Applied)
	require.Equal(t, 1, first.Before.Level.Number)
	require.Equal(t, 2, first.After.Level.Number, "150 lifetime points reach Sprout")

	again, err := b.Apply(ctx, e)
	require.NoError(t, err)
	require.False(t, again.Applied)
	require.Empty(t, again.Awards)
	require.Equal(t, carbon.Points(150), again.After.Lifetime)

	bad := credit("a2", "u1", -5, day0)
	_, err = b.Apply(ctx, bad)
	require.ErrorIs(t, err, rewards.ErrInvalidEarning)

	huge := credit("a3", "u1", math.MaxInt64, day0)
	huge.Reduction = carbon.Mass{}
	_, err = b.Apply(ctx, huge)
	require.ErrorIs(t, err, rewards.ErrOverflow)

	lv, err := b.Level(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, carbon.Points(150), lv.Lifetime, "refused earnings changed nothing")
	// The refused key was not recorded: once valid, it applies.
	huge.Points = 1
	res, err := b.Apply(ctx, huge)
	require.NoError(t, err)
	require.True(t, res.Applied)

	_, err = b.Progress(ctx, "bad user")
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
	_, err = b.Awards(ctx, "")
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
	_, err = rewards.NewBadges(nil, nil, nil)
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
}

func problemPaths(t *testing.T, err error, kind error) []string {
	t.Helper()
	require.ErrorIs(t, err, kind)
	var ve *rewards.ValidationError
	require.True(t, errors.As(err, &ve), "%v", err)
	var paths []string
	for _, p := range ve.Problems {
		paths = append(paths, p.Path)
	}
	return paths
}

func TestValidateBadges(t *testing.T) {
	w := mustWindow(t, "2026-04-21", "2026-04-22")
	other := mustWindow(t, "2026-05-01", "2026-05-02")
	pts := func(n int64) rewards.Criterion { return rewards.Criterion{Kind: rewards.KindPoints, Min: n} }
	for _, tc := range []struct {
		name  string
		defs  []rewards.Badge
		paths []string
	}{
		{"bad id and title", []rewards.Badge{{ID: "a b", Levels: []rewards.Criterion{pts(1)}}}, []string{"$[0].id", "$[0].title"}},
		{"duplicate id", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{pts(1)}}, {ID: "a", Title: "A", Levels: []rewards.Criterion{pts(1)}}}, []string{"$[1].id"}},
		{"no levels", []rewards.Badge{{ID: "a", Title: "A"}}, []string{"$[0].levels"}},
		{"unknown kind", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{{Kind: "karma", Min: 1}}}}, []string{"$[0].levels[0].kind"}},
		{"missing min", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{{Kind: rewards.KindActions}}}}, []string{"$[0].levels[0].min"}},
		{"reduction problems", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{
			{Kind: rewards.KindReduction, Min: 3, MinReduction: mustMass(t, "0.0001g")}}}}, []string{"$[0].levels[0].min", "$[0].levels[0].min_reduction"}},
		{"fields a kind does not take", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{
			{Kind: rewards.KindScenarios, Min: 2, Scenario: "food.no-cutlery", TimeZone: "UTC", Window: &w}}}},
			[]string{"$[0].levels[0].window", "$[0].levels[0].scenario", "$[0].levels[0].time_zone"}},
		{"streak zone", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{
			{Kind: rewards.KindStreak, Min: 2}, {Kind: rewards.KindStreak, Min: 3, TimeZone: "Mars/Olympus"}}}},
			[]string{"$[0].levels[0].time_zone", "$[0].levels[1].time_zone", "$[0].levels[1]"}},
		{"first without scenario", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{{Kind: rewards.KindFirst}}}}, []string{"$[0].levels[0].scenario"}},
		{"window problems", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{
			{Kind: rewards.KindWindow, Of: []rewards.Criterion{pts(1), pts(2)}},
			{Kind: rewards.KindWindow, Window: &w, Of: []rewards.Criterion{{Kind: rewards.KindWindow, Window: &other, Of: []rewards.Criterion{pts(1)}}}}}}},
			[]string{"$[0].levels[0].window", "$[0].levels[0].of", "$[0].levels[1].of[0].window", "$[0].levels"}},
		{"empty all-of", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{{Kind: rewards.KindAllOf}}}}, []string{"$[0].levels[0].of"}},
		{"levels not increasing", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{pts(5), pts(5), pts(3)}}},
			[]string{"$[0].levels[1].min", "$[0].levels[2].min"}},
		{"levels measure different things", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{
			pts(5), {Kind: rewards.KindActions, Min: 10}}}}, []string{"$[0].levels[1]"}},
		{"composite with levels", []rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{
			{Kind: rewards.KindAnyOf, Of: []rewards.Criterion{pts(1)}}, {Kind: rewards.KindAnyOf, Of: []rewards.Criterion{pts(2)}}}}}, []string{"$[0].levels"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := rewards.ValidateBadges(tc.defs)
			require.Equal(t, tc.paths, problemPaths(t, err, rewards.ErrInvalidBadge), "%v", err)
			_, err = rewards.NewBadges(rewards.NewMemBadgeStore(), tc.defs, nil)
			require.ErrorIs(t, err, rewards.ErrInvalidBadge)
		})
	}
	deep := pts(1)
	for range rewards.MaxCriterionDepth {
		deep = rewards.Criterion{Kind: rewards.KindAllOf, Of: []rewards.Criterion{deep}}
	}
	require.Error(t, rewards.ValidateBadges([]rewards.Badge{{ID: "a", Title: "A", Levels: []rewards.Criterion{deep}}}))
}

const badgesJSON = `[
 {"id": "box-reuser", "title": "Box reuser", "description": "Reuse delivery boxes", "levels": [
   {"kind": "actions", "scenario": "logistics.box-reuse", "min": 10},
   {"kind": "actions", "scenario": "logistics.box-reuse", "min": 50}]},
 {"id": "earth-week", "title": "Earth week", "levels": [
   {"kind": "window",
    "window": {"start": "2026-04-22T00:00:00+08:00", "end": "2026-04-29T00:00:00+08:00"},
    "of": [{"kind": "all", "of": [
      {"kind": "streak", "min": 7, "time_zone": "Asia/Shanghai"},
      {"kind": "reduction", "min_reduction": "1kg"},
      {"kind": "any", "of": [{"kind": "first", "scenario": "transport.metro", "partner": "metro"}, {"kind": "partners", "min": 2}]}]}]}]}
]`

func TestParseBadges(t *testing.T) {
	defs, err := rewards.ParseBadges([]byte(badgesJSON))
	require.NoError(t, err)
	w, err := rewards.LocalWindow(shanghai, "2026-04-22", "2026-04-28")
	require.NoError(t, err)
	want := []rewards.Badge{
		{ID: "box-reuser", Title: "Box reuser", Description: "Reuse delivery boxes", Levels: []rewards.Criterion{
			{Kind: rewards.KindActions, Scenario: "logistics.box-reuse", Min: 10},
			{Kind: rewards.KindActions, Scenario: "logistics.box-reuse", Min: 50}}},
		{ID: "earth-week", Title: "Earth week", Levels: []rewards.Criterion{{Kind: rewards.KindWindow, Window: &w, Of: []rewards.Criterion{
			{Kind: rewards.KindAllOf, Of: []rewards.Criterion{
				{Kind: rewards.KindStreak, Min: 7, TimeZone: "Asia/Shanghai"},
				{Kind: rewards.KindReduction, MinReduction: mustMass(t, "1kg")},
				{Kind: rewards.KindAnyOf, Of: []rewards.Criterion{{Kind: rewards.KindFirst, Scenario: "transport.metro", Partner: "metro"}, {Kind: rewards.KindPartners, Min: 2}}}}}}}}},
	}
	requireSameJSON(t, want, defs)
	require.True(t, defs[1].Levels[0].Window.Equal(w))

	// Go definitions encode to the same JSON, which parses back.
	enc, err := json.Marshal(want)
	require.NoError(t, err)
	back, err := rewards.ParseBadges(enc)
	require.NoError(t, err)
	requireSameJSON(t, want, back)
}

func requireSameJSON(t *testing.T, want, got any) {
	t.Helper()
	a, err := json.Marshal(want)
	require.NoError(t, err)
	b, err := json.Marshal(got)
	require.NoError(t, err)
	require.JSONEq(t, string(a), string(b))
}

func TestParseBadgesReportsEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		name  string
		doc   string
		paths []string
	}{
		{"not JSON", `[{"id": }]`, []string{"$"}},
		{"trailing data", `[] []`, []string{"$"}},
		{"not an array", `{"id": "a"}`, []string{"$"}},
		{"unknown and repeated fields", `[{"id": "a", "title": "A", "colour": "green", "levels": [{"kind": "points", "min": 1, "min": 2, "max": 3}]}]`,
			[]string{"$[0].colour", "$[0].levels[0].min", "$[0].levels[0].max"}},
		{"wrong types", `[{"id": 7, "title": ["A"], "levels": [{"kind": "points", "min": "ten"}, {"kind": "points", "min": 1.5}]}]`,
			[]string{"$[0].id", "$[0].title", "$[0].levels[0].min", "$[0].levels[1].min"}},
		{"bad values", `[{"id": "a", "title": "A", "levels": [{"kind": "reduction", "min_reduction": "3 km"},
			{"kind": "window", "window": {"start": "yesterday"}, "of": [{"kind": "points", "min": 1}]}]}]`,
			[]string{"$[0].levels[0].min_reduction", "$[0].levels[1].window.start", "$[0].levels[1].window.end"}},
		{"semantic problems after decoding", `[{"id": "a", "title": "A", "levels": [{"kind": "streak", "min": 0, "time_zone": "Nowhere/Else"}]},
			{"id": "a", "title": "", "levels": []}]`,
			[]string{"$[0].levels[0].min", "$[0].levels[0].time_zone", "$[1].id", "$[1].title", "$[1].levels"}},
		{"levels", `[{"id": "a", "title": "A", "levels": "many"}]`, []string{"$[0].levels"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := rewards.ParseBadges([]byte(tc.doc))
			require.Nil(t, defs)
			require.Equal(t, tc.paths, problemPaths(t, err, rewards.ErrInvalidBadge), "%v", err)
		})
	}
}

// ParseBadges refuses nesting deeper than a valid document can need as it
// reads it, so that megabytes of brackets cost neither stack nor time;
// criteria one level too deep still reach validation, which names them.
func TestParseBadgesNestingLimit(t *testing.T) {
	// nested is a badge whose one level is depth criteria deep: all-ofs
	// around a points criterion.
	nested := func(depth int) []byte {
		c := `{"kind": "points", "min": 1}`
		for range depth - 1 {
			c = `{"kind": "all", "of": [` + c + `]}`
		}
		return []byte(`[{"id": "a", "title": "A", "levels": [` + c + `]}]`)
	}
	level := func(depth int) string { return "$[0].levels[0]" + strings.Repeat(".of[0]", depth-1) }

	defs, err := rewards.ParseBadges(nested(rewards.MaxCriterionDepth))
	require.NoError(t, err, "the deepest criteria allowed")
	require.Len(t, defs, 1)

	_, err = rewards.ParseBadges(nested(rewards.MaxCriterionDepth + 1))
	require.Equal(t, []string{level(rewards.MaxCriterionDepth + 1)}, problemPaths(t, err, rewards.ErrInvalidBadge))
	require.ErrorContains(t, err, fmt.Sprintf("criteria nested more than %d deep", rewards.MaxCriterionDepth))

	_, err = rewards.ParseBadges(nested(rewards.MaxCriterionDepth + 2))
	require.Equal(t, []string{level(rewards.MaxCriterionDepth + 2)}, problemPaths(t, err, rewards.ErrInvalidBadge))
	require.ErrorContains(t, err, "JSON nested more than")

	// Under MaxBadgeJSON, and far deeper than a goroutine's stack allows
	// recursion for.
	brackets := []byte(strings.Repeat("[", 3<<20))
	require.Less(t, len(brackets), rewards.MaxBadgeJSON)
	_, err = rewards.ParseBadges(brackets)
	paths := problemPaths(t, err, rewards.ErrInvalidBadge)
	require.Len(t, paths, 1)
	require.Regexp(t, `^\$(\[0\])+$`, paths[0])
	require.ErrorContains(t, err, fmt.Sprintf("badge criteria nest at most %d deep", rewards.MaxCriterionDepth))
}

func TestLevelScale(t *testing.T) {
	s := rewards.DefaultLevelScale()
	for _, tc := range []struct {
		lifetime carbon.Points
		level    int
		toNext   carbon.Points
	}{
		{-5, 1, 105}, {math.MinInt64, 1, math.MaxInt64}, {0, 1, 100}, {99, 1, 1}, {100, 2, 900}, {999, 2, 1}, {1000, 3, 9000}, {100_000, 5, 0}, {math.MaxInt64, 5, 0},
	} {
		st := s.For(tc.lifetime)
		require.Equal(t, tc.level, st.Level.Number, "lifetime %d", tc.lifetime)
		require.Equal(t, tc.toNext, st.ToNext, "lifetime %d", tc.lifetime)
		require.Equal(t, tc.level == 5, st.Next == nil)
	}

	_, err := rewards.NewLevelScale([]rewards.Level{{Number: 1, Name: "A", MinPoints: 5}, {Number: 3, Name: "", MinPoints: 5}})
	require.Equal(t, []string{"$[0].min_points", "$[1].number", "$[1].name", "$[1].min_points"}, problemPaths(t, err, rewards.ErrInvalidLevels))
	_, err = rewards.NewLevelScale(nil)
	require.ErrorIs(t, err, rewards.ErrInvalidLevels)
	custom, err := rewards.NewLevelScale([]rewards.Level{{Number: 1, Name: "Egg", MinPoints: 0}, {Number: 2, Name: "Chick", MinPoints: 10}})
	require.NoError(t, err)
	require.Equal(t, "Chick", custom.For(10).Level.Name)
}

// The zero LevelScale, and a nil one, are the default scale: called
// directly, and as the mascot scale of Badges.
func TestZeroLevelScaleIsTheDefault(t *testing.T) {
	ctx := context.Background()
	def := rewards.DefaultLevelScale()
	for name, s := range map[string]*rewards.LevelScale{"zero": {}, "nil": nil} {
		t.Run(name, func(t *testing.T) {
			require.Equal(t, def.Levels(), s.Levels())
			for _, lifetime := range []carbon.Points{math.MinInt64, 0, 150, math.MaxInt64} {
				require.Equal(t, def.For(lifetime), s.For(lifetime), "lifetime %d", lifetime)
			}
			b, err := rewards.NewBadges(rewards.NewMemBadgeStore(), nil, &rewards.BadgesOptions{Levels: s})
			require.NoError(t, err)
			res, err := b.Apply(ctx, credit("a1", "u1", 150, day0))
			require.NoError(t, err)
			require.Equal(t, "Sprout", res.After.Level.Name)
			lv, err := b.Level(ctx, "u1")
			require.NoError(t, err)
			require.Equal(t, def.For(150), lv)
		})
	}
}
