package carbon_test

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func d(t *testing.T, s string) decimal.Decimal {
	t.Helper()
	v, err := decimal.NewFromString(s)
	require.NoError(t, err)
	return v
}

func TestParseMass(t *testing.T) {
	tests := []struct {
		in    string
		grams string
	}{
		{"37g", "37"},
		{"1.5kg", "1500"},
		{"0.002t", "2000"},
		{"1.5 kgCO2e", "1500"},
		{"1.5 kg CO2e", "1500"},
		{"12 g", "12"},
		{"-12g", "-12"},
		{"+3kg", "3000"},
		{"250mg", "0.25"},
		{".5kg", "500"},
		{"7.kg", "7000"},
		{"0g", "0"},
		{"  42 t  ", "42000000"},
		{"0.000001g", "0.000001"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, err := carbon.ParseMass(tt.in)
			require.NoError(t, err)
			want := carbon.Grams(d(t, tt.grams))
			require.True(t, m.Equal(want), "got %s, want %s", m, want)
		})
	}
}

func TestParseMassErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", carbon.ErrMalformedNumber},
		{"kg", carbon.ErrMalformedNumber},
		{"1.2.3kg", carbon.ErrMalformedNumber},
		{"1e3g", carbon.ErrUnknownUnit}, // no exponents: "e3g" is not a unit
		{"1,5kg", carbon.ErrMalformedNumber},
		{"--1g", carbon.ErrMalformedNumber},
		{"0x10g", carbon.ErrUnknownUnit},
		{"NaN g", carbon.ErrNotFinite},
		{"nankg", carbon.ErrNotFinite},
		{"Inf kg", carbon.ErrNotFinite},
		{"-Infinity t", carbon.ErrNotFinite},
		{"+inf", carbon.ErrNotFinite},
		{"12", carbon.ErrUnknownUnit},
		{"12 lb", carbon.ErrUnknownUnit},
		{"12 KG", carbon.ErrUnknownUnit},
		{"3 km", carbon.ErrDimensionMismatch},
		{"1 order", carbon.ErrDimensionMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := carbon.ParseMass(tt.in)
			require.ErrorIs(t, err, tt.want)
			var pe *carbon.ParseError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, tt.in, pe.Input)
			require.Contains(t, err.Error(), "ParseMass")
		})
	}
}

func TestMassString(t *testing.T) {
	tests := []struct {
		grams string
		want  string
	}{
		{"0", "0g"},
		{"37", "37g"},
		{"37.500", "37.5g"},
		{"0.25", "0.25g"},
		{"999.999", "999.999g"},
		{"1000", "1kg"},
		{"1500", "1.5kg"},
		{"-1200", "-1.2kg"},
		{"999999", "999.999kg"},
		{"1000000", "1t"},
		{"2250000", "2.25t"},
		{"123456789.123", "123.456789123t"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			m := carbon.Grams(d(t, tt.grams))
			require.Equal(t, tt.want, m.String())
			back, err := carbon.ParseMass(m.String())
			require.NoError(t, err)
			require.True(t, back.Equal(m))
		})
	}
}

// Decimal's own String consults process-wide settings; Mass must not.
func TestMassStringIgnoresDecimalSettings(t *testing.T) {
	m := carbon.Kilograms(d(t, "1.5"))
	require.Equal(t, "1.5kg", m.String())
	require.Equal(t, "1.5", m.Kilograms().StringFixed(1))
}

func TestMassConstructorsAndArithmetic(t *testing.T) {
	kg := carbon.Kilograms(d(t, "1.5"))
	tn := carbon.Tonnes(d(t, "0.0015"))
	g := carbon.GramsInt(1500)
	require.True(t, kg.Equal(tn))
	require.True(t, kg.Equal(g))
	require.Equal(t, 0, kg.Cmp(g))

	sum := kg.Add(carbon.GramsInt(37)) // 1500 + 37 = 1537 g
	require.True(t, sum.Equal(carbon.GramsInt(1537)))
	diff := carbon.GramsInt(37).Sub(kg) // 37 - 1500 = -1463 g
	require.True(t, diff.IsNegative())
	require.Equal(t, -1, diff.Sign())
	require.True(t, diff.Neg().Equal(carbon.GramsInt(1463)))
	// 37 g x 0.85 = 31.45 g exactly, no binary rounding.
	require.Equal(t, "31.45g", carbon.GramsInt(37).Mul(d(t, "0.85")).String())
	// 0.1 + 0.2 is exactly 0.3 here.
	require.True(t, carbon.Grams(d(t, "0.1")).Add(carbon.Grams(d(t, "0.2"))).Equal(carbon.Grams(d(t, "0.3"))))

	require.True(t, carbon.Mass{}.IsZero())
	require.True(t, kg.Kilograms().Equal(d(t, "1.5")))
	require.True(t, kg.Tonnes().Equal(d(t, "0.0015")))
	require.True(t, kg.Grams().Equal(d(t, "1500")))
	require.Equal(t, 1, kg.Cmp(carbon.GramsInt(1499)))
	require.Equal(t, -1, kg.Cmp(carbon.GramsInt(1501)))
}

func TestMassIntIn(t *testing.T) {
	tests := []struct {
		mass string
		unit carbon.Unit
		r    carbon.Rounding
		want int64
	}{
		{"1.2345g", carbon.Milligram, carbon.TowardZero, 1234},
		{"1.2345g", carbon.Milligram, carbon.AwayFromZero, 1235},
		{"1.2345g", carbon.Milligram, carbon.HalfEven, 1234}, // 1234.5 -> even 1234
		{"1.2355g", carbon.Milligram, carbon.HalfEven, 1236}, // 1235.5 -> even 1236
		{"-1.2345g", carbon.Milligram, carbon.TowardZero, -1234},
		{"-1.2345g", carbon.Milligram, carbon.AwayFromZero, -1235},
		{"1.9kg", carbon.Kilogram, carbon.TowardZero, 1},
		{"1.1kg", carbon.Kilogram, carbon.AwayFromZero, 2},
		{"2.5kg", carbon.Kilogram, carbon.HalfEven, 2},
		{"3.5kg", carbon.Kilogram, carbon.HalfEven, 4},
		{"37g", carbon.Gram, carbon.TowardZero, 37},
		{"0.5t", carbon.Kilogram, carbon.TowardZero, 500},
	}
	for _, tt := range tests {
		t.Run(tt.mass+"/"+string(tt.unit)+"/"+tt.r.String(), func(t *testing.T) {
			m, err := carbon.ParseMass(tt.mass)
			require.NoError(t, err)
			got, err := m.IntIn(tt.unit, tt.r)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMassIntInErrors(t *testing.T) {
	m := carbon.GramsInt(5)
	_, err := m.IntIn(carbon.Kilometre, carbon.TowardZero)
	require.ErrorIs(t, err, carbon.ErrDimensionMismatch)
	_, err = m.IntIn(carbon.Unit("lb"), carbon.TowardZero)
	require.ErrorIs(t, err, carbon.ErrUnknownUnit)
	_, err = m.IntIn(carbon.Gram, carbon.Rounding(0))
	require.ErrorIs(t, err, carbon.ErrInvalidRounding)
	_, err = m.IntIn(carbon.Gram, carbon.Rounding(99))
	require.ErrorIs(t, err, carbon.ErrInvalidRounding)

	// One milligram past int64 overflows; the largest value fits.
	maxMg := decimal.NewFromInt(math.MaxInt64)
	got, err := carbon.Grams(maxMg.Shift(-3)).IntIn(carbon.Milligram, carbon.TowardZero)
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64), got)
	_, err = carbon.Grams(maxMg.Add(decimal.NewFromInt(1)).Shift(-3)).IntIn(carbon.Milligram, carbon.TowardZero)
	require.ErrorIs(t, err, carbon.ErrOverflow)
	var oe *carbon.OverflowError
	require.ErrorAs(t, err, &oe)
}

// TestMassExtremeExponents holds the mass functions to typed errors, not
// panics, on decimals a caller may build whose exponents lie at int32's
// limits, where shifting the exponent overflows.
func TestMassExtremeExponents(t *testing.T) {
	huge, tiny := decimal.New(7, math.MaxInt32), decimal.New(7, math.MinInt32)
	for _, v := range []decimal.Decimal{huge, tiny} {
		require.NotPanics(t, func() {
			require.Zero(t, carbon.Kilograms(v).Grams().Cmp(v.Mul(decimal.New(1000, 0))))
			require.Zero(t, carbon.Tonnes(v).Grams().Cmp(v.Mul(decimal.New(1_000_000, 0))))
			for _, u := range []carbon.Unit{carbon.Milligram, carbon.Gram, carbon.Kilogram, carbon.Tonne} {
				_, err := carbon.Grams(v).IntIn(u, carbon.TowardZero)
				require.ErrorIs(t, err, carbon.ErrOutOfRange, "%s", u)
				if u != carbon.Gram {
					_, err = carbon.Grams(v).Quantity().In(u)
					require.ErrorIs(t, err, carbon.ErrOutOfRange, "%s", u)
				}
			}
		})
	}
	require.Equal(t, "7e2147483647g", carbon.Grams(huge).String())
	require.Equal(t, "7e-2147483648g", carbon.Grams(tiny).String())
	// Unit errors come first.
	_, err := carbon.Grams(tiny).IntIn(carbon.Kilometre, carbon.TowardZero)
	require.ErrorIs(t, err, carbon.ErrDimensionMismatch)
}

func TestMassJSON(t *testing.T) {
	type doc struct {
		Reduction carbon.Mass `json:"reduction"`
	}
	in := doc{Reduction: carbon.Kilograms(d(t, "1.5"))}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, `{"reduction":"1.5kg"}`, string(b))

	var out doc
	require.NoError(t, json.Unmarshal(b, &out))
	require.True(t, out.Reduction.Equal(in.Reduction))

	require.NoError(t, json.Unmarshal([]byte(`{"reduction":"37 gCO2e"}`), &out))
	require.True(t, out.Reduction.Equal(carbon.GramsInt(37)))

	for _, bad := range []string{`{"reduction":"NaN g"}`, `{"reduction":12}`, `{"reduction":"12 km"}`, `{"reduction":"x"}`} {
		err := json.Unmarshal([]byte(bad), &out)
		require.Error(t, err, bad)
	}
	err = json.Unmarshal([]byte(`{"reduction":"12 km"}`), &out)
	require.True(t, errors.Is(err, carbon.ErrDimensionMismatch))
}

func TestRoundingString(t *testing.T) {
	require.Equal(t, "toward-zero", carbon.TowardZero.String())
	require.Equal(t, "away-from-zero", carbon.AwayFromZero.String())
	require.Equal(t, "half-even", carbon.HalfEven.String())
	require.Equal(t, "invalid", carbon.Rounding(0).String())
}
