package dec_test

import (
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/carbonkit/carbonkit/internal/nofloat"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	ok := map[string]string{
		"12": "12", "-0.5": "-0.5", "+3.": "3", ".25": "0.25", "0000.5": "0.5",
		"1.500": "1.5", "-0": "0", "100": "100",
	}
	for in, want := range ok {
		v, err := dec.Parse(in)
		require.NoError(t, err, in)
		require.Equal(t, want, dec.Format(v), in)
	}
	bad := map[string]error{
		"": dec.ErrSyntax, ".": dec.ErrSyntax, "-": dec.ErrSyntax, "1e3": dec.ErrSyntax,
		"1 000": dec.ErrSyntax, "1_000": dec.ErrSyntax, "1.2.3": dec.ErrSyntax, "0x1": dec.ErrSyntax,
		"NaN": dec.ErrNotFinite, "-inf": dec.ErrNotFinite, "Infinity": dec.ErrNotFinite,
		strings.Repeat("9", dec.MaxDigits+1):        dec.ErrTooLong,
		"0." + strings.Repeat("0", dec.MaxDigits+1): dec.ErrTooLong,
	}
	for in, want := range bad {
		_, err := dec.Parse(in)
		require.ErrorIs(t, err, want, in)
	}
	_, err := dec.Parse(strings.Repeat("0", 2*dec.MaxDigits) + "1")
	require.NoError(t, err, "leading zeros do not count towards MaxDigits")
}

func TestFormat(t *testing.T) {
	tests := []struct {
		d    decimal.Decimal
		want string
	}{
		{decimal.New(15, -1), "1.5"},
		{decimal.New(1500, -3), "1.5"},
		{decimal.New(15, 2), "1500"},
		{decimal.New(-2, -3), "-0.002"},
		{decimal.New(0, -5), "0"},
		{decimal.New(0, 5), "0"},
		{decimal.New(123, -3), "0.123"},
		{decimal.New(1230, -1), "123"},
		{decimal.Decimal{}, "0"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, dec.Format(tt.d))
	}
}

func TestAppendMatchesBigPath(t *testing.T) {
	// Values on both sides of the int64 fast path, each written with extra
	// trailing zeros so that trimming is exercised.
	tests := map[string]string{
		"0": "0", "1": "1", "-1": "-1", "1.500": "1.5", "0.001": "0.001", "-0.0020": "-0.002",
		"1500": "1500", "123456789012345678": "123456789012345678",
		"1234567890123456789012":       "1234567890123456789012",
		"0.000000000000000000001":      "0.000000000000000000001",
		"100000000000000000000000.000": "100000000000000000000000",
		"-9223372036854775808":         "-9223372036854775808",
		"-92233720368547758080.5000":   "-92233720368547758080.5",
	}
	for in, want := range tests {
		v, err := dec.Parse(in)
		require.NoError(t, err)
		require.Equal(t, want, string(dec.Append([]byte{}, v)), in)
	}
	require.Equal(t, "15000", dec.Format(decimal.New(15, 3)))
	require.Equal(t, "x=1.5", string(dec.Append([]byte("x="), decimal.New(15, -1))))
}

// TestAppendInt64MatchesAppend checks that AppendInt64 writes, for every
// coefficient and exponent, what Append writes for the decimal they make,
// including at the int64 limits and at the exponent bounds.
func TestAppendInt64MatchesAppend(t *testing.T) {
	coefs := []int64{0, 1, -1, 7, 10, -10, 100, 15, 1500, 123456789, 1000000000000000000, 999999999999999999,
		math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 9000000000000000000, -9000000000000000000}
	exps := []int32{0, 1, -1, 2, -2, 3, -3, 17, -17, 18, -18, 19, -19, 20, -25, 2 * dec.MaxDigits, -2 * dec.MaxDigits,
		2*dec.MaxDigits + 1, -2*dec.MaxDigits - 1, math.MaxInt32, math.MinInt32}
	for _, c := range coefs {
		for _, e := range exps {
			want := string(dec.Append([]byte("x"), decimal.New(c, e)))
			require.Equal(t, want, string(dec.AppendInt64([]byte("x"), c, e)), "%d e%d", c, e)
		}
	}
	for i, x := 0, uint64(1); i < 2000; i, x = i+1, x*6364136223846793005+1442695040888963407 {
		c := int64(x >> 1)
		for _, e := range []int32{-20, -7, -1, 0, 4} {
			require.Equal(t, string(dec.Append(nil, decimal.New(c, e))), string(dec.AppendInt64(nil, c, e)))
			require.Equal(t, string(dec.Append(nil, decimal.New(-c, e))), string(dec.AppendInt64(nil, -c, e)))
		}
	}
}

func TestFormatBoundsHostileExponents(t *testing.T) {
	require.Equal(t, "-1e-2000000000", dec.Format(decimal.New(-1, -2_000_000_000)))
	require.Equal(t, "7e2000000000", dec.Format(decimal.New(7, 2_000_000_000)))
	require.False(t, dec.InRange(decimal.New(7, 2_000_000_000)))
	require.True(t, dec.InRange(decimal.New(15, -1)))
}

// TestInRangeIsWhatParsesBack holds InRange to its meaning: a value in its
// shortest form (no trailing zeros in a fraction) is in range exactly when
// its plain form parses back to it. A positive exponent writes its zeros,
// so 1e1000, of one digit, needs 1001 written out.
func TestInRangeIsWhatParsesBack(t *testing.T) {
	nines := func(n int) *big.Int { // 10^n - 1: n digits
		return new(big.Int).Sub(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil), big.NewInt(1))
	}
	for _, d := range []decimal.Decimal{
		decimal.New(1, 999), decimal.New(1, 1000), decimal.New(123, 998), decimal.New(123, 997),
		decimal.New(1, -1000), decimal.New(1, -1001),
		decimal.NewFromBigInt(nines(1000), 0), decimal.NewFromBigInt(nines(1001), 0),
		decimal.NewFromBigInt(nines(1000), -1000), decimal.NewFromBigInt(nines(999), 1), decimal.NewFromBigInt(nines(1000), 1),
		decimal.New(0, 1000), decimal.New(0, -1000), decimal.New(-5, 0),
	} {
		back, err := dec.Parse(dec.Format(d))
		parses := err == nil && back.Cmp(d) == 0
		require.Equal(t, parses, dec.InRange(d), "%s (coefficient of %d digits, exponent %d)", dec.Format(d)[:min(20, len(dec.Format(d)))], d.NumDigits(), d.Exponent())
	}
}

func TestRoundAndInt64(t *testing.T) {
	v := decimal.New(-25, -1) // -2.5
	for m, want := range map[dec.Mode]int64{dec.TowardZero: -2, dec.AwayFromZero: -3, dec.HalfEven: -2} {
		got, ok := dec.Int64(v, m)
		require.True(t, ok)
		require.Equal(t, want, got, "mode %d", m)
	}
	_, ok := dec.Int64(v, dec.Mode(0))
	require.False(t, ok)
	_, ok = dec.Round(v, 0, dec.Mode(9))
	require.False(t, ok)
	_, ok = dec.Int64(decimal.NewFromInt(math.MaxInt64).Add(decimal.NewFromInt(1)), dec.TowardZero)
	require.False(t, ok)
}

func TestFromRat(t *testing.T) {
	v, ok := dec.FromRat(big.NewRat(3, 8))
	require.True(t, ok)
	require.Equal(t, "0.375", dec.Format(v))
	v, ok = dec.FromRat(big.NewRat(-7, 20))
	require.True(t, ok)
	require.Equal(t, "-0.35", dec.Format(v))
	v, ok = dec.FromRat(big.NewRat(12, 1))
	require.True(t, ok)
	require.Equal(t, "12", dec.Format(v))
	_, ok = dec.FromRat(big.NewRat(1, 3))
	require.False(t, ok)
	_, ok = dec.FromRat(big.NewRat(1, 24))
	require.False(t, ok)
}

func TestNoFloat(t *testing.T) {
	found, err := nofloat.Check(".")
	require.NoError(t, err)
	require.Empty(t, found)
}
