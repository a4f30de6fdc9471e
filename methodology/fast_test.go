package methodology

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// Quantify computes in int64 where it can and otherwise with
// decimal.Decimal, admits activities with a quick test before the full
// check, and writes its digest's encoding in one go. The tests below hold
// each shortcut to the long way: quantify(a, true), which computes with
// decimal.Decimal alone and always runs check; referenceDigest, the
// encoding written record by record; and check itself.

// equivalenceMethodologies returns the built-in catalog and declarative and
// Go-coded methodologies chosen to reach every path of the arithmetic:
// several terms per part, unit conversions that are and are not powers of
// ten, ratios, factors that overflow an int64 when multiplied, a zero
// factor, discounts, caps, and resolutions that are and are not powers of
// ten.
func equivalenceMethodologies(t testing.TB) []*built {
	t.Helper()
	var ms []*built
	r := Builtin()
	for _, s := range r.List() {
		m, err := r.Get(s.ID, s.Version)
		require.NoError(t, err)
		ms = append(ms, m.(*built))
	}
	src := Source{Organisation: "O", Document: "D"}
	base := Spec{
		ID: "eq.multi", Version: "1", Scenario: "eq.multi", Title: "multi", Status: Active,
		ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Parameters: []Parameter{
			{Name: "a", Dimension: carbon.DimDistance, Monitoring: Monitored},
			{Name: "b", Dimension: carbon.DimEnergy, Monitoring: Monitored},
			{Name: "c", Dimension: carbon.DimCount, Monitoring: Monitored},
			{Name: "d", Dimension: carbon.DimDuration, Monitoring: Monitored},
		},
		Factors: []Factor{
			{ID: "f1", Version: "1", Value: num("170"), Numerator: carbon.Gram, Denominator: carbon.Kilometre, Gas: CO2e, DataYear: 2023, Source: src},
			{ID: "f2", Version: "1", Value: num("0.7"), DataYear: 2023, Source: src},
			{ID: "f3", Version: "1", Value: num("0.5703"), Numerator: carbon.Tonne, Denominator: carbon.MegawattHour, Gas: CO2, DataYear: 2023, Source: src},
			{ID: "f4", Version: "1", Value: num("1.5"), Numerator: carbon.KilowattHour, Denominator: carbon.Item, DataYear: 2023, Source: src},
			{ID: "f5", Version: "1", Value: num("123.456789"), Numerator: carbon.Milligram, Denominator: carbon.Second, Gas: CO2e, DataYear: 2023, Source: src},
			{ID: "f6", Version: "1", Value: num("3"), Numerator: carbon.Kilogram, Denominator: carbon.Hour, Gas: CO2e, DataYear: 2023, Source: src},
			{ID: "f7", Version: "1", Value: num("922337203685477.5807"), Numerator: carbon.Gram, Denominator: carbon.Item, Gas: CO2e, DataYear: 2023, Source: src},
			{ID: "f8", Version: "1", Value: num("0"), Numerator: carbon.Gram, Denominator: carbon.Metre, Gas: CO2e, DataYear: 2023, Source: src},
			{ID: "f9", Version: "1", Value: num("0.000000000000000000000001"), DataYear: 2023, Source: src},
			{ID: "f10", Version: "1", Value: num("12345678901234567890"), Numerator: carbon.Gram, Denominator: carbon.Item, Gas: CO2e, DataYear: 2023, Source: src},
		},
		Conditions: []Condition{{ID: "a-range", Kind: QuantityRange, Quantity: "a", Min: AtLeast(qty("0", carbon.Metre)), Max: Below(qty("100000", carbon.Kilometre))}},
	}
	formulas := []Formula{
		{BE: []Term{{Quantity: "a", Factors: []string{"f1", "f2"}}, {Quantity: "b", Factors: []string{"f3"}}, {Quantity: "c", Factors: []string{"f4", "f3"}}},
			PE: []Term{{Quantity: "d", Factors: []string{"f5"}}, {Quantity: "a", Factors: []string{"f1"}}},
			LE: []Term{{Quantity: "d", Factors: []string{"f6"}}}},
		{BE: []Term{{Quantity: "c", Factors: []string{"f7"}}, {Quantity: "c", Factors: []string{"f7", "f2"}}, {Quantity: "a", Factors: []string{"f8"}}},
			PE: []Term{{Quantity: "a", Factors: []string{"f1", "f9"}}},
			LE: []Term{{Quantity: "b", Factors: []string{"f3", "f2", "f2"}}, {Quantity: "c", Factors: []string{"f10"}}}},
		{BE: []Term{{Quantity: "b", Factors: []string{"f3"}}},
			PE: []Term{{Quantity: "d", Factors: []string{"f5"}}}},
	}
	conss := []Conservativeness{
		{},
		{Discount: num("0.15"), Cap: carbon.Kilograms(num("2"))},
		{Resolution: carbon.Grams(num("0.005")), Discount: num("0.333"), Cap: carbon.Grams(num("12345.6789"))},
		{Resolution: carbon.Grams(num("10"))},
		{Resolution: carbon.Grams(num("0.0000001")), Cap: carbon.Tonnes(num("100"))},
		{Discount: num("0.1234567890123456789"), Cap: carbon.Grams(num("99999999999999999999"))},
	}
	for i, f := range formulas {
		for j, c := range conss {
			s := base
			s.ID = fmt.Sprintf("eq.multi%d-%d", i, j)
			s.Conservativeness = c
			m, err := NewDeclarative(s, f)
			require.NoError(t, err)
			ms = append(ms, m.(*built))
		}
	}
	gs := base
	gs.ID, gs.Formula = "eq.coded", "BE and PE by mode"
	gs.Conservativeness = Conservativeness{Discount: num("0.05")}
	gm, err := Build(gs, func(w *Worksheet) error {
		switch w.Attribute("mode") {
		case "x":
			if err := w.Term(Baseline, "a", "f1", "f2"); err != nil {
				return err
			}
			if err := w.Term(Baseline, "c", "f7"); err != nil {
				return err
			}
			return w.Term(Project, "d", "f5")
		case "y":
			for range 6 { // more terms than the usual step names
				if err := w.Term(Leakage, "b", "f3"); err != nil {
					return err
				}
			}
			return w.Term(Baseline, "c", "f4", "f3", "f2")
		case "bad":
			return w.Term(Baseline, "a", "f3")
		case "bad2":
			return w.Term(Baseline, "c", "f4", "f1")
		case "undeclared":
			return w.Term(Baseline, "a", "f1", "nope")
		case "own":
			return errors.New("own failure")
		case "none":
			return nil
		}
		return w.Term(Baseline, "a", "f1")
	})
	require.NoError(t, err)
	return append(ms, gm.(*built))
}

// equivalenceValues are quantity values around every edge: zero, scales,
// the conditions' bounds, 18 and 19 digits, int64's limits and beyond.
var equivalenceValues = []string{
	"0", "1", "2", "3", "6.4", "6.400", "0.001", "0.0000001", "0.5", "7", "10", "10.001", "20", "50",
	"99", "100", "100.0000001", "10000", "1234567.891", "3037000499.97605", "4294967296",
	"123456789012345678", "999999999999999999", "1000000000000000000", "9223372036854775807",
	"9223372036854775808", "922337203685477580.7", "18446744073709551615",
	"99999999999999999999.999999999999", "0.30000000000000000000000000001", "-1", "-0",
}

var equivalenceAttributes = []map[string]string{
	nil,
	{"category": "phone", "condition": "good"}, {"category": "book", "condition": "like-new"},
	{"category": "laptop", "condition": "fair", "x": "y"}, {"category": "plane", "condition": "good"},
	{"cutlery": "none"}, {"cutlery": "yes"}, {"category": "air-conditioner", "efficiency_grade": "1"},
	{"mode": "x"}, {"mode": "y"}, {"mode": "bad"}, {"mode": "bad2"}, {"mode": "undeclared"}, {"mode": "own"}, {"mode": "none"},
	{"channel": "app", "line": "B12"}, {"bad key": "v"}, {"k": strings.Repeat("x", carbon.MaxAttributeLen+1)}, {"k": "\xff"},
}

// usualActivity returns an activity of s's scenario with each monitored
// quantity at 2 of a usual unit.
func usualActivity(s Spec) carbon.Activity {
	qs := map[string]carbon.Quantity{}
	for _, p := range s.Parameters {
		if p.Monitoring == Monitored {
			qs[p.Name] = qty("2", defaultUnit(p.Dimension))
		}
	}
	return carbon.Activity{ID: "evt-1", Partner: "p", User: "u-1", Scenario: s.Scenario, OccurredAt: when,
		Region: carbon.Guangdong, Quantities: qs}
}

// equivalenceActivities returns activities for s: each monitored quantity
// at each value in each unit of its dimension (and in kg), the others at 2,
// with attribute sets in turn; then activities wrong in each other way.
func equivalenceActivities(s Spec) []carbon.Activity {
	var out []carbon.Activity
	units := carbon.Units()
	slices.Sort(units)
	var monitored []Parameter
	for _, p := range s.Parameters {
		if p.Monitoring == Monitored {
			monitored = append(monitored, p)
		}
	}
	mk := func(qs map[string]carbon.Quantity, at map[string]string) carbon.Activity {
		return carbon.Activity{ID: "evt-1", Partner: "p", User: "u-1", Scenario: s.Scenario, OccurredAt: when,
			Region: carbon.Guangdong, Quantities: qs, Attributes: at}
	}
	usual := func() map[string]carbon.Quantity {
		qs := map[string]carbon.Quantity{}
		for _, o := range monitored {
			qs[o.Name] = qty("2", defaultUnit(o.Dimension))
		}
		return qs
	}
	n := 0
	for _, p := range monitored {
		for _, u := range units {
			if u.Dimension() != p.Dimension && u != carbon.Kilogram {
				continue
			}
			for _, v := range equivalenceValues {
				qv, err := carbon.ParseQuantity(v + " " + string(u))
				if err != nil {
					continue
				}
				for range 2 {
					qs := usual()
					qs[p.Name] = qv
					out = append(out, mk(qs, equivalenceAttributes[n%len(equivalenceAttributes)]))
					n++
				}
			}
		}
	}
	for _, at := range equivalenceAttributes {
		out = append(out, mk(usual(), at))
	}
	edits := []func(a *carbon.Activity){
		func(a *carbon.Activity) { a.ID = "" },
		func(a *carbon.Activity) { a.Partner = "bad partner" },
		func(a *carbon.Activity) { a.User = carbon.UserID(strings.Repeat("u", carbon.MaxIDLen+1)) },
		func(a *carbon.Activity) { a.Region = "XX" },
		func(a *carbon.Activity) { a.Region = "" },
		func(a *carbon.Activity) { a.Scenario = "other" },
		func(a *carbon.Activity) { a.Scenario = "bad scenario" },
		func(a *carbon.Activity) { a.OccurredAt = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(a *carbon.Activity) { a.OccurredAt = time.Time{} },
		func(a *carbon.Activity) {
			a.OccurredAt = time.Date(2025, 3, 15, 12, 0, 0, 123456789, time.FixedZone("X", -3600))
		},
		// Times JSON cannot carry exactly.
		func(a *carbon.Activity) { a.OccurredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		func(a *carbon.Activity) {
			a.OccurredAt = time.Date(2025, 3, 15, 12, 0, 0, 0, time.FixedZone("LMT", 8*3600+5*60+43))
		},
		func(a *carbon.Activity) { a.Quantities = nil },
		func(a *carbon.Activity) { a.Quantities["extra"] = qty("1", carbon.Trip) },
		func(a *carbon.Activity) { a.Quantities["extra"] = qty("1.5", carbon.Trip) },
		func(a *carbon.Activity) { a.Quantities["bad name"] = qty("1", carbon.Trip) },
		func(a *carbon.Activity) { a.Quantities["zz"] = carbon.Quantity{} },
		func(a *carbon.Activity) { a.Quantities["neg"], _ = carbon.ParseQuantity("-1 trip") },
		func(a *carbon.Activity) {
			a.Quantities["huge"], _ = carbon.NewQuantity(decimal.New(1, 1500), carbon.Trip)
		},
	}
	for _, p := range monitored {
		edits = append(edits,
			func(a *carbon.Activity) { delete(a.Quantities, p.Name) },
			func(a *carbon.Activity) { a.Quantities[p.Name] = carbon.Quantity{} },
			func(a *carbon.Activity) {
				a.Quantities[p.Name], _ = carbon.NewQuantity(decimal.New(1, -1500), carbon.Trip)
			},
		)
	}
	for i, edit := range edits {
		a := mk(usual(), equivalenceAttributes[1+i%7])
		edit(&a)
		out = append(out, a)
	}
	return out
}

func defaultUnit(d carbon.Dimension) carbon.Unit {
	switch d {
	case carbon.DimDistance:
		return carbon.Kilometre
	case carbon.DimEnergy:
		return carbon.KilowattHour
	case carbon.DimDuration:
		return carbon.Hour
	case carbon.DimMass:
		return carbon.Gram
	}
	return carbon.Item
}

// requireSameDecimal fails unless got has want's coefficient and exponent.
func requireSameDecimal(t testing.TB, want, got decimal.Decimal, what string) {
	t.Helper()
	require.Truef(t, want.Coefficient().Cmp(got.Coefficient()) == 0 && want.Exponent() == got.Exponent(),
		"%s: got %se%d, want %se%d", what, got.Coefficient(), got.Exponent(), want.Coefficient(), want.Exponent())
}

// requireSameResult fails unless got is want in every field, each decimal
// with the same coefficient and exponent.
func requireSameResult(t testing.TB, want, got Result) {
	t.Helper()
	require.Equal(t, want.Ref(), got.Ref())
	require.Equal(t, want.SpecDigest, got.SpecDigest)
	require.Equal(t, want.Digest, got.Digest)
	require.Equal(t, want.Factors, got.Factors)
	require.Equal(t, want.Rounding, got.Rounding)
	for _, m := range [5][3]any{{"BE", want.BE, got.BE}, {"PE", want.PE, got.PE}, {"LE", want.LE, got.LE},
		{"ER", want.ER, got.ER}, {"resolution", want.Resolution, got.Resolution}} {
		requireSameDecimal(t, m[1].(carbon.Mass).Grams(), m[2].(carbon.Mass).Grams(), m[0].(string))
	}
	require.Len(t, got.Steps, len(want.Steps))
	for i, w := range want.Steps {
		g := got.Steps[i]
		require.Equal(t, w.Name, g.Name)
		require.Equal(t, w.Expression, g.Expression)
		requireSameDecimal(t, w.Value.Grams(), g.Value.Grams(), "step "+w.Name)
	}
}

// requireEquivalent quantifies a with m both ways and fails unless the
// results, or the errors, are the same, and the digest is the reference
// encoding's. It reports whether a was quantified.
func requireEquivalent(t testing.TB, m *built, a carbon.Activity) bool {
	t.Helper()
	got, err := m.quantify(&a, false)
	want, wantErr := m.quantify(&a, true)
	brief, briefErr := m.brief(&a)
	if wantErr != nil {
		require.Error(t, err)
		require.Equal(t, fmt.Sprintf("%T %v", wantErr, wantErr), fmt.Sprintf("%T %v", err, err))
		require.Equal(t, fmt.Sprintf("%T %v", wantErr, wantErr), fmt.Sprintf("%T %v", briefErr, briefErr), "brief")
		return false
	}
	require.NoError(t, err)
	requireSameResult(t, want, got)
	require.NoError(t, briefErr)
	require.Equal(t, want.Ref(), brief.Ref())
	require.Equal(t, want.Digest, brief.Digest, "brief")
	requireSameDecimal(t, want.ER.Grams(), brief.ER.Grams(), "brief ER")
	require.Equal(t, referenceDigest(&m.spec, m.digest, &a, &got), got.Digest, "the encoding as first written")
	return true
}

// TestFastMatchesReference quantifies thousands of activities with every
// shortcut and without, and requires the same Result or error.
func TestFastMatchesReference(t *testing.T) {
	quantified, refused := 0, 0
	for _, m := range equivalenceMethodologies(t) {
		for i, a := range equivalenceActivities(m.spec) {
			if testing.Short() && i%5 != 0 {
				continue
			}
			if requireEquivalent(t, m, a) {
				quantified++
			} else {
				refused++
			}
		}
	}
	t.Logf("%d quantified, %d refused", quantified, refused)
	require.Greater(t, quantified, 1000)
	require.Greater(t, refused, 1000)
}

// TestAdmitImpliesCheck holds admit, the quick test of an activity, to
// check, the full one: admit accepts exactly what check finds no problem
// with. admit repeats carbon.Activity.Validate's tests rather than calling
// it (which builds a report), so this test also fails when package carbon
// adds one.
func TestAdmitImpliesCheck(t *testing.T) {
	for _, m := range equivalenceMethodologies(t) {
		for _, a := range equivalenceActivities(m.spec) {
			s := m.getSheet(false)
			ok := s.admit(&a)
			m.putSheet(s)
			ps := m.check(&a)
			require.Equal(t, len(ps) == 0, ok, "%s: %+v: %v", m.ref, a, ps)
		}
	}
}

// TestFastPathIsTaken guards the benchmarks' meaning: the catalog's usual
// activities are admitted and computed in int64.
func TestFastPathIsTaken(t *testing.T) {
	for _, c := range builtinCases {
		if c.errIs != nil {
			continue
		}
		a := activity(t, c.scenario, c.quantities, c.attrs)
		m, err := Builtin().Resolve(a.Scenario, a.OccurredAt)
		require.NoError(t, err)
		b := m.(*built)
		s := b.getSheet(false)
		require.True(t, s.admit(&a), c.name)
		if b.plan != nil {
			require.NoError(t, s.run(&a, b.plan), c.name)
			require.False(t, s.exact, c.name)
			require.True(t, b.finishFast(s), c.name)
		}
		b.putSheet(s)
	}
}

// FuzzFastMatchesReference is TestFastMatchesReference for arbitrary
// quantities, units, attributes and times.
func FuzzFastMatchesReference(f *testing.F) {
	f.Add(uint8(0), "distance", "6.4", "km", "line", "B12", int64(0))
	f.Add(uint8(3), "items", "2", "item", "category", "phone", int64(5))
	f.Add(uint8(12), "a", "92233720368547758.07", "m", "mode", "x", int64(1))
	f.Add(uint8(20), "d", "3.5", "hour", "mode", "y", int64(-1))
	ms := equivalenceMethodologies(f)
	f.Fuzz(func(t *testing.T, which uint8, name, value, unit, attr, attrValue string, offset int64) {
		m := ms[int(which)%len(ms)]
		q, err := carbon.ParseQuantity(value + " " + unit)
		if err != nil {
			return
		}
		a := usualActivity(m.spec)
		a.Quantities[name] = q
		a.Attributes = map[string]string{attr: attrValue, "category": "phone", "condition": "good", "cutlery": "none"}
		a.OccurredAt = a.OccurredAt.Add(time.Duration(offset))
		requireEquivalent(t, m, a)
	})
}

// TestQuantifyConcurrent quantifies from many goroutines at once with the
// same methodologies, which share their scratch space between calls: each
// result must be the one computed alone (run it with -race).
func TestQuantifyConcurrent(t *testing.T) {
	ms := equivalenceMethodologies(t)
	type job struct {
		m    *built
		a    carbon.Activity
		want Result
	}
	var jobs []job
	for _, m := range ms {
		for i, a := range equivalenceActivities(m.spec) {
			if i%17 != 0 {
				continue
			}
			if want, err := m.Quantify(a); err == nil {
				jobs = append(jobs, job{m, a, want})
			}
		}
	}
	require.NotEmpty(t, jobs)
	const workers = 8
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range jobs {
				j := &jobs[(i*7+w*13)%len(jobs)]
				got, err := j.m.Quantify(j.a)
				if err == nil && got.Digest != j.want.Digest {
					err = fmt.Errorf("%s: digest %s, want %s", j.m.ref, got.Digest, j.want.Digest)
				}
				if err == nil {
					err = compareResults(got, j.want)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		require.NoError(t, <-errs)
	}
}

// TestWorksheetAfterCalc checks that a Worksheet kept past its Calc call
// refuses further terms rather than writing into another call's.
func TestWorksheetAfterCalc(t *testing.T) {
	s := testSpec()
	s.Formula = "BE = widgets × widget"
	var kept *Worksheet
	m, err := Build(s, func(w *Worksheet) error {
		kept = w
		return w.Term(Baseline, "widgets", "widget")
	})
	require.NoError(t, err)
	a := activity(t, "test.widget", q{"widgets": "2 item"}, nil)
	first, err := m.Quantify(a)
	require.NoError(t, err)
	require.ErrorIs(t, kept.Term(Baseline, "widgets", "widget"), ErrCalculation)
	require.Empty(t, kept.Attribute("x"))
	require.Empty(t, kept.Activity().ID)
	again, err := m.Quantify(a)
	require.NoError(t, err)
	require.Equal(t, first.Digest, again.Digest)
}
