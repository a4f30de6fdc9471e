package rewards_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

func TestEarnPolicyValidate(t *testing.T) {
	win := mustWindow(t, "2026-04-01", "2026-04-30")
	for _, tc := range []struct {
		name string
		edit func(p *rewards.EarnPolicy)
		path string
	}{
		{"no id", func(p *rewards.EarnPolicy) { p.ID = "" }, "$.id"},
		{"at in id", func(p *rewards.EarnPolicy) { p.ID = "a@b" }, "$.id"},
		{"no version", func(p *rewards.EarnPolicy) { p.Version = "" }, "$.version"},
		{"zero valid from", func(p *rewards.EarnPolicy) { p.ValidFrom = time.Time{} }, "$.valid_from"},
		{"zero rate", func(p *rewards.EarnPolicy) { p.PointsPerGram = dec("0") }, "$.points_per_gram"},
		{"negative rate", func(p *rewards.EarnPolicy) { p.PointsPerGram = dec("-1") }, "$.points_per_gram"},
		{"huge rate", func(p *rewards.EarnPolicy) { p.PointsPerGram = dec("1000001") }, "$.points_per_gram"},
		{"negative daily cap", func(p *rewards.EarnPolicy) { p.DailyCap = -1 }, "$.daily_cap"},
		{"negative scenario cap", func(p *rewards.EarnPolicy) {
			p.ScenarioCaps = map[carbon.Scenario]carbon.Points{"food.no-cutlery": -5}
		}, "$.scenario_caps[food.no-cutlery]"},
		{"multiplier below one", func(p *rewards.EarnPolicy) {
			p.Campaigns = []rewards.Campaign{{ID: "c", Window: win, Multiplier: dec("0.5")}}
		}, "$.campaigns[0].multiplier"},
		{"bad region", func(p *rewards.EarnPolicy) {
			p.Campaigns = []rewards.Campaign{{ID: "c", Window: win, Multiplier: dec("2"), Regions: []carbon.Region{"XX"}}}
		}, "$.campaigns[0].regions[0]"},
		{"empty window", func(p *rewards.EarnPolicy) {
			p.Campaigns = []rewards.Campaign{{ID: "c", Multiplier: dec("2")}}
		}, "$.campaigns[0].window.start"},
		{"duplicate campaign", func(p *rewards.EarnPolicy) {
			c := rewards.Campaign{ID: "c", Window: win, Multiplier: dec("2")}
			p.Campaigns = []rewards.Campaign{c, c}
		}, "$.campaigns[1].id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := basePolicy()
			tc.edit(&p)
			err := p.Validate()
			require.ErrorIs(t, err, rewards.ErrInvalidPolicy)
			var ve *rewards.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Equal(t, tc.path, ve.Problems[0].Path, ve.Error())
		})
	}
	require.NoError(t, basePolicy().Validate())
}

func TestNewProgrammeBadInput(t *testing.T) {
	l, err := ledger.New(memstore.New(), nil)
	require.NoError(t, err)
	reg := methodology.Builtin()
	bad := basePolicy()
	bad.PointsPerGram = dec("0")
	twin := basePolicy()
	twin.Version = "2"
	for _, tc := range []struct {
		name string
		reg  *methodology.Registry
		l    *ledger.Ledger
		opts *rewards.ProgrammeOptions
		want error
	}{
		{"nil registry", nil, l, nil, rewards.ErrInvalidArgument},
		{"nil ledger", reg, nil, nil, rewards.ErrInvalidArgument},
		{"bad policy", reg, l, &rewards.ProgrammeOptions{Policies: []rewards.EarnPolicy{bad}}, rewards.ErrInvalidPolicy},
		{"policy twice", reg, l, &rewards.ProgrammeOptions{Policies: []rewards.EarnPolicy{basePolicy(), basePolicy()}}, rewards.ErrInvalidPolicy},
		{"two policies at one time", reg, l, &rewards.ProgrammeOptions{Policies: []rewards.EarnPolicy{basePolicy(), twin}}, rewards.ErrInvalidPolicy},
		{"bad partner", reg, l, &rewards.ProgrammeOptions{Partners: []carbon.PartnerID{"a b"}}, rewards.ErrInvalidArgument},
		{"bad sponsor", reg, l, &rewards.ProgrammeOptions{Sponsors: []rewards.Sponsor{{Name: "s", FenPerPoint: 0}}}, rewards.ErrInvalidArgument},
		{"sponsor twice", reg, l, &rewards.ProgrammeOptions{Sponsors: []rewards.Sponsor{{Name: "s", FenPerPoint: 1}, {Name: "s", FenPerPoint: 2}}}, rewards.ErrInvalidArgument},
		// The sponsor's funding account, "sponsor NAME.funding", must be a
		// valid account of its own.
		{"sponsor name too long for its funding account", reg, l, &rewards.ProgrammeOptions{Sponsors: []rewards.Sponsor{
			{Name: strings.Repeat("s", rewards.MaxSponsorNameLen+1), FenPerPoint: 1}}}, rewards.ErrInvalidArgument},
		{"sponsor named as another's funding account", reg, l, &rewards.ProgrammeOptions{Sponsors: []rewards.Sponsor{
			{Name: "acme", FenPerPoint: 1}, {Name: "acme.funding", FenPerPoint: 1}}}, rewards.ErrInvalidArgument},
		{"sponsor name with the funding suffix", reg, l, &rewards.ProgrammeOptions{Sponsors: []rewards.Sponsor{
			{Name: "acme.funding", FenPerPoint: 1}}}, rewards.ErrInvalidArgument},
		{"bad charity", reg, l, &rewards.ProgrammeOptions{Charity: "red cross"}, rewards.ErrInvalidArgument},
		{"negative hold timeout", reg, l, &rewards.ProgrammeOptions{HoldTimeout: -time.Second}, rewards.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := rewards.NewProgramme(tc.reg, tc.l, tc.opts)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, p)
		})
	}
	p, err := rewards.NewProgramme(reg, l, nil)
	require.NoError(t, err)
	require.ErrorIs(t, p.RegisterPartner(context.Background(), ""), rewards.ErrInvalidArgument)

	// The longest sponsor name works, funding account and all.
	long := rewards.Sponsor{Name: strings.Repeat("s", rewards.MaxSponsorNameLen), FenPerPoint: 1}
	p, err = rewards.NewProgramme(reg, l, &rewards.ProgrammeOptions{Sponsors: []rewards.Sponsor{long}})
	require.NoError(t, err)
	require.NoError(t, p.FundSponsor(context.Background(), "f1", long.Name, 100))
}

// The policy version in force at the activity's time applies, and the
// receipt says which.
func TestEarnPolicyVersions(t *testing.T) {
	v2 := basePolicy()
	v2.Version, v2.ValidFrom, v2.PointsPerGram = "2", time.Date(2026, 4, 22, 0, 0, 0, 0, shanghai), dec("0.2")
	e := newEnv(t, func(o *rewards.ProgrammeOptions) { o.Policies = []rewards.EarnPolicy{v2, basePolicy()} })
	before, err := e.p.Earn(e.ctx, trip(t, "t1", "u1", "10", time.Date(2026, 4, 21, 23, 59, 0, 0, shanghai)))
	require.NoError(t, err)
	require.Equal(t, "std@1", before.Policy)
	require.Equal(t, carbon.Points(89), before.Points)
	after, err := e.p.Earn(e.ctx, trip(t, "t2", "u1", "10", time.Date(2026, 4, 22, 0, 0, 0, 0, shanghai)))
	require.NoError(t, err)
	require.Equal(t, "std@2", after.Policy)
	require.Equal(t, carbon.Points(178), after.Points)
}
