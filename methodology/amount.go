package methodology

import (
	"math"
	"math/bits"

	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// Quantify computes in int64 whenever it can: fx is a decimal number held
// as coefficient × 10^exponent, and its operations give exactly the
// coefficient and exponent that decimal.Decimal's Mul, Add, Sub, Shift,
// Cmp and RoundDown give for the same operands, or report that the result
// does not fit. Whatever does not fit is computed again by decimal.Decimal,
// so results do not depend on which way they were computed (fuzz and
// property tests in amount_test.go hold the two together).

// fx is the number c × 10^e.
type fx struct {
	c int64
	e int32
}

// fxOf returns d as an fx, or false when its coefficient has more than 18
// digits (some of which an int64 would hold: the test is cheap and safe).
func fxOf(d decimal.Decimal) (fx, bool) {
	if d.NumDigits() > 18 {
		return fx{}, false
	}
	return fx{d.CoefficientInt64(), d.Exponent()}, true
}

// decimal returns x as a decimal.Decimal, which allocates.
func (x fx) decimal() decimal.Decimal { return decimal.New(x.c, x.e) }

// inRange reports whether x is within dec.InRange: its exponent is, and its
// at most 19 digits are.
func (x fx) inRange() bool { return x.e >= -dec.MaxDigits && x.e <= dec.MaxDigits }

// mulFx returns x × y, as decimal.Decimal.Mul.
func mulFx(x, y fx) (fx, bool) {
	e, ok := addExp(x.e, y.e)
	if !ok {
		return fx{}, false
	}
	c, ok := mul64(x.c, y.c)
	return fx{c, e}, ok
}

// shiftFx returns x × 10^k, as decimal.Decimal.Shift: the same coefficient
// at another exponent.
func shiftFx(x fx, k int32) (fx, bool) {
	e, ok := addExp(x.e, k)
	return fx{x.c, e}, ok
}

// addFx returns x + y, as decimal.Decimal.Add: at the smaller exponent.
func addFx(x, y fx) (fx, bool) {
	a, b, e, ok := align(x, y)
	if !ok {
		return fx{}, false
	}
	c, ok := add64(a, b)
	return fx{c, e}, ok
}

// subFx returns x − y, as decimal.Decimal.Sub: at the smaller exponent.
func subFx(x, y fx) (fx, bool) {
	a, b, e, ok := align(x, y)
	if !ok {
		return fx{}, false
	}
	if b == math.MinInt64 { // never made by this file's functions, but -b would overflow
		return fx{}, false
	}
	c, ok := add64(a, -b)
	return fx{c, e}, ok
}

// cmpFx returns -1, 0 or +1 as x is less than, equal to or greater than y,
// or false when it cannot tell in an int64.
func cmpFx(x, y fx) (int, bool) {
	a, b, _, ok := align(x, y)
	switch {
	case !ok:
		return 0, false
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}

// roundDownFx returns x rounded toward zero to a multiple of 10^e, as
// decimal.Decimal.RoundDown(-e) does when x's exponent is below e.
func roundDownFx(x fx, e int32) fx {
	// Go's integer division truncates toward zero, as big.Int.Quo does; a
	// divisor of 10^19 or more exceeds every int64, which leaves 0.
	q := int64(0)
	if k := int64(e) - int64(x.e); k < int64(len(pow10s)) {
		q = x.c / pow10s[k]
	}
	return fx{q, e}
}

// align returns the coefficients of x and y at the smaller of their
// exponents, and that exponent, as decimal.Decimal's Add, Sub and Cmp
// rescale them; ok is false when one does not fit in an int64.
func align(x, y fx) (a, b int64, e int32, ok bool) {
	switch {
	case x.e < y.e:
		b, ok = scale(y.c, int64(y.e)-int64(x.e))
		return x.c, b, x.e, ok
	case x.e > y.e:
		a, ok = scale(x.c, int64(x.e)-int64(y.e))
		return a, y.c, y.e, ok
	}
	return x.c, y.c, x.e, true
}

// pow10s holds 10^0 to 10^18, every power of ten an int64 holds. It is
// immutable.
var pow10s = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// scale returns c × 10^k for k >= 0, and whether it fits in an int64.
func scale(c int64, k int64) (int64, bool) {
	switch {
	case c == 0:
		return 0, true
	case k >= int64(len(pow10s)):
		return 0, false
	}
	return mul64(c, pow10s[k])
}

// mul64 returns a × b and whether it fits in an int64. math.MinInt64 is
// treated as not fitting, so that every result can be negated.
func mul64(a, b int64) (int64, bool) {
	ua, ub := uint64(a), uint64(b)
	if a < 0 {
		ua = -ua
	}
	if b < 0 {
		ub = -ub
	}
	hi, lo := bits.Mul64(ua, ub)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if (a < 0) != (b < 0) {
		return -int64(lo), true
	}
	return int64(lo), true
}

// add64 returns a + b and whether it fits in an int64, math.MinInt64
// excepted as in mul64.
func add64(a, b int64) (int64, bool) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) || s == math.MinInt64 {
		return 0, false
	}
	return s, true
}

// addExp returns a + b and whether it fits in an int32, the range of a
// decimal's exponent (beyond which decimal.Decimal panics).
func addExp(a, b int32) (int32, bool) {
	s := int64(a) + int64(b)
	if s < math.MinInt32 || s > math.MaxInt32 {
		return 0, false
	}
	return int32(s), true
}
