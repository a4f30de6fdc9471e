package methodology

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// wasteSpec reads a mass: "waste" kg of waste diverted, at 2 g CO2e per kg.
func wasteSpec() Spec {
	s := testSpec()
	s.ID, s.Scenario = "test.waste", "test.waste"
	s.Parameters = []Parameter{{Name: "waste", Dimension: carbon.DimMass, Monitoring: Monitored}}
	s.Conditions = nil
	s.Factors = []Factor{{
		ID: "diversion", Version: "1", Value: num("2"), Numerator: carbon.Gram, Denominator: carbon.Kilogram, Gas: CO2e,
		DataYear: 2023, Source: Source{Organisation: "Test Org", Document: "Test table 2"},
	}}
	return s
}

var wasteFormula = Formula{BE: []Term{{Quantity: "waste", Factors: []string{"diversion"}}}}

func TestQuantifyBadInput(t *testing.T) {
	r := Builtin()
	tests := []struct {
		name   string
		a      func(t *testing.T) carbon.Activity
		is     []error
		fields []string
	}{
		{
			name: "no time: invalid, not merely unresolved",
			a: func(t *testing.T) carbon.Activity {
				a := activity(t, "food.no-cutlery", q{"orders": "1 order"}, q{"cutlery": "none"})
				a.OccurredAt = time.Time{}
				return a
			},
			is:     []error{ErrNotQuantifiable, carbon.ErrMissing},
			fields: []string{"occurred_at"},
		},
		{
			name: "unknown scenario",
			a: func(t *testing.T) carbon.Activity {
				return activity(t, "food.no-such-thing", q{"orders": "1 order"}, nil)
			},
			is: []error{ErrNoneInForce},
		},
		{
			name: "before the catalog's validity",
			a: func(t *testing.T) carbon.Activity {
				a := activity(t, "food.no-cutlery", q{"orders": "1 order"}, q{"cutlery": "none"})
				a.OccurredAt = catalogStart().Add(-time.Nanosecond)
				return a
			},
			is: []error{ErrNoneInForce},
		},
		{
			name: "missing quantity",
			a: func(t *testing.T) carbon.Activity {
				return activity(t, "food.no-cutlery", q{"meals": "1 order"}, q{"cutlery": "none"})
			},
			is:     []error{ErrNotQuantifiable, ErrMissingQuantity},
			fields: []string{"quantities[orders]"},
		},
		{
			name: "negative quantity",
			a: func(t *testing.T) carbon.Activity {
				return activity(t, "logistics.box-reuse", q{"boxes": "-1 box"}, nil)
			},
			is:     []error{ErrNotQuantifiable, carbon.ErrNegative},
			fields: []string{"quantities[boxes]"},
		},
		{
			name: "km given where kWh is required",
			a: func(t *testing.T) carbon.Activity {
				return activity(t, "enterprise.electricity-saving", q{"electricity_saved": "3 km"}, nil)
			},
			is:     []error{ErrNotQuantifiable, ErrWrongUnit, carbon.ErrDimensionMismatch},
			fields: []string{"quantities[electricity_saved]"},
		},
		{
			name: "invalid activity",
			a: func(t *testing.T) carbon.Activity {
				a := activity(t, "logistics.box-reuse", q{"boxes": "1 box"}, nil)
				a.ID, a.Region = "", "CN-XX"
				return a
			},
			is:     []error{ErrNotQuantifiable, carbon.ErrInvalidID, carbon.ErrUnknownRegion},
			fields: []string{"id", "region"},
		},
		{
			name: "every violated condition is named",
			a: func(t *testing.T) carbon.Activity {
				return activity(t, "secondhand.resale", q{"items": "25 item"}, q{"category": "yacht"})
			},
			is:     []error{ErrNotQuantifiable, ErrConditionNotMet},
			fields: []string{"quantities[items]", "attributes[category]", "attributes[condition]"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Quantify(tc.a(t))
			require.Error(t, err)
			for _, want := range tc.is {
				require.ErrorIs(t, err, want)
			}
			if tc.fields != nil {
				require.Equal(t, tc.fields, problemFields(t, err), "error: %v", err)
			}
		})
	}
}

func TestQuantifyDirectChecks(t *testing.T) {
	m := mustDeclarative(t, wasteSpec(), wasteFormula)
	base := func(t *testing.T, waste string) carbon.Activity {
		return activity(t, "test.waste", q{"waste": waste}, nil)
	}
	t.Run("km where kg is required", func(t *testing.T) {
		_, err := m.Quantify(base(t, "3 km"))
		require.ErrorIs(t, err, ErrWrongUnit)
		require.ErrorContains(t, err, "quantities[waste]: 3 km given where a mass is required")
	})
	t.Run("grams convert", func(t *testing.T) {
		res, err := m.Quantify(base(t, "1500 g"))
		require.NoError(t, err)
		requireMass(t, "3g", res.ER, "ER") // 1.5 kg × 2 g/kg
		require.Equal(t, "waste (1500 g) → 1.5 kg × diversion (2 g/kg)", res.Steps[0].Expression)
	})
	t.Run("other scenario", func(t *testing.T) {
		a := base(t, "1 kg")
		a.Scenario = "test.other"
		_, err := m.Quantify(a)
		require.ErrorIs(t, err, ErrScenarioMismatch)
		require.Equal(t, []string{"scenario"}, problemFields(t, err))
	})
	t.Run("window start is inclusive", func(t *testing.T) {
		a := base(t, "1 kg")
		a.OccurredAt = wasteSpec().ValidFrom
		_, err := m.Quantify(a)
		require.NoError(t, err)
	})
	t.Run("before the window", func(t *testing.T) {
		a := base(t, "1 kg")
		a.OccurredAt = wasteSpec().ValidFrom.Add(-time.Nanosecond)
		_, err := m.Quantify(a)
		require.ErrorIs(t, err, ErrOutsideValidity)
		require.Equal(t, []string{"occurred_at"}, problemFields(t, err))
	})
	t.Run("window end is exclusive", func(t *testing.T) {
		s := wasteSpec()
		s.ValidTo = s.ValidFrom.Add(time.Hour)
		m := mustDeclarative(t, s, wasteFormula)
		a := base(t, "1 kg")
		a.OccurredAt = s.ValidTo.Add(-time.Nanosecond)
		_, err := m.Quantify(a)
		require.NoError(t, err)
		a.OccurredAt = s.ValidTo
		_, err = m.Quantify(a)
		require.ErrorIs(t, err, ErrOutsideValidity)
	})
	t.Run("number out of range", func(t *testing.T) {
		a := base(t, "1 kg")
		// NewQuantity refuses such a number; a Mass converted to a
		// Quantity is the one way to build it.
		huge := carbon.Grams(decimal.New(1, 1<<30)).Quantity()
		a.Quantities["waste"] = huge
		a.Quantities["other"] = huge
		_, err := m.Quantify(a)
		require.ErrorIs(t, err, carbon.ErrOutOfRange) // carbon.Activity.Validate catches it first
		require.Equal(t, []string{"quantities[other]", "quantities[waste]"}, problemFields(t, err))
	})
}

func TestConservativeness(t *testing.T) {
	// widgets × 5 g/item as BE, widgets × pe g/item as PE.
	build := func(t *testing.T, pe string, k Conservativeness) Methodology {
		t.Helper()
		s := testSpec()
		s.Conservativeness = k
		s.Factors = append(s.Factors, Factor{
			ID: "widget-pe", Version: "1", Value: num(pe), Numerator: carbon.Gram, Denominator: carbon.Item, Gas: CO2e,
			DataYear: 2023, Source: Source{Organisation: "Test Org", Document: "Test table 3"},
		})
		f := widgetFormula
		f.PE = []Term{{Quantity: "widgets", Factors: []string{"widget-pe"}}}
		return mustDeclarative(t, s, f)
	}
	tests := []struct {
		name    string
		pe      string
		k       Conservativeness
		widgets string
		er      string
		steps   []string // names after "ER.gross"
	}{
		// 3 × 5 − 3 × 1.2345 = 15 − 3.7035 = 11.2965 g; toward zero to 1 mg
		{name: "default resolution", pe: "1.2345", widgets: "3 item", er: "11.296g", steps: []string{"ER"}},
		// 11.2965 toward zero to 5 g = 10 g
		{name: "resolution 5 g", pe: "1.2345", k: Conservativeness{Resolution: carbon.GramsInt(5)}, widgets: "3 item", er: "10g", steps: []string{"ER"}},
		// 1 × 5 − 1 × 6 = −1 g; never negative
		{name: "floor at zero", pe: "6", widgets: "1 item", er: "0g", steps: []string{"ER.floor", "ER"}},
		// 2 × 5 − 2 × 1 = 8 g; × (1 − 0.15) = 6.8 g
		{name: "discount", pe: "1", k: Conservativeness{Discount: num("0.15")}, widgets: "2 item", er: "6.8g", steps: []string{"ER.discount", "ER"}},
		// 10 × 5 − 10 × 1 = 40 g; × 0.9 = 36 g; cap 30 g
		{name: "discount then cap", pe: "1", k: Conservativeness{Discount: num("0.1"), Cap: carbon.GramsInt(30)}, widgets: "10 item", er: "30g", steps: []string{"ER.discount", "ER.cap", "ER"}},
		// 2 × 4 = 8 g, under the 30 g cap
		{name: "cap not reached", pe: "1", k: Conservativeness{Cap: carbon.GramsInt(30)}, widgets: "2 item", er: "8g", steps: []string{"ER.cap", "ER"}},
		// 1 × 5 − 1 × 4.9999999 = 0.0000001 g; rounds to 0
		{name: "below resolution", pe: "4.9999999", widgets: "1 item", er: "0g", steps: []string{"ER"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := build(t, tc.pe, tc.k)
			res, err := m.Quantify(activity(t, "test.widget", q{"widgets": tc.widgets}, nil))
			require.NoError(t, err)
			requireMass(t, tc.er, res.ER, "ER")
			var after []string
			for i, s := range res.Steps {
				if s.Name == "ER.gross" {
					for _, s := range res.Steps[i+1:] {
						after = append(after, s.Name)
					}
				}
			}
			require.Equal(t, tc.steps, after)
			require.False(t, res.ER.IsNegative())
			require.Equal(t, carbon.TowardZero, res.Rounding)
		})
	}
}

func TestBuildRejectsBadSpecs(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(s *Spec)
		is     error
		fields []string
	}{
		{name: "factor without source", edit: func(s *Spec) { s.Factors[0].Source = Source{} },
			is: ErrNoProvenance, fields: []string{"factors[0].source.organisation", "factors[0].source.document"}},
		{name: "factor without data year", edit: func(s *Spec) { s.Factors[0].DataYear = 0 },
			is: ErrNoProvenance, fields: []string{"factors[0].data_year"}},
		{name: "negative factor", edit: func(s *Spec) { s.Factors[0].Value = num("-1") },
			is: ErrInvalidField, fields: []string{"factors[0].value"}},
		{name: "emission factor without gas", edit: func(s *Spec) { s.Factors[0].Gas = "" },
			is: ErrMissingField, fields: []string{"factors[0].gas"}},
		{name: "uncertainty not a fraction", edit: func(s *Spec) { s.Factors[0].Uncertainty = num("1") },
			is: ErrInvalidField, fields: []string{"factors[0].uncertainty"}},
		{name: "bad url", edit: func(s *Spec) { s.Factors[0].Source.URL = "ftp://x" },
			is: ErrInvalidField, fields: []string{"factors[0].source.url"}},
		{name: "id with @", edit: func(s *Spec) { s.ID = "a@b" },
			is: ErrInvalidField, fields: []string{"id"}},
		{name: "no status", edit: func(s *Spec) { s.Status = 0 },
			is: ErrMissingField, fields: []string{"status"}},
		{name: "undefined status", edit: func(s *Spec) { s.Status = 9 },
			is: ErrInvalidField, fields: []string{"status"}},
		{name: "empty window", edit: func(s *Spec) { s.ValidTo = s.ValidFrom },
			is: ErrInvalidField, fields: []string{"valid_to"}},
		{name: "condition on undeclared quantity", edit: func(s *Spec) { s.Conditions[0].Quantity = "gadgets" },
			is: ErrUnknownReference, fields: []string{"conditions[0].quantity"}},
		{name: "bound of the wrong dimension", edit: func(s *Spec) { s.Conditions[0].Max = AtMost(qty("3", carbon.Kilometre)) },
			is: ErrWrongUnit, fields: []string{"conditions[0].max.value"}},
		{name: "empty range", edit: func(s *Spec) { s.Conditions[0].Max = Below(qty("1", carbon.Item)) },
			is: ErrInvalidField, fields: []string{"conditions[0]"}},
		{name: "discount of one", edit: func(s *Spec) { s.Conservativeness.Discount = num("1") },
			is: ErrInvalidField, fields: []string{"conservativeness.discount"}},
		{name: "negative cap", edit: func(s *Spec) { s.Conservativeness.Cap = carbon.GramsInt(-1) },
			is: ErrInvalidField, fields: []string{"conservativeness.cap"}},
		{name: "fixed parameter without factor", edit: func(s *Spec) {
			s.Parameters = append(s.Parameters, Parameter{Name: "nothing", Monitoring: Fixed, Dimension: carbon.DimMass})
		}, is: ErrUnknownReference, fields: []string{"parameters[1].name"}},
		{name: "several problems at once", edit: func(s *Spec) { s.Title = ""; s.Factors[0].Source.Document = "" },
			is: ErrInvalidSpec, fields: []string{"title", "factors[0].source.document"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			tc.edit(&s)
			_, err := NewDeclarative(s, widgetFormula)
			require.ErrorIs(t, err, ErrInvalidSpec)
			require.ErrorIs(t, err, tc.is)
			require.Equal(t, tc.fields, problemFields(t, err), "error: %v", err)
			require.ErrorIs(t, New().Register(badMethodology{s}), ErrInvalidSpec, "Register validates too")
		})
	}
}

// badMethodology offers a Spec without going through Build.
type badMethodology struct{ s Spec }

func (b badMethodology) Spec() Spec { return b.s }
func (b badMethodology) Quantify(carbon.Activity) (Result, error) {
	return Result{}, errors.New("unreachable")
}

func TestFormulaValidation(t *testing.T) {
	tests := []struct {
		name   string
		f      Formula
		is     error
		fields []string
	}{
		{name: "no baseline", f: Formula{}, is: ErrMissingField, fields: []string{"formula.be"}},
		{name: "undeclared quantity", f: Formula{BE: []Term{{Quantity: "gadgets", Factors: []string{"widget"}}}},
			is: ErrUnknownReference, fields: []string{"formula.be[0].quantity"}},
		{name: "undeclared factor", f: Formula{BE: []Term{{Quantity: "widgets", Factors: []string{"widget", "nope"}}}},
			is: ErrUnknownReference, fields: []string{"formula.be[0].factors[1]"}},
		{name: "no factor", f: Formula{BE: []Term{{Quantity: "widgets"}}},
			is: ErrMissingField, fields: []string{"formula.be[0].factors"}},
		{name: "units do not chain", f: Formula{BE: []Term{{Quantity: "widgets", Factors: []string{"widget", "widget"}}}},
			is: ErrWrongUnit, fields: []string{"formula.be[0].factors[1]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewDeclarative(testSpec(), tc.f)
			require.ErrorIs(t, err, ErrInvalidSpec)
			require.ErrorIs(t, err, tc.is)
			require.Equal(t, tc.fields, problemFields(t, err), "error: %v", err)
		})
	}
	t.Run("stated formula must match the terms", func(t *testing.T) {
		s := testSpec()
		s.Formula = "BE = something else"
		_, err := NewDeclarative(s, widgetFormula)
		require.Equal(t, []string{"formula"}, problemFields(t, err))
	})
	t.Run("not a mass", func(t *testing.T) {
		s := testSpec()
		s.Factors[0].Numerator, s.Factors[0].Gas = carbon.KilowattHour, ""
		_, err := NewDeclarative(s, widgetFormula)
		require.ErrorIs(t, err, ErrWrongUnit)
		require.Equal(t, []string{"formula.be[0].factors"}, problemFields(t, err))
	})
}

func TestBuildAndCalcErrors(t *testing.T) {
	t.Run("nil calc", func(t *testing.T) {
		s := testSpec()
		s.Formula = "BE = widgets × widget"
		_, err := Build(s, nil)
		require.ErrorIs(t, err, ErrMissingField)
		require.Equal(t, []string{"calc"}, problemFields(t, err))
	})
	a := activity(t, "test.widget", q{"widgets": "2 item"}, nil)
	tests := []struct {
		name string
		calc Calc
	}{
		{"undeclared quantity", func(w *Worksheet) error { return w.Term(Baseline, "gadgets", "widget") }},
		{"undeclared factor", func(w *Worksheet) error { return w.Term(Baseline, "widgets", "gadget") }},
		{"no factors", func(w *Worksheet) error { return w.Term(Baseline, "widgets") }},
		{"undefined part", func(w *Worksheet) error { return w.Term(Part(9), "widgets", "widget") }},
		{"units do not chain", func(w *Worksheet) error { return w.Term(Baseline, "widgets", "widget", "widget") }},
		{"own error", func(w *Worksheet) error { return errors.New("boom") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec()
			s.Formula = "BE = widgets × widget"
			m, err := Build(s, tc.calc)
			require.NoError(t, err)
			_, err = m.Quantify(a)
			require.ErrorIs(t, err, ErrCalculation)
			require.NotErrorIs(t, err, ErrNotQuantifiable)
		})
	}
}

func TestSpecIsACopy(t *testing.T) {
	m := mustDeclarative(t, testSpec(), widgetFormula)
	s := m.Spec()
	s.Factors[0].Value = num("500")
	s.Conditions[0].Regions = append(s.Conditions[0].Regions, carbon.Beijing)
	res, err := m.Quantify(activity(t, "test.widget", q{"widgets": "2 item"}, nil))
	require.NoError(t, err)
	requireMass(t, "10g", res.ER, "ER") // 2 × 5, not 2 × 500
	want := testSpec()
	want.Formula = widgetFormula.String()
	require.Equal(t, want.Digest(), m.Spec().Digest())
}

func TestEnumsText(t *testing.T) {
	for _, s := range []Status{Draft, Active, Retired} {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back Status
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, s, back)
	}
	// Every error of the package matches a sentinel of the first group.
	_, err := Status(0).MarshalText()
	require.ErrorIs(t, err, ErrInvalidSpec)
	require.ErrorIs(t, err, ErrInvalidField)
	var s Status
	err = s.UnmarshalText([]byte("published"))
	require.ErrorIs(t, err, ErrInvalidSpec)
	require.ErrorIs(t, err, ErrInvalidField)
	require.EqualError(t, err, `methodology: invalid methodology (unnamed): status: "published" is not draft, active or retired`)
	require.Equal(t, Status(0), s)
	require.Equal(t, "Status(7)", Status(7).String())
	require.Equal(t, "monitored", Monitored.String())
	require.Equal(t, "quantity-range", QuantityRange.String())
	require.Equal(t, "Part(0)", Part(0).String())
}

func TestErrorMessages(t *testing.T) {
	_, err := Builtin().Quantify(activity(t, "food.no-cutlery", q{"orders": "11 order"}, q{"cutlery": "yes"}))
	msg := err.Error()
	require.True(t, strings.HasPrefix(msg, "methodology: carbonkit.food.no-cutlery@2024.1 cannot quantify activity \"evt-0001\": "), msg)
	require.Contains(t, msg, `quantities[orders]: 11 order is above the maximum 10 order (condition "orders-range")`)
	require.Contains(t, msg, `attributes[cutlery]: "yes" is not one of "none" (condition "no-cutlery")`)
}

func TestConvertTable(t *testing.T) {
	tests := []struct {
		v         string
		from, to  carbon.Unit
		want      string
		wantErrIs error
	}{
		{"1.5", carbon.Kilogram, carbon.Gram, "1500", nil},
		{"1500", carbon.Gram, carbon.Kilogram, "1.5", nil},
		{"2", carbon.Tonne, carbon.Milligram, "2000000000", nil},
		{"3200", carbon.Metre, carbon.Kilometre, "3.2", nil},
		{"150", carbon.KilowattHour, carbon.MegawattHour, "0.15", nil},
		{"2", carbon.Hour, carbon.Second, "7200", nil}, // 3600 is not a power of ten: carbon's path
		{"1", carbon.Second, carbon.Hour, "", carbon.ErrInexact},
		{"1", carbon.Order, carbon.Box, "", carbon.ErrDimensionMismatch},
		{"1", carbon.Kilometre, carbon.Kilogram, "", carbon.ErrDimensionMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.v+string(tc.from)+"->"+string(tc.to), func(t *testing.T) {
			got, err := convert(num(tc.v), tc.from, tc.to)
			if tc.wantErrIs != nil {
				require.ErrorIs(t, err, tc.wantErrIs)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, formatDecimal(got))
		})
	}
}

func TestCountUnitsDoNotConvert(t *testing.T) {
	s := testSpec()
	s.Conditions = nil // so that the term, not a condition, meets the unit
	m := mustDeclarative(t, s, widgetFormula)
	_, err := m.Quantify(activity(t, "test.widget", q{"widgets": "2 box"}, nil))
	require.ErrorIs(t, err, ErrNotQuantifiable)
	require.ErrorIs(t, err, ErrWrongUnit)
	require.Equal(t, []string{"quantities[widgets]"}, problemFields(t, err))
	require.ErrorContains(t, err, "2 box given where a count in item is required")
}

// TestInexactDurationIsNotWrongUnit quantifies an idle time reported in
// seconds against a factor per hour: 1800 s is 0.5 hour, but 600 s is 1/6
// hour, which no decimal holds exactly. That is neither a wrong unit nor a
// wrong dimension, and the error says what to do instead.
func TestInexactDurationIsNotWrongUnit(t *testing.T) {
	s := testSpec()
	s.ID, s.Scenario, s.Conditions = "test.idle", "test.idle", nil
	s.Parameters = []Parameter{{Name: "idle", Dimension: carbon.DimDuration, Monitoring: Monitored}}
	s.Factors = []Factor{{
		ID: "engine", Version: "1", Value: num("600"), Numerator: carbon.Gram, Denominator: carbon.Hour, Gas: CO2e,
		DataYear: 2023, Source: Source{Organisation: "Test Org", Document: "Test table 3"},
	}}
	m := mustDeclarative(t, s, Formula{BE: []Term{{Quantity: "idle", Factors: []string{"engine"}}}})

	res, err := m.Quantify(activity(t, "test.idle", q{"idle": "1800 s"}, nil))
	require.NoError(t, err)
	requireMass(t, "300g", res.ER, "ER")

	_, err = m.Quantify(activity(t, "test.idle", q{"idle": "600 s"}, nil))
	require.ErrorIs(t, err, ErrNotQuantifiable)
	require.ErrorIs(t, err, carbon.ErrInexact)
	require.NotErrorIs(t, err, ErrWrongUnit)
	require.NotErrorIs(t, err, carbon.ErrDimensionMismatch)
	require.Equal(t, []string{"quantities[idle]"}, problemFields(t, err))
	require.ErrorContains(t, err, "600 s is no exact decimal number of hour; report it in hour")
}

// TestTermsStayInRange holds the numbers of a result to the range
// carbonkit parses (dec.InRange): written out, they parse back, so the
// result's JSON decodes and its digest survives a JSON round trip of the
// activity, which may rescale its quantities ("1.0 item" becomes "1 item").
// A term that would leave the range is refused; one near its edge is not.
func TestTermsStayInRange(t *testing.T) {
	spec := func(exp int32) Spec {
		s := testSpec()
		s.Conditions = nil
		s.Factors = append(s.Factors, Factor{ID: "ratio", Version: "1", Value: decimal.New(1, exp),
			DataYear: 2023, Source: Source{Organisation: "Test Org", Document: "Test table 4"}})
		return s
	}
	cubed := Formula{BE: []Term{{Quantity: "widgets", Factors: []string{"widget", "ratio", "ratio", "ratio"}}}}
	rescaled := activity(t, "test.widget", q{"widgets": "1.0 item"}, nil)

	t.Run("near the edge", func(t *testing.T) {
		m := mustDeclarative(t, spec(-300), cubed) // 5 × 10^-900 g
		res, err := m.Quantify(rescaled)
		require.NoError(t, err)
		b, err := json.Marshal(rescaled)
		require.NoError(t, err)
		var back carbon.Activity
		require.NoError(t, json.Unmarshal(b, &back))
		require.NoError(t, Verify(m, back, res))
		b, err = json.Marshal(res)
		require.NoError(t, err)
		var decoded Result
		require.NoError(t, json.Unmarshal(b, &decoded))
	})
	t.Run("past the edge", func(t *testing.T) {
		m := mustDeclarative(t, spec(-1000), cubed) // 5 × 10^-3000 g
		r := New()
		require.NoError(t, r.Register(m))
		for _, brief := range []bool{false, true} {
			var err error
			if brief {
				_, err = r.QuantifyBrief(rescaled)
			} else {
				_, err = r.Quantify(rescaled)
			}
			require.ErrorIs(t, err, ErrNotQuantifiable)
			require.ErrorIs(t, err, ErrOutOfRange)
			require.Equal(t, []string{"quantities[widgets]"}, problemFields(t, err))
		}
	})
	t.Run("a built-in conversion past the edge", func(t *testing.T) {
		// 10^-1000 m is in range, but 10^-1003 km, the bus factor's unit,
		// is not.
		a := activity(t, "transport.bus", q{"distance": "0." + strings.Repeat("0", 999) + "1 m"}, nil)
		_, err := Builtin().Quantify(a)
		require.ErrorIs(t, err, ErrOutOfRange)
		require.Equal(t, []string{"quantities[distance]"}, problemFields(t, err))
	})
}

func TestPowerOfTen(t *testing.T) {
	tests := []struct {
		grams string
		want  int32
	}{
		{"0.001", -3}, {"1", 0}, {"1000", 3}, {"1000.000", 3}, {"10", 1},
		{"5", unusedPow10}, {"0.002", unusedPow10}, {"110", unusedPow10}, {"0", unusedPow10}, {"-10", unusedPow10},
	}
	for _, tc := range tests {
		t.Run(tc.grams, func(t *testing.T) {
			require.Equal(t, tc.want, powerOfTen(carbon.Grams(num(tc.grams))))
		})
	}
}

func TestMultiTermSums(t *testing.T) {
	s := testSpec()
	s.Conditions = nil
	s.Parameters = append(s.Parameters, Parameter{Name: "gadgets", Dimension: carbon.DimCount, Monitoring: Monitored})
	s.Factors = append(s.Factors, Factor{
		ID: "gadget", Version: "1", Value: num("2"), Numerator: carbon.Gram, Denominator: carbon.Item, Gas: CO2e,
		DataYear: 2023, Source: Source{Organisation: "Test Org", Document: "Test table 4"},
	})
	term := func(q, f string) Term { return Term{Quantity: q, Factors: []string{f}} }
	f := Formula{
		BE: []Term{term("widgets", "widget"), term("gadgets", "gadget"), term("widgets", "gadget"), term("gadgets", "widget"), term("widgets", "widget")},
		LE: []Term{term("gadgets", "gadget")},
	}
	m := mustDeclarative(t, s, f)
	res, err := m.Quantify(activity(t, "test.widget", q{"widgets": "2 item", "gadgets": "3 item"}, nil))
	require.NoError(t, err)
	// BE = 2×5 + 3×2 + 2×2 + 3×5 + 2×5 = 10 + 6 + 4 + 15 + 10 = 45 g; LE = 3×2 = 6 g
	requireMass(t, "45g", res.BE, "BE")
	requireMass(t, "6g", res.LE, "LE")
	requireMass(t, "39g", res.ER, "ER")
	names := make([]string, len(res.Steps))
	for i, st := range res.Steps {
		names[i] = st.Name
	}
	require.Equal(t, []string{"BE[0]", "BE[1]", "BE[2]", "BE[3]", "BE[4]", "LE[0]", "BE", "PE", "LE", "ER.gross", "ER"}, names)
	require.Equal(t, "BE[0] + BE[1] + BE[2] + BE[3] + BE[4]", res.Steps[6].Expression)
	require.Equal(t, []FactorRef{{"widget", "1"}, {"gadget", "1"}}, res.Factors, "each factor once, in order of first use")
	require.Equal(t, "BE = widgets × widget + gadgets × gadget + widgets × gadget + gadgets × widget + widgets × widget; PE = 0; LE = gadgets × gadget", m.Spec().Formula)
}

// TestGoCodedWithRegions is a Go-coded methodology that reads the activity
// through the worksheet and is limited to two regions.
func TestGoCodedWithRegions(t *testing.T) {
	s := testSpec()
	s.Formula = "BE = widgets × widget, doubled on weekends"
	s.Factors = append(s.Factors, Factor{
		ID: "weekend", Version: "1", Value: num("2"), DataYear: 2023,
		Source: Source{Organisation: "Test Org", Document: "Test table 5"},
	})
	s.Conditions = append(s.Conditions, Condition{ID: "pilot", Kind: RegionIn, Regions: []carbon.Region{carbon.Guangdong, carbon.Zhejiang}})
	m, err := Build(s, func(w *Worksheet) error {
		switch w.Activity().OccurredAt.Weekday() {
		case time.Saturday, time.Sunday:
			return w.Term(Baseline, "widgets", "widget", "weekend")
		}
		return w.Term(Baseline, "widgets", "widget")
	})
	require.NoError(t, err)
	a := activity(t, "test.widget", q{"widgets": "2 item"}, nil) // a Friday
	res, err := m.Quantify(a)
	require.NoError(t, err)
	requireMass(t, "10g", res.ER, "weekday: 2 × 5")
	a.OccurredAt = a.OccurredAt.AddDate(0, 0, 1)
	res, err = m.Quantify(a)
	require.NoError(t, err)
	requireMass(t, "20g", res.ER, "Saturday: 2 × 5 × 2")
	a.Region = carbon.Beijing
	_, err = m.Quantify(a)
	require.ErrorIs(t, err, ErrConditionNotMet)
	require.ErrorContains(t, err, `region: CN-BJ is not one of CN-GD, CN-ZJ (condition "pilot")`)
}

func TestErrorTexts(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&ResolveError{Scenario: "s", At: "2025-01-01T00:00:00Z", Err: ErrNoneInForce},
			`methodology: scenario "s" at 2025-01-01T00:00:00Z: no active methodology in force`},
		{&ResolveError{Scenario: "s", At: "2025-01-01T00:00:00Z", Candidates: []string{"a@1", "b@1"}, Err: ErrAmbiguous},
			`methodology: scenario "s" at 2025-01-01T00:00:00Z: more than one methodology in force: a@1, b@1`},
		{&ConflictError{Methodology: "a@1", Registered: "0123456789abcdef", Offered: "fedcba9876543210"},
			"methodology: a@1 is already registered with different content (registered 0123456789ab, offered fedcba987654)"},
		{&SpecError{Problems: []Problem{{Field: "$", Err: ErrMalformedJSON, Msg: "unexpected end of document"}}},
			"methodology: invalid methodology (unnamed): $: unexpected end of document"},
		{&ActivityError{Activity: "e1", Problems: []Problem{{Field: "id", Err: carbon.ErrInvalidID, Msg: "is empty"}}},
			`methodology: cannot quantify activity "e1": id: is empty`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, tc.err.Error())
		})
	}
}
