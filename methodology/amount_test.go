package methodology

import (
	"math"
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// fxCoefs are coefficients on both sides of every edge of int64 arithmetic.
var fxCoefs = []int64{
	0, 1, -1, 2, -2, 7, 9, 10, -10, 99, 100, 12345, -98765, 999999999, 1_000_000_000,
	3037000499, 3037000500, -3037000500, 4294967296, 100_000_000_000_000_000, 999999999999999999,
	-999999999999999999, 1_000_000_000_000_000_000, 1_000_000_000_000_000_001, math.MaxInt64 / 10, math.MaxInt64/10 + 1,
	math.MaxInt64 - 1, math.MaxInt64, math.MinInt64 + 1, math.MinInt64 + 2,
}

// fxExps are exponents near the ones Quantify meets and near int32's edges.
var fxExps = []int32{0, 1, -1, 2, -2, -3, 3, 6, -6, 17, -17, 18, -18, 19, -19, 25, -40,
	1000, -1000, math.MaxInt32, math.MinInt32, math.MaxInt32 - 1, math.MinInt32 + 1}

// fits reports whether b is an int64 other than math.MinInt64, the range of
// fx's results.
func fits(b *big.Int) bool { return b.IsInt64() && b.Int64() != math.MinInt64 }

// requireFx fails unless x is d: the same coefficient and exponent.
func requireFx(t testing.TB, d decimal.Decimal, x fx, msg string) {
	t.Helper()
	require.Truef(t, d.Coefficient().Cmp(big.NewInt(x.c)) == 0 && d.Exponent() == x.e,
		"%s: fx gives %de%d, decimal %se%d", msg, x.c, x.e, d.Coefficient(), d.Exponent())
}

// checkFx compares every fx operation on x and y with decimal.Decimal's:
// when fx reports a result it must be decimal's, coefficient and exponent;
// and it must report one whenever decimal's fits in an int64.
func checkFx(t testing.TB, x, y fx) {
	t.Helper()
	dx, dy := decimal.New(x.c, x.e), decimal.New(y.c, y.e)
	e := int64(x.e) + int64(y.e)
	expFits := e >= math.MinInt32 && e <= math.MaxInt32

	got, ok := mulFx(x, y)
	if expFits {
		want := dx.Mul(dy)
		require.Equal(t, fits(want.Coefficient()), ok, "mul %v %v", x, y)
		if ok {
			requireFx(t, want, got, "mul")
		}
	} else {
		require.False(t, ok, "mul %v %v: exponent overflows", x, y)
	}

	if k := y.e; expFits {
		got, ok := shiftFx(x, k)
		require.True(t, ok)
		requireFx(t, dx.Shift(k), got, "shift")
	}

	// Rescaling by 10^(huge) is slow in decimal; fx refuses any difference
	// above 18 unless the coefficient is 0.
	if diff := int64(x.e) - int64(y.e); diff >= -60 && diff <= 60 {
		rescaled := func(d decimal.Decimal, to int32) *big.Int { // d's coefficient at exponent to <= d's
			c := d.Coefficient()
			return c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Exponent())-int64(to)), nil))
		}
		lo := min(x.e, y.e)
		alignFits := fits(rescaled(dx, lo)) && fits(rescaled(dy, lo))

		sum := dx.Add(dy)
		got, ok := addFx(x, y)
		require.Equal(t, alignFits && fits(sum.Coefficient()), ok, "add %v %v", x, y)
		if ok {
			requireFx(t, sum, got, "add")
		}
		diffD := dx.Sub(dy)
		got, ok = subFx(x, y)
		require.Equal(t, alignFits && fits(diffD.Coefficient()), ok, "sub %v %v", x, y)
		if ok {
			requireFx(t, diffD, got, "sub")
		}
		c, ok := cmpFx(x, y)
		require.Equal(t, alignFits, ok, "cmp %v %v", x, y)
		if ok {
			require.Equal(t, dx.Cmp(dy), c, "cmp %v %v", x, y)
		}
		if x.e < y.e && diff >= -60 {
			requireFx(t, dx.RoundDown(-y.e), roundDownFx(x, y.e), "round down")
		}
	}
}

func TestFxMatchesDecimal(t *testing.T) {
	// Every pair of coefficients at nearby exponents, and every pair of
	// exponents with a few coefficients.
	near := []int32{0, -1, 2, -3, 18, -19}
	for _, c1 := range fxCoefs {
		for _, c2 := range fxCoefs {
			for _, e1 := range near {
				for _, e2 := range near {
					checkFx(t, fx{c1, e1}, fx{c2, e2})
				}
			}
		}
	}
	for _, c1 := range []int64{0, 7, -999999999999999999, math.MaxInt64} {
		for _, c2 := range []int64{0, -1, 3037000500, math.MinInt64 + 1} {
			for _, e1 := range fxExps {
				for _, e2 := range fxExps {
					checkFx(t, fx{c1, e1}, fx{c2, e2})
				}
			}
		}
	}
}

func TestFxOf(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "6.4", "6.400", "123456789012345678", "-123456789012345678", "0.000000000000000001"} {
		d := num(s)
		x, ok := fxOf(d)
		require.True(t, ok, s)
		requireFx(t, d, x, s)
	}
	for _, s := range []string{"1234567890123456789", "9223372036854775807", "99999999999999999999.9"} {
		_, ok := fxOf(num(s))
		require.False(t, ok, s)
	}
	_, ok := fxOf(decimal.Decimal{})
	require.True(t, ok, "the zero value")
}

// FuzzFxMatchesDecimal is TestFxMatchesDecimal over any coefficients and
// exponents of up to three digits.
func FuzzFxMatchesDecimal(f *testing.F) {
	f.Add(int64(64), int16(-1), int64(170), int16(0))
	f.Add(int64(math.MaxInt64), int16(0), int64(-1), int16(0))
	f.Add(int64(3037000500), int16(-18), int64(3037000500), int16(18))
	f.Fuzz(func(t *testing.T, c1 int64, e1 int16, c2 int64, e2 int16) {
		if c1 == math.MinInt64 || c2 == math.MinInt64 {
			return // never an fx
		}
		checkFx(t, fx{c1, int32(e1 % 1000)}, fx{c2, int32(e2 % 1000)})
	})
}
