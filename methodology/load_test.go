package methodology

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/stretchr/testify/require"
)

// noCutleryJSON is the built-in food.no-cutlery methodology written as a
// declarative document.
const noCutleryJSON = `{
  "id": "carbonkit.food.no-cutlery",
  "version": "2024.1",
  "scenario": "food.no-cutlery",
  "title": "Food-delivery order placed without disposable cutlery",
  "status": "active",
  "valid_from": "2024-01-01T00:00:00+08:00",
  "parameters": [
    {"name": "orders", "description": "orders in this checkout placed with the no-cutlery option", "dimension": "count", "monitoring": "monitored"}
  ],
  "conditions": [
    {"id": "orders-range", "description": "a checkout of 1 to 10 orders", "quantity": "orders",
     "min": {"value": "1 order"}, "max": {"value": "10 order"}},
    {"id": "no-cutlery", "description": "the order was placed with the no-cutlery option", "attribute": "cutlery", "in": ["none"]}
  ],
  "factors": [
    {
      "id": "cutlery-set", "version": "2024.1",
      "description": "cradle-to-grave emissions of one disposable cutlery set (spoon, chopsticks, napkin, bag)",
      "value": 30, "numerator": "g", "denominator": "order", "gas": "CO2e",
      "data_year": 2023, "uncertainty": "0.3",
      "source": {
        "organisation": "Ele.me (Alibaba local services)",
        "document": "Blue Planet programme public totals for cutlery-free orders (e.g. 16 million disposable sets saved in its first half year, as reported by the Shanghai Commerce Commission)"
      },
      "note": "Illustrative: the platforms' public totals give counts of sets avoided, not an audited per-set footprint; 30 g CO2e is an order-of-magnitude estimate for a polypropylene spoon, wooden chopsticks, napkin and bag. Replace with an approved figure."
    }
  ],
  "formula": {"be": [{"quantity": "orders", "factors": ["cutlery-set"]}], "pe": [], "le": []}
}`

func TestLoadJSONMatchesBuiltin(t *testing.T) {
	m, err := LoadJSON([]byte(noCutleryJSON))
	require.NoError(t, err)
	r := Builtin()
	builtin, err := r.Get("carbonkit.food.no-cutlery", "2024.1")
	require.NoError(t, err)
	require.Equal(t, builtin.Spec().Digest(), m.Spec().Digest(), "the document is the built-in Spec, field for field")
	require.NoError(t, r.Register(m), "registering the same content again is a no-op")

	a := activity(t, "food.no-cutlery", q{"orders": "3 order"}, q{"cutlery": "none"})
	fromJSON, err := m.Quantify(a)
	require.NoError(t, err)
	fromGo, err := builtin.Quantify(a)
	require.NoError(t, err)
	requireMass(t, "90g", fromJSON.ER, "ER") // 3 × 30
	require.Equal(t, fromGo.Digest, fromJSON.Digest)
	require.NoError(t, Verify(builtin, a, fromJSON))
}

// TestJSONAndGoInterchangeable registers a JSON methodology in one registry
// and a hand-written Go one with the same Spec in another: the results agree
// in ER, steps, factors and digest.
func TestJSONAndGoInterchangeable(t *testing.T) {
	doc := strings.NewReplacer(
		`"id": "carbonkit.food.no-cutlery"`, `"id": "partner.no-cutlery"`,
		`"version": "2024.1",
  "scenario"`, `"version": "1",
  "scenario"`,
	).Replace(noCutleryJSON)
	jm, err := LoadJSON([]byte(doc))
	require.NoError(t, err)

	spec := jm.Spec() // same data, now coded in Go
	gm, err := Build(spec, func(w *Worksheet) error {
		return w.Term(Baseline, "orders", "cutlery-set")
	})
	require.NoError(t, err)

	rj, rg := New(), New()
	require.NoError(t, rj.Register(jm))
	require.NoError(t, rg.Register(gm))
	require.NoError(t, rj.Register(gm), "same Spec, same content: interchangeable")

	for _, orders := range []string{"1 order", "7 order", "10 order"} {
		t.Run(orders, func(t *testing.T) {
			a := activity(t, "food.no-cutlery", q{"orders": orders}, q{"cutlery": "none"})
			fromJSON, err := rj.Quantify(a)
			require.NoError(t, err)
			fromGo, err := rg.Quantify(a)
			require.NoError(t, err)
			require.True(t, fromJSON.ER.Equal(fromGo.ER))
			require.Equal(t, len(fromJSON.Steps), len(fromGo.Steps))
			for i := range fromJSON.Steps {
				require.Equal(t, fromJSON.Steps[i].Name, fromGo.Steps[i].Name)
				require.Equal(t, fromJSON.Steps[i].Expression, fromGo.Steps[i].Expression)
				require.True(t, fromJSON.Steps[i].Value.Equal(fromGo.Steps[i].Value))
			}
			require.Equal(t, fromJSON.Factors, fromGo.Factors)
			require.Equal(t, fromJSON.Digest, fromGo.Digest)
			require.NoError(t, rg.Verify(a, fromJSON))
		})
	}
}

func TestLoadJSONChain(t *testing.T) {
	// kWh per item, then t per MWh: a two-factor chain with an exact unit
	// conversion between the factors.
	doc := `{
	  "id": "partner.fridge", "version": "1", "scenario": "retail.fridge", "title": "Efficient fridge",
	  "status": "active", "valid_from": "2024-01-01T00:00:00Z", "valid_to": "2026-01-01T00:00:00Z",
	  "endorsements": [{"body": "Partner review board", "reference": "PRB-2024-07", "url": "https://example.com/prb/2024-07"}],
	  "parameters": [{"name": "items", "dimension": "count", "monitoring": "monitored"},
	                 {"name": "grid", "dimension": "mass", "monitoring": "fixed"}],
	  "conditions": [{"id": "regions", "regions": ["CN-GD", "CN-ZJ"]}],
	  "factors": [
	    {"id": "saving", "version": "1", "value": "80", "numerator": "kWh", "denominator": "item",
	     "data_year": 2024, "source": {"organisation": "Partner", "document": "Lab test 12"}},
	    {"id": "grid", "version": "2022", "value": "0.5703", "numerator": "t", "denominator": "MWh", "gas": "CO2",
	     "data_year": 2022, "source": {"organisation": "MEE", "document": "national grid factor"}}
	  ],
	  "formula": {"be": [{"quantity": "items", "factors": ["saving", "grid"]}]},
	  "conservativeness": {"resolution": "1g", "discount": 0.2, "cap": "1t"}
	}`
	m, err := LoadJSON([]byte(doc))
	require.NoError(t, err)
	s := m.Spec()
	require.Equal(t, "BE = items × saving × grid; PE = 0; LE = 0", s.Formula)
	require.Equal(t, "Partner review board", s.Endorsements[0].Body)

	a := activity(t, "retail.fridge", q{"items": "2 item"}, nil)
	res, err := m.Quantify(a)
	require.NoError(t, err)
	// 2 × 80 = 160 kWh = 0.16 MWh × 0.5703 t/MWh = 0.091248 t = 91248 g;
	// × (1 − 0.2) = 72998.4 g; toward zero to 1 g = 72998 g.
	requireMass(t, "91248g", res.BE, "BE")
	requireMass(t, "72998g", res.ER, "ER")
	require.Equal(t, "items (2 item) × saving (80 kWh/item) → 0.16 MWh × grid (0.5703 t/MWh)", res.Steps[0].Expression)

	a.Region = carbon.Beijing
	_, err = m.Quantify(a)
	require.ErrorIs(t, err, ErrConditionNotMet)
	require.Equal(t, []string{"region"}, problemFields(t, err))
}

func TestLoadJSONReportsEveryProblem(t *testing.T) {
	doc := `{
	  "id": "partner.bad", "version": "1", "scenario": "x.bad", "title": "Bad",
	  "status": "published", "valid_from": "yesterday", "colour": "blue",
	  "parameters": [{"name": "n", "dimension": "volume", "monitoring": "monitored"}],
	  "conditions": [{"id": "c", "quantity": "n", "attribute": "a"}],
	  "factors": [
	    {"id": "f0", "version": "1", "value": "1", "numerator": "g", "denominator": "item", "gas": "CO2e",
	     "data_year": 2023, "source": {"organisation": "Org", "document": "Doc"}},
	    {"id": "f1", "version": "1", "value": "1e3", "numerator": "g", "denominator": "item", "gas": "CO2e",
	     "data_year": "2023", "source": {"organisation": "Org", "document": "Doc"}},
	    {"id": "f2", "version": "1", "value": "2", "numerator": "g", "denominator": "parsec", "gas": "CO2e",
	     "data_year": 2023, "source": {"document": "Doc", "organisation": ""}}
	  ],
	  "formula": {"be": [{"quantity": "n", "factors": ["f0", "f9"]}]}
	}`
	_, err := LoadJSON([]byte(doc))
	require.ErrorIs(t, err, ErrInvalidSpec)
	require.ErrorIs(t, err, ErrUnknownField)
	require.ErrorIs(t, err, ErrNoProvenance)
	require.ErrorIs(t, err, ErrMalformedJSON)
	require.Equal(t, []string{
		"$.status",
		"$.valid_from",
		"$.parameters[0].dimension",
		"$.conditions[0]",
		"$.factors[1].value",
		"$.factors[1].data_year",
		"$.factors[2].denominator",
		"$.colour",
		"$.factors[2].source.organisation",
		"$.formula.be[0].factors[1]",
	}, problemFields(t, err), "error: %v", err)
	require.Contains(t, err.Error(), "$.factors[2].source.organisation: missing")
	require.Contains(t, err.Error(), `$.colour: is not a field of this object`)
}

func TestLoadJSONMalformed(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		is    error
		field string
	}{
		{"not json", `{"id": `, ErrMalformedJSON, "$"},
		{"trailing data", `{} {}`, ErrMalformedJSON, "$"},
		{"array", `[]`, ErrMalformedJSON, "$"},
		{"null", `null`, ErrMalformedJSON, "$"},
		{"empty", ``, ErrMalformedJSON, "$"},
		{"too deep", strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40), ErrMalformedJSON, "$"},
		{"duplicate key", strings.Replace(noCutleryJSON, `"title":`, `"title": "x", "title":`, 1), ErrUnknownField, "$.title"},
		{"unknown nested field", strings.Replace(noCutleryJSON, `"organisation":`, `"organization": "x", "organisation":`, 1), ErrUnknownField, "$.factors[0].source.organization"},
		{"wrong type", strings.Replace(noCutleryJSON, `"id": "carbonkit.food.no-cutlery"`, `"id": 7`, 1), ErrMalformedJSON, "$.id"},
		{"odd key", strings.Replace(noCutleryJSON, `"title":`, `"ti tle": 1, "title":`, 1), ErrUnknownField, `$["ti tle"]`},
		{"exponent", strings.Replace(noCutleryJSON, `"value": 30`, `"value": 3e1`, 1), ErrInvalidField, "$.factors[0].value"},
		{"no source", strings.Replace(noCutleryJSON, `"organisation": "Ele.me (Alibaba local services)",`, ``, 1), ErrNoProvenance, "$.factors[0].source.organisation"},
		// The zero time stands for no time in a Spec: read as such, a
		// valid_to at year 1 would be no end at all.
		{"zero valid_from", strings.Replace(noCutleryJSON, `"valid_from": "2024-01-01T00:00:00+08:00"`, `"valid_from": "0001-01-01T00:00:00Z"`, 1), ErrInvalidField, "$.valid_from"},
		{"zero valid_to", strings.Replace(noCutleryJSON, `"valid_from":`, `"valid_to": "0001-01-01T00:00:00Z", "valid_from":`, 1), ErrInvalidField, "$.valid_to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadJSON([]byte(tc.doc))
			require.Nil(t, m)
			require.ErrorIs(t, err, ErrInvalidSpec)
			require.ErrorIs(t, err, tc.is)
			require.Equal(t, []string{tc.field}, problemFields(t, err), "error: %v", err)
		})
	}
	t.Run("too large", func(t *testing.T) {
		_, err := LoadJSON(make([]byte, MaxDocumentSize+1))
		require.ErrorIs(t, err, ErrMalformedJSON)
	})
}

// TestLoadJSONManyProblems makes sure a hostile document with tens of
// thousands of problems is reported in linear time.
func TestLoadJSONManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"factors": [`)
	const n = 20000
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id": "f%d", "bogus": 1}`, i)
	}
	b.WriteString(`]}`)
	start := time.Now()
	_, err := LoadJSON([]byte(b.String()))
	require.ErrorIs(t, err, ErrUnknownField)
	require.ErrorIs(t, err, ErrInvalidField) // too many factors
	var se *SpecError
	require.ErrorAs(t, err, &se)
	require.Greater(t, len(se.Problems), n)
	require.Contains(t, err.Error(), "$.factors: has 20000 entries, more than 256")
	require.Less(t, time.Since(start), 20*time.Second, "quadratic in the number of problems?")
}
