package methodology

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// Methodology turns an activity into a reduction. Implementations must be
// immutable and safe for concurrent use, and Quantify must be pure: the same
// activity gives the same Result, digest included, on every call, in every
// process.
//
// The methodologies this package builds (Build, NewDeclarative, LoadJSON,
// Builtin) validate the activity against the Spec before computing and
// return an *ActivityError naming every problem; a host that implements
// Methodology itself should build on Build rather than reimplement that.
type Methodology interface {
	// Spec returns a copy of the methodology's Spec; modifying it does not
	// modify the methodology.
	Spec() Spec
	// Quantify returns the activity's reduction, or an error matching
	// ErrNotQuantifiable (an *ActivityError) when the activity is invalid,
	// of another scenario, outside the validity window, lacks a quantity,
	// has one in the wrong unit, or fails an applicability condition.
	Quantify(a carbon.Activity) (Result, error)
}

// Calc computes the emissions of one activity by adding terms to w (see
// Worksheet.Term). It is called only for an activity that has passed every
// check of the Spec, and must be pure: it may read the activity through w and
// nothing else.
//
// An error returned by Calc is wrapped to match ErrCalculation, unless it
// already matches ErrNotQuantifiable (as Term's errors about the activity's
// units do), in which case Quantify returns it as is.
type Calc func(w *Worksheet) error

// Build returns the Methodology defined by spec, computing emissions with
// calc. Build validates spec (a *SpecError naming every problem, matching
// ErrInvalidSpec, when it is not acceptable) and keeps its own copy, so the
// caller may reuse spec. A nil calc is an ErrInvalidSpec error.
//
// Whenever calc's arithmetic changes, the Spec's Version and Formula must
// change too: a registry recognises a methodology by its Spec alone.
func Build(spec Spec, calc Calc) (Methodology, error) {
	ps := validateSpec(spec)
	if calc == nil {
		ps = append(ps, Problem{Field: "calc", Err: ErrMissingField, Msg: "missing"})
	}
	if len(ps) > 0 {
		return nil, &SpecError{Methodology: spec.Ref(), Problems: ps}
	}
	return build(spec, calc, nil), nil
}

// build is Build for a Spec already validated. A declarative methodology
// passes its formula as pl, which Quantify evaluates in place of a calc.
func build(spec Spec, calc Calc, pl *plan) *built {
	spec = spec.clone()
	spec.ValidFrom = spec.ValidFrom.UTC()
	if !spec.ValidTo.IsZero() {
		spec.ValidTo = spec.ValidTo.UTC()
	}
	k := spec.Conservativeness
	m := &built{
		spec:       spec,
		ref:        spec.Ref(),
		digest:     encodeSpec(spec),
		calc:       calc,
		plan:       pl,
		resolution: k.resolution(),
		discount:   k.Discount.Sign() > 0,
		keep:       decimal.New(1, 0).Sub(k.Discount),
		capped:     k.Cap.Sign() > 0,
	}
	m.resPow10 = powerOfTen(m.resolution)
	m.roundingText = "ER rounded toward zero to a multiple of " + m.resolution.String()
	m.discountText = "ER × (1 − " + formatDecimal(k.Discount) + ")"
	m.capText = "min(ER, " + k.Cap.String() + ")"
	m.compile()
	m.compileHeads()
	return m
}

// built is the Methodology that Build returns. Everything Quantify can
// derive from the Spec alone is derived once, by compile; sheets holds the
// scratch space of calls in progress, so that a call allocates little more
// than its Result.
type built struct {
	spec         Spec
	ref          string
	digest       string
	calc         Calc
	plan         *plan // a declarative formula, evaluated in place of calc
	resolution   carbon.Mass
	roundingText string // the final step's expression
	discountText string // the discount step's expression
	capText      string // the cap step's expression
	resPow10     int32  // see roundDown
	discount     bool
	keep         decimal.Decimal // 1 − Discount
	capped       bool

	factors   []factorInfo       // by index in spec.Factors
	factorIDs map[string]int     // factor indexes by ID, for a Spec with many
	names     []string           // the monitored parameters' names, in byte order
	dims      []carbon.Dimension // by index in names: the parameter's dimension
	units     []carbon.Unit      // by index in names: the unit of its conditions' bounds, or ""
	conds     []condInfo         // by index in spec.Conditions
	keepFx    fx                 // keep, when keepFit
	keepFit   bool
	capV      value     // Conservativeness.Cap in grams
	heads     heads     // the encodings' starts of the usual steps
	prefix    []byte    // the result encoding's first records, which only the Spec determines
	prefixSum []byte    // a SHA-256 state that has hashed prefix (MarshalBinary), or nil
	tail      []byte    // the result encoding's last records, likewise
	sheets    sync.Pool // of *sheet
}

// contentDigester is implemented by methodologies that know their Spec
// digest, to spare the registry recomputing it.
type contentDigester interface{ contentDigest() string }

// Spec implements Methodology, returning a copy.
func (m *built) Spec() Spec { return m.spec.clone() }

func (m *built) contentDigest() string { return m.digest }

// Part is one of the three sums a formula computes.
type Part uint8

// Parts of ER = BE − PE − LE.
const (
	Baseline Part = iota + 1 // BE: emissions had the activity not happened
	Project                  // PE: emissions of the activity itself
	Leakage                  // LE: emissions it causes elsewhere
)

// String returns "BE", "PE", "LE", or "Part(n)".
func (p Part) String() string {
	switch p {
	case Baseline:
		return "BE"
	case Project:
		return "PE"
	case Leakage:
		return "LE"
	}
	return "Part(" + strconv.Itoa(int(p)) + ")"
}

// Worksheet is where a Calc records its terms for one activity. It is not
// safe for concurrent use, and is valid only during the Calc call: after it,
// Term returns an ErrCalculation error and Activity the zero Activity.
type Worksheet struct {
	s *sheet // nil once the Calc call is over
}

// Activity returns the activity being quantified. Its maps are shared: do not
// modify them.
func (w *Worksheet) Activity() carbon.Activity {
	if w.s == nil {
		return carbon.Activity{}
	}
	return w.s.act
}

// Attribute returns the activity's attribute name, or "" when absent.
func (w *Worksheet) Attribute(name string) string {
	if w.s == nil {
		return ""
	}
	return w.s.act.Attributes[name]
}

// Term adds quantity × factor × factor... to part. quantity names a monitored
// parameter; each factor ID names a Spec factor. The quantity is converted to
// the first unit-bearing factor's denominator; each later factor's
// denominator must measure what the running product measures (its value is
// converted exactly); ratios multiply without changing the unit; and the
// product must end as a mass, which is the term's value in CO2e.
//
// Term returns an error matching ErrNotQuantifiable and ErrWrongUnit when the
// activity's quantity does not convert to the unit required (boxes where
// orders are counted), one matching ErrNotQuantifiable and carbon.ErrInexact
// when it converts to no exact decimal (600 s where hours are counted), and
// one matching ErrCalculation when the Calc or the Spec is at fault (an
// undeclared name, units that do not chain). After an error the worksheet is
// unchanged.
func (w *Worksheet) Term(part Part, quantity string, factorIDs ...string) error {
	s := w.s
	if s == nil {
		return fmt.Errorf("%w: term %s of %q added after the Calc returned", ErrCalculation, part, quantity)
	}
	m := s.m
	if part < Baseline || part > Leakage {
		return fmt.Errorf("%w: %s: term for undefined %s", ErrCalculation, m.ref, part)
	}
	pm, ok := m.spec.parameter(quantity)
	if !ok || pm.Monitoring != Monitored {
		return fmt.Errorf("%w: %s: term reads %q, which is not a monitored parameter", ErrCalculation, m.ref, quantity)
	}
	q, ok := s.act.Quantities[quantity]
	if !ok { // Quantify checked every monitored parameter is present
		return fmt.Errorf("%w: %s: quantity %q missing", ErrCalculation, m.ref, quantity)
	}
	if len(factorIDs) == 0 || len(factorIDs) > maxTermFactors {
		return fmt.Errorf("%w: %s: a term needs 1 to %d factors, not %d", ErrCalculation, m.ref, maxTermFactors, len(factorIDs))
	}
	return s.term(&s.act, part, quantity, q, termFactors{ids: factorIDs})
}

// termNameTable holds the usual step names, five bytes each, so that naming
// a step does not allocate.
const termNameTable = "BE[0]BE[1]BE[2]BE[3]PE[0]PE[1]PE[2]PE[3]LE[0]LE[1]LE[2]LE[3]"

// termName returns "BE[i]" and the like.
func termName(p Part, i int) string {
	if i < 4 {
		k := (int(p-1)*4 + i) * 5
		return termNameTable[k : k+5]
	}
	return p.String() + "[" + strconv.Itoa(i) + "]"
}

// maxTermFactors bounds the factors in one term, and with it the size of the
// numbers a term can produce.
const maxTermFactors = 8

func unitPhrase(u carbon.Unit) string {
	if u.Dimension() == carbon.DimCount {
		return "a count in " + string(u)
	}
	return "a " + u.Dimension().String() + " (" + string(u) + ")"
}

// Quantify implements Methodology.
func (m *built) Quantify(a carbon.Activity) (Result, error) { return m.quantify(&a, false) }

// quantify is Quantify. With ref it computes with decimal.Decimal alone and
// checks the activity the long way: the reference that tests compare the
// usual computation with.
func (m *built) quantify(a *carbon.Activity, ref bool) (Result, error) {
	s, err := m.work(a, ref, false)
	if err != nil {
		return Result{}, err
	}
	r := m.result(s, a)
	m.putSheet(s)
	return r, nil
}

// brief is Quantify's Brief, without the Result: the steps' decimals, the
// factors and the expressions' text are never made. (A Calc adds terms to
// its Worksheet but reads none, so a Go-coded methodology works in brief
// too.)
func (m *built) brief(a *carbon.Activity) (Brief, error) {
	s, err := m.work(a, false, true)
	if err != nil {
		return Brief{}, err
	}
	b := Brief{MethodologyID: m.spec.ID, Version: m.spec.Version, ER: carbon.Grams(s.er.decimal()), Digest: s.digest(a)}
	m.putSheet(s)
	return b, nil
}

// work checks a and computes its result in a sheet, which the caller puts
// back. With brief the values of the steps that fit an int64 are left
// without their decimals (value.lazy).
func (m *built) work(a *carbon.Activity, ref, brief bool) (*sheet, error) {
	s := m.getSheet(ref)
	s.brief = brief
	if ref || !s.admit(a) {
		clear(s.qs)
		s.qs = s.qs[:0]
		if ps := m.check(a); len(ps) > 0 {
			m.putSheet(s)
			return nil, &ActivityError{Methodology: m.ref, Activity: a.ID, Problems: ps}
		}
	}
	var err error
	if m.plan != nil {
		err = s.run(a, m.plan)
	} else {
		s.act = *a
		w := &Worksheet{s: s}
		err = m.calc(w)
		w.s = nil
	}
	if err != nil {
		m.putSheet(s)
		if errors.Is(err, ErrNotQuantifiable) || errors.Is(err, ErrCalculation) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrCalculation, m.ref, err)
	}
	if s.exact || !m.finishFast(s) {
		m.finishExact(s)
	}
	if !s.inRange() {
		m.putSheet(s)
		return nil, &ActivityError{Methodology: m.ref, Activity: a.ID, Problems: []Problem{{
			Field: "quantities", Err: ErrOutOfRange,
			Msg: "the result's emissions need more than 1000 digits or decimal places",
		}}}
	}
	return s, nil
}

// roundDown rounds a non-negative m down to a multiple of the positive res.
// pow10 is res's exponent when res is a power of ten (1 mg is 10^-3 g), the
// usual case, which needs no division; otherwise it is unusedPow10.
func roundDown(m, res carbon.Mass, pow10 int32) carbon.Mass {
	if pow10 != unusedPow10 {
		if m.Grams().Exponent() >= pow10 {
			return m // already a multiple
		}
		return carbon.Grams(m.Grams().RoundDown(-pow10))
	}
	q, _ := m.Grams().QuoRem(res.Grams(), 0)
	return carbon.Grams(q.Mul(res.Grams()))
}

// unusedPow10 marks a resolution that is not a power of ten.
const unusedPow10 = -1 << 31

// powerOfTen returns k when res is 10^k grams, and unusedPow10 otherwise.
func powerOfTen(res carbon.Mass) int32 {
	g := res.Grams()
	if g.Sign() <= 0 || !dec.InRange(g) {
		return unusedPow10
	}
	c, e := g.Coefficient(), g.Exponent() // c is a copy
	ten, r := big.NewInt(10), new(big.Int)
	for c.Cmp(ten) >= 0 {
		if c.QuoRem(c, ten, r); r.Sign() != 0 {
			return unusedPow10
		}
		e++
	}
	if c.Cmp(big.NewInt(1)) != 0 {
		return unusedPow10
	}
	return e
}

// admit reports whether check would find no problem with a, without
// allocating. When it reports false, check says what the problems are; it
// may report false for an activity check accepts (a comparison it leaves to
// check), never the reverse. On the way it collects the monitored
// quantities in s.qs.
func (s *sheet) admit(a *carbon.Activity) bool {
	m, sp := s.m, &s.m.spec
	if a.Scenario != sp.Scenario || !carbon.ValidTime(a.OccurredAt) || a.OccurredAt.Before(sp.ValidFrom) ||
		(!sp.ValidTo.IsZero() && !a.OccurredAt.Before(sp.ValidTo)) {
		return false
	}
	// What carbon.Activity.Validate checks (TestAdmitImpliesCheck holds
	// the two together), the scenario being the Spec's, which is valid.
	if carbon.ValidateID("activity", a.ID) != nil || a.Partner.Validate() != nil || a.User.Validate() != nil || !a.Region.Valid() {
		return false
	}
	qs := s.qs[:0]
	for i, name := range m.names { // valid identifiers, as the Spec's
		q, ok := a.Quantities[name]
		if !ok || !dec.InRange(q.Value()) || q.IsNegative() || q.IsFractionalCount() {
			return false
		}
		// A quantity in the unit the Spec's conditions use for it needs no
		// look-up in carbon's table of units.
		if u := q.Unit(); (u == "" || u != m.units[i]) && (!u.Valid() || u.Dimension() != m.dims[i]) {
			return false
		}
		qs = append(qs, namedQuantity{name, q})
	}
	s.qs, s.qsAll = qs, len(a.Quantities) == len(qs)
	if !s.qsAll {
		for name, q := range a.Quantities {
			if carbon.ValidateID("quantity name", name) != nil || !q.IsValid() || !dec.InRange(q.Value()) || q.IsNegative() || q.IsFractionalCount() {
				return false
			}
		}
	}
	for name, v := range a.Attributes {
		if carbon.ValidateID("attribute name", name) != nil || len(v) > carbon.MaxAttributeLen || !utf8.ValidString(v) {
			return false
		}
	}
	for i := range sp.Conditions {
		if !s.holds(i, a) {
			return false
		}
	}
	return true
}

// holds reports whether condition i holds for a, as checkCondition decides
// for an activity with no other problem, once admit has collected s.qs.
func (s *sheet) holds(i int, a *carbon.Activity) bool {
	cd, ci := &s.m.spec.Conditions[i], &s.m.conds[i]
	switch cd.Kind {
	case QuantityRange:
		if ci.name >= len(s.qs) { // a validated Spec's conditions read monitored quantities
			return false
		}
		q := s.qs[ci.name].q
		if cd.Min.IsSet() {
			c, ok := compareBound(q, ci.min, ci.minFit, cd.Min.Value)
			if !ok || c < 0 || (c == 0 && cd.Min.Exclusive) {
				return false
			}
		}
		if cd.Max.IsSet() {
			c, ok := compareBound(q, ci.max, ci.maxFit, cd.Max.Value)
			if !ok || c > 0 || (c == 0 && cd.Max.Exclusive) {
				return false
			}
		}
	case AttributeIn:
		v, ok := a.Attributes[cd.Attribute]
		return ok && slices.Contains(cd.Values, v)
	case RegionIn:
		return slices.Contains(cd.Regions, a.Region)
	}
	return true
}

// compareBound is compareQuantity(q, bound), where x is bound's value when
// fit; ok is false when they do not compare.
func compareBound(q carbon.Quantity, x fx, fit bool, bound carbon.Quantity) (c int, ok bool) {
	if v, vok := fxOf(q.Value()); fit && vok {
		if q.Unit() != bound.Unit() {
			var k int32
			if k, vok = pow10Ratios[unitPair{q.Unit(), bound.Unit()}]; vok {
				v, vok = shiftFx(v, k)
			}
		}
		if vok {
			if c, ok = cmpFx(v, x); ok {
				return c, true
			}
		}
	}
	c, err := compareQuantity(q, bound)
	return c, err == nil
}

// check returns every reason the activity cannot be quantified, in a stable
// order: the activity's own validation problems, then scenario, time,
// quantities in Spec order and conditions in Spec order. A field already
// reported is not reported again by a later check.
func (m *built) check(a *carbon.Activity) problems {
	ps := validateActivity(a)
	s := &m.spec
	if a.Scenario != s.Scenario && !ps.has("scenario") {
		ps = append(ps, Problem{Field: "scenario", Err: ErrScenarioMismatch,
			Msg: fmt.Sprintf("%q is not %q, the scenario %s quantifies", clip(string(a.Scenario)), string(s.Scenario), m.ref)})
	}
	if !a.OccurredAt.IsZero() && (a.OccurredAt.Before(s.ValidFrom) || (!s.ValidTo.IsZero() && !a.OccurredAt.Before(s.ValidTo))) {
		ps = append(ps, Problem{Field: "occurred_at", Err: ErrOutsideValidity,
			Msg: fmt.Sprintf("%s is outside %s's validity %s", a.OccurredAt.UTC().Format(time.RFC3339Nano), m.ref, window(s.ValidFrom, s.ValidTo))})
	}
	huge := false
	for _, q := range a.Quantities {
		huge = huge || !dec.InRange(q.Value())
	}
	if huge { // rare: pay for a sorted, stable report
		for _, name := range sortedNames(nil, a.Quantities) {
			if field := quantityField(name); !dec.InRange(a.Quantities[name].Value()) && !ps.has(field) {
				ps = append(ps, Problem{Field: field, Err: ErrOutOfRange,
					Msg: fmt.Sprintf("has more than %d digits or decimal places", maxExponent)})
			}
		}
	}
	for i := range s.Parameters {
		pm := &s.Parameters[i]
		if pm.Monitoring != Monitored || (len(ps) > 0 && ps.has(quantityField(pm.Name))) {
			continue
		}
		q, ok := a.Quantities[pm.Name]
		switch {
		case !ok:
			ps = append(ps, Problem{Field: quantityField(pm.Name), Err: ErrMissingQuantity,
				Msg: fmt.Sprintf("missing (%s reads %s)", m.ref, dimPhrase(pm.Dimension))})
		case q.Dimension() != pm.Dimension:
			ps = append(ps, Problem{Field: quantityField(pm.Name), Err: ErrWrongUnit,
				Msg: fmt.Sprintf("%s given where %s is required", q, dimPhrase(pm.Dimension))})
		}
	}
	for i := range s.Conditions {
		if p, ok := checkCondition(&s.Conditions[i], a, ps); !ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// validateActivity returns carbon.Activity.Validate's problems.
func validateActivity(a *carbon.Activity) problems {
	err := a.Validate()
	if err == nil {
		return nil
	}
	var ve *carbon.ValidationError
	if !errors.As(err, &ve) {
		return problems{{Field: "activity", Err: err, Msg: err.Error()}}
	}
	ps := make(problems, len(ve.Problems))
	for i, p := range ve.Problems {
		ps[i] = Problem{Field: p.Field, Err: p.Err, Msg: p.Msg}
	}
	return ps
}

// problems is a list under construction.
type problems []Problem

// has reports whether field already has a problem. Callers on the hot path
// test len(ps) first, so that the field's name is only built when needed.
func (ps problems) has(field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

func quantityField(name string) string  { return "quantities[" + name + "]" }
func attributeField(name string) string { return "attributes[" + name + "]" }

func dimPhrase(d carbon.Dimension) string {
	if d == carbon.DimCount {
		return "a count"
	}
	return "a " + d.String()
}

func window(from, to time.Time) string {
	end := "∞)"
	if !to.IsZero() {
		end = to.UTC().Format(time.RFC3339) + ")"
	}
	return "[" + from.UTC().Format(time.RFC3339) + ", " + end
}

// checkCondition evaluates one applicability condition. It reports ok when
// the condition holds or when the field it tests was already reported.
func checkCondition(cd *Condition, a *carbon.Activity, ps problems) (Problem, bool) {
	fail := func(field, format string, args ...any) (Problem, bool) {
		msg := fmt.Sprintf(format, args...) + fmt.Sprintf(" (condition %q)", cd.ID)
		return Problem{Field: field, Err: ErrConditionNotMet, Msg: msg}, false
	}
	wrongUnit := func(q, bound carbon.Quantity) (Problem, bool) {
		return Problem{Field: quantityField(cd.Quantity), Err: ErrWrongUnit,
			Msg: fmt.Sprintf("%s given where %s is required (condition %q)", q, unitPhrase(bound.Unit()), cd.ID)}, false
	}
	switch cd.Kind {
	case QuantityRange:
		if len(ps) > 0 && ps.has(quantityField(cd.Quantity)) {
			return Problem{}, true
		}
		q, ok := a.Quantities[cd.Quantity]
		if !ok {
			return fail(quantityField(cd.Quantity), "missing")
		}
		if cd.Min.IsSet() {
			c, err := compareQuantity(q, cd.Min.Value)
			if err != nil {
				return wrongUnit(q, cd.Min.Value)
			}
			if c < 0 || (c == 0 && cd.Min.Exclusive) {
				rel := "below the minimum"
				if cd.Min.Exclusive {
					rel = "not above"
				}
				return fail(quantityField(cd.Quantity), "%s is %s %s", q, rel, cd.Min.Value)
			}
		}
		if cd.Max.IsSet() {
			c, err := compareQuantity(q, cd.Max.Value)
			if err != nil {
				return wrongUnit(q, cd.Max.Value)
			}
			if c > 0 || (c == 0 && cd.Max.Exclusive) {
				rel := "above the maximum"
				if cd.Max.Exclusive {
					rel = "not below"
				}
				return fail(quantityField(cd.Quantity), "%s is %s %s", q, rel, cd.Max.Value)
			}
		}
	case AttributeIn:
		if len(ps) > 0 && ps.has(attributeField(cd.Attribute)) {
			return Problem{}, true
		}
		v, ok := a.Attributes[cd.Attribute]
		if !ok {
			return fail(attributeField(cd.Attribute), "missing, must be one of %s", quoteList(cd.Values))
		}
		for _, want := range cd.Values {
			if v == want {
				return Problem{}, true
			}
		}
		return fail(attributeField(cd.Attribute), "%q is not one of %s", clip(v), quoteList(cd.Values))
	case RegionIn:
		if ps.has("region") {
			return Problem{}, true
		}
		for _, r := range cd.Regions {
			if a.Region == r {
				return Problem{}, true
			}
		}
		names := make([]string, len(cd.Regions))
		for i, r := range cd.Regions {
			names[i] = string(r)
		}
		return fail("region", "%s is not one of %s", a.Region, strings.Join(names, ", "))
	}
	return Problem{}, true
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}
