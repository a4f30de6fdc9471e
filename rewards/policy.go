package rewards

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// EarnPolicy is a versioned rule for turning a quantified reduction into
// points: a rate, daily caps and campaign multipliers. A programme holds
// several versions and applies, to each activity, the one with the latest
// ValidFrom at or before the activity's OccurredAt. Like a methodology
// version, a published policy version is never edited: publish a new
// version with a later ValidFrom. Every receipt and ledger entry names the
// policy as "ID@Version".
//
// For one activity:
//
//	base       = floor(ER in grams × PointsPerGram)
//	multiplied = floor(base × the multiplier of the best campaign in force)
//	credited   = multiplied, lowered to what is left of the user's daily caps
//
// EarnPolicy holds decimals and must not be compared with ==.
type EarnPolicy struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	// ValidFrom is when the version takes effect (by activity time).
	ValidFrom time.Time `json:"valid_from"`
	// PointsPerGram is the points per gram of CO2e reduced: more than zero,
	// at most 1,000,000 (a decimal: "0.5" is one point per two grams).
	PointsPerGram decimal.Decimal `json:"points_per_gram"`
	// DailyCap is the most points a user may earn per local day (in the
	// programme's time zone, by the activity's OccurredAt) over all
	// scenarios; zero means no cap. A caller who picks OccurredAt could
	// pick another day for a fresh cap: bound it with
	// ProgrammeOptions.MaxActivityAge and MaxActivityLead.
	DailyCap carbon.Points `json:"daily_cap,omitempty"`
	// ScenarioCaps is the most points a user may earn per local day in one
	// scenario; a scenario not listed gets DefaultScenarioCap; zero means
	// no cap.
	ScenarioCaps       map[carbon.Scenario]carbon.Points `json:"scenario_caps,omitempty"`
	DefaultScenarioCap carbon.Points                     `json:"default_scenario_cap,omitempty"`
	// Campaigns multiply points within their windows and regions.
	Campaigns []Campaign `json:"campaigns,omitempty"`
}

// Campaign multiplies the points of activities that occurred in its window,
// in one of its regions (any region when Regions is empty) and, when
// Scenarios is not empty, in one of its scenarios. When several campaigns
// apply, the one with the largest multiplier wins (the first listed among
// equals); multipliers never compound.
type Campaign struct {
	ID         string            `json:"id"`
	Window     Window            `json:"window"`
	Regions    []carbon.Region   `json:"regions,omitempty"`
	Scenarios  []carbon.Scenario `json:"scenarios,omitempty"`
	Multiplier decimal.Decimal   `json:"multiplier"` // at least 1, at most 100
}

// Ref returns "ID@Version".
func (p EarnPolicy) Ref() string { return p.ID + "@" + p.Version }

// Limits on a policy's numbers: generous, but small enough that no product
// of them can exceed what int64 points hold.
var (
	maxRate       = decimal.NewFromInt(1_000_000)
	maxMultiplier = decimal.NewFromInt(100)
	one           = decimal.NewFromInt(1)
)

// Validate returns nil or a *ValidationError matching ErrInvalidPolicy that
// names every problem: a malformed ID or version, a zero ValidFrom, a rate
// outside (0, 1,000,000], a negative cap, a malformed campaign (ID, window,
// region, scenario, a multiplier outside [1, 100]) or two campaigns with one
// ID.
func (p EarnPolicy) Validate() error {
	pr := problems{kind: ErrInvalidPolicy}
	idProblem(&pr, "$.id", carbon.ValidateID("policy", p.ID))
	idProblem(&pr, "$.version", carbon.ValidateID("policy version", p.Version))
	if strings.Contains(p.ID, "@") {
		pr.add("$.id", fmt.Sprintf("%q contains @", p.ID))
	}
	timeProblem(&pr, "$.valid_from", p.ValidFrom)
	switch {
	case !dec.InRange(p.PointsPerGram):
		pr.add("$.points_per_gram", "rate is out of range")
	case p.PointsPerGram.Sign() <= 0 || p.PointsPerGram.Cmp(maxRate) > 0:
		pr.add("$.points_per_gram", fmt.Sprintf("rate %s is outside (0, 1000000]", p.PointsPerGram))
	}
	if p.DailyCap < 0 {
		pr.add("$.daily_cap", fmt.Sprintf("cap %d is negative", p.DailyCap))
	}
	if p.DefaultScenarioCap < 0 {
		pr.add("$.default_scenario_cap", fmt.Sprintf("cap %d is negative", p.DefaultScenarioCap))
	}
	for _, s := range sortedScenarios(p.ScenarioCaps) {
		path := "$.scenario_caps[" + string(s) + "]"
		idProblem(&pr, path, s.Validate())
		if c := p.ScenarioCaps[s]; c < 0 {
			pr.add(path, fmt.Sprintf("cap %d is negative", c))
		}
	}
	seen := map[string]bool{}
	for i, c := range p.Campaigns {
		path := fmt.Sprintf("$.campaigns[%d]", i)
		idProblem(&pr, path+".id", carbon.ValidateID("campaign", c.ID))
		if seen[c.ID] {
			pr.add(path+".id", fmt.Sprintf("campaign %q listed twice", c.ID))
		}
		seen[c.ID] = true
		c.Window.check(&pr, path+".window")
		for j, r := range c.Regions {
			if !r.Valid() {
				pr.add(fmt.Sprintf("%s.regions[%d]", path, j), fmt.Sprintf("%q is not an ISO 3166-2:CN province-level code", string(r)))
			}
		}
		for j, s := range c.Scenarios {
			idProblem(&pr, fmt.Sprintf("%s.scenarios[%d]", path, j), s.Validate())
		}
		switch {
		case !dec.InRange(c.Multiplier):
			pr.add(path+".multiplier", "multiplier is out of range")
		case c.Multiplier.Cmp(one) < 0 || c.Multiplier.Cmp(maxMultiplier) > 0:
			pr.add(path+".multiplier", fmt.Sprintf("multiplier %s is outside [1, 100]", c.Multiplier))
		}
	}
	return pr.err()
}

func sortedScenarios[V any](m map[carbon.Scenario]V) []carbon.Scenario {
	out := make([]carbon.Scenario, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// clone returns a deep copy of p, so that a caller's later edits to its
// maps and slices cannot change a published version.
func (p EarnPolicy) clone() EarnPolicy {
	q := p
	if p.ScenarioCaps != nil {
		q.ScenarioCaps = make(map[carbon.Scenario]carbon.Points, len(p.ScenarioCaps))
		for s, c := range p.ScenarioCaps {
			q.ScenarioCaps[s] = c
		}
	}
	q.Campaigns = make([]Campaign, len(p.Campaigns))
	for i, c := range p.Campaigns {
		c.Regions = slices.Clone(c.Regions)
		c.Scenarios = slices.Clone(c.Scenarios)
		q.Campaigns[i] = c
	}
	return q
}

// scenarioCap returns the daily cap for scenario s, zero for none.
func (p *EarnPolicy) scenarioCap(s carbon.Scenario) carbon.Points {
	if c, ok := p.ScenarioCaps[s]; ok {
		return c
	}
	return p.DefaultScenarioCap
}

// campaign returns the campaign whose multiplier applies to an activity, or
// nil.
func (p *EarnPolicy) campaign(a *carbon.Activity) *Campaign {
	var best *Campaign
	for i := range p.Campaigns {
		c := &p.Campaigns[i]
		if !c.Window.Contains(a.OccurredAt) ||
			(len(c.Regions) > 0 && !slices.Contains(c.Regions, a.Region)) ||
			(len(c.Scenarios) > 0 && !slices.Contains(c.Scenarios, a.Scenario)) {
			continue
		}
		if best == nil || c.Multiplier.Cmp(best.Multiplier) > 0 {
			best = c
		}
	}
	return best
}

// points returns the base points for a reduction of er, and the points
// after the multiplier m, both rounded down. The policy's limits keep both
// within int64 for any reduction a methodology can produce (at most the
// int64 milligrams the ledger holds).
func (p *EarnPolicy) points(er carbon.Mass, m decimal.Decimal) (base, multiplied carbon.Points, err error) {
	if mg, ok := wholeMg(er); ok {
		return p.pointsMg(mg, er, m)
	}
	return p.pointsDec(er, m)
}

// pointsMg is points for er, which is mg milligrams. It computes in
// integers where they hold the exact result, as they do for any usual rate,
// multiplier and reduction, and otherwise with decimals.
func (p *EarnPolicy) pointsMg(mg int64, er carbon.Mass, m decimal.Decimal) (base, multiplied carbon.Points, err error) {
	// base = trunc(mg/1000 × rc×10^re), multiplied = trunc(base × mc×10^me):
	// an integer product and a power of ten, truncated toward zero as
	// dec.TowardZero rounds.
	if rc, re, ok := smallDecimal(p.PointsPerGram); ok {
		if b, ok := mulScaleTrunc(mg, rc, int64(re)-3); ok {
			if mc, me, ok := smallDecimal(m); ok {
				if v, ok := mulScaleTrunc(b, mc, int64(me)); ok {
					return carbon.Points(b), carbon.Points(v), nil
				}
			}
		}
	}
	return p.pointsDec(er, m)
}

// pointsDec is points in decimal arithmetic.
func (p *EarnPolicy) pointsDec(er carbon.Mass, m decimal.Decimal) (base, multiplied carbon.Points, err error) {
	b, ok := dec.Int64(er.Grams().Mul(p.PointsPerGram), dec.TowardZero)
	if !ok {
		return 0, 0, fmt.Errorf("%s at %s points per gram does not fit in int64 points", er, p.PointsPerGram)
	}
	v, ok := dec.Int64(decimal.NewFromInt(b).Mul(m), dec.TowardZero)
	if !ok {
		return 0, 0, fmt.Errorf("%d points × %s does not fit in int64 points", b, m)
	}
	return carbon.Points(b), carbon.Points(v), nil
}

// policySet is a programme's policy versions, sorted by ValidFrom.
type policySet []policyVersion

// policyVersion is a published policy and its Ref, which every receipt
// names.
type policyVersion struct {
	EarnPolicy
	ref string
}

func newPolicySet(ps []EarnPolicy) (policySet, error) {
	out := make(policySet, 0, len(ps))
	refs := map[string]bool{}
	for i, p := range ps {
		if err := p.Validate(); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				for j := range ve.Problems {
					ve.Problems[j].Path = fmt.Sprintf("$[%d]%s", i, strings.TrimPrefix(ve.Problems[j].Path, "$"))
				}
			}
			return nil, err
		}
		if refs[p.Ref()] {
			return nil, &ValidationError{Kind: ErrInvalidPolicy, Problems: []Problem{{Path: fmt.Sprintf("$[%d]", i), Msg: fmt.Sprintf("policy %s listed twice", p.Ref())}}}
		}
		refs[p.Ref()] = true
		out = append(out, policyVersion{EarnPolicy: p.clone(), ref: p.Ref()})
	}
	slices.SortStableFunc(out, func(a, b policyVersion) int { return a.ValidFrom.Compare(b.ValidFrom) })
	for i := 1; i < len(out); i++ {
		if out[i].ValidFrom.Equal(out[i-1].ValidFrom) {
			return nil, &ValidationError{Kind: ErrInvalidPolicy, Problems: []Problem{{Path: "$", Msg: fmt.Sprintf(
				"policies %s and %s both take effect at %s", out[i-1].Ref(), out[i].Ref(), out[i].ValidFrom.Format(time.RFC3339))}}}
		}
	}
	return out, nil
}

// at returns the policy in force at t, or nil.
func (s policySet) at(t time.Time) *policyVersion {
	// The first version that takes effect after t; the one before it is in
	// force.
	i := sort.Search(len(s), func(i int) bool { return s[i].ValidFrom.After(t) })
	if i == 0 {
		return nil
	}
	return &s[i-1]
}
