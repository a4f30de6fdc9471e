package carbon_test

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

func validActivity(t *testing.T) carbon.Activity {
	t.Helper()
	return carbon.Activity{
		ID:         "order-20260815-0001",
		Partner:    "eleme",
		User:       "u-42",
		Scenario:   "food.no-cutlery",
		OccurredAt: time.Date(2026, 8, 15, 12, 30, 0, 0, time.UTC),
		Region:     carbon.Guangdong,
		Quantities: map[string]carbon.Quantity{"orders": mustQ(t, "1 order")},
		Attributes: map[string]string{"channel": "app"},
	}
}

func TestActivityValidateAccepts(t *testing.T) {
	a := validActivity(t)
	require.NoError(t, a.Validate())
	a.Quantities, a.Attributes = nil, nil
	require.NoError(t, a.Validate(), "quantities and attributes are optional")
	a.ID = strings.Repeat("x", carbon.MaxIDLen)
	require.NoError(t, a.Validate(), "an id of exactly MaxIDLen bytes is fine")
	a.Quantities = map[string]carbon.Quantity{"orders": mustQ(t, "0 order")}
	require.NoError(t, a.Validate(), "zero is not negative")
	a.Quantities = map[string]carbon.Quantity{"orders": mustQ(t, "2.000 order"), "distance": mustQ(t, "2.5 km")}
	require.NoError(t, a.Validate(), "2.000 orders are whole; a distance need not be")
}

func TestActivityValidateProblems(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(a *carbon.Activity)
		field string
		want  error
	}{
		{"missing id", func(a *carbon.Activity) { a.ID = "" }, "id", carbon.ErrInvalidID},
		{"id too long", func(a *carbon.Activity) { a.ID = strings.Repeat("x", carbon.MaxIDLen+1) }, "id", carbon.ErrInvalidID},
		{"id with space", func(a *carbon.Activity) { a.ID = "a b" }, "id", carbon.ErrInvalidID},
		{"id with newline", func(a *carbon.Activity) { a.ID = "a\nb" }, "id", carbon.ErrInvalidID},
		{"id not ascii", func(a *carbon.Activity) { a.ID = "订单1" }, "id", carbon.ErrInvalidID},
		{"missing partner", func(a *carbon.Activity) { a.Partner = "" }, "partner", carbon.ErrInvalidID},
		{"missing user", func(a *carbon.Activity) { a.User = "" }, "user", carbon.ErrInvalidID},
		{"missing scenario", func(a *carbon.Activity) { a.Scenario = "" }, "scenario", carbon.ErrInvalidID},
		{"zero time", func(a *carbon.Activity) { a.OccurredAt = time.Time{} }, "occurred_at", carbon.ErrMissing},
		// JSON cannot carry these times: a year of five digits fails to
		// encode, and an offset with seconds loses them, moving the instant.
		{"year 10000", func(a *carbon.Activity) { a.OccurredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, "occurred_at", carbon.ErrInvalidTime},
		{"year before 1", func(a *carbon.Activity) { a.OccurredAt = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC) }, "occurred_at", carbon.ErrInvalidTime},
		{"offset with seconds", func(a *carbon.Activity) {
			a.OccurredAt = time.Date(2025, 3, 1, 0, 0, 0, 0, time.FixedZone("LMT", 8*3600+5*60+43))
		}, "occurred_at", carbon.ErrInvalidTime},
		{"missing region", func(a *carbon.Activity) { a.Region = "" }, "region", carbon.ErrMissing},
		{"unknown region", func(a *carbon.Activity) { a.Region = "CN-XX" }, "region", carbon.ErrUnknownRegion},
		{"lower-case region", func(a *carbon.Activity) { a.Region = "cn-gd" }, "region", carbon.ErrUnknownRegion},
		{"negative quantity", func(a *carbon.Activity) { a.Quantities["orders"] = mustQ(t, "-1 order") }, "quantities[orders]", carbon.ErrNegative},
		{"fractional count", func(a *carbon.Activity) { a.Quantities["orders"] = mustQ(t, "2.5 order") }, "quantities[orders]", carbon.ErrNotWhole},
		{"zero quantity", func(a *carbon.Activity) { a.Quantities["orders"] = carbon.Quantity{} }, "quantities[orders]", carbon.ErrUnknownUnit},
		{"hostile exponent", func(a *carbon.Activity) {
			a.Quantities["mass"] = carbon.Grams(decimal.New(-1, -2_000_000_000)).Quantity()
		}, "quantities[mass]", carbon.ErrOutOfRange},
		{"empty quantity name", func(a *carbon.Activity) { a.Quantities[""] = mustQ(t, "1 box") }, "quantities[]", carbon.ErrInvalidID},
		{"empty attribute name", func(a *carbon.Activity) { a.Attributes[""] = "x" }, "attributes[]", carbon.ErrInvalidID},
		{"long attribute", func(a *carbon.Activity) { a.Attributes["note"] = strings.Repeat("x", carbon.MaxAttributeLen+1) }, "attributes[note]", carbon.ErrTooLong},
		{"attribute not utf-8", func(a *carbon.Activity) { a.Attributes["note"] = "\xff" }, "attributes[note]", carbon.ErrMalformedText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validActivity(t)
			tt.edit(&a)
			err := a.Validate()
			require.ErrorIs(t, err, carbon.ErrInvalidActivity)
			require.ErrorIs(t, err, tt.want)
			var ve *carbon.ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, 1, "%v", err)
			require.Equal(t, tt.field, ve.Problems[0].Field)
			require.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestActivityValidateNamesEveryProblem(t *testing.T) {
	a := carbon.Activity{
		Partner:    "eleme",
		Region:     "CN-XX",
		Quantities: map[string]carbon.Quantity{"distance": mustQ(t, "-3 km"), "boxes": mustQ(t, "2 box")},
	}
	err := a.Validate()
	var ve *carbon.ValidationError
	require.ErrorAs(t, err, &ve)
	fields := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		fields[i] = p.Field
	}
	require.Equal(t, []string{"id", "user", "scenario", "occurred_at", "region", "quantities[distance]"}, fields)
	for _, want := range []error{carbon.ErrInvalidID, carbon.ErrMissing, carbon.ErrUnknownRegion, carbon.ErrNegative} {
		require.True(t, errors.Is(err, want), "want %v in %v", want, err)
	}
	require.False(t, errors.Is(err, carbon.ErrUnknownUnit))
	require.Contains(t, err.Error(), `"CN-XX"`)
	require.Contains(t, err.Error(), "-3 km is negative")
}

func TestActivityJSONRoundTrip(t *testing.T) {
	a := validActivity(t)
	a.Quantities["distance"] = mustQ(t, "6.40 km")
	b, err := json.Marshal(a)
	require.NoError(t, err)
	require.JSONEq(t, `{
		"id": "order-20260815-0001",
		"partner": "eleme",
		"user": "u-42",
		"scenario": "food.no-cutlery",
		"occurred_at": "2026-08-15T12:30:00Z",
		"region": "CN-GD",
		"quantities": {"orders": "1 order", "distance": "6.4 km"},
		"attributes": {"channel": "app"}
	}`, string(b))

	var back carbon.Activity
	require.NoError(t, json.Unmarshal(b, &back))
	require.NoError(t, back.Validate())
	require.Equal(t, a.ID, back.ID)
	require.True(t, a.OccurredAt.Equal(back.OccurredAt))
	require.Equal(t, a.Region, back.Region)
	for k, q := range a.Quantities {
		require.True(t, q.Equal(back.Quantities[k]), k)
	}
	require.Equal(t, a.Attributes, back.Attributes)

	q, ok := back.Quantity("distance")
	require.True(t, ok)
	require.Equal(t, "6.4 km", q.String())
	v, ok := back.Attribute("channel")
	require.True(t, ok)
	require.Equal(t, "app", v)
	_, ok = back.Attribute("missing")
	require.False(t, ok)
}

func TestActivityJSONRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"malformed":      `{"id":`,
		"unknown unit":   `{"quantities":{"d":"3 miles"}}`,
		"not finite":     `{"quantities":{"d":"NaN km"}}`,
		"unknown region": `{"region":"CN-ZZ"}`,
		"bad time":       `{"occurred_at":"yesterday"}`,
	} {
		t.Run(name, func(t *testing.T) {
			var a carbon.Activity
			require.Error(t, json.Unmarshal([]byte(doc), &a))
		})
	}
}

func TestValidateID(t *testing.T) {
	require.NoError(t, carbon.ValidateID("user", "u:42@eleme/cn"))
	err := carbon.ValidateID("user", strings.Repeat("y", 200))
	var ie *carbon.IDError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "user", ie.Kind)
	require.Contains(t, err.Error(), "200 bytes")
	require.Less(t, len(err.Error()), 120, "a long id is shortened in the message")
	require.NoError(t, carbon.UserID("u1").Validate())
	require.ErrorIs(t, carbon.PartnerID("a b").Validate(), carbon.ErrInvalidID)
	require.ErrorIs(t, carbon.Scenario("").Validate(), carbon.ErrInvalidID)
}
