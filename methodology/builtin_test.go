package methodology

import (
	"os"
	"strings"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/stretchr/testify/require"
)

type q = map[string]string

// builtinCase is one activity for a built-in methodology, with either the
// hand-computed emissions or the field and sentinel of the expected problem.
type builtinCase struct {
	name       string
	scenario   carbon.Scenario
	quantities q
	attrs      q
	be, pe, le string // exact, unrounded
	er         string // final
	errField   string
	errIs      error
}

var builtinCases = []builtinCase{
	// food.no-cutlery: BE = orders × 30 g/order. Conditions: 1 ≤ orders ≤ 10
	// order, cutlery = "none".
	{name: "no-cutlery/typical", scenario: "food.no-cutlery", quantities: q{"orders": "2 order"}, attrs: q{"cutlery": "none"},
		be: "60g", pe: "0g", le: "0g", er: "60g"}, // 2 × 30 = 60
	{name: "no-cutlery/min-boundary", scenario: "food.no-cutlery", quantities: q{"orders": "1 order"}, attrs: q{"cutlery": "none"},
		be: "30g", pe: "0g", le: "0g", er: "30g"}, // 1 × 30
	{name: "no-cutlery/max-boundary", scenario: "food.no-cutlery", quantities: q{"orders": "10 order"}, attrs: q{"cutlery": "none"},
		be: "300g", pe: "0g", le: "0g", er: "300g"}, // 10 × 30
	{name: "no-cutlery/below-min", scenario: "food.no-cutlery", quantities: q{"orders": "0 order"}, attrs: q{"cutlery": "none"},
		errField: "quantities[orders]", errIs: ErrConditionNotMet},
	{name: "no-cutlery/above-max", scenario: "food.no-cutlery", quantities: q{"orders": "11 order"}, attrs: q{"cutlery": "none"},
		errField: "quantities[orders]", errIs: ErrConditionNotMet},
	{name: "no-cutlery/fractional", scenario: "food.no-cutlery", quantities: q{"orders": "2.5 order"}, attrs: q{"cutlery": "none"},
		errField: "quantities[orders]", errIs: carbon.ErrNotWhole},
	{name: "no-cutlery/with-cutlery", scenario: "food.no-cutlery", quantities: q{"orders": "1 order"}, attrs: q{"cutlery": "1"},
		errField: "attributes[cutlery]", errIs: ErrConditionNotMet},
	{name: "no-cutlery/attribute-missing", scenario: "food.no-cutlery", quantities: q{"orders": "1 order"},
		errField: "attributes[cutlery]", errIs: ErrConditionNotMet},
	{name: "no-cutlery/boxes-not-orders", scenario: "food.no-cutlery", quantities: q{"orders": "1 box"}, attrs: q{"cutlery": "none"},
		errField: "quantities[orders]", errIs: ErrWrongUnit},

	// logistics.box-reuse: BE = boxes × 37 g/box; 1 ≤ boxes ≤ 50 box.
	{name: "box-reuse/min-boundary", scenario: "logistics.box-reuse", quantities: q{"boxes": "1 box"},
		be: "37g", pe: "0g", le: "0g", er: "37g"}, // 1 × 37
	{name: "box-reuse/max-boundary", scenario: "logistics.box-reuse", quantities: q{"boxes": "50 box"},
		be: "1850g", pe: "0g", le: "0g", er: "1.85kg"}, // 50 × 37 = 1850
	{name: "box-reuse/below-min", scenario: "logistics.box-reuse", quantities: q{"boxes": "0 box"},
		errField: "quantities[boxes]", errIs: ErrConditionNotMet},
	{name: "box-reuse/above-max", scenario: "logistics.box-reuse", quantities: q{"boxes": "51 box"},
		errField: "quantities[boxes]", errIs: ErrConditionNotMet},

	// logistics.e-waybill: BE = waybills × 26 g, PE = waybills × 4 g;
	// 1 ≤ waybills ≤ 100 sheet.
	{name: "e-waybill/min-boundary", scenario: "logistics.e-waybill", quantities: q{"waybills": "1 sheet"},
		be: "26g", pe: "4g", le: "0g", er: "22g"}, // 26 − 4
	{name: "e-waybill/max-boundary", scenario: "logistics.e-waybill", quantities: q{"waybills": "100 sheet"},
		be: "2600g", pe: "400g", le: "0g", er: "2.2kg"}, // 100 × 26 − 100 × 4 = 2200
	{name: "e-waybill/below-min", scenario: "logistics.e-waybill", quantities: q{"waybills": "0 sheet"},
		errField: "quantities[waybills]", errIs: ErrConditionNotMet},
	{name: "e-waybill/above-max", scenario: "logistics.e-waybill", quantities: q{"waybills": "101 sheet"},
		errField: "quantities[waybills]", errIs: ErrConditionNotMet},

	// secondhand.resale: BE = items × production[category] ×
	// substitution[condition]; ER = BE × (1 − 0.1), capped at 1 t;
	// 1 ≤ items ≤ 20 item, category and condition in their tables.
	{name: "secondhand/phone-good", scenario: "secondhand.resale", quantities: q{"items": "1 item"}, attrs: q{"category": "phone", "condition": "good"},
		be: "25kg", pe: "0g", le: "0g", er: "22.5kg"}, // 1 × 50 kg × 0.5 = 25 kg; × 0.9 = 22.5 kg
	{name: "secondhand/book-fair", scenario: "secondhand.resale", quantities: q{"items": "1 item"}, attrs: q{"category": "book", "condition": "fair"},
		be: "450g", pe: "0g", le: "0g", er: "405g"}, // 1.5 kg × 0.3 = 0.45 kg; × 0.9 = 405 g
	{name: "secondhand/clothing-like-new", scenario: "secondhand.resale", quantities: q{"items": "3 item"}, attrs: q{"category": "clothing", "condition": "like-new"},
		be: "18kg", pe: "0g", le: "0g", er: "16.2kg"}, // 3 × 10 kg × 0.6 = 18 kg; × 0.9 = 16.2 kg
	{name: "secondhand/tablet-good", scenario: "secondhand.resale", quantities: q{"items": "2 item"}, attrs: q{"category": "tablet", "condition": "good"},
		be: "80kg", pe: "0g", le: "0g", er: "72kg"}, // 2 × 80 kg × 0.5 = 80 kg; × 0.9 = 72 kg
	{name: "secondhand/max-boundary-capped", scenario: "secondhand.resale", quantities: q{"items": "20 item"}, attrs: q{"category": "laptop", "condition": "like-new"},
		be: "2400kg", pe: "0g", le: "0g", er: "1t"}, // 20 × 200 kg × 0.6 = 2400 kg; × 0.9 = 2160 kg; cap 1 t
	{name: "secondhand/below-min", scenario: "secondhand.resale", quantities: q{"items": "0 item"}, attrs: q{"category": "phone", "condition": "good"},
		errField: "quantities[items]", errIs: ErrConditionNotMet},
	{name: "secondhand/above-max", scenario: "secondhand.resale", quantities: q{"items": "21 item"}, attrs: q{"category": "phone", "condition": "good"},
		errField: "quantities[items]", errIs: ErrConditionNotMet},
	{name: "secondhand/unknown-category", scenario: "secondhand.resale", quantities: q{"items": "1 item"}, attrs: q{"category": "car", "condition": "good"},
		errField: "attributes[category]", errIs: ErrConditionNotMet},
	{name: "secondhand/unknown-condition", scenario: "secondhand.resale", quantities: q{"items": "1 item"}, attrs: q{"category": "phone", "condition": "broken"},
		errField: "attributes[condition]", errIs: ErrConditionNotMet},

	// retail.efficient-product: BE = items × 150 kWh/item × 0.5703 t/MWh;
	// 1 ≤ items ≤ 5, category air-conditioner, grade 1.
	{name: "efficient-product/min-boundary", scenario: "retail.efficient-product", quantities: q{"items": "1 item"}, attrs: q{"category": "air-conditioner", "efficiency_grade": "1"},
		be: "85.545kg", pe: "0g", le: "0g", er: "85.545kg"}, // 150 kWh = 0.15 MWh × 0.5703 t = 0.085545 t
	{name: "efficient-product/max-boundary", scenario: "retail.efficient-product", quantities: q{"items": "5 item"}, attrs: q{"category": "air-conditioner", "efficiency_grade": "1"},
		be: "427.725kg", pe: "0g", le: "0g", er: "427.725kg"}, // 750 kWh = 0.75 MWh × 0.5703 t = 0.427725 t
	{name: "efficient-product/above-max", scenario: "retail.efficient-product", quantities: q{"items": "6 item"}, attrs: q{"category": "air-conditioner", "efficiency_grade": "1"},
		errField: "quantities[items]", errIs: ErrConditionNotMet},
	{name: "efficient-product/below-min", scenario: "retail.efficient-product", quantities: q{"items": "0 item"}, attrs: q{"category": "air-conditioner", "efficiency_grade": "1"},
		errField: "quantities[items]", errIs: ErrConditionNotMet},
	{name: "efficient-product/grade-2", scenario: "retail.efficient-product", quantities: q{"items": "1 item"}, attrs: q{"category": "air-conditioner", "efficiency_grade": "2"},
		errField: "attributes[efficiency_grade]", errIs: ErrConditionNotMet},
	{name: "efficient-product/other-category", scenario: "retail.efficient-product", quantities: q{"items": "1 item"}, attrs: q{"category": "refrigerator", "efficiency_grade": "1"},
		errField: "attributes[category]", errIs: ErrConditionNotMet},

	// transport.*: BE = distance × 170 g/km × 0.7 (119 g/km), PE = distance ×
	// the mode's factor; 0 km < distance ≤ the mode's maximum.
	{name: "bus/typical", scenario: "transport.bus", quantities: q{"distance": "10 km"},
		be: "1190g", pe: "1000g", le: "0g", er: "190g"}, // 10 × 119 − 10 × 100
	{name: "bus/metres", scenario: "transport.bus", quantities: q{"distance": "2500 m"},
		be: "297.5g", pe: "250g", le: "0g", er: "47.5g"}, // 2.5 km × 119 = 297.5; 2.5 × 100 = 250
	{name: "bus/just-above-min", scenario: "transport.bus", quantities: q{"distance": "1 m"},
		be: "0.119g", pe: "0.1g", le: "0g", er: "0.019g"}, // 0.001 km × 119 = 0.119; × 100 = 0.1
	{name: "bus/max-boundary", scenario: "transport.bus", quantities: q{"distance": "100 km"},
		be: "11900g", pe: "10000g", le: "0g", er: "1.9kg"}, // 100 × 119 − 100 × 100
	{name: "bus/zero-excluded", scenario: "transport.bus", quantities: q{"distance": "0 km"},
		errField: "quantities[distance]", errIs: ErrConditionNotMet},
	{name: "bus/above-max", scenario: "transport.bus", quantities: q{"distance": "100.001 km"},
		errField: "quantities[distance]", errIs: ErrConditionNotMet},
	{name: "metro/typical", scenario: "transport.metro", quantities: q{"distance": "10 km"},
		be: "1190g", pe: "300g", le: "0g", er: "890g"}, // 1190 − 10 × 30
	{name: "metro/max-boundary", scenario: "transport.metro", quantities: q{"distance": "100 km"},
		be: "11900g", pe: "3000g", le: "0g", er: "8.9kg"}, // 11900 − 3000
	{name: "metro/zero-excluded", scenario: "transport.metro", quantities: q{"distance": "0 m"},
		errField: "quantities[distance]", errIs: ErrConditionNotMet},
	{name: "metro/above-max", scenario: "transport.metro", quantities: q{"distance": "100001 m"},
		errField: "quantities[distance]", errIs: ErrConditionNotMet},
	{name: "bicycle/max-boundary", scenario: "transport.bicycle", quantities: q{"distance": "30 km"},
		be: "3570g", pe: "0g", le: "0g", er: "3.57kg"}, // 30 × 119
	{name: "bicycle/just-above-min", scenario: "transport.bicycle", quantities: q{"distance": "1 m"},
		be: "0.119g", pe: "0g", le: "0g", er: "0.119g"}, // 0.001 × 119
	{name: "bicycle/zero-excluded", scenario: "transport.bicycle", quantities: q{"distance": "0 km"},
		errField: "quantities[distance]", errIs: ErrConditionNotMet},
	{name: "bicycle/above-max", scenario: "transport.bicycle", quantities: q{"distance": "30.001 km"},
		errField: "quantities[distance]", errIs: ErrConditionNotMet},
	{name: "walk/max-boundary", scenario: "transport.walk", quantities: q{"distance": "10 km"},
		be: "1190g", pe: "0g", le: "0g", er: "1.19kg"}, // 10 × 119
	{name: "walk/just-above-min", scenario: "transport.walk", quantities: q{"distance": "1 m"},
		be: "0.119g", pe: "0g", le: "0g", er: "0.119g"},
	{name: "walk/zero-excluded", scenario: "transport.walk", quantities: q{"distance": "0 km"},
		errField: "quantities[distance]", errIs: ErrConditionNotMet},
	{name: "walk/above-max", scenario: "transport.walk", quantities: q{"distance": "10001 m"},
		errField: "quantities[distance]", errIs: ErrConditionNotMet},
	{name: "walk/kg-not-km", scenario: "transport.walk", quantities: q{"distance": "3 kg"},
		errField: "quantities[distance]", errIs: ErrWrongUnit},

	// enterprise.electricity-saving: BE = kWh → MWh × 0.5703 t/MWh;
	// 0 kWh < saving ≤ 10000 MWh.
	{name: "electricity/typical", scenario: "enterprise.electricity-saving", quantities: q{"electricity_saved": "1000 kWh"},
		be: "570.3kg", pe: "0g", le: "0g", er: "570.3kg"}, // 1 MWh × 0.5703 t
	{name: "electricity/just-above-min-rounds", scenario: "enterprise.electricity-saving", quantities: q{"electricity_saved": "1 Wh"},
		be: "0.5703g", pe: "0g", le: "0g", er: "0.57g"}, // 0.000001 MWh × 0.5703 t = 0.5703 g; toward zero to 1 mg = 0.570 g
	{name: "electricity/max-boundary", scenario: "enterprise.electricity-saving", quantities: q{"electricity_saved": "10000 MWh"},
		be: "5703t", pe: "0g", le: "0g", er: "5703t"}, // 10000 × 0.5703
	{name: "electricity/zero-excluded", scenario: "enterprise.electricity-saving", quantities: q{"electricity_saved": "0 kWh"},
		errField: "quantities[electricity_saved]", errIs: ErrConditionNotMet},
	{name: "electricity/above-max", scenario: "enterprise.electricity-saving", quantities: q{"electricity_saved": "10000001 kWh"},
		errField: "quantities[electricity_saved]", errIs: ErrConditionNotMet},
	{name: "electricity/km-not-kWh", scenario: "enterprise.electricity-saving", quantities: q{"electricity_saved": "5 km"},
		errField: "quantities[electricity_saved]", errIs: ErrWrongUnit},
}

func TestBuiltin(t *testing.T) {
	r := Builtin()
	for _, tc := range builtinCases {
		t.Run(tc.name, func(t *testing.T) {
			a := activity(t, tc.scenario, tc.quantities, tc.attrs)
			res, err := r.Quantify(a)
			if tc.errIs != nil {
				require.ErrorIs(t, err, ErrNotQuantifiable)
				require.ErrorIs(t, err, tc.errIs)
				require.Equal(t, []string{tc.errField}, problemFields(t, err), "error: %v", err)
				return
			}
			require.NoError(t, err)
			requireMass(t, tc.be, res.BE, "BE")
			requireMass(t, tc.pe, res.PE, "PE")
			requireMass(t, tc.le, res.LE, "LE")
			requireMass(t, tc.er, res.ER, "ER")
			require.Equal(t, res.ER, res.Steps[len(res.Steps)-1].Value, "the last step is ER")
			require.NoError(t, r.Verify(a, res))
		})
	}
}

// TestBuiltinCoverage checks every built-in scenario has cases above, and
// that each applicability condition is exercised by a failing case.
func TestBuiltinCoverage(t *testing.T) {
	covered := map[carbon.Scenario]bool{}
	for _, tc := range builtinCases {
		covered[tc.scenario] = true
	}
	for _, s := range Builtin().List() {
		require.True(t, covered[s.Scenario], "no test case for %s", s.Scenario)
		for _, c := range s.Conditions {
			var field string
			switch c.Kind {
			case QuantityRange:
				field = "quantities[" + c.Quantity + "]"
			case AttributeIn:
				field = "attributes[" + c.Attribute + "]"
			case RegionIn:
				field = "region"
			}
			found := false
			for _, tc := range builtinCases {
				found = found || (tc.scenario == s.Scenario && tc.errIs == ErrConditionNotMet && tc.errField == field)
			}
			require.True(t, found, "%s: condition %s has no failing case", s.Ref(), c.ID)
		}
	}
}

func TestBuiltinFresh(t *testing.T) {
	a, b := Builtin(), Builtin()
	require.NotSame(t, a, b)
	extra := testSpec()
	require.NoError(t, a.Register(mustDeclarative(t, extra, widgetFormula)))
	require.Len(t, a.List(), len(b.List())+1, "registering into one catalog leaves another untouched")
}

func TestBuiltinCatalogProvenance(t *testing.T) {
	for _, s := range Builtin().List() {
		t.Run(s.Ref(), func(t *testing.T) {
			require.NoError(t, s.Validate())
			require.Equal(t, Active, s.Status)
			for _, f := range s.Factors {
				require.NotEmpty(t, f.Source.Organisation, f.ID)
				require.NotEmpty(t, f.Source.Document, f.ID)
				require.NotEmpty(t, f.Note, "%s: every built-in factor says how far it was checked", f.ID)
			}
		})
	}
}

func TestBuiltinSecondhandSteps(t *testing.T) {
	a := activity(t, "secondhand.resale", q{"items": "20 item"}, q{"category": "laptop", "condition": "like-new"})
	res, err := Builtin().Quantify(a)
	require.NoError(t, err)
	var names, exprs []string
	for _, s := range res.Steps {
		names = append(names, s.Name)
		exprs = append(exprs, s.Expression)
	}
	require.Equal(t, []string{"BE[0]", "BE", "PE", "LE", "ER.gross", "ER.discount", "ER.cap", "ER"}, names)
	require.Equal(t, "items (20 item) × production.laptop (200 kg/item) × substitution.like-new (0.6)", exprs[0])
	require.Equal(t, "ER × (1 − 0.1)", exprs[5])
	require.Equal(t, "min(ER, 1t)", exprs[6])
	requireMass(t, "2160kg", res.Steps[5].Value, "discounted") // 2400 × 0.9
	require.Equal(t, []FactorRef{{"production.laptop", "2024.1"}, {"substitution.like-new", "2024.1"}}, res.Factors)
	require.NoError(t, Verify(mustGet(t, "carbonkit.secondhand.resale", "2024.1"), a, res))
}

func mustGet(t *testing.T, id, version string) Methodology {
	t.Helper()
	m, err := Builtin().Get(id, version)
	require.NoError(t, err)
	return m
}

// TestCatalogDocumented keeps CATALOG.md and the package documentation in
// step with the catalog.
func TestCatalogDocumented(t *testing.T) {
	catalog, err := os.ReadFile("CATALOG.md")
	require.NoError(t, err)
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	for _, s := range Builtin().List() {
		require.Contains(t, string(catalog), "`"+s.Ref()+"`")
		require.Contains(t, string(doc), string(s.Scenario))
		for _, f := range s.Factors {
			if !strings.HasPrefix(f.ID, "production.") && !strings.HasPrefix(f.ID, "substitution.") {
				require.Contains(t, string(catalog), "`"+f.ID+"`", "%s factor %s", s.Ref(), f.ID)
			}
		}
	}
}
