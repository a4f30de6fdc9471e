package rewards

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
)

// Month is a calendar month. It is comparable; its text form is "2026-04".
// The zero Month is not valid.
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf returns the month of t in loc; a nil loc means UTC (where
// time.Time.In would panic).
func MonthOf(t time.Time, loc *time.Location) Month {
	if loc == nil {
		loc = time.UTC
	}
	y, m, _ := t.In(loc).Date()
	return Month{Year: y, Month: m}
}

// ParseMonth reads a "2006-01" month. It returns an *Error matching
// ErrInvalidArgument for anything else, or a month that is not Valid.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	m := Month{Year: t.Year(), Month: t.Month()}
	if err != nil || !m.Valid() {
		return Month{}, newErr("ParseMonth", ErrInvalidArgument, fmt.Sprintf("%q is not a 2006-01 month from %v to %v", s, minMonth, maxMonth))
	}
	return m, nil
}

// The first and last valid months (read-only): those of [minTime,
// maxTime) and one more at either end, for west of UTC the first times
// fall in December 1899 and east of it the last in January 2200.
var (
	minMonth = Month{Year: 1899, Month: time.December}
	maxMonth = Month{Year: 2200, Month: time.January}
)

// Valid reports whether m is a month from December 1899 to January 2200:
// the months in which the times an Earning can carry (1900 to 2199 in
// UTC) fall, in any time zone NewFootprints accepts, so that Footprints
// can place every valid Earning in a valid month.
func (m Month) Valid() bool {
	return m.Month >= time.January && m.Month <= time.December && m.Compare(minMonth) >= 0 && m.Compare(maxMonth) <= 0
}

// Compare returns -1, 0 or +1 as m is before, the same as or after n.
func (m Month) Compare(n Month) int {
	return cmp.Or(cmp.Compare(m.Year, n.Year), cmp.Compare(m.Month, n.Month))
}

// String formats m as "2026-04".
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// MarshalText encodes m as its String form; an invalid month is an error.
func (m Month) MarshalText() ([]byte, error) {
	if !m.Valid() {
		return nil, newErr("Month.MarshalText", ErrInvalidArgument, fmt.Sprintf("month %d of year %d", int(m.Month), m.Year))
	}
	return []byte(m.String()), nil
}

// UnmarshalText decodes what ParseMonth reads.
func (m *Month) UnmarshalText(b []byte) error {
	v, err := ParseMonth(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// FootprintCell is the finest grain of a footprint: one month, scenario and
// partner. It is comparable.
type FootprintCell struct {
	Month    Month            `json:"month"`
	Scenario carbon.Scenario  `json:"scenario"`
	Partner  carbon.PartnerID `json:"partner"`
}

// FootprintTotals is what a user reduced and earned, and in how many
// actions (credits count +1, reversals -1). It holds a carbon.Mass and so
// must not be compared with ==.
type FootprintTotals struct {
	Reduction carbon.Mass   `json:"reduction"`
	Points    carbon.Points `json:"points"`
	Actions   int64         `json:"actions"`
}

// Add returns t + u, or an *Error matching ErrOverflow.
func (t FootprintTotals) Add(u FootprintTotals) (FootprintTotals, error) {
	p, err := t.Points.Add(u.Points)
	if err == nil && ((u.Actions > 0 && t.Actions > maxInt64-u.Actions) || (u.Actions < 0 && t.Actions < minInt64-u.Actions)) {
		err = &carbon.OverflowError{Op: "+", A: fmt.Sprint(t.Actions), B: fmt.Sprint(u.Actions)}
	}
	if err != nil {
		return FootprintTotals{}, &Error{Op: "FootprintTotals.Add", Kind: ErrOverflow, Err: err}
	}
	return FootprintTotals{Reduction: t.Reduction.Add(u.Reduction), Points: p, Actions: t.Actions + u.Actions}, nil
}

// Equal reports whether t and u are the same totals.
func (t FootprintTotals) Equal(u FootprintTotals) bool {
	return t.Reduction.Equal(u.Reduction) && t.Points == u.Points && t.Actions == u.Actions
}

const (
	maxInt64 = 1<<63 - 1
	minInt64 = -1 << 63
)

// FootprintRow is the totals of one cell.
type FootprintRow struct {
	FootprintCell
	FootprintTotals
}

// FootprintStore keeps each user's footprint cells. Implementations must be
// safe for concurrent use; rewardstest.RunFootprintStore checks one.
type FootprintStore interface {
	// Add adds d to user's cell, once per key: a key already added for user
	// returns applied=false and changes nothing. A total that would leave
	// int64 (the reduction counted in milligrams) returns an error matching
	// ErrOverflow, and an empty user, an invalid month or a reduction that
	// is not a whole number of milligrams one matching ErrInvalidArgument;
	// in every error case nothing changes.
	Add(ctx context.Context, user carbon.UserID, key EarningKey, cell FootprintCell, d FootprintTotals) (applied bool, err error)
	// Rows returns user's cells with months from from to to inclusive,
	// ordered by month, scenario and partner; none for a user never added.
	Rows(ctx context.Context, user carbon.UserID, from, to Month) ([]FootprintRow, error)
}

// Footprints keeps users' footprints, by month in a stated time zone. It is
// safe for concurrent use.
type Footprints struct {
	store FootprintStore
	loc   *time.Location
}

// NewFootprints returns Footprints over store, placing earnings in the
// months of loc ("Asia/Shanghai": an earning at 23:30 UTC on 31 March is an
// April one). A nil store or loc, or a loc that puts the first or last
// time an Earning can carry outside the valid months (an offset from UTC
// of weeks, which only time.FixedZone makes), gets an *Error matching
// ErrInvalidArgument.
func NewFootprints(store FootprintStore, loc *time.Location) (*Footprints, error) {
	switch {
	case store == nil:
		return nil, newErr("NewFootprints", ErrInvalidArgument, "store is nil")
	case loc == nil:
		return nil, newErr("NewFootprints", ErrInvalidArgument, "time zone is nil")
	case !MonthOf(minTime, loc).Valid() || !MonthOf(maxTime.Add(-1), loc).Valid():
		return nil, newErr("NewFootprints", ErrInvalidArgument, fmt.Sprintf("time zone %q puts times of %s outside the months %v to %v", loc, timeRange, minMonth, maxMonth))
	}
	return &Footprints{store: store, loc: loc}, nil
}

// Apply adds e to the user's footprint in the month of its OccurredAt (so a
// reversal subtracts from the month of the action it reverses), and reports
// whether it was new: the same EarningKey again changes nothing. An invalid
// Earning gets a *ValidationError matching ErrInvalidEarning; an overflowing
// total an *Error matching ErrOverflow; a store failure ErrStore. In every
// error case nothing changes.
func (f *Footprints) Apply(ctx context.Context, e Earning) (bool, error) {
	if err := e.Validate(); err != nil {
		return false, err
	}
	return f.apply(ctx, &e)
}

// apply is Apply for a valid e.
func (f *Footprints) apply(ctx context.Context, e *Earning) (bool, error) {
	cell := FootprintCell{Month: MonthOf(e.OccurredAt, f.loc), Scenario: e.Scenario, Partner: e.Partner}
	d := FootprintTotals{Reduction: e.Reduction, Points: e.Points, Actions: e.sign()}
	var ok bool
	var err error
	if ms, mem := f.store.(*MemFootprintStore); mem {
		ok, err = ms.add(ctx, e.User, e.Key(), &cell, &d)
	} else {
		ok, err = f.store.Add(ctx, e.User, e.Key(), cell, d)
	}
	return ok, storeErr("Footprints.Apply", err)
}

// Footprint is a user's footprint over a range of months.
type Footprint struct {
	User       carbon.UserID                        `json:"user"`
	From       Month                                `json:"from"`
	To         Month                                `json:"to"`
	TimeZone   string                               `json:"time_zone"`
	Total      FootprintTotals                      `json:"total"`
	ByScenario map[carbon.Scenario]FootprintTotals  `json:"by_scenario"`
	ByPartner  map[carbon.PartnerID]FootprintTotals `json:"by_partner"`
	ByMonth    map[Month]FootprintTotals            `json:"by_month"`
	Rows       []FootprintRow                       `json:"rows"` // by month, scenario, partner
}

// Report returns user's footprint from month from to month to inclusive. A
// malformed user, an invalid month, or to before from gets an *Error
// matching ErrInvalidArgument; totals beyond int64 ErrOverflow.
func (f *Footprints) Report(ctx context.Context, user carbon.UserID, from, to Month) (Footprint, error) {
	const op = "Footprints.Report"
	if err := user.Validate(); err != nil {
		return Footprint{}, &Error{Op: op, Kind: ErrInvalidArgument, Detail: fmt.Sprintf("user %q", user), Err: err}
	}
	if !from.Valid() || !to.Valid() || to.Compare(from) < 0 {
		return Footprint{}, newErr(op, ErrInvalidArgument, fmt.Sprintf("month range %v to %v", from, to))
	}
	rows, err := f.store.Rows(ctx, user, from, to)
	if err != nil {
		return Footprint{}, storeErr(op, err)
	}
	fp := Footprint{
		User: user, From: from, To: to, TimeZone: f.loc.String(), Rows: rows,
		ByScenario: map[carbon.Scenario]FootprintTotals{},
		ByPartner:  map[carbon.PartnerID]FootprintTotals{},
		ByMonth:    map[Month]FootprintTotals{},
	}
	for _, r := range rows {
		if fp.Total, err = fp.Total.Add(r.FootprintTotals); err != nil {
			return Footprint{}, storeErr(op, err)
		}
		if err := addTo(fp.ByScenario, r.Scenario, r.FootprintTotals); err != nil {
			return Footprint{}, storeErr(op, err)
		}
		if err := addTo(fp.ByPartner, r.Partner, r.FootprintTotals); err != nil {
			return Footprint{}, storeErr(op, err)
		}
		if err := addTo(fp.ByMonth, r.Month, r.FootprintTotals); err != nil {
			return Footprint{}, storeErr(op, err)
		}
	}
	return fp, nil
}

func addTo[K comparable](m map[K]FootprintTotals, k K, t FootprintTotals) error {
	sum, err := m[k].Add(t)
	if err != nil {
		return err
	}
	m[k] = sum
	return nil
}

// MemFootprintStore is the in-memory FootprintStore. Users are spread over
// 64 independently locked shards. It keeps every (user, EarningKey) applied
// (about 40 bytes each beyond the IDs' lengths) to make Add idempotent. It
// is safe for concurrent use.
type MemFootprintStore struct {
	shards [64]footprintShard
}

type footprintShard struct {
	mu      sync.Mutex
	users   map[carbon.UserID]*memFootprint
	applied keySet // (user, key) pairs applied, for every user of the shard
}

type memFootprint struct {
	cells map[FootprintCell]memTotals
}

// memTotals is FootprintTotals with the reduction in milligrams, which adds
// without allocating.
type memTotals struct {
	mg      int64
	points  carbon.Points
	actions int64
}

// NewMemFootprintStore returns an empty MemFootprintStore.
func NewMemFootprintStore() *MemFootprintStore { return &MemFootprintStore{} }

func (s *MemFootprintStore) shard(user carbon.UserID) *footprintShard {
	h := uint32(2166136261)
	for i := 0; i < len(user); i++ {
		h = (h ^ uint32(user[i])) * 16777619
	}
	return &s.shards[h%uint32(len(s.shards))]
}

// Add implements FootprintStore.
func (s *MemFootprintStore) Add(ctx context.Context, user carbon.UserID, key EarningKey, cell FootprintCell, d FootprintTotals) (bool, error) {
	return s.add(ctx, user, key, &cell, &d)
}

// add is Add, taking its large arguments by reference.
func (s *MemFootprintStore) add(ctx context.Context, user carbon.UserID, key EarningKey, cell *FootprintCell, d *FootprintTotals) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	const op = "MemFootprintStore.Add"
	mg, whole := wholeMg(d.Reduction)
	if user == "" || !cell.Month.Valid() || !whole {
		return false, newErr(op, ErrInvalidArgument, fmt.Sprintf("user %q, month %v, reduction %s (whole milligrams)", user, cell.Month, d.Reduction))
	}
	sh := s.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.applied.tables == nil {
		sh.applied = newShardKeySet()
	}
	dup, kh, slot := sh.applied.hasFor(user, key)
	if dup {
		return false, nil
	}
	u := sh.users[user]
	var old memTotals
	if u != nil {
		old = u.cells[*cell]
	}
	sum := memTotals{points: old.points + d.Points, actions: old.actions + d.Actions, mg: old.mg + mg}
	if _, ok := addInt64(int64(old.points), int64(d.Points)); !ok {
		return false, newErr(op, ErrOverflow, fmt.Sprintf("points of user %q in %v", user, cell.Month))
	}
	if _, ok := addInt64(old.actions, d.Actions); !ok {
		return false, newErr(op, ErrOverflow, fmt.Sprintf("actions of user %q in %v", user, cell.Month))
	}
	if _, ok := addInt64(old.mg, mg); !ok {
		return false, newErr(op, ErrOverflow, fmt.Sprintf("reduction of user %q in %v", user, cell.Month))
	}
	if u == nil {
		if sh.users == nil {
			sh.users = map[carbon.UserID]*memFootprint{}
		}
		u = &memFootprint{cells: map[FootprintCell]memTotals{}}
		sh.users[user] = u
	}
	u.cells[*cell] = sum
	sh.applied.insert(kh, slot)
	return true, nil
}

// Rows implements FootprintStore.
func (s *MemFootprintStore) Rows(ctx context.Context, user carbon.UserID, from, to Month) ([]FootprintRow, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := s.shard(user)
	sh.mu.Lock()
	var rows []FootprintRow
	if u := sh.users[user]; u != nil {
		for c, t := range u.cells {
			if c.Month.Compare(from) >= 0 && c.Month.Compare(to) <= 0 {
				rows = append(rows, FootprintRow{FootprintCell: c, FootprintTotals: FootprintTotals{
					Reduction: carbon.Grams(decimal.New(t.mg, -3)), Points: t.points, Actions: t.actions}})
			}
		}
	}
	sh.mu.Unlock()
	slices.SortFunc(rows, func(a, b FootprintRow) int {
		return cmp.Or(a.Month.Compare(b.Month), cmp.Compare(a.Scenario, b.Scenario), cmp.Compare(a.Partner, b.Partner))
	})
	return rows, nil
}
