package rewards_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// progStart is when the programme tests' clocks start: a Wednesday
// morning in Shanghai.
var progStart = time.Date(2026, 4, 22, 9, 0, 0, 0, shanghai)

// env is a programme over the real ledger and memstore, with every
// consumer and a recording publisher.
type env struct {
	t      testing.TB
	ctx    context.Context
	clock  *carbon.TestClock
	l      *ledger.Ledger
	p      *rewards.Programme
	badges *rewards.Badges
	boards *rewards.Boards
	feet   *rewards.Footprints
	events *recorder
}

// recorder is a Publisher that keeps what it is given, and fails while
// fail is set.
type recorder struct {
	mu     sync.Mutex
	events []rewards.Event
	fail   bool
}

func (r *recorder) Publish(_ context.Context, es []rewards.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("transport down")
	}
	r.events = append(r.events, es...)
	return nil
}

func (r *recorder) types() []rewards.EventType {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]rewards.EventType, len(r.events))
	for i, e := range r.events {
		out[i] = e.Type
	}
	return out
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// basePolicy credits one point per ten grams, without caps or campaigns.
func basePolicy() rewards.EarnPolicy {
	return rewards.EarnPolicy{ID: "std", Version: "1", ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, shanghai), PointsPerGram: dec("0.1")}
}

var testPartners = []carbon.PartnerID{"eleme", "cainiao", "metro", "xianyu", "mall", "grid"}

// newEnv builds an env; edit may change the options before the programme
// is built. Users u1..u4 are opened and linked to every test partner.
func newEnv(t testing.TB, edit func(o *rewards.ProgrammeOptions)) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: carbon.NewTestClock(progStart), events: &recorder{}}
	var err error
	e.l, err = ledger.New(memstore.New(), &ledger.Options{Clock: e.clock, Expiry: pointsExpire})
	require.NoError(t, err)
	e.badges, err = rewards.NewBadges(rewards.NewMemBadgeStore(), []rewards.Badge{
		{ID: "first-trip", Title: "First trip", Levels: []rewards.Criterion{{Kind: rewards.KindFirst, Scenario: "transport.metro"}}},
		{ID: "points", Title: "Points", Levels: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 100}, {Kind: rewards.KindPoints, Min: 1000}}},
	}, nil)
	require.NoError(t, err)
	e.boards, err = rewards.NewBoards(rewards.NewMemBoardStore(), &rewards.BoardsOptions{Clock: e.clock})
	require.NoError(t, err)
	require.NoError(t, e.boards.Define(e.ctx, rewards.Board{ID: "april", Window: mustWindow(t, "2026-04-01", "2026-04-30")}))
	e.feet, err = rewards.NewFootprints(rewards.NewMemFootprintStore(), shanghai)
	require.NoError(t, err)
	o := &rewards.ProgrammeOptions{
		Clock: e.clock, TimeZone: shanghai, Policies: []rewards.EarnPolicy{basePolicy()},
		Partners: testPartners, Badges: e.badges, Boards: e.boards, Footprints: e.feet, Publisher: e.events,
		Sponsors: []rewards.Sponsor{{Name: "acme", FenPerPoint: 2, MaxFen: 1000}},
	}
	if edit != nil {
		edit(o)
	}
	e.p, err = rewards.NewProgramme(methodology.Builtin(), e.l, o)
	require.NoError(t, err)
	for _, u := range []carbon.UserID{"u1", "u2", "u3", "u4"} {
		e.link(u, testPartners...)
	}
	return e
}

// pointsExpire makes points expire at the end of next year; CO2e and cash
// never expire.
func pointsExpire(a ledger.Asset, acct ledger.AccountID, eff time.Time) time.Time {
	if a != ledger.Points {
		return time.Time{}
	}
	return ledger.ExpireEndOfNextYear(shanghai)(a, acct, eff)
}

func (e *env) link(u carbon.UserID, ps ...carbon.PartnerID) {
	e.t.Helper()
	_, err := e.l.OpenUser(e.ctx, u)
	require.NoError(e.t, err)
	for _, p := range ps {
		_, err := e.l.LinkPartner(e.ctx, u, p)
		require.NoError(e.t, err)
	}
}

func (e *env) balance(id ledger.AccountID, a ledger.Asset) int64 {
	e.t.Helper()
	b, err := e.l.Balance(e.ctx, id, a)
	require.NoError(e.t, err)
	return b.Posted
}

// entries returns how many entries the ledger has committed.
func (e *env) entries() int {
	e.t.Helper()
	n := 0
	for {
		es, err := e.l.Changes(e.ctx, uint64(n), 1000)
		require.NoError(e.t, err)
		if len(es) == 0 {
			return n
		}
		n += len(es)
	}
}

func qty(t testing.TB, s string) carbon.Quantity {
	t.Helper()
	q, err := carbon.ParseQuantity(s)
	require.NoError(t, err)
	return q
}

// trip is a metro trip of km kilometres by user u at time at.
func trip(t testing.TB, id string, u carbon.UserID, km string, at time.Time) carbon.Activity {
	return carbon.Activity{ID: id, Partner: "metro", User: u, Scenario: "transport.metro", OccurredAt: at,
		Region: carbon.Guangdong, Quantities: map[string]carbon.Quantity{"distance": qty(t, km+" km")}}
}

// meal is a cutlery-free food order of n orders.
func meal(t testing.TB, id string, u carbon.UserID, n int, at time.Time) carbon.Activity {
	return carbon.Activity{ID: id, Partner: "eleme", User: u, Scenario: "food.no-cutlery", OccurredAt: at,
		Region: carbon.Guangdong, Quantities: map[string]carbon.Quantity{"orders": qty(t, fmt.Sprintf("%d order", n))},
		Attributes: map[string]string{"cutlery": "none"}}
}

// Every built-in scenario, end to end: the methodology's figure, the
// policy's rounding down, one ledger entry with points and CO2e and the
// audit trail in its metadata, and the consumers fed.
func TestEarnBuiltinScenarios(t *testing.T) {
	e := newEnv(t, nil)
	at := progStart
	tests := []struct {
		scenario  carbon.Scenario
		partner   carbon.PartnerID
		qty       map[string]string
		attrs     map[string]string
		reduction string
		points    carbon.Points
	}{
		{"food.no-cutlery", "eleme", map[string]string{"orders": "2 order"}, map[string]string{"cutlery": "none"}, "60g", 6},
		{"logistics.box-reuse", "cainiao", map[string]string{"boxes": "50 box"}, nil, "1850g", 185},
		{"logistics.e-waybill", "cainiao", map[string]string{"waybills": "100 sheet"}, nil, "2200g", 220},
		{"secondhand.resale", "xianyu", map[string]string{"items": "1 item"}, map[string]string{"category": "phone", "condition": "good"}, "22.5kg", 2250},
		{"retail.efficient-product", "mall", map[string]string{"items": "1 item"}, map[string]string{"category": "air-conditioner", "efficiency_grade": "1"}, "85.545kg", 8554},
		{"transport.bus", "metro", map[string]string{"distance": "10 km"}, nil, "190g", 19},
		{"transport.metro", "metro", map[string]string{"distance": "10 km"}, nil, "890g", 89},
		{"transport.bicycle", "metro", map[string]string{"distance": "10 km"}, nil, "1190g", 119},
		{"transport.walk", "metro", map[string]string{"distance": "5 km"}, nil, "595g", 59},
		{"enterprise.electricity-saving", "grid", map[string]string{"electricity_saved": "1 MWh"}, nil, "570.3kg", 57030},
	}
	reg := methodology.Builtin()
	for i, tc := range tests {
		t.Run(string(tc.scenario), func(t *testing.T) {
			a := carbon.Activity{ID: fmt.Sprintf("act-%d", i), Partner: tc.partner, User: "u1", Scenario: tc.scenario,
				OccurredAt: at, Region: carbon.Guangdong, Quantities: map[string]carbon.Quantity{}, Attributes: tc.attrs}
			for k, v := range tc.qty {
				a.Quantities[k] = qty(t, v)
			}
			child := ledger.PartnerAccount("u1", tc.partner)
			beforePts, beforeCO2 := e.balance(child, ledger.Points), e.balance(child, ledger.CO2e)

			r, err := e.p.Earn(e.ctx, a)
			require.NoError(t, err)
			want := mustMass(t, tc.reduction)
			require.True(t, r.Reduction.Equal(want), "reduction %s, want %s", r.Reduction, want)
			require.Equal(t, tc.points, r.Points)
			require.Equal(t, tc.points, r.BasePoints)
			require.True(t, r.Multiplier.Equal(decimal.NewFromInt(1)))
			require.Equal(t, rewards.CapNone, r.Capped)
			require.Equal(t, "std@1", r.Policy)
			require.False(t, r.Replayed)

			res, err := reg.Quantify(a)
			require.NoError(t, err)
			require.Equal(t, res.Ref(), r.Methodology)
			require.Equal(t, res.Digest, r.ResultDigest)

			mg, err := ledger.MassAmount(want, carbon.TowardZero)
			require.NoError(t, err)
			require.Equal(t, beforePts+int64(tc.points), e.balance(child, ledger.Points))
			require.Equal(t, beforeCO2+mg, e.balance(child, ledger.CO2e))

			entry, err := e.l.Entry(e.ctx, r.Entry)
			require.NoError(t, err)
			require.Equal(t, rewards.EarnKey(tc.partner, a.ID), entry.Key)
			require.Equal(t, res.Ref()+" "+res.Digest, entry.Metadata["methodology"])
			require.Equal(t, fmt.Sprintf("std@1 base=%d multiplier=1 uncapped=%d", tc.points, tc.points), entry.Metadata["policy"])
			require.Equal(t, r.Fingerprint, entry.Metadata["fingerprint"])
			require.True(t, entry.Recorded.Equal(r.CreditedAt))
			got, ok, err := rewards.EarningFromEntry(entry)
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, r.Earning().Key(), got.Key())
			require.Equal(t, r.Points, got.Points)
			require.True(t, got.Reduction.Equal(r.Reduction))
		})
	}
	issued := e.balance(ledger.IssuanceAccount("metro"), ledger.Points)
	require.Equal(t, int64(-(19 + 89 + 119 + 59)), issued)
	fp, err := e.feet.Report(e.ctx, "u1", rewards.MonthOf(at, shanghai), rewards.MonthOf(at, shanghai))
	require.NoError(t, err)
	require.Equal(t, int64(len(tests)), fp.Total.Actions)
	n, err := e.l.VerifyChain(e.ctx)
	require.NoError(t, err)
	require.NotZero(t, n)
}

// The call that crosses a cap is credited up to it; the next gets zero and
// says so, with its reduction still recorded.
func TestEarnCaps(t *testing.T) {
	e := newEnv(t, func(o *rewards.ProgrammeOptions) {
		p := basePolicy()
		p.PointsPerGram = dec("1")
		p.ScenarioCaps = map[carbon.Scenario]carbon.Points{"food.no-cutlery": 100}
		p.DailyCap = 150
		o.Policies = []rewards.EarnPolicy{p}
	})
	at := progStart
	boxes := func(id string, n int) carbon.Activity {
		return carbon.Activity{ID: id, Partner: "cainiao", User: "u1", Scenario: "logistics.box-reuse", OccurredAt: at,
			Region: carbon.Zhejiang, Quantities: map[string]carbon.Quantity{"boxes": qty(t, fmt.Sprintf("%d box", n))}}
	}
	steps := []struct {
		a         carbon.Activity
		points    carbon.Points
		uncapped  carbon.Points
		capped    rewards.Cap
		reduction string
	}{
		{meal(t, "m1", "u1", 2, at), 60, 60, rewards.CapNone, "60g"},
		{meal(t, "m2", "u1", 2, at), 40, 60, rewards.CapScenario, "60g"}, // crosses the scenario cap
		{meal(t, "m3", "u1", 1, at), 0, 30, rewards.CapScenario, "30g"},  // nothing left
		{boxes("b1", 2), 50, 74, rewards.CapDaily, "74g"},                // crosses the daily cap
		{boxes("b2", 1), 0, 37, rewards.CapDaily, "37g"},
		{meal(t, "m4", "u2", 1, at), 30, 30, rewards.CapNone, "30g"}, // another user
	}
	for _, s := range steps {
		r, err := e.p.Earn(e.ctx, s.a)
		require.NoError(t, err, s.a.ID)
		require.Equal(t, s.points, r.Points, s.a.ID)
		require.Equal(t, s.uncapped, r.Uncapped, s.a.ID)
		require.Equal(t, s.capped, r.Capped, s.a.ID)
		require.True(t, r.Reduction.Equal(mustMass(t, s.reduction)), s.a.ID)
		require.NotEmpty(t, r.Entry, "the reduction is recorded even when no points are: %s", s.a.ID)
	}
	require.Equal(t, int64(100), e.balance(ledger.PartnerAccount("u1", "eleme"), ledger.Points))
	require.Equal(t, int64(150_000), e.balance(ledger.PartnerAccount("u1", "eleme"), ledger.CO2e))
	require.Equal(t, int64(50), e.balance(ledger.PartnerAccount("u1", "cainiao"), ledger.Points))

	// A replay of the zero-point earn returns it as it was, even though the
	// counters have not changed.
	r, err := e.p.Earn(e.ctx, steps[2].a)
	require.NoError(t, err)
	require.True(t, r.Replayed)
	require.Equal(t, carbon.Points(0), r.Points)
	require.Equal(t, rewards.CapScenario, r.Capped)

	types := e.events.types()
	require.Contains(t, types, rewards.EventPointsCapped)

	// The next local day starts afresh.
	next := meal(t, "m5", "u1", 1, at.Add(24*time.Hour))
	r, err = e.p.Earn(e.ctx, next)
	require.NoError(t, err)
	require.Equal(t, carbon.Points(30), r.Points)
	require.Equal(t, rewards.CapNone, r.Capped)
}

// A daily cap counts calendar days in the programme's time zone: 23:59:59
// and 00:00:00 in Shanghai are different days even though both are the
// same UTC day, and 00:30 and 07:30 Shanghai are one day although they
// straddle midnight UTC.
func TestEarnCapTimeZoneBoundary(t *testing.T) {
	for _, tc := range []struct {
		zone *time.Location
		// points credited for the trips at 15:59:59Z, 16:00:00Z
		// (midnight in Shanghai) and 23:59:59Z, each worth 60 with a cap
		// of 100 a day.
		want [3]carbon.Points
	}{
		{shanghai, [3]carbon.Points{60, 60, 40}},
		{time.UTC, [3]carbon.Points{60, 40, 0}},
	} {
		t.Run(tc.zone.String(), func(t *testing.T) {
			e := newEnv(t, func(o *rewards.ProgrammeOptions) {
				p := basePolicy()
				p.PointsPerGram = dec("1")
				p.DailyCap = 100
				o.Policies, o.TimeZone = []rewards.EarnPolicy{p}, tc.zone
			})
			times := []time.Time{
				time.Date(2026, 4, 22, 15, 59, 59, 0, time.UTC),
				time.Date(2026, 4, 22, 16, 0, 0, 0, time.UTC),
				time.Date(2026, 4, 22, 23, 59, 59, 0, time.UTC),
			}
			for i, at := range times {
				r, err := e.p.Earn(e.ctx, meal(t, fmt.Sprintf("m%d", i), "u1", 2, at))
				require.NoError(t, err)
				require.Equal(t, tc.want[i], r.Points, "meal at %s", at)
			}
		})
	}
}

// Campaign multipliers apply by window and region; the largest applicable
// one wins; the product is rounded down.
func TestEarnMultipliers(t *testing.T) {
	april := mustWindow(t, "2026-04-20", "2026-04-26")
	e := newEnv(t, func(o *rewards.ProgrammeOptions) {
		p := basePolicy()
		p.Campaigns = []rewards.Campaign{
			{ID: "gd-week", Window: april, Regions: []carbon.Region{carbon.Guangdong}, Multiplier: dec("1.5")},
			{ID: "metro-double", Window: april, Scenarios: []carbon.Scenario{"transport.metro"}, Multiplier: dec("2")},
		}
		o.Policies = []rewards.EarnPolicy{p}
	})
	at := progStart
	bj := meal(t, "bj", "u1", 2, at)
	bj.Region = carbon.Beijing
	late := meal(t, "late", "u1", 2, at.Add(10*24*time.Hour))
	for _, tc := range []struct {
		a          carbon.Activity
		base, want carbon.Points
		campaign   string
		mult       string
	}{
		{meal(t, "gd", "u1", 2, at), 6, 9, "gd-week", "1.5"},
		{meal(t, "gd-odd", "u1", 1, at), 3, 4, "gd-week", "1.5"}, // 4.5 rounds down
		{bj, 6, 6, "", "1"},
		{late, 6, 6, "", "1"},
		{trip(t, "metro", "u1", "10", at), 89, 178, "metro-double", "2"}, // both apply: 2 beats 1.5
	} {
		r, err := e.p.Earn(e.ctx, tc.a)
		require.NoError(t, err, tc.a.ID)
		require.Equal(t, tc.base, r.BasePoints, tc.a.ID)
		require.Equal(t, tc.want, r.Points, tc.a.ID)
		require.Equal(t, tc.campaign, r.Campaign, tc.a.ID)
		require.True(t, r.Multiplier.Equal(dec(tc.mult)), "%s: multiplier %s", tc.a.ID, r.Multiplier)
		entry, err := e.l.Entry(e.ctx, r.Entry)
		require.NoError(t, err)
		want := fmt.Sprintf("std@1 base=%d multiplier=%s", tc.base, tc.mult)
		if tc.campaign != "" {
			want += " campaign=" + tc.campaign
		}
		require.Equal(t, fmt.Sprintf("%s uncapped=%d", want, tc.want), entry.Metadata["policy"])
	}
}

// Eight goroutines replaying one activity: one credit, one set of
// consumer updates, the same receipt for all.
func TestEarnConcurrentReplays(t *testing.T) {
	e := newEnv(t, func(o *rewards.ProgrammeOptions) {
		p := basePolicy()
		p.DailyCap = 100_000 // the cap counters are exercised, never reached
		o.Policies = []rewards.EarnPolicy{p}
	})
	for round := 0; round < 20; round++ {
		a := trip(t, fmt.Sprintf("trip-%d", round), "u2", "10", progStart)
		var wg sync.WaitGroup
		receipts := make([]rewards.Receipt, 8)
		errs := make([]error, 8)
		for g := range receipts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				receipts[g], errs[g] = e.p.Earn(e.ctx, a)
			}()
		}
		wg.Wait()
		fresh := 0
		for g := range receipts {
			require.NoError(t, errs[g])
			require.Equal(t, receipts[0].Entry, receipts[g].Entry)
			require.Equal(t, carbon.Points(89), receipts[g].Points)
			if !receipts[g].Replayed {
				fresh++
			}
		}
		require.Equal(t, 1, fresh, "round %d", round)
	}
	require.Equal(t, int64(20*89), e.balance(ledger.PartnerAccount("u2", "metro"), ledger.Points))
	st, err := e.boards.Rank(e.ctx, "april", "u2", 0)
	require.NoError(t, err)
	require.Equal(t, carbon.Points(20*89), st.Member.Score)
	fp, err := e.feet.Report(e.ctx, "u2", rewards.MonthOf(progStart, shanghai), rewards.MonthOf(progStart, shanghai))
	require.NoError(t, err)
	require.Equal(t, int64(20), fp.Total.Actions)
}

// A replay with a different body is refused and changes nothing.
func TestEarnReplayMismatch(t *testing.T) {
	e := newEnv(t, nil)
	a := trip(t, "t1", "u1", "10", progStart)
	r, err := e.p.Earn(e.ctx, a)
	require.NoError(t, err)
	n := e.entries()
	for name, edit := range map[string]func(*carbon.Activity){
		"distance": func(a *carbon.Activity) { a.Quantities = map[string]carbon.Quantity{"distance": qty(t, "11 km")} },
		"user":     func(a *carbon.Activity) { a.User = "u2" },
		"time":     func(a *carbon.Activity) { a.OccurredAt = a.OccurredAt.Add(time.Second) },
		"region":   func(a *carbon.Activity) { a.Region = carbon.Beijing },
		"attr":     func(a *carbon.Activity) { a.Attributes = map[string]string{"line": "3"} },
	} {
		b := trip(t, "t1", "u1", "10", progStart)
		edit(&b)
		_, err := e.p.Earn(e.ctx, b)
		require.ErrorIs(t, err, rewards.ErrReplayMismatch, name)
	}
	require.Equal(t, n, e.entries())
	// The same activity written differently (another zone, the same
	// decimal with another scale) is the same body.
	same := trip(t, "t1", "u1", "10.000", progStart.UTC())
	again, err := e.p.Earn(e.ctx, same)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, r.Entry, again.Entry)
}

// Bad input gets a typed error naming the value, and changes nothing.
func TestEarnBadInput(t *testing.T) {
	e := newEnv(t, nil)
	e.link("loner") // a parent account, no children
	_, err := e.l.UnlinkPartner(e.ctx, "u3", "metro")
	require.NoError(t, err)
	before := e.entries()
	at := progStart
	bad := trip(t, "x", "u1", "10", at)
	bad.Region = "CN-XX"
	unknown := trip(t, "x", "u1", "10", at)
	unknown.Partner = "didi"
	unscenario := trip(t, "x", "u1", "10", at)
	unscenario.Scenario = "transport.teleport"
	tooFar := trip(t, "x", "u1", "500", at)
	tests := []struct {
		name string
		a    carbon.Activity
		want error
	}{
		{"invalid activity", bad, rewards.ErrInvalidActivity},
		{"unknown partner", unknown, rewards.ErrUnknownPartner},
		{"never linked", trip(t, "x", "loner", "10", at), rewards.ErrNotLinked},
		{"no user at all", trip(t, "x", "ghost", "10", at), rewards.ErrNotLinked},
		{"unlinked", trip(t, "x", "u3", "10", at), rewards.ErrNotLinked},
		{"no methodology", unscenario, rewards.ErrNotQuantifiable},
		{"condition not met", tooFar, rewards.ErrNotQuantifiable},
		{"before every policy", trip(t, "x", "u1", "10", time.Date(2023, 6, 1, 0, 0, 0, 0, shanghai)), rewards.ErrNoPolicy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.p.Earn(e.ctx, tc.a)
			require.ErrorIs(t, err, tc.want)
			var re *rewards.Error
			require.ErrorAs(t, err, &re)
			require.Equal(t, "Programme.Earn", re.Op)
		})
	}
	require.Equal(t, before, e.entries())
	require.Empty(t, e.events.types())
	// Nothing was remembered: the activity ID is still free.
	r, err := e.p.Earn(e.ctx, trip(t, "x", "u1", "10", at))
	require.NoError(t, err)
	require.False(t, r.Replayed)
}

// Earn refuses, before it reserves or writes anything, an activity dated
// where no Earning can be (the consumers, and Resync, would refuse its
// credit for good), and credits one at the very end of the range, whose
// local month is the next, with every consumer fed.
func TestEarnTimeRange(t *testing.T) {
	caps := rewards.NewMemCapStore()
	e := newEnv(t, func(o *rewards.ProgrammeOptions) {
		pol := basePolicy()
		pol.DailyCap = 1000
		o.Policies, o.Caps = []rewards.EarnPolicy{pol}, caps
	})
	before := e.entries()
	for _, at := range []time.Time{
		time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1899, 12, 31, 23, 59, 59, 0, time.UTC),
	} {
		_, err := e.p.Earn(e.ctx, trip(t, "x", "u1", "10", at))
		require.ErrorIs(t, err, rewards.ErrInvalidActivity)
		require.ErrorContains(t, err, "occurred_at "+at.Format(time.RFC3339Nano)+" is outside 1900 to 2199 (UTC)")
	}
	// Not even RFC 3339 can carry this one: the activity's own validation
	// refuses it.
	_, err := e.p.Earn(e.ctx, trip(t, "x", "u1", "10", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.ErrorIs(t, err, rewards.ErrInvalidActivity)
	require.ErrorIs(t, err, carbon.ErrInvalidTime)
	used, err := caps.Used(e.ctx, "2500-01-01/u1")
	require.NoError(t, err)
	require.Zero(t, used, "nothing reserved")
	require.Zero(t, caps.Reservations())
	require.Equal(t, before, e.entries(), "nothing posted")

	// 2199-12-31T20:00Z is in January 2200 in Shanghai.
	r, err := e.p.Earn(e.ctx, trip(t, "edge", "u1", "10", time.Date(2199, 12, 31, 20, 0, 0, 0, time.UTC)))
	require.NoError(t, err)
	require.Positive(t, r.Points)
	jan := rewards.Month{Year: 2200, Month: time.January}
	fp, err := e.feet.Report(e.ctx, "u1", jan, jan)
	require.NoError(t, err)
	require.Equal(t, r.Points, fp.Total.Points)
	next, err := e.p.Resync(e.ctx, 0, 1000)
	require.NoError(t, err)
	require.Equal(t, uint64(e.entries()), next, "Resync reaches the end of the feed")
}

// With MaxActivityAge and MaxActivityLead set, Earn refuses, before it
// reserves or writes anything, a new activity that occurred too long ago or
// too far ahead by the programme's clock, so that a caller cannot pick
// another day for a fresh daily cap; the bounds themselves are inside, and
// a replay of an activity credited in time is answered however late.
func TestEarnActivityWindow(t *testing.T) {
	const age, lead = 7 * 24 * time.Hour, 5 * time.Minute
	caps := rewards.NewMemCapStore()
	e := newEnv(t, func(o *rewards.ProgrammeOptions) {
		o.MaxActivityAge, o.MaxActivityLead, o.Caps = age, lead, caps
	})
	before := e.entries()
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{progStart.Add(-age - time.Nanosecond), "is more than 168h0m0s before now"},
		{progStart.Add(lead + time.Nanosecond), "is more than 5m0s after now"},
		{progStart.AddDate(1, 0, 0), "is more than 5m0s after now"},
	} {
		_, err := e.p.Earn(e.ctx, trip(t, "x", "u1", "10", c.at))
		require.ErrorIs(t, err, rewards.ErrInvalidActivity)
		require.ErrorContains(t, err, c.want)
	}
	require.Zero(t, caps.Reservations(), "nothing reserved")
	require.Equal(t, before, e.entries(), "nothing posted")

	oldest, err := e.p.Earn(e.ctx, trip(t, "oldest", "u1", "10", progStart.Add(-age)))
	require.NoError(t, err)
	require.Positive(t, oldest.Points)
	_, err = e.p.Earn(e.ctx, trip(t, "newest", "u1", "10", progStart.Add(lead)))
	require.NoError(t, err)

	e.clock.Advance(30 * 24 * time.Hour)
	again, err := e.p.Earn(e.ctx, trip(t, "oldest", "u1", "10", progStart.Add(-age)))
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, oldest.Entry, again.Entry)
	_, err = e.p.Earn(e.ctx, trip(t, "late", "u1", "10", progStart.Add(-age)))
	require.ErrorIs(t, err, rewards.ErrInvalidActivity)

	_, err = rewards.NewProgramme(methodology.Builtin(), e.l, &rewards.ProgrammeOptions{Policies: []rewards.EarnPolicy{basePolicy()}, MaxActivityAge: -time.Second})
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
}

// A credit whose feed to the consumers failed (ErrFollowUp), reversed
// before the host repeats the earn, reaches the consumers before its
// reversal, as it does in a rebuild from the ledger: the badge its points
// earn is awarded (and never revoked), so the live badges equal a rebuild.
func TestReverseFeedsItsCreditFirst(t *testing.T) {
	defs := []rewards.Badge{{ID: "points", Title: "Points", Levels: []rewards.Criterion{{Kind: rewards.KindPoints, Min: 100}}}}
	store := &flakyBadgeStore{BadgeStore: rewards.NewMemBadgeStore()}
	badges, err := rewards.NewBadges(store, defs, nil)
	require.NoError(t, err)
	e := newEnv(t, func(o *rewards.ProgrammeOptions) { o.Badges = badges })
	a := trip(t, "t1", "u1", "20", progStart) // 178 points
	store.fail.Store(true)
	_, err = e.p.Earn(e.ctx, a)
	require.ErrorIs(t, err, rewards.ErrFollowUp)
	store.fail.Store(false)
	_, err = e.p.ReverseEarning(e.ctx, "metro", "t1", "refund-1")
	require.NoError(t, err)
	_, err = e.p.Earn(e.ctx, a) // the host repeats the earn at last
	require.NoError(t, err)
	live, err := badges.Awards(e.ctx, "u1")
	require.NoError(t, err)

	rebuilt, err := rewards.NewBadges(rewards.NewMemBadgeStore(), defs, nil)
	require.NoError(t, err)
	p2, err := rewards.NewProgramme(methodology.Builtin(), e.l, &rewards.ProgrammeOptions{Clock: e.clock, Badges: rebuilt})
	require.NoError(t, err)
	_, err = p2.Resync(e.ctx, 0, 1000)
	require.NoError(t, err)
	want, err := rebuilt.Awards(e.ctx, "u1")
	require.NoError(t, err)
	require.Len(t, want, 1, "a rebuild awards the badge")
	require.Len(t, live, len(want), "live badges equal a rebuild from the ledger")
}

// flakyBadgeStore is a BadgeStore whose Update fails while fail is set.
type flakyBadgeStore struct {
	rewards.BadgeStore
	fail atomic.Bool
}

func (s *flakyBadgeStore) Update(ctx context.Context, u carbon.UserID, k rewards.EarningKey, fn func(*rewards.BadgeState) error) (bool, error) {
	if s.fail.Load() {
		return false, errors.New("badges: connection reset")
	}
	return s.BadgeStore.Update(ctx, u, k, fn)
}

// An earn whose publishing failed after its badge was awarded tells of the
// award when it is repeated, with the event the first call built: the
// repeat completes the follow-ups, notifications included.
func TestEarnRepeatPublishesItsAwards(t *testing.T) {
	e := newEnv(t, nil)
	a := trip(t, "t1", "u1", "10", progStart) // the first metro trip: badge "first-trip"
	e.events.mu.Lock()
	e.events.fail = true
	e.events.mu.Unlock()
	_, err := e.p.Earn(e.ctx, a)
	require.ErrorIs(t, err, rewards.ErrFollowUp)
	awards, err := e.badges.Awards(e.ctx, "u1")
	require.NoError(t, err)
	require.Len(t, awards, 1, "the award committed")
	e.events.mu.Lock()
	e.events.fail = false
	e.events.mu.Unlock()

	r, err := e.p.Earn(e.ctx, a)
	require.NoError(t, err)
	require.True(t, r.Replayed)
	var ids []string
	e.events.mu.Lock()
	for _, ev := range e.events.events {
		if ev.Type == rewards.EventBadgeAwarded {
			ids = append(ids, ev.ID)
		}
	}
	e.events.mu.Unlock()
	require.Equal(t, []string{"badge.awarded/u1/first-trip/1"}, ids)
}

// A reversal takes the points and CO2e back, lowers the board and the
// footprint, and happens once.
func TestReverseEarning(t *testing.T) {
	e := newEnv(t, nil)
	r, err := e.p.Earn(e.ctx, trip(t, "t1", "u1", "10", progStart))
	require.NoError(t, err)
	_, err = e.p.Earn(e.ctx, trip(t, "t2", "u1", "5", progStart))
	require.NoError(t, err)
	e.clock.Advance(time.Hour)

	rev, err := e.p.ReverseEarning(e.ctx, "metro", "t1", "cancel-t1")
	require.NoError(t, err)
	require.True(t, rev.Reversal)
	require.Equal(t, -r.Points, rev.Points)
	require.True(t, rev.Reduction.Equal(r.Reduction.Neg()))
	child := ledger.PartnerAccount("u1", "metro")
	require.Equal(t, int64(44), e.balance(child, ledger.Points)) // only t2's 44 left
	st, err := e.boards.Rank(e.ctx, "april", "u1", 0)
	require.NoError(t, err)
	require.Equal(t, carbon.Points(44), st.Member.Score)
	entry, err := e.l.Entry(e.ctx, rev.Entry)
	require.NoError(t, err)
	got, ok, err := rewards.EarningFromEntry(entry)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, got.Reversal)
	require.Equal(t, -r.Points, got.Points)

	again, err := e.p.ReverseEarning(e.ctx, "metro", "t1", "cancel-t1")
	require.NoError(t, err)
	require.Equal(t, rev.Entry, again.Entry)
	_, err = e.p.ReverseEarning(e.ctx, "metro", "t1", "cancel-t1-again")
	require.ErrorIs(t, err, rewards.ErrAlreadyReversed)
	_, err = e.p.ReverseEarning(e.ctx, "metro", "nope", "k")
	require.ErrorIs(t, err, rewards.ErrUnknownActivity)
	require.Equal(t, int64(44), e.balance(child, ledger.Points))

	// Points already spent cannot be taken back.
	_, err = e.l.OpenAccount(e.ctx, ledger.MerchantAccount("shop"), ledger.BalancePolicy{})
	require.NoError(t, err)
	_, err = e.l.Spend(e.ctx, ledger.Spend{Key: "spend-all", User: "u1", Partner: "metro", Asset: ledger.Points, Amount: 44, To: ledger.MerchantAccount("shop")})
	require.NoError(t, err)
	_, err = e.p.ReverseEarning(e.ctx, "metro", "t2", "cancel-t2")
	require.ErrorIs(t, err, rewards.ErrInsufficientPoints)
}

// Events come after the commit, in a stable form; a failing publisher
// never undoes the credit, and a retry publishes again.
func TestEarnEvents(t *testing.T) {
	e := newEnv(t, nil)
	r, err := e.p.Earn(e.ctx, trip(t, "t1", "u1", "20", progStart)) // 178 points: first trip, 100 points, level 2
	require.NoError(t, err)
	require.Equal(t, carbon.Points(178), r.Points)
	require.Equal(t, []rewards.EventType{rewards.EventPointsEarned, rewards.EventBadgeAwarded, rewards.EventBadgeAwarded, rewards.EventLevelReached}, e.events.types())
	ev := e.events.events[0]
	require.Equal(t, "points.earned/metro/t1", ev.ID)
	require.True(t, ev.At.Equal(r.CreditedAt))
	js, err := jsonOf(ev)
	require.NoError(t, err)
	require.Contains(t, js, `"type":"points.earned"`)
	require.Contains(t, js, `"methodology":"carbonkit.transport.metro@2024.1"`)

	e.events.reset()
	e.events.fail = true
	r2, err := e.p.Earn(e.ctx, trip(t, "t2", "u1", "1", progStart))
	require.ErrorIs(t, err, rewards.ErrFollowUp)
	require.NotEmpty(t, r2.Entry, "the receipt is valid")
	require.Equal(t, int64(178+8), e.balance(ledger.PartnerAccount("u1", "metro"), ledger.Points))
	e.events.fail = false
	r3, err := e.p.Earn(e.ctx, trip(t, "t2", "u1", "1", progStart))
	require.NoError(t, err)
	require.True(t, r3.Replayed)
	require.Equal(t, []rewards.EventType{rewards.EventPointsEarned}, e.events.types())
}

func jsonOf(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// Resync rebuilds lost consumer state from the ledger alone, and closed
// boards are announced once.
func TestResyncAndCloseBoards(t *testing.T) {
	e := newEnv(t, nil)
	for i := 0; i < 30; i++ {
		u := carbon.UserID(fmt.Sprintf("u%d", 1+i%4))
		_, err := e.p.Earn(e.ctx, trip(t, fmt.Sprintf("t%d", i), u, fmt.Sprint(1+i%9), progStart.Add(time.Duration(i)*time.Hour)))
		require.NoError(t, err)
		e.clock.Advance(time.Minute)
	}
	_, err := e.p.ReverseEarning(e.ctx, "metro", "t3", "rev-t3")
	require.NoError(t, err)

	// A second programme over the same ledger, with empty consumers.
	e2 := newEnv(t, nil)
	p2, err := rewards.NewProgramme(methodology.Builtin(), e.l, &rewards.ProgrammeOptions{
		Clock: e.clock, Policies: []rewards.EarnPolicy{basePolicy()}, Badges: e2.badges, Boards: e2.boards, Footprints: e2.feet, Publisher: e2.events})
	require.NoError(t, err)
	_, err = p2.Resync(e.ctx, 0, 0)
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
	var seq uint64
	for {
		next, err := p2.Resync(e.ctx, seq, 7)
		require.NoError(t, err)
		if next == seq {
			break
		}
		seq = next
	}
	want, err := e.boards.Top(e.ctx, "april", 10)
	require.NoError(t, err)
	got, err := e2.boards.Top(e.ctx, "april", 10)
	require.NoError(t, err)
	require.Equal(t, want, got)
	for _, u := range []carbon.UserID{"u1", "u2", "u3", "u4"} {
		wa, err := e.badges.Awards(e.ctx, u)
		require.NoError(t, err)
		ga, err := e2.badges.Awards(e.ctx, u)
		require.NoError(t, err)
		require.Equal(t, len(wa), len(ga), u)
		m := rewards.MonthOf(progStart, shanghai)
		wf, err := e.feet.Report(e.ctx, u, m, m)
		require.NoError(t, err)
		gf, err := e2.feet.Report(e.ctx, u, m, m)
		require.NoError(t, err)
		require.True(t, wf.Total.Equal(gf.Total), u)
	}
	require.Contains(t, e2.events.types(), rewards.EventBadgeAwarded)

	// Before the board closes there is nothing to announce; after, once.
	// A k out of range is refused either way.
	for _, k := range []int{-1, rewards.MaxPage + 1} {
		_, err = e.p.CloseBoards(e.ctx, k)
		require.ErrorIs(t, err, rewards.ErrInvalidArgument, "k %d", k)
	}
	snaps, err := e.p.CloseBoards(e.ctx, 3)
	require.NoError(t, err)
	require.Empty(t, snaps)
	e.clock.Set(time.Date(2026, 5, 1, 0, 0, 0, 0, shanghai))
	e.events.reset()
	for _, k := range []int{-1, rewards.MaxPage + 1} {
		_, err = e.p.CloseBoards(e.ctx, k)
		require.ErrorIs(t, err, rewards.ErrInvalidArgument, "k %d", k)
	}
	require.Empty(t, e.events.types(), "a refused call freezes nothing")
	snaps, err = e.p.CloseBoards(e.ctx, 3)
	require.NoError(t, err)
	require.Len(t, snaps, 1)
	require.Equal(t, want[:3], snaps[0].Top)
	require.Equal(t, []rewards.EventType{rewards.EventBoardClosed}, e.events.types())
	_, err = e.p.CloseBoards(e.ctx, 3)
	require.NoError(t, err)
	require.Len(t, e.events.types(), 1, "announced once")
}

// Concurrent earns of one user never credit more than the cap between
// them, and every point credited is on a receipt.
func TestEarnCapsConcurrent(t *testing.T) {
	e := newEnv(t, func(o *rewards.ProgrammeOptions) {
		p := basePolicy()
		p.PointsPerGram = dec("1")
		p.ScenarioCaps = map[carbon.Scenario]carbon.Points{"food.no-cutlery": 250}
		o.Policies = []rewards.EarnPolicy{p}
	})
	var wg sync.WaitGroup
	receipts := make([]rewards.Receipt, 16)
	errs := make([]error, 16)
	for i := range receipts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			receipts[i], errs[i] = e.p.Earn(e.ctx, meal(t, fmt.Sprintf("m%d", i), "u1", 1, progStart))
		}()
	}
	wg.Wait()
	var total carbon.Points
	capped := 0
	for i, r := range receipts {
		require.NoError(t, errs[i])
		total += r.Points
		if r.Capped != rewards.CapNone {
			capped++
		}
	}
	require.Equal(t, carbon.Points(250), total)
	require.Equal(t, 8, capped) // 8 × 30 = 240, one gets 10, seven get 0
	require.Equal(t, int64(250), e.balance(ledger.PartnerAccount("u1", "eleme"), ledger.Points))
}

// flakyStore is a ledger store that can lose the acknowledgement of a
// commit: the write is applied, but the caller is told the store failed.
type flakyStore struct {
	ledger.Store
	mu       sync.Mutex
	loseNext bool
}

func (s *flakyStore) Update(ctx context.Context, fn func(tx ledger.Tx) error) error {
	err := s.Store.Update(ctx, fn)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && s.loseNext {
		s.loseNext = false
		return errors.New("connection reset after commit")
	}
	return err
}

// loseNextAck makes the store's next commit lose its acknowledgement.
func (s *flakyStore) loseNextAck() {
	s.mu.Lock()
	s.loseNext = true
	s.mu.Unlock()
}

// flakyProgramme returns a Programme over a flakyStore with one partner,
// "metro", and one linked user, "u1", earning under a daily cap.
func flakyProgramme(t *testing.T, dailyCap carbon.Points, caps rewards.CapStore) (*rewards.Programme, *ledger.Ledger, *flakyStore) {
	t.Helper()
	ctx := context.Background()
	clock := carbon.NewTestClock(progStart)
	store := &flakyStore{Store: memstore.New()}
	l, err := ledger.New(store, &ledger.Options{Clock: clock})
	require.NoError(t, err)
	pol := basePolicy()
	pol.DailyCap = dailyCap
	p, err := rewards.NewProgramme(methodology.Builtin(), l, &rewards.ProgrammeOptions{Clock: clock, TimeZone: shanghai,
		Policies: []rewards.EarnPolicy{pol}, Partners: []carbon.PartnerID{"metro"}, Caps: caps})
	require.NoError(t, err)
	_, err = l.OpenUser(ctx, "u1")
	require.NoError(t, err)
	_, err = l.LinkPartner(ctx, "u1", "metro")
	require.NoError(t, err)
	return p, l, store
}

// A credit whose commit was not acknowledged is left pending, and the next
// replay completes it from the ledger without crediting twice; the receipt
// is the same.
func TestEarnLostAcknowledgement(t *testing.T) {
	ctx := context.Background()
	p, l, store := flakyProgramme(t, 100, nil)
	_, err := p.Earn(ctx, trip(t, "warm-up", "u1", "1", progStart)) // opens the issuance account
	require.NoError(t, err)

	store.loseNextAck()
	a := trip(t, "t1", "u1", "10", progStart)
	_, err = p.Earn(ctx, a)
	require.ErrorIs(t, err, rewards.ErrLedger)
	child := ledger.PartnerAccount("u1", "metro")
	b, err := l.Balance(ctx, child, ledger.Points)
	require.NoError(t, err)
	require.Equal(t, int64(8+89), b.Posted, "the credit did commit")

	r, err := p.Earn(ctx, a)
	require.NoError(t, err)
	require.Equal(t, carbon.Points(89), r.Points)
	require.NotEmpty(t, r.Entry)
	b, err = l.Balance(ctx, child, ledger.Points)
	require.NoError(t, err)
	require.Equal(t, int64(8+89), b.Posted, "and only once")
	again, err := p.Earn(ctx, a)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, r.Entry, again.Entry)
	// The cap counted it once too: 3 points of room are left today.
	r2, err := p.Earn(ctx, trip(t, "t2", "u1", "10", progStart))
	require.NoError(t, err)
	require.Equal(t, carbon.Points(3), r2.Points)
}

// The in-memory cap store keeps a reservation only while its credit is in
// flight: completed credits leave nothing behind but the counters, a credit
// left pending keeps its reservation until a replay completes it, and the
// counters never forget a grant.
func TestEarnSettlesCapReservations(t *testing.T) {
	ctx := context.Background()
	caps := rewards.NewMemCapStore()
	p, _, store := flakyProgramme(t, 1000, caps)
	day := progStart.In(shanghai).Format(time.DateOnly) + "/u1"
	credited := int64(0)
	for i := range 20 {
		r, err := p.Earn(ctx, trip(t, fmt.Sprintf("t%d", i), "u1", "1", progStart))
		require.NoError(t, err)
		credited += int64(r.Points)
	}
	require.Zero(t, caps.Reservations(), "every credit is complete")
	used, err := caps.Used(ctx, day)
	require.NoError(t, err)
	require.Equal(t, credited, used)

	store.loseNextAck()
	a := trip(t, "lost", "u1", "1", progStart)
	_, err = p.Earn(ctx, a)
	require.ErrorIs(t, err, rewards.ErrLedger)
	require.Equal(t, 1, caps.Reservations(), "the pending credit keeps its reservation")
	r, err := p.Earn(ctx, a)
	require.NoError(t, err)
	require.Zero(t, caps.Reservations())
	used, err = caps.Used(ctx, day)
	require.NoError(t, err)
	require.Equal(t, credited+int64(r.Points), used)

	// A replay of a settled credit reserves nothing again.
	again, err := p.Earn(ctx, a)
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Zero(t, caps.Reservations())
	used, err = caps.Used(ctx, day)
	require.NoError(t, err)
	require.Equal(t, credited+int64(r.Points), used)
}

// tripPoints returns the points a metro trip of km kilometres earns under
// newEnv's policy, with no cap.
func tripPoints(t *testing.T, km string) carbon.Points {
	t.Helper()
	e := newEnv(t, nil)
	r, err := e.p.Earn(e.ctx, trip(t, "ref", "u1", km, progStart))
	require.NoError(t, err)
	require.Positive(t, r.Points)
	return r.Points
}

// An earn refused because the user is not linked reserves no cap room: the
// credit's entry finds the user unlinked, and the reservation made before
// it is released.
func TestEarnUnlinkedReservesNothing(t *testing.T) {
	p := tripPoints(t, "10")

	// Room for one such earn a day, not two.
	e := newEnv(t, func(o *rewards.ProgrammeOptions) { o.Policies[0].DailyCap = p + p/2 })
	_, err := e.l.UnlinkPartner(e.ctx, "u2", "metro")
	require.NoError(t, err)
	before := e.entries()
	for i := range 3 {
		_, err := e.p.Earn(e.ctx, trip(t, "x"+strconv.Itoa(i), "u2", "10", progStart))
		require.ErrorIs(t, err, rewards.ErrNotLinked)
		require.ErrorContains(t, err, `user "u2" has no open account for partner "metro"`)
	}
	require.Equal(t, before, e.entries())
	_, err = e.l.LinkPartner(e.ctx, "u2", "metro")
	require.NoError(t, err)
	r, err := e.p.Earn(e.ctx, trip(t, "y", "u2", "10", progStart))
	require.NoError(t, err)
	require.Equal(t, p, r.Points, "the day's room is whole")
	require.Equal(t, rewards.CapNone, r.Capped)
	r, err = e.p.Earn(e.ctx, trip(t, "x0", "u2", "10", progStart))
	require.NoError(t, err)
	require.False(t, r.Replayed, "the refused activity left no receipt")
	require.Equal(t, p/2, r.Points, "capped by the day's room, as a new credit")
}

// An earn refused by the ledger whose pending receipt cannot be deleted
// keeps its cap reservation: the host retries the ErrStore, the retry
// posts the pending receipt's points, and the reservation counts them. The
// day's cap holds: had the reservation been released first, the retry
// would have credited points no counter knew of.
func TestEarnRefusedKeepsItsReservationWhileItsReceiptStays(t *testing.T) {
	p := tripPoints(t, "10")
	caps := rewards.NewMemCapStore()
	receipts := &undeletableReceipts{ReceiptStore: rewards.NewMemReceiptStore()}
	e := newEnv(t, func(o *rewards.ProgrammeOptions) {
		o.Policies[0].DailyCap = p + p/2 // room for one such earn a day, not two
		o.Caps, o.Receipts = caps, receipts
	})
	_, err := e.l.UnlinkPartner(e.ctx, "u2", "metro")
	require.NoError(t, err)
	receipts.fail.Store(true)
	a := trip(t, "t1", "u2", "10", progStart)
	_, err = e.p.Earn(e.ctx, a)
	require.ErrorIs(t, err, rewards.ErrStore)
	receipts.fail.Store(false)

	_, err = e.l.LinkPartner(e.ctx, "u2", "metro")
	require.NoError(t, err)
	r2, err := e.p.Earn(e.ctx, trip(t, "t2", "u2", "10", progStart))
	require.NoError(t, err)
	r1, err := e.p.Earn(e.ctx, a) // the host retries the ErrStore
	require.NoError(t, err)
	require.Equal(t, p+p/2, r1.Points+r2.Points, "the day's cap, whichever got what")
	b, err := e.l.Balance(e.ctx, ledger.PartnerAccount("u2", "metro"), ledger.Points)
	require.NoError(t, err)
	used, err := caps.Used(e.ctx, progStart.In(shanghai).Format(time.DateOnly)+"/u2")
	require.NoError(t, err)
	require.Equal(t, b.Posted, used, "every credited point is counted in the day's cap")
}

// undeletableReceipts is a ReceiptStore whose DeletePendingReceipt fails
// while fail is set.
type undeletableReceipts struct {
	rewards.ReceiptStore
	fail atomic.Bool
}

func (s *undeletableReceipts) DeletePendingReceipt(ctx context.Context, p carbon.PartnerID, id string) error {
	if s.fail.Load() {
		return errors.New("receipts: connection reset")
	}
	return s.ReceiptStore.DeletePendingReceipt(ctx, p, id)
}

// Earns racing a partner's unlink and relink each either credit once, with
// a receipt and an entry, or change nothing: the user's points are the sum
// of the credits, the day's cap room is what they left, and a refused
// activity has no receipt (earning it again is a new credit).
func TestEarnRacesUnlink(t *testing.T) {
	p := tripPoints(t, "1")

	const n = 200
	receipts := rewards.NewMemReceiptStore()
	e := newEnv(t, func(o *rewards.ProgrammeOptions) {
		o.Policies[0].DailyCap = (n + 1) * p
		o.Receipts = receipts
	})
	stop := make(chan struct{})
	var toggles sync.WaitGroup
	toggles.Add(1)
	go func() {
		defer toggles.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var err error
			if i%2 == 0 {
				_, err = e.l.UnlinkPartner(e.ctx, "u2", "metro")
			} else {
				_, err = e.l.LinkPartner(e.ctx, "u2", "metro")
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	credited := make([]bool, n)
	var earns sync.WaitGroup
	for g := range 4 {
		earns.Add(1)
		go func() {
			defer earns.Done()
			for i := g; i < n; i += 4 {
				r, err := e.p.Earn(e.ctx, trip(t, "t"+strconv.Itoa(i), "u2", "1", progStart))
				switch {
				case err == nil:
					if r.Points != p || r.Capped != rewards.CapNone {
						t.Errorf("activity %d: %d points, capped %q", i, r.Points, r.Capped)
					}
					credited[i] = true
				case !errors.Is(err, rewards.ErrNotLinked):
					t.Errorf("activity %d: %v", i, err)
				}
			}
		}()
	}
	earns.Wait()
	close(stop)
	toggles.Wait()
	if _, err := e.l.LinkPartner(e.ctx, "u2", "metro"); err != nil {
		require.ErrorIs(t, err, ledger.ErrAccountExists) // linked already
	}

	k := 0
	for i, ok := range credited {
		if ok {
			k++
			continue
		}
		// Refused: nothing remembered, so it credits now, in full.
		_, found, err := receipts.Receipt(e.ctx, "metro", "t"+strconv.Itoa(i))
		require.NoError(t, err)
		require.False(t, found, "activity %d was refused but has a receipt", i)
		r, err := e.p.Earn(e.ctx, trip(t, "t"+strconv.Itoa(i), "u2", "1", progStart))
		require.NoError(t, err)
		require.Equal(t, p, r.Points)
	}
	t.Logf("%d of %d credited while the link flapped", k, n)
	require.Equal(t, int64(n)*int64(p), e.balance(ledger.PartnerAccount("u2", "metro"), ledger.Points))
	// Exactly n credits used the day's room: one more fits, then none.
	r, err := e.p.Earn(e.ctx, trip(t, "last", "u2", "1", progStart))
	require.NoError(t, err)
	require.Equal(t, p, r.Points)
	r, err = e.p.Earn(e.ctx, trip(t, "over", "u2", "1", progStart))
	require.NoError(t, err)
	require.Zero(t, r.Points)
	require.Equal(t, rewards.CapDaily, r.Capped)
}
