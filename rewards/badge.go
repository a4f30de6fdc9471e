package rewards

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
)

// BadgeID names a badge. It takes the form of a carbon identifier
// (carbon.ValidateID).
type BadgeID string

// Badge defines a badge with one or more levels. Levels[i] is the criterion
// for level i+1; a badge without levels of its own has exactly one. A user
// is awarded each level once, ever, when an Earning first makes its
// criterion met (reaching level 3 at once awards levels 1, 2 and 3). Awards
// are never revoked: a reversal lowers progress but leaves awards standing.
//
// The levels of a badge with more than one must measure the same thing the
// same way (the same kind, filters, time zone and window) with strictly
// increasing thresholds; only threshold kinds (points, reduction, actions,
// scenarios, partners, streak), alone or inside one window, can have levels.
//
// A Badge's JSON form is the one ParseBadges reads and encoding/json writes.
type Badge struct {
	ID          BadgeID     `json:"id"`
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	Levels      []Criterion `json:"levels"`
}

// CriterionKind is one of the closed set of kinds of Criterion.
type CriterionKind string

// The criterion kinds. Threshold kinds are met when their measure reaches
// Min (or MinReduction); the measures count only earnings that pass the
// criterion's Scenario and Partner filters and the windows it is inside. An
// action is one Earning: a credit counts +1, its reversal -1.
const (
	// KindPoints: at least Min lifetime points earned.
	KindPoints CriterionKind = "points"
	// KindReduction: at least MinReduction of CO2e reduced.
	KindReduction CriterionKind = "reduction"
	// KindActions: at least Min actions.
	KindActions CriterionKind = "actions"
	// KindScenarios: actions in at least Min distinct scenarios.
	KindScenarios CriterionKind = "scenarios"
	// KindPartners: actions with at least Min distinct partners.
	KindPartners CriterionKind = "partners"
	// KindStreak: actions on at least Min consecutive calendar days in
	// TimeZone, at any time (the longest run so far).
	KindStreak CriterionKind = "streak"
	// KindFirst: a first action in Scenario.
	KindFirst CriterionKind = "first"
	// KindWindow: Of[0], counting only actions that occurred in Window.
	KindWindow CriterionKind = "window"
	// KindAllOf: every criterion in Of.
	KindAllOf CriterionKind = "all"
	// KindAnyOf: at least one criterion in Of.
	KindAnyOf CriterionKind = "any"
)

// criterionKinds lists the kinds, in documentation order. It is read-only.
var criterionKinds = []CriterionKind{KindPoints, KindReduction, KindActions, KindScenarios,
	KindPartners, KindStreak, KindFirst, KindWindow, KindAllOf, KindAnyOf}

// threshold reports whether k is met by a measure reaching a threshold.
func (k CriterionKind) threshold() bool {
	switch k {
	case KindPoints, KindReduction, KindActions, KindScenarios, KindPartners, KindStreak:
		return true
	}
	return false
}

// Criterion is one condition of a badge level. Which fields a kind uses is
// documented on the kinds; every other field must be zero.
type Criterion struct {
	Kind CriterionKind `json:"kind"`
	// Min is the threshold of points, actions, scenarios, partners or
	// streak days; at least 1.
	Min int64 `json:"min,omitempty"`
	// MinReduction is the threshold of KindReduction: more than zero, a
	// whole number of milligrams.
	MinReduction carbon.Mass `json:"min_reduction,omitzero"`
	// Scenario and Partner restrict a threshold kind (or KindFirst, for
	// Partner) to earnings from that scenario or partner. KindFirst requires
	// Scenario; KindScenarios takes no Scenario and KindPartners no Partner.
	Scenario carbon.Scenario  `json:"scenario,omitempty"`
	Partner  carbon.PartnerID `json:"partner,omitempty"`
	// TimeZone is the IANA name of the zone whose calendar days a streak
	// counts ("Asia/Shanghai"); required for KindStreak only. It is loaded
	// with time.LoadLocation: a host whose system has no zone database
	// imports time/tzdata.
	TimeZone string `json:"time_zone,omitempty"`
	// Window restricts Of[0] of a KindWindow criterion to actions that
	// occurred in it.
	Window *Window `json:"window,omitempty"`
	// Of holds the criteria of KindAllOf and KindAnyOf (1 to MaxCriteriaOf)
	// and the single criterion of KindWindow.
	Of []Criterion `json:"of,omitempty"`
}

// Limits on badge definitions, which keep evaluation cheap on every Earning.
const (
	MaxBadges         = 1000 // badges in one set
	MaxBadgeLevels    = 20   // levels of one badge
	MaxCriteriaOf     = 16   // criteria in one all-of or any-of
	MaxCriterionDepth = 8    // nesting of all-of, any-of and window
	MaxBadgeTitleLen  = 256  // bytes
	MaxBadgeDescLen   = 2048 // bytes
)

// ValidateBadges checks a set of badge definitions and returns nil or a
// *ValidationError (matching ErrInvalidBadge) naming every problem with the
// JSON path it would have in the array ParseBadges reads: "$[2].levels[0].min".
func ValidateBadges(defs []Badge) error {
	_, err := compileBadges(defs)
	return err
}

// compiled is an evaluable set of badges: each level's criterion as a tree of
// nodes over shared accumulators.
type compiled struct {
	badges []compiledBadge
	accs   []accSpec // accs[0] counts lifetime points
}

type compiledBadge struct {
	id     BadgeID
	levels []*node
	all    uint64 // the award mask with every level set
}

// node is a compiled criterion.
type node struct {
	kind   CriterionKind
	acc    int   // accumulator of a threshold kind or KindFirst
	target int64 // threshold (milligrams for a reduction)
	of     []*node
}

// measure is what an accumulator counts.
type measure uint8

const (
	measurePoints measure = iota + 1
	measureReduction
	measureActions
	measureScenarios
	measurePartners
	measureDays
)

// accSpec is one accumulator: a measure over the earnings that pass its
// filters. Its key names it in a BadgeState, independent of the definitions'
// order, so state survives adding or reordering badges.
type accSpec struct {
	measure  measure
	scenario carbon.Scenario
	partner  carbon.PartnerID
	from, to time.Time // window; zero for unbounded
	tz       *time.Location
	key      string
}

func (a *accSpec) counts(e *Earning) bool {
	return (a.scenario == "" || a.scenario == e.Scenario) &&
		(a.partner == "" || a.partner == e.Partner) &&
		(a.from.IsZero() || !e.OccurredAt.Before(a.from)) &&
		(a.to.IsZero() || e.OccurredAt.Before(a.to))
}

// lifetimeKey names the accumulator of lifetime points, which every
// compiled set has first.
const lifetimeKey = "points"

// compiler builds a compiled set, validating as it goes.
type compiler struct {
	p     problems
	accs  []accSpec
	index map[string]int
	zones map[string]*time.Location
}

func compileBadges(defs []Badge) (*compiled, error) {
	c := &compiler{
		p:     problems{kind: ErrInvalidBadge},
		accs:  []accSpec{{measure: measurePoints, key: lifetimeKey}},
		index: map[string]int{lifetimeKey: 0},
		zones: map[string]*time.Location{},
	}
	if len(defs) > MaxBadges {
		c.p.add("$", fmt.Sprintf("%d badges, more than %d", len(defs), MaxBadges))
		return nil, c.p.err()
	}
	out := &compiled{}
	seen := map[BadgeID]int{}
	for i, b := range defs {
		path := fmt.Sprintf("$[%d]", i)
		idProblem(&c.p, path+".id", carbon.ValidateID("badge", string(b.ID)))
		if j, dup := seen[b.ID]; dup && b.ID != "" {
			c.p.add(path+".id", fmt.Sprintf("badge %q is already defined at $[%d]", b.ID, j))
		} else {
			seen[b.ID] = i
		}
		textProblem(&c.p, path+".title", b.Title, MaxBadgeTitleLen, true)
		textProblem(&c.p, path+".description", b.Description, MaxBadgeDescLen, false)
		cb := compiledBadge{id: b.ID}
		switch {
		case len(b.Levels) == 0:
			c.p.add(path+".levels", "no levels: a badge has at least one")
		case len(b.Levels) > MaxBadgeLevels:
			c.p.add(path+".levels", fmt.Sprintf("%d levels, more than %d", len(b.Levels), MaxBadgeLevels))
		}
		for j, lv := range b.Levels {
			cb.levels = append(cb.levels, c.criterion(fmt.Sprintf("%s.levels[%d]", path, j), lv, 1, time.Time{}, time.Time{}))
		}
		if len(b.Levels) > 1 && len(b.Levels) <= MaxBadgeLevels {
			c.checkLevels(path, b.Levels)
		}
		cb.all = 1<<len(cb.levels) - 1
		out.badges = append(out.badges, cb)
	}
	if err := c.p.err(); err != nil {
		return nil, err
	}
	out.accs = c.accs
	return out, nil
}

// criterion validates cr and compiles it; from and to bound the windows it
// is inside.
func (c *compiler) criterion(path string, cr Criterion, depth int, from, to time.Time) *node {
	n := &node{kind: cr.Kind}
	if depth > MaxCriterionDepth {
		c.p.add(path, fmt.Sprintf("criteria nested more than %d deep", MaxCriterionDepth))
		return n
	}
	if !slices.Contains(criterionKinds, cr.Kind) {
		names := make([]string, len(criterionKinds))
		for i, k := range criterionKinds {
			names[i] = string(k)
		}
		c.p.add(path+".kind", fmt.Sprintf("unknown kind %q: want one of %s", cr.Kind, strings.Join(names, ", ")))
		return n
	}
	// Fields the kind does not use must be zero.
	unused := func(field string, set bool) {
		if set {
			c.p.add(path+"."+field, fmt.Sprintf("kind %q takes no %s", cr.Kind, field))
		}
	}
	switch cr.Kind {
	case KindWindow, KindAllOf, KindAnyOf:
		unused("min", cr.Min != 0)
		unused("min_reduction", !cr.MinReduction.IsZero())
		unused("scenario", cr.Scenario != "")
		unused("partner", cr.Partner != "")
		unused("time_zone", cr.TimeZone != "")
		if cr.Kind == KindWindow {
			if cr.Window == nil {
				c.p.add(path+".window", "kind \"window\" needs a window")
			} else {
				before := len(c.p.list)
				w := *cr.Window
				w.check(&c.p, path+".window")
				if len(c.p.list) == before {
					// Inside another window, only the overlap counts.
					if !from.IsZero() && w.Start.Before(from) {
						w.Start = from
					}
					if !to.IsZero() && w.End.After(to) {
						w.End = to
					}
					if !w.Start.Before(w.End) {
						c.p.add(path+".window", "window does not overlap the window it is inside")
					}
					from, to = w.Start, w.End
				}
			}
			if len(cr.Of) != 1 {
				c.p.add(path+".of", fmt.Sprintf("kind \"window\" takes exactly one criterion, not %d", len(cr.Of)))
			}
		} else {
			unused("window", cr.Window != nil)
			if len(cr.Of) == 0 || len(cr.Of) > MaxCriteriaOf {
				c.p.add(path+".of", fmt.Sprintf("kind %q takes 1 to %d criteria, not %d", cr.Kind, MaxCriteriaOf, len(cr.Of)))
			}
		}
		for i, sub := range cr.Of[:min(len(cr.Of), MaxCriteriaOf)] {
			n.of = append(n.of, c.criterion(fmt.Sprintf("%s.of[%d]", path, i), sub, depth+1, from, to))
		}
		return n
	}
	unused("window", cr.Window != nil)
	unused("of", len(cr.Of) > 0)
	if cr.Scenario != "" {
		idProblem(&c.p, path+".scenario", cr.Scenario.Validate())
	}
	if cr.Partner != "" {
		idProblem(&c.p, path+".partner", cr.Partner.Validate())
	}
	spec := accSpec{scenario: cr.Scenario, partner: cr.Partner, from: from, to: to}
	switch cr.Kind {
	case KindReduction:
		unused("min", cr.Min != 0)
		mg, err := cr.MinReduction.IntIn(carbon.Milligram, carbon.TowardZero)
		switch {
		case cr.MinReduction.Sign() <= 0:
			c.p.add(path+".min_reduction", fmt.Sprintf("threshold %s must be more than zero", cr.MinReduction))
		case err != nil:
			c.p.add(path+".min_reduction", fmt.Sprintf("threshold %s is too large", cr.MinReduction))
		case !cr.MinReduction.Equal(carbon.Grams(decimal.New(mg, -3))):
			c.p.add(path+".min_reduction", fmt.Sprintf("threshold %s is not a whole number of milligrams", cr.MinReduction))
		}
		n.target = mg
		spec.measure = measureReduction
	case KindFirst:
		unused("min", cr.Min != 0)
		unused("min_reduction", !cr.MinReduction.IsZero())
		if cr.Scenario == "" {
			c.p.add(path+".scenario", "kind \"first\" needs a scenario")
		}
		n.target = 1
		spec.measure = measureActions
	default:
		unused("min_reduction", !cr.MinReduction.IsZero())
		if cr.Min < 1 {
			c.p.add(path+".min", fmt.Sprintf("threshold %d must be at least 1", cr.Min))
		}
		n.target = cr.Min
		switch cr.Kind {
		case KindPoints:
			spec.measure = measurePoints
		case KindActions:
			spec.measure = measureActions
		case KindScenarios:
			unused("scenario", cr.Scenario != "")
			spec.measure, spec.scenario = measureScenarios, ""
		case KindPartners:
			unused("partner", cr.Partner != "")
			spec.measure, spec.partner = measurePartners, ""
		case KindStreak:
			spec.measure = measureDays
			spec.tz = c.zone(path+".time_zone", cr.TimeZone)
		}
	}
	if cr.Kind != KindStreak {
		unused("time_zone", cr.TimeZone != "")
	}
	n.acc = c.acc(spec)
	return n
}

// zone loads an IANA time zone once per compilation.
func (c *compiler) zone(path, name string) *time.Location {
	switch name {
	case "":
		c.p.add(path, "kind \"streak\" needs a time zone")
		return time.UTC
	case "Local":
		c.p.add(path, "time zone \"Local\" depends on the host: name the zone")
		return time.UTC
	}
	if loc, ok := c.zones[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		c.p.add(path, fmt.Sprintf("unknown time zone %q", name))
		return time.UTC
	}
	c.zones[name] = loc
	return loc
}

// acc returns the index of the accumulator spec, adding it if new.
func (c *compiler) acc(spec accSpec) int {
	var b strings.Builder
	b.WriteString([]string{measurePoints: "points", measureReduction: "reduction", measureActions: "actions",
		measureScenarios: "scenarios", measurePartners: "partners", measureDays: "days"}[spec.measure])
	if spec.scenario != "" {
		b.WriteString(" scenario=" + string(spec.scenario))
	}
	if spec.partner != "" {
		b.WriteString(" partner=" + string(spec.partner))
	}
	if !spec.from.IsZero() {
		b.WriteString(" from=" + spec.from.UTC().Format(time.RFC3339Nano))
		b.WriteString(" to=" + spec.to.UTC().Format(time.RFC3339Nano))
	}
	if spec.tz != nil {
		b.WriteString(" tz=" + spec.tz.String())
	}
	spec.key = b.String()
	if i, ok := c.index[spec.key]; ok {
		return i
	}
	c.accs = append(c.accs, spec)
	c.index[spec.key] = len(c.accs) - 1
	return len(c.accs) - 1
}

// checkLevels checks that a levelled badge's levels measure the same thing
// with strictly increasing thresholds.
func (c *compiler) checkLevels(path string, levels []Criterion) {
	leaf := func(cr Criterion) (Criterion, bool) {
		if cr.Kind == KindWindow && len(cr.Of) == 1 {
			cr = cr.Of[0]
		}
		return cr, cr.Kind.threshold()
	}
	first, ok := leaf(levels[0])
	if !ok {
		c.p.add(path+".levels", fmt.Sprintf("kind %q cannot have levels: only a threshold kind, alone or in one window, can", levels[0].Kind))
		return
	}
	for i := 1; i < len(levels); i++ {
		lp := fmt.Sprintf("%s.levels[%d]", path, i)
		cur, ok := leaf(levels[i])
		sameWindow := (levels[i].Window == nil) == (levels[0].Window == nil) &&
			(levels[i].Window == nil || levels[i].Window.Equal(*levels[0].Window))
		if !ok || cur.Kind != first.Kind || cur.Scenario != first.Scenario || cur.Partner != first.Partner ||
			cur.TimeZone != first.TimeZone || levels[i].Kind != levels[0].Kind || !sameWindow {
			c.p.add(lp, "level does not measure the same thing as level 1: only the threshold may change")
			continue
		}
		prev, _ := leaf(levels[i-1])
		if cur.Kind == KindReduction {
			if cur.MinReduction.Cmp(prev.MinReduction) <= 0 {
				c.p.add(lp+reducePath(levels[i])+".min_reduction", fmt.Sprintf("threshold %s is not more than level %d's %s", cur.MinReduction, i, prev.MinReduction))
			}
		} else if cur.Min <= prev.Min {
			c.p.add(lp+reducePath(levels[i])+".min", fmt.Sprintf("threshold %d is not more than level %d's %d", cur.Min, i, prev.Min))
		}
	}
}

// reducePath is the path from a level to its threshold leaf.
func reducePath(cr Criterion) string {
	if cr.Kind == KindWindow {
		return ".of[0]"
	}
	return ""
}

func textProblem(p *problems, path, s string, maxLen int, required bool) {
	switch {
	case s == "" && required:
		p.add(path, "is empty")
	case len(s) > maxLen:
		p.add(path, fmt.Sprintf("is %d bytes, more than %d", len(s), maxLen))
	case !utf8.ValidString(s):
		p.add(path, "is not valid UTF-8")
	}
}
