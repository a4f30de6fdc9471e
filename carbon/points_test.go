package carbon_test

import (
	"math"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/stretchr/testify/require"
)

func TestPointsArithmetic(t *testing.T) {
	const max, min = carbon.Points(math.MaxInt64), carbon.Points(math.MinInt64)
	type op func() (carbon.Points, error)
	tests := []struct {
		name     string
		do       op
		want     carbon.Points
		overflow bool
	}{
		{"add", func() (carbon.Points, error) { return carbon.Points(2).Add(3) }, 5, false},
		{"add negative", func() (carbon.Points, error) { return carbon.Points(2).Add(-3) }, -1, false},
		{"add max", func() (carbon.Points, error) { return max.Add(0) }, max, false},
		{"add past max", func() (carbon.Points, error) { return max.Add(1) }, 0, true},
		{"add past min", func() (carbon.Points, error) { return min.Add(-1) }, 0, true},
		{"add max and min", func() (carbon.Points, error) { return max.Add(min) }, -1, false},
		{"sub", func() (carbon.Points, error) { return carbon.Points(2).Sub(3) }, -1, false},
		{"sub past min", func() (carbon.Points, error) { return min.Sub(1) }, 0, true},
		{"sub min from zero", func() (carbon.Points, error) { return carbon.Points(0).Sub(min) }, 0, true},
		{"sub min from -1", func() (carbon.Points, error) { return carbon.Points(-1).Sub(min) }, max, false},
		{"sub past max", func() (carbon.Points, error) { return max.Sub(-1) }, 0, true},
		{"mul", func() (carbon.Points, error) { return carbon.Points(7).Mul(6) }, 42, false},
		{"mul zero", func() (carbon.Points, error) { return max.Mul(0) }, 0, false},
		{"mul negative", func() (carbon.Points, error) { return carbon.Points(7).Mul(-6) }, -42, false},
		{"mul to min", func() (carbon.Points, error) { return carbon.Points(math.MinInt64 / 2).Mul(2) }, min, false},
		{"mul past min", func() (carbon.Points, error) { return min.Mul(-1) }, 0, true},
		{"mul past max", func() (carbon.Points, error) { return max.Mul(2) }, 0, true},
		{"mul huge", func() (carbon.Points, error) { return carbon.Points(1 << 40).Mul(1 << 40) }, 0, true},
		{"neg", func() (carbon.Points, error) { return carbon.Points(5).Neg() }, -5, false},
		{"neg min", func() (carbon.Points, error) { return min.Neg() }, 0, true},
		{"sum", func() (carbon.Points, error) { return carbon.SumPoints(1, 2, 3) }, 6, false},
		{"sum overflow", func() (carbon.Points, error) { return carbon.SumPoints(max, 1, -1) }, 0, true},
		{"sum empty", func() (carbon.Points, error) { return carbon.SumPoints() }, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.do()
			if tt.overflow {
				require.ErrorIs(t, err, carbon.ErrOverflow)
				var oe *carbon.OverflowError
				require.ErrorAs(t, err, &oe)
				require.Contains(t, err.Error(), "overflow")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// Overflow checks agree with 128-bit-free reference arithmetic on random
// operands near the limits.
func TestPointsAddMatchesReference(t *testing.T) {
	vals := []carbon.Points{0, 1, -1, 2, math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1 << 62, -(1 << 62)}
	for _, a := range vals {
		for _, b := range vals {
			got, err := a.Add(b)
			// Reference: the sum fits iff it does not cross a limit.
			fits := !(b > 0 && a > math.MaxInt64-b) && !(b < 0 && a < math.MinInt64-b)
			if fits {
				require.NoError(t, err, "%d + %d", a, b)
				require.Equal(t, a+b, got)
			} else {
				require.ErrorIs(t, err, carbon.ErrOverflow, "%d + %d", a, b)
			}
		}
	}
}

func TestPointsString(t *testing.T) {
	require.Equal(t, "-42", carbon.Points(-42).String())
}
