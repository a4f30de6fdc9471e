package rewards

import (
	"context"
	"fmt"

	"github.com/carbonkit/carbonkit/carbon"
)

// BadgesOptions configures Badges. The zero value (or nil) means defaults.
type BadgesOptions struct {
	// Levels is the mascot level scale; nil (or a zero LevelScale) means
	// DefaultLevelScale().
	Levels *LevelScale
}

// Badges awards badges and tracks mascot levels from Earnings, keeping each
// user's state in a BadgeStore. Its definitions are fixed at construction.
// It is safe for concurrent use, and a level of a badge is awarded to a user
// at most once however many goroutines or processes apply earnings.
type Badges struct {
	store  BadgeStore
	defs   []Badge
	prog   *compiled
	levels *LevelScale
}

// NewBadges returns Badges awarding defs over store. Malformed definitions
// get a *ValidationError matching ErrInvalidBadge naming every problem; a nil
// store gets an *Error matching ErrInvalidArgument.
func NewBadges(store BadgeStore, defs []Badge, opts *BadgesOptions) (*Badges, error) {
	if store == nil {
		return nil, newErr("NewBadges", ErrInvalidArgument, "store is nil")
	}
	prog, err := compileBadges(defs)
	if err != nil {
		return nil, err
	}
	b := &Badges{store: store, defs: cloneBadges(defs), prog: prog, levels: DefaultLevelScale()}
	if opts != nil && opts.Levels != nil {
		b.levels = opts.Levels
	}
	return b, nil
}

// Definitions returns a copy of the badge definitions.
func (b *Badges) Definitions() []Badge { return cloneBadges(b.defs) }

// BadgeResult is what applying one Earning did.
type BadgeResult struct {
	// Applied is false when the Earning's key had been applied before, in
	// which case nothing changed and the rest is the user's current state.
	Applied bool `json:"applied"`
	// Awards are the badge levels this Earning awarded, by badge order and
	// level.
	Awards []Award `json:"awards,omitempty"`
	// Before and After are the user's mascot level status around the
	// Earning. A host tells the user of a new level when After.Level.Number
	// is above Before.Level.Number.
	Before LevelStatus `json:"before"`
	After  LevelStatus `json:"after"`
}

// Apply counts e towards the user's badges and mascot level and awards
// every badge level e makes met for the first time. Applying the same
// EarningKey again changes nothing (Applied false). An invalid Earning gets
// a *ValidationError matching ErrInvalidEarning; a lifetime total that would
// overflow gets an *Error matching ErrOverflow; a store failure one matching
// ErrStore. In every error case nothing changes.
func (b *Badges) Apply(ctx context.Context, e Earning) (BadgeResult, error) {
	if err := e.Validate(); err != nil {
		return BadgeResult{}, err
	}
	return b.apply(ctx, &e, true)
}

// apply is Apply for a valid e. Without levels, it leaves the result's
// Before and After zero and, for a key applied before, reads nothing: the
// Programme asks for levels only when it has a publisher to tell.
func (b *Badges) apply(ctx context.Context, e *Earning, levels bool) (BadgeResult, error) {
	const op = "Badges.Apply"
	run := badgeRun{prog: b.prog, e: *e, mg: e.reductionMg()}
	var applied bool
	var err error
	if ms, ok := b.store.(*MemBadgeStore); ok {
		applied, err = ms.update(ctx, e.User, e.Key(), nil, &run)
	} else {
		applied, err = updateBadges(ctx, b.store, e, &run)
	}
	if err != nil {
		return BadgeResult{}, storeErr(op, err)
	}
	if !applied {
		if !levels {
			return BadgeResult{}, nil
		}
		lv, err := b.Level(ctx, e.User)
		if err != nil {
			return BadgeResult{}, err
		}
		return BadgeResult{Before: lv, After: lv}, nil
	}
	res := BadgeResult{Applied: true, Awards: run.awards}
	if levels {
		res.Before, res.After = b.levels.For(run.before), b.levels.For(run.after)
	}
	return res, nil
}

// updateBadges runs run through store.Update. The function value that
// takes is of a copy, so that run need not leave the caller's stack.
func updateBadges(ctx context.Context, store BadgeStore, e *Earning, run *badgeRun) (bool, error) {
	r := *run
	applied, err := store.Update(ctx, e.User, e.Key(), r.apply)
	*run = r
	return applied, err
}

// badgeRun is one Earning being applied: the function a BadgeStore runs on
// the user's state, and what it found. The store may run it more than once.
type badgeRun struct {
	prog *compiled
	e    Earning
	mg   int64 // e's reduction in milligrams

	awards        []Award
	before, after carbon.Points // lifetime points
	touched       int           // what apply's first loop loaded, kept so that the loads are not optimised away
}

func (run *badgeRun) apply(st *BadgeState) error {
	prog, e := run.prog, &run.e
	run.awards = nil
	r := st.resolve(prog)
	cs := r.cs
	// A user's counters and their maps are scattered over the heap and,
	// with many users, out of cache: load them all before working on any,
	// so that the processor waits for the misses together.
	var touched int
	for _, c := range cs {
		if c != nil {
			touched += int(c.distinct) + len(c.members) + len(c.days)
		}
	}
	run.touched = touched
	run.before = lifetimeOf(cs)
	for i := range prog.accs {
		spec := &prog.accs[i]
		if !spec.counts(e) {
			continue
		}
		if cs[i] == nil {
			cs[i] = st.counter(spec.key, true)
		}
		if err := cs[i].add(spec, e, run.mg, st.undo); err != nil {
			return err
		}
	}
	for i := range prog.badges {
		cb := &prog.badges[i]
		mask := r.masks[i]
		if mask == cb.all {
			continue
		}
		for j, lv := range cb.levels {
			if mask&(1<<j) != 0 || !lv.met(prog, cs) {
				continue
			}
			a := Award{User: e.User, Badge: cb.id, Level: j + 1, AwardedAt: e.CreditedAt, Earning: e.Key()}
			r.masks[i] = st.award(a)
			run.awards = append(run.awards, a)
		}
	}
	run.after = lifetimeOf(cs)
	return nil
}

// lifetimeOf returns lifetime points from resolved counters: accumulator 0
// counts them.
func lifetimeOf(cs []*counter) carbon.Points {
	if cs[0] == nil {
		return 0
	}
	return cs[0].points
}

// Awards returns the badge levels awarded to user, in the order awarded. A
// malformed user ID gets an *Error matching ErrInvalidArgument.
func (b *Badges) Awards(ctx context.Context, user carbon.UserID) ([]Award, error) {
	st, err := b.load(ctx, "Badges.Awards", user)
	if err != nil {
		return nil, err
	}
	return st.Awards(), nil
}

// Level returns user's mascot level, from lifetime points earned. A
// malformed user ID gets an *Error matching ErrInvalidArgument.
func (b *Badges) Level(ctx context.Context, user carbon.UserID) (LevelStatus, error) {
	st, err := b.load(ctx, "Badges.Level", user)
	if err != nil {
		return LevelStatus{}, err
	}
	return b.levels.For(st.lifetime()), nil
}

// Progress is where a user stands on one badge.
type Progress struct {
	Badge  BadgeID `json:"badge"`
	Levels int     `json:"levels"` // how many levels the badge has
	// Awarded is how many of its levels the user has been awarded, and
	// Complete whether that is all of them.
	Awarded  int  `json:"awarded"`
	Complete bool `json:"complete"`
	// Level is the lowest level not yet awarded (the last level once
	// complete), and Measure the progress towards it.
	Level   int     `json:"level"`
	Measure Measure `json:"measure"`
}

// Measure is the progress of one criterion: Current towards Target, in the
// criterion's unit (points, milligrams of CO2e, actions, scenarios,
// partners, days; for all-of and any-of, criteria met); Met is whether the
// criterion is met now. Parts holds the progress of an all-of's, any-of's or
// window's criteria.
type Measure struct {
	Kind    CriterionKind `json:"kind"`
	Current int64         `json:"current"`
	Target  int64         `json:"target"`
	Met     bool          `json:"met"`
	Parts   []Measure     `json:"parts,omitempty"`
}

// Progress returns user's progress on every badge, in definition order. A
// malformed user ID gets an *Error matching ErrInvalidArgument.
func (b *Badges) Progress(ctx context.Context, user carbon.UserID) ([]Progress, error) {
	st, err := b.load(ctx, "Badges.Progress", user)
	if err != nil {
		return nil, err
	}
	cs := st.resolve(b.prog).cs
	out := make([]Progress, len(b.prog.badges))
	for i, cb := range b.prog.badges {
		p := Progress{Badge: cb.id, Levels: len(cb.levels)}
		next := 0
		for j := range cb.levels {
			if st.Awarded(cb.id, j+1) {
				p.Awarded++
			} else if next == 0 {
				next = j + 1
			}
		}
		p.Complete = next == 0
		if p.Complete {
			next = len(cb.levels)
		}
		p.Level = next
		p.Measure = cb.levels[next-1].eval(b.prog, cs)
		out[i] = p
	}
	return out, nil
}

func (b *Badges) load(ctx context.Context, op string, user carbon.UserID) (*BadgeState, error) {
	if err := user.Validate(); err != nil {
		return nil, &Error{Op: op, Kind: ErrInvalidArgument, Detail: fmt.Sprintf("user %q", user), Err: err}
	}
	st, err := b.store.Load(ctx, user)
	if err != nil {
		return nil, storeErr(op, err)
	}
	return st, nil
}

// met reports whether n is met by the counters of prog's accumulators, cs
// (nil for a counter never written). It is eval's Met, without the
// allocation of the parts.
func (n *node) met(prog *compiled, cs []*counter) bool {
	switch n.kind {
	case KindAllOf:
		for _, sub := range n.of {
			if !sub.met(prog, cs) {
				return false
			}
		}
		return true
	case KindAnyOf:
		for _, sub := range n.of {
			if sub.met(prog, cs) {
				return true
			}
		}
		return false
	case KindWindow:
		return n.of[0].met(prog, cs)
	}
	c := cs[n.acc]
	if c == nil {
		return false // every threshold is at least 1
	}
	if n.kind == KindFirst {
		return c.actions > 0
	}
	return c.value(prog.accs[n.acc].measure) >= n.target
}

// eval measures n against the counters of prog's accumulators, cs (nil
// for a counter never written).
func (n *node) eval(prog *compiled, cs []*counter) Measure {
	m := Measure{Kind: n.kind}
	switch n.kind {
	case KindAllOf, KindAnyOf:
		for _, sub := range n.of {
			part := sub.eval(prog, cs)
			if part.Met {
				m.Current++
			}
			m.Parts = append(m.Parts, part)
		}
		if n.kind == KindAllOf {
			m.Target = int64(len(n.of))
		} else {
			m.Target, m.Current = 1, min(m.Current, 1)
		}
		m.Met = m.Current >= m.Target
		return m
	case KindWindow:
		part := n.of[0].eval(prog, cs)
		m.Current, m.Target, m.Met, m.Parts = part.Current, part.Target, part.Met, []Measure{part}
		return m
	}
	c := cs[n.acc]
	if c == nil {
		c = &counter{}
	}
	m.Target = n.target
	switch n.kind {
	case KindFirst:
		m.Current = min(max(c.actions, 0), 1)
	default:
		m.Current = c.value(prog.accs[n.acc].measure)
	}
	m.Met = m.Current >= m.Target
	return m
}

func cloneBadges(defs []Badge) []Badge {
	out := make([]Badge, len(defs))
	for i, b := range defs {
		out[i] = b
		out[i].Levels = cloneCriteria(b.Levels)
	}
	return out
}

func cloneCriteria(cs []Criterion) []Criterion {
	if cs == nil {
		return nil
	}
	out := make([]Criterion, len(cs))
	for i, c := range cs {
		out[i] = c
		if c.Window != nil {
			w := *c.Window
			out[i].Window = &w
		}
		out[i].Of = cloneCriteria(c.Of)
	}
	return out
}
