package rewards

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
)

// Earning is one credited earning, or the reversal of one: the single fact
// from which badges, mascot levels, leaderboards and footprints are computed.
// Spending never produces an Earning, so it never affects them.
//
// A credit has Reversal false and Points and Reduction zero or more. Its
// reversal has Reversal true, the same ActivityID, Partner, User, Scenario,
// Region and OccurredAt as the credit it undoes (so that it subtracts from the
// same campaign window, month and day), its own CreditedAt, and Points and
// Reduction zero or less (usually the credit's, negated; Earning.Reverse
// builds it).
//
// Every consumer applies a given EarningKey at most once, so a host may feed
// the same Earning again after a failure or a replay without counting it
// twice.
//
// Earning holds a carbon.Mass and so must not be compared with ==. Its JSON
// form uses the field names that validation problems report.
type Earning struct {
	// ActivityID is the partner's event ID of the activity that earned.
	ActivityID string `json:"activity_id"`
	// Partner reported the activity; User did it.
	Partner carbon.PartnerID `json:"partner"`
	User    carbon.UserID    `json:"user"`
	// Scenario and Region are the activity's.
	Scenario carbon.Scenario `json:"scenario"`
	Region   carbon.Region   `json:"region"`
	// OccurredAt is when the action happened (for a reversal, when the
	// reversed action happened). It places the earning in campaign windows,
	// footprint months and streak days.
	OccurredAt time.Time `json:"occurred_at"`
	// CreditedAt is when this credit or reversal was posted. It is the time at
	// which a leaderboard score is reached and a badge is awarded.
	CreditedAt time.Time `json:"credited_at"`
	// Points is the number of points credited (a reversal: taken back).
	Points carbon.Points `json:"points"`
	// Reduction is the CO2e reduction credited (a reversal: taken back), a
	// whole number of milligrams: the ledger's scale for CO2e.
	Reduction carbon.Mass `json:"reduction"`
	// Reversal marks the undoing of an earlier credit.
	Reversal bool `json:"reversal,omitempty"`
}

// EarningKey identifies an Earning for idempotency: a credit and its reversal
// have different keys, and each is applied at most once by every store. It is
// comparable.
type EarningKey struct {
	Partner    carbon.PartnerID `json:"partner"`
	ActivityID string           `json:"activity_id"`
	Reversal   bool             `json:"reversal,omitempty"`
}

// String formats the key as "partner/activity" or "partner/activity/reversal".
func (k EarningKey) String() string {
	s := string(k.Partner) + "/" + k.ActivityID
	if k.Reversal {
		s += "/reversal"
	}
	return s
}

// Key returns the Earning's idempotency key.
func (e Earning) Key() EarningKey {
	return EarningKey{Partner: e.Partner, ActivityID: e.ActivityID, Reversal: e.Reversal}
}

// Reverse returns the reversal of credit e posted at at: the same activity,
// with Points and Reduction negated. It returns a *ValidationError matching
// ErrInvalidEarning if e is itself a reversal or fails Validate, or if at is
// zero.
func (e Earning) Reverse(at time.Time) (Earning, error) {
	if err := e.Validate(); err != nil {
		return Earning{}, err
	}
	p := problems{kind: ErrInvalidEarning}
	if e.Reversal {
		p.add("$.reversal", "cannot reverse a reversal")
	}
	if at.IsZero() {
		p.add("$.credited_at", "reversal time is zero")
	}
	if err := p.err(); err != nil {
		return Earning{}, err
	}
	r := e
	r.Reversal = true
	r.CreditedAt = at
	r.Points = -e.Points // e.Points >= 0, so this cannot overflow
	r.Reduction = e.Reduction.Neg()
	return r, nil
}

// sign is +1 for a credit and -1 for a reversal: how the earning moves an
// action count.
func (e Earning) sign() int64 {
	if e.Reversal {
		return -1
	}
	return 1
}

// Earliest and latest times an Earning may carry (read-only): times are
// kept as Unix nanoseconds, which cover 1678 to 2262, and carbonkit accepts
// a comfortable range inside that. Every check of a time against the range
// (Earning.Validate, windows, Programme.Earn, the stores) uses inTimeRange
// and names it as timeRange.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// timeRange names [minTime, maxTime) in messages.
const timeRange = "1900 to 2199 (UTC)"

// inTimeRange reports whether t is in [minTime, maxTime).
func inTimeRange(t time.Time) bool { return !t.Before(minTime) && t.Before(maxTime) }

// Validate checks every field and returns nil or a *ValidationError naming
// every problem (matching ErrInvalidEarning).
func (e Earning) Validate() error {
	p := problems{kind: ErrInvalidEarning}
	idProblem(&p, "$.activity_id", carbon.ValidateID("activity", e.ActivityID))
	idProblem(&p, "$.partner", e.Partner.Validate())
	idProblem(&p, "$.user", e.User.Validate())
	idProblem(&p, "$.scenario", e.Scenario.Validate())
	switch {
	case e.Region == "":
		p.add("$.region", "region is empty")
	case !e.Region.Valid():
		p.add("$.region", fmt.Sprintf("%q is not an ISO 3166-2:CN province-level code", string(e.Region)))
	}
	timeProblem(&p, "$.occurred_at", e.OccurredAt)
	timeProblem(&p, "$.credited_at", e.CreditedAt)
	if _, ok := wholeMg(e.Reduction); !ok {
		p.add("$.reduction", fmt.Sprintf("%s is not a whole number of milligrams within int64", e.Reduction))
	}
	if e.Reversal {
		if e.Points > 0 {
			p.add("$.points", fmt.Sprintf("reversal takes back %d points, more than zero", e.Points))
		}
		if e.Reduction.Sign() > 0 {
			p.add("$.reduction", fmt.Sprintf("reversal takes back %s, more than zero", e.Reduction))
		}
	} else {
		if e.Points < 0 {
			p.add("$.points", fmt.Sprintf("credit of %d points is negative", e.Points))
		}
		if e.Reduction.Sign() < 0 {
			p.add("$.reduction", fmt.Sprintf("credit of %s is negative", e.Reduction))
		}
	}
	return p.err()
}

// reductionMg returns the reduction in milligrams; e must be valid.
func (e Earning) reductionMg() int64 {
	mg, _ := wholeMg(e.Reduction)
	return mg
}

// wholeMg returns m in milligrams, and whether it is a whole number of them
// that fits in int64: the ledger's scale for CO2e, which carbonkit's
// counters use.
func wholeMg(m carbon.Mass) (int64, bool) {
	// Every consumer converts every Earning's reduction: the common case,
	// a coefficient within int64, is done in integers, without the
	// allocations of decimal arithmetic; anything else takes the decimal
	// path, which decides.
	if c, exp, ok := smallDecimal(m.Grams()); ok {
		if mg, ok := scaleInt(c, int64(exp)+3, true); ok {
			return mg, true
		}
	}
	mg := m.Grams().Shift(3)
	if !mg.IsInteger() || mg.Cmp(maxInt64Dec) > 0 || mg.Cmp(minInt64Dec) < 0 {
		return 0, false
	}
	return mg.IntPart(), true
}

// smallDecimal returns d as coefficient × 10^exp when the coefficient fits
// in an int64, and false when it may not.
func smallDecimal(d decimal.Decimal) (coef int64, exp int32, ok bool) {
	if d.NumDigits() > 18 {
		return 0, 0, false
	}
	return d.CoefficientInt64(), d.Exponent(), true
}

// pow10 holds 10^0 to 10^19, every power of ten a uint64 holds
// (read-only).
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = 10 * p[i-1]
	}
	return p
}()

// scaleInt returns x × 10^k. With exact set it reports false unless the
// result is a whole number; otherwise it truncates toward zero. It also
// reports false when the result, or a step on the way, may leave int64 or
// uint64: the caller then computes with decimals, which decide. It is the
// integer fast path of decimal arithmetic, so it must agree with it
// wherever it reports true.
func scaleInt(x int64, k int64, exact bool) (int64, bool) {
	u, neg := absInt(x)
	switch {
	case u == 0:
		return 0, true
	case k > 0:
		if k >= int64(len(pow10)) {
			return 0, false
		}
		hi, lo := bits.Mul64(u, pow10[k])
		if hi != 0 {
			return 0, false
		}
		u = lo
	case k < 0:
		if k <= -int64(len(pow10)) {
			if exact {
				return 0, false // u < 10^20 is not a multiple of 10^20 or more
			}
			u = 0 // u < 2^64 < 10^20
			break
		}
		p := pow10[-k]
		if exact && u%p != 0 {
			return 0, false
		}
		u /= p
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// mulScaleTrunc returns x × c × 10^k truncated toward zero, and false when
// the integer fast path cannot compute it (see scaleInt).
func mulScaleTrunc(x, c int64, k int64) (int64, bool) {
	ux, nx := absInt(x)
	uc, nc := absInt(c)
	hi, lo := bits.Mul64(ux, uc)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	v := int64(lo)
	if nx != nc {
		v = -v
	}
	return scaleInt(v, k, false)
}

// absInt returns |x| as a uint64 (which holds |math.MinInt64|) and whether x
// is negative.
func absInt(x int64) (uint64, bool) {
	if x < 0 {
		return uint64(-x), true // -math.MinInt64 wraps to itself, 1<<63 as a uint64
	}
	return uint64(x), false
}

// The int64 range as decimals, read-only.
var (
	maxInt64Dec = decimal.NewFromInt(math.MaxInt64)
	minInt64Dec = decimal.NewFromInt(math.MinInt64)
)

func idProblem(p *problems, path string, err error) {
	if err == nil {
		return
	}
	if ie, ok := err.(*carbon.IDError); ok {
		p.add(path, fmt.Sprintf("%q %s", ie.ID, ie.Reason))
		return
	}
	p.add(path, err.Error())
}

func timeProblem(p *problems, path string, t time.Time) {
	switch {
	case t.IsZero():
		p.add(path, "time is zero")
	case !inTimeRange(t):
		p.add(path, fmt.Sprintf("%s is outside %s", t.Format(time.RFC3339), timeRange))
	}
}

// Window is a campaign window: the half-open interval of instants
// [Start, End). Its JSON form is {"start": RFC 3339, "end": RFC 3339}, where
// each time's offset states the time zone the campaign was set in. LocalWindow
// builds one from calendar days in a named zone. The zero Window is empty.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// LocalWindow returns the window from midnight at the start of first to
// midnight at the end of last (both "2006-01-02" dates, inclusive) in loc. It
// returns an *Error matching ErrInvalidArgument for a nil loc, a malformed
// date, or last before first.
func LocalWindow(loc *time.Location, first, last string) (Window, error) {
	const op = "LocalWindow"
	if loc == nil {
		return Window{}, newErr(op, ErrInvalidArgument, "time zone is nil")
	}
	f, err := time.ParseInLocation(time.DateOnly, first, loc)
	if err != nil {
		return Window{}, newErr(op, ErrInvalidArgument, fmt.Sprintf("first day %q is not a 2006-01-02 date", first))
	}
	l, err := time.ParseInLocation(time.DateOnly, last, loc)
	if err != nil {
		return Window{}, newErr(op, ErrInvalidArgument, fmt.Sprintf("last day %q is not a 2006-01-02 date", last))
	}
	if l.Before(f) {
		return Window{}, newErr(op, ErrInvalidArgument, fmt.Sprintf("last day %s is before first day %s", last, first))
	}
	y, m, d := l.Date()
	return Window{Start: f, End: time.Date(y, m, d+1, 0, 0, 0, 0, loc)}, nil
}

// Contains reports whether t is in [Start, End).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.Start) && t.Before(w.End) }

// Equal reports whether w and v are the same interval of instants, whatever
// the zones they are written in.
func (w Window) Equal(v Window) bool { return w.Start.Equal(v.Start) && w.End.Equal(v.End) }

// String formats the window as "[start, end)" in RFC 3339.
func (w Window) String() string {
	return "[" + w.Start.Format(time.RFC3339) + ", " + w.End.Format(time.RFC3339) + ")"
}

// check reports the window's problems under path.
func (w Window) check(p *problems, path string) {
	timeProblem(p, path+".start", w.Start)
	timeProblem(p, path+".end", w.End)
	if !w.Start.IsZero() && !w.End.IsZero() && !w.Start.Before(w.End) {
		p.add(path, fmt.Sprintf("window %s is empty: end is not after start", w))
	}
}
