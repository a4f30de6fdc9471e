package methodology

import (
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/stretchr/testify/require"
)

// when is a time inside every built-in methodology's validity window.
var when = time.Date(2025, 3, 14, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

// activity returns a valid activity of scenario with the given quantities
// ("orders=2 order") and attributes.
func activity(t testing.TB, scenario carbon.Scenario, quantities map[string]string, attrs map[string]string) carbon.Activity {
	t.Helper()
	a := carbon.Activity{
		ID: "evt-0001", Partner: "partner-a", User: "u-42", Scenario: scenario,
		OccurredAt: when, Region: carbon.Guangdong, Attributes: attrs,
	}
	if len(quantities) > 0 {
		a.Quantities = map[string]carbon.Quantity{}
	}
	for name, s := range quantities {
		q, err := carbon.ParseQuantity(s)
		require.NoError(t, err, "quantity %s", s)
		a.Quantities[name] = q
	}
	return a
}

// mass parses a mass literal ("1.19kg").
func mass(t testing.TB, s string) carbon.Mass {
	t.Helper()
	m, err := carbon.ParseMass(s)
	require.NoError(t, err, "mass %s", s)
	return m
}

// requireMass fails unless got equals want ("37g").
func requireMass(t testing.TB, want string, got carbon.Mass, what string) {
	t.Helper()
	require.Truef(t, mass(t, want).Equal(got), "%s: got %s, want %s", what, got, want)
}

// problemFields returns the fields an *ActivityError or *SpecError names.
func problemFields(t testing.TB, err error) []string {
	t.Helper()
	var ps []Problem
	switch e := err.(type) {
	case *ActivityError:
		ps = e.Problems
	case *SpecError:
		ps = e.Problems
	default:
		t.Fatalf("error %T (%v) lists no problems", err, err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Field
	}
	return out
}

// testSpec returns a small valid Spec: "widget" quantity in count of items,
// one factor of 5 g per item, quantity between 1 and 10 items.
func testSpec() Spec {
	return Spec{
		ID: "test.widget", Version: "1", Scenario: "test.widget", Title: "Widget",
		Status: Active, ValidFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Parameters: []Parameter{{Name: "widgets", Dimension: carbon.DimCount, Monitoring: Monitored}},
		Conditions: []Condition{{ID: "widgets-range", Kind: QuantityRange, Quantity: "widgets",
			Min: AtLeast(qty("1", carbon.Item)), Max: AtMost(qty("10", carbon.Item))}},
		Factors: []Factor{{
			ID: "widget", Version: "1", Value: num("5"), Numerator: carbon.Gram, Denominator: carbon.Item, Gas: CO2e,
			DataYear: 2023, Source: Source{Organisation: "Test Org", Document: "Test table 1"},
		}},
	}
}

// mustDeclarative builds a declarative methodology or fails the test.
func mustDeclarative(t testing.TB, s Spec, f Formula) Methodology {
	t.Helper()
	m, err := NewDeclarative(s, f)
	require.NoError(t, err)
	return m
}

var widgetFormula = Formula{BE: []Term{{Quantity: "widgets", Factors: []string{"widget"}}}}
