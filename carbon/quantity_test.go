package carbon_test

import (
	"encoding/json"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestUnitsHaveDimensions(t *testing.T) {
	want := map[carbon.Unit]carbon.Dimension{
		carbon.Order: carbon.DimCount, carbon.Box: carbon.DimCount, carbon.Item: carbon.DimCount,
		carbon.Sheet: carbon.DimCount, carbon.Trip: carbon.DimCount,
		carbon.Milligram: carbon.DimMass, carbon.Gram: carbon.DimMass, carbon.Kilogram: carbon.DimMass, carbon.Tonne: carbon.DimMass,
		carbon.Metre: carbon.DimDistance, carbon.Kilometre: carbon.DimDistance,
		carbon.WattHour: carbon.DimEnergy, carbon.KilowattHour: carbon.DimEnergy, carbon.MegawattHour: carbon.DimEnergy,
		carbon.Fen: carbon.DimMoney, carbon.Yuan: carbon.DimMoney,
		carbon.Second: carbon.DimDuration, carbon.Hour: carbon.DimDuration, carbon.Day: carbon.DimDuration,
	}
	require.Len(t, carbon.Units(), len(want))
	for _, u := range carbon.Units() {
		require.Equal(t, want[u], u.Dimension(), "unit %s", u)
		p, err := carbon.ParseUnit(u.String())
		require.NoError(t, err)
		require.Equal(t, u, p)
	}
	require.Equal(t, carbon.DimUnknown, carbon.Unit("lb").Dimension())
	require.False(t, carbon.Unit("").Valid())
}

func TestDimensionText(t *testing.T) {
	for _, dim := range []carbon.Dimension{carbon.DimCount, carbon.DimMass, carbon.DimDistance, carbon.DimEnergy, carbon.DimMoney, carbon.DimDuration} {
		b, err := dim.MarshalText()
		require.NoError(t, err)
		var back carbon.Dimension
		require.NoError(t, back.UnmarshalText(b))
		require.Equal(t, dim, back)
	}
	for _, dim := range []carbon.Dimension{carbon.DimUnknown, carbon.Dimension(99)} {
		_, err := dim.MarshalText()
		require.ErrorIs(t, err, carbon.ErrUnknownDimension)
	}
	var dim carbon.Dimension
	require.ErrorIs(t, dim.UnmarshalText([]byte("volume")), carbon.ErrUnknownDimension)
	require.Equal(t, "Dimension(99)", carbon.Dimension(99).String())
}

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in    string
		value string
		unit  carbon.Unit
		str   string
	}{
		{"3.2 km", "3.2", carbon.Kilometre, "3.2 km"},
		{"3.2km", "3.2", carbon.Kilometre, "3.2 km"},
		{"1 order", "1", carbon.Order, "1 order"},
		{"1order", "1", carbon.Order, "1 order"},
		{"250 kWh", "250", carbon.KilowattHour, "250 kWh"},
		{"-0.5 kWh", "-0.5", carbon.KilowattHour, "-0.5 kWh"},
		{"12.50 CNY", "12.5", carbon.Yuan, "12.5 CNY"},
		{"  7   day ", "7", carbon.Day, "7 day"},
		{"0 box", "0", carbon.Box, "0 box"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			q, err := carbon.ParseQuantity(tt.in)
			require.NoError(t, err)
			require.True(t, q.Value().Equal(d(t, tt.value)))
			require.Equal(t, tt.unit, q.Unit())
			require.Equal(t, tt.str, q.String())
			back, err := carbon.ParseQuantity(q.String())
			require.NoError(t, err)
			require.True(t, back.Equal(q))
		})
	}
}

func TestParseQuantityErrors(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", carbon.ErrMalformedNumber},
		{"km", carbon.ErrMalformedNumber},
		{"3.2", carbon.ErrUnknownUnit},
		{"3.2 miles", carbon.ErrUnknownUnit},
		{"3.2 KM", carbon.ErrUnknownUnit},
		{"3..2 km", carbon.ErrMalformedNumber},
		{"3 2 km", carbon.ErrMalformedNumber},
		{"1_000 m", carbon.ErrMalformedNumber},
		{"NaN km", carbon.ErrNotFinite},
		{"-inf kWh", carbon.ErrNotFinite},
		{"Infinity order", carbon.ErrNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := carbon.ParseQuantity(tt.in)
			require.ErrorIs(t, err, tt.want)
			var pe *carbon.ParseError
			require.ErrorAs(t, err, &pe)
		})
	}
}

func TestNewQuantity(t *testing.T) {
	q, err := carbon.NewQuantity(d(t, "2"), carbon.Box)
	require.NoError(t, err)
	require.Equal(t, "2 box", q.String())
	_, err = carbon.NewQuantity(d(t, "2"), carbon.Unit("crate"))
	require.ErrorIs(t, err, carbon.ErrUnknownUnit)
	_, err = carbon.NewQuantity(decimal.New(-1, -2_000_000_000), carbon.Kilometre)
	require.ErrorIs(t, err, carbon.ErrOutOfRange)
	_, err = carbon.NewQuantity(decimal.New(1, 1001), carbon.Kilometre)
	require.ErrorIs(t, err, carbon.ErrOutOfRange)
	require.False(t, carbon.Quantity{}.IsValid())
}

func TestQuantityConvert(t *testing.T) {
	tests := []struct {
		in   string
		to   carbon.Unit
		want string
	}{
		{"3.2 km", carbon.Metre, "3200 m"},
		{"350 m", carbon.Kilometre, "0.35 km"},
		{"1.5 kg", carbon.Gram, "1500 g"},
		{"1 g", carbon.Tonne, "0.000001 t"},
		{"2.5 MWh", carbon.KilowattHour, "2500 kWh"},
		{"12.34 CNY", carbon.Fen, "1234 fen"},
		{"5 fen", carbon.Yuan, "0.05 CNY"},
		{"2 day", carbon.Hour, "48 hour"},
		{"12 hour", carbon.Day, "0.5 day"},
		{"3 order", carbon.Order, "3 order"},
	}
	for _, tt := range tests {
		t.Run(tt.in+"->"+string(tt.to), func(t *testing.T) {
			q, err := carbon.ParseQuantity(tt.in)
			require.NoError(t, err)
			got, err := q.Convert(tt.to)
			require.NoError(t, err)
			require.Equal(t, tt.want, got.String())
		})
	}
}

func TestQuantityConvertErrors(t *testing.T) {
	tests := []struct {
		in   string
		to   carbon.Unit
		want error
	}{
		{"3 km", carbon.Kilogram, carbon.ErrDimensionMismatch},
		{"3 kWh", carbon.Yuan, carbon.ErrDimensionMismatch},
		{"1 order", carbon.Box, carbon.ErrDimensionMismatch}, // an order is not a box
		{"1 hour", carbon.Day, carbon.ErrInexact},            // 1/24 has no finite decimal form
		{"1 km", carbon.Unit("mi"), carbon.ErrUnknownUnit},
	}
	for _, tt := range tests {
		t.Run(tt.in+"->"+string(tt.to), func(t *testing.T) {
			q, err := carbon.ParseQuantity(tt.in)
			require.NoError(t, err)
			_, err = q.Convert(tt.to)
			require.ErrorIs(t, err, tt.want)
		})
	}
	var ce *carbon.ConversionError
	q, _ := carbon.ParseQuantity("3 km")
	_, err := q.Mass()
	require.ErrorAs(t, err, &ce)
	require.Equal(t, carbon.Kilometre, ce.From)
	require.Contains(t, err.Error(), "km (distance) to g (mass)")
}

func TestQuantityMassAndCmp(t *testing.T) {
	q, err := carbon.ParseQuantity("1.5 kg")
	require.NoError(t, err)
	m, err := q.Mass()
	require.NoError(t, err)
	require.True(t, m.Equal(carbon.GramsInt(1500)))
	require.True(t, m.Quantity().Equal(mustQ(t, "1500 g")))

	c, err := mustQ(t, "1 km").Cmp(mustQ(t, "999 m"))
	require.NoError(t, err)
	require.Equal(t, 1, c)
	c, err = mustQ(t, "1 km").Cmp(mustQ(t, "1000 m"))
	require.NoError(t, err)
	require.Equal(t, 0, c)
	require.False(t, mustQ(t, "1 km").Equal(mustQ(t, "1000 m")), "Equal compares units too")
	_, err = mustQ(t, "1 km").Cmp(mustQ(t, "1 kg"))
	require.ErrorIs(t, err, carbon.ErrDimensionMismatch)
	require.True(t, mustQ(t, "0 km").IsZero())
	require.True(t, mustQ(t, "-1 km").IsNegative())
	require.Equal(t, carbon.DimDistance, mustQ(t, "1 km").Dimension())
}

func TestQuantityJSON(t *testing.T) {
	in := map[string]carbon.Quantity{"distance": mustQ(t, "6.4 km"), "orders": mustQ(t, "1 order")}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, `{"distance":"6.4 km","orders":"1 order"}`, string(b))
	var out map[string]carbon.Quantity
	require.NoError(t, json.Unmarshal(b, &out))
	require.True(t, out["distance"].Equal(in["distance"]))

	_, err = json.Marshal(carbon.Quantity{})
	require.ErrorIs(t, err, carbon.ErrUnknownUnit)
	require.ErrorIs(t, json.Unmarshal([]byte(`{"x":"1 parsec"}`), &out), carbon.ErrUnknownUnit)
}

func mustQ(t *testing.T, s string) carbon.Quantity {
	t.Helper()
	q, err := carbon.ParseQuantity(s)
	require.NoError(t, err)
	return q
}
