package rewards

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// BadgeState is one user's badge bookkeeping: the counters badge criteria
// are measured from, and the awards made. Only Badges changes it; a
// BadgeStore keeps it, either as the value itself (MemBadgeStore) or as its
// JSON form (MarshalJSON, UnmarshalJSON), which is stable and canonical.
//
// Counters are named by what they measure, not by badge, so state survives
// adding, removing or reordering badges; a counter that no badge used before
// starts at zero when its badge is added (to count history, replay the
// earnings into a fresh store). The zero BadgeState is empty and ready to
// use. A BadgeState is not safe for concurrent use.
type BadgeState struct {
	counters map[string]*counter
	awards   []Award
	awarded  map[BadgeID]*uint64 // bit l-1 is set when level l is awarded
	undo     *journal            // set while MemBadgeStore runs an update on the live state
	resolved *resolved           // the counters of one compiled set, by accumulator
}

// resolved caches, for one compiled badge set, the state's counter of each
// accumulator (nil for one never written), so that applying an Earning
// touches counters without looking their names up. It is dropped whenever
// the counters map may have changed under it (Clone, a rollback).
type resolved struct {
	prog  *compiled
	cs    []*counter // by accumulator
	masks []uint64   // award masks, by badge (copies of the awarded map's)
}

// resolve returns the counters of prog's accumulators and the award masks
// of its badges.
func (s *BadgeState) resolve(prog *compiled) *resolved {
	if s.resolved == nil || s.resolved.prog != prog {
		r := &resolved{prog: prog, cs: make([]*counter, len(prog.accs)), masks: make([]uint64, len(prog.badges))}
		for i := range prog.accs {
			r.cs[i] = s.counters[prog.accs[i].key]
		}
		for i := range prog.badges {
			if m := s.awarded[prog.badges[i].id]; m != nil {
				r.masks[i] = *m
			}
		}
		s.resolved = r
	}
	return s.resolved
}

// counter is an accumulator's value. Only the fields of its measure are used.
type counter struct {
	points      carbon.Points
	reductionMg int64 // CO2e, milligrams
	actions     int64
	members     map[string]int64 // net actions per scenario or partner
	days        map[int64]int64  // net actions per day, numbered from 1970-01-01
	distinct    int64            // members or days with net actions above zero
	longest     int64            // longest run of consecutive days with net actions above zero
}

// Award is one badge level awarded to a user.
type Award struct {
	User  carbon.UserID `json:"user"`
	Badge BadgeID       `json:"badge"`
	Level int           `json:"level"` // from 1
	// AwardedAt is the CreditedAt of the Earning that met the level, which
	// Earning names.
	AwardedAt time.Time  `json:"awarded_at"`
	Earning   EarningKey `json:"earning"`
}

// Awards returns a copy of the awards, in the order made.
func (s *BadgeState) Awards() []Award { return slices.Clone(s.awards) }

// Awarded reports whether level of badge has been awarded.
func (s *BadgeState) Awarded(badge BadgeID, level int) bool {
	m := s.awarded[badge]
	return m != nil && level >= 1 && level <= 64 && *m&(1<<(level-1)) != 0
}

// Clone returns a deep copy of s.
func (s *BadgeState) Clone() *BadgeState {
	out := &BadgeState{awards: slices.Clone(s.awards)}
	if s.counters != nil {
		out.counters = make(map[string]*counter, len(s.counters))
		for k, c := range s.counters {
			cc := *c
			if c.members != nil {
				cc.members = make(map[string]int64, len(c.members))
				for m, n := range c.members {
					cc.members[m] = n
				}
			}
			if c.days != nil {
				cc.days = make(map[int64]int64, len(c.days))
				for d, n := range c.days {
					cc.days[d] = n
				}
			}
			out.counters[k] = &cc
		}
	}
	if s.awarded != nil {
		out.awarded = make(map[BadgeID]*uint64, len(s.awarded))
		for k, v := range s.awarded {
			m := *v
			out.awarded[k] = &m
		}
	}
	return out
}

// award records a, whose level must be 1 to 64, and returns the badge's
// award mask.
func (s *BadgeState) award(a Award) uint64 {
	s.awards = append(s.awards, a)
	m := s.awarded[a.Badge]
	if m == nil {
		if s.awarded == nil {
			s.awarded = map[BadgeID]*uint64{}
		}
		m = new(uint64)
		s.awarded[a.Badge] = m
		if s.undo != nil {
			s.undo.newMasks = append(s.undo.newMasks, a.Badge)
		}
	}
	if s.undo != nil {
		s.undo.masks = append(s.undo.masks, maskUndo{m: m, old: *m})
	}
	*m |= 1 << (a.Level - 1)
	return *m
}

// counter returns the counter named key, creating it if create is set (and
// otherwise returning nil for a counter never written).
func (s *BadgeState) counter(key string, create bool) *counter {
	c := s.counters[key]
	if c == nil && create {
		if s.counters == nil {
			s.counters = map[string]*counter{}
		}
		c = &counter{}
		s.counters[key] = c
		if s.undo != nil {
			s.undo.created = append(s.undo.created, key)
		}
	}
	return c
}

// lifetime returns lifetime points earned (which cs[0] of a resolved set
// also counts).
func (s *BadgeState) lifetime() carbon.Points {
	if c := s.counters[lifetimeKey]; c != nil {
		return c.points
	}
	return 0
}

// journal records how to undo the changes made to a live BadgeState, so
// that MemBadgeStore can run an update in place (rather than on a copy) and
// still discard it when fn fails. The state's header (its maps and slice)
// is restored by the store; the journal restores what the maps hold.
type journal struct {
	counters []counterUndo
	members  []mapUndo[string, int64]
	days     []mapUndo[int64, int64]
	created  []string  // counters added
	newMasks []BadgeID // award masks added
	masks    []maskUndo
}

type maskUndo struct {
	m   *uint64
	old uint64
}

type counterUndo struct {
	c   *counter
	old counter
}

type mapUndo[K comparable, V any] struct {
	m       map[K]V
	k       K
	old     V
	existed bool
}

func (j *journal) reset() {
	clear(j.counters) // drop references to counters and maps
	clear(j.members)
	clear(j.days)
	clear(j.masks)
	j.counters, j.members, j.days = j.counters[:0], j.members[:0], j.days[:0]
	j.created, j.newMasks, j.masks = j.created[:0], j.newMasks[:0], j.masks[:0]
}

// rollback undoes the recorded changes to s's maps, latest first, and drops
// s's resolved counters.
func (j *journal) rollback(s *BadgeState) {
	s.resolved = nil
	for i := len(j.masks) - 1; i >= 0; i-- {
		*j.masks[i].m = j.masks[i].old
	}
	for _, b := range j.newMasks {
		delete(s.awarded, b)
	}
	for i := len(j.days) - 1; i >= 0; i-- {
		j.days[i].restore()
	}
	for i := len(j.members) - 1; i >= 0; i-- {
		j.members[i].restore()
	}
	for i := len(j.counters) - 1; i >= 0; i-- {
		*j.counters[i].c = j.counters[i].old
	}
	for _, k := range j.created {
		delete(s.counters, k)
	}
}

func (u mapUndo[K, V]) restore() {
	if u.existed {
		u.m[u.k] = u.old
	} else {
		delete(u.m, u.k)
	}
}

// add applies e, whose reduction is mg milligrams, to the counter of spec.
func (c *counter) add(spec *accSpec, e *Earning, mg int64, undo *journal) error {
	if undo != nil {
		undo.counters = append(undo.counters, counterUndo{c: c, old: *c})
	}
	switch spec.measure {
	case measurePoints:
		p, err := c.points.Add(e.Points)
		if err != nil {
			return &Error{Op: "Badges.Apply", Kind: ErrOverflow, Detail: fmt.Sprintf("points of user %q", e.User), Err: err}
		}
		c.points = p
	case measureReduction:
		sum, ok := addInt64(c.reductionMg, mg)
		if !ok {
			return newErr("Badges.Apply", ErrOverflow, fmt.Sprintf("reduction of user %q", e.User))
		}
		c.reductionMg = sum
	case measureActions:
		c.actions += e.sign() // a count of earnings cannot reach int64's limits
	case measureScenarios:
		c.distinct += bump(&c.members, string(e.Scenario), e.sign(), undo.membersLog())
	case measurePartners:
		c.distinct += bump(&c.members, string(e.Partner), e.sign(), undo.membersLog())
	case measureDays:
		day := dayNumber(e.OccurredAt, spec.tz)
		was := c.days[day] > 0
		c.distinct += bump(&c.days, day, e.sign(), undo.daysLog())
		now := c.days[day] > 0
		switch {
		case !was && now:
			c.longest = max(c.longest, c.runThrough(day))
		case was && !now:
			c.longest = c.longestRun()
		}
	}
	return nil
}

// membersLog and daysLog return where to record map changes, or nil when
// there is no journal.
func (j *journal) membersLog() *[]mapUndo[string, int64] {
	if j == nil {
		return nil
	}
	return &j.members
}

func (j *journal) daysLog() *[]mapUndo[int64, int64] {
	if j == nil {
		return nil
	}
	return &j.days
}

// bump adds d to k's net actions in *m and returns the change in the number
// of keys above zero (-1, 0 or +1). Keys at zero are dropped. The change is
// recorded in undo, when there is one.
func bump[K comparable](m *map[K]int64, k K, d int64, undo *[]mapUndo[K, int64]) int64 {
	if *m == nil {
		*m = map[K]int64{}
	}
	n, existed := (*m)[k]
	if undo != nil {
		*undo = append(*undo, mapUndo[K, int64]{m: *m, k: k, old: n, existed: existed})
	}
	if n+d == 0 {
		delete(*m, k)
	} else {
		(*m)[k] = n + d
	}
	switch was, now := n > 0, n+d > 0; {
	case !was && now:
		return 1
	case was && !now:
		return -1
	}
	return 0
}

func addInt64(a, b int64) (int64, bool) {
	s := a + b
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

// dayNumber returns the number of the calendar day of t in loc, counted from
// 1970-01-01, so that neighbouring days differ by one.
func dayNumber(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// runThrough returns the length of the run of active days containing day.
func (c *counter) runThrough(day int64) int64 {
	run := int64(1)
	for d := day - 1; c.days[d] > 0; d-- {
		run++
	}
	for d := day + 1; c.days[d] > 0; d++ {
		run++
	}
	return run
}

// longestRun recounts the longest run of active days.
func (c *counter) longestRun() int64 {
	days := make([]int64, 0, len(c.days))
	for d, n := range c.days {
		if n > 0 {
			days = append(days, d)
		}
	}
	slices.Sort(days)
	var longest, run int64
	for i, d := range days {
		if i > 0 && d == days[i-1]+1 {
			run++
		} else {
			run = 1
		}
		longest = max(longest, run)
	}
	return longest
}

// value returns the counter's measure as an integer.
func (c *counter) value(m measure) int64 {
	switch m {
	case measurePoints:
		return int64(c.points)
	case measureReduction:
		return c.reductionMg
	case measureActions:
		return c.actions
	case measureScenarios, measurePartners:
		return c.distinct
	case measureDays:
		return c.longest
	}
	return 0
}

// stateJSON is BadgeState's JSON form.
type stateJSON struct {
	Counters map[string]counterJSON `json:"counters,omitempty"`
	Awards   []Award                `json:"awards,omitempty"`
}

type counterJSON struct {
	Points      carbon.Points    `json:"points,omitempty"`
	ReductionMg int64            `json:"reduction_mg,omitempty"`
	Actions     int64            `json:"actions,omitempty"`
	Members     map[string]int64 `json:"members,omitempty"`
	Days        map[int64]int64  `json:"days,omitempty"`
}

// MarshalJSON encodes the state canonically: equal states encode to equal
// bytes.
func (s *BadgeState) MarshalJSON() ([]byte, error) {
	out := stateJSON{Awards: s.awards}
	if len(s.counters) > 0 {
		out.Counters = make(map[string]counterJSON, len(s.counters))
		for k, c := range s.counters {
			out.Counters[k] = counterJSON{Points: c.points, ReductionMg: c.reductionMg, Actions: c.actions, Members: c.members, Days: c.days}
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON decodes a state MarshalJSON encoded, replacing s. Malformed
// input returns an error and leaves s unchanged.
func (s *BadgeState) UnmarshalJSON(b []byte) error {
	var in stateJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("rewards: decoding badge state: %w", err)
	}
	next := BadgeState{}
	for k, cj := range in.Counters {
		c := next.counter(k, true)
		c.points, c.reductionMg, c.actions = cj.Points, cj.ReductionMg, cj.Actions
		c.members, c.days = cj.Members, cj.Days
		for _, n := range cj.Members {
			if n > 0 {
				c.distinct++
			}
		}
		for _, n := range cj.Days {
			if n > 0 {
				c.distinct++
			}
		}
		c.longest = c.longestRun()
	}
	for i, a := range in.Awards {
		if a.Level < 1 || a.Level > MaxBadgeLevels {
			return fmt.Errorf("rewards: decoding badge state: award %d has level %d, outside 1 to %d", i, a.Level, MaxBadgeLevels)
		}
		next.award(a)
	}
	*s = next
	return nil
}
