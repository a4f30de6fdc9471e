// Package dec holds the decimal helpers that carbonkit's packages share: a strict
// parser and a canonical formatter for shopspring decimals that never consult
// shopspring's process-wide settings, and exact rational conversion.
//
// The package exists because decimal.Decimal's String, MarshalJSON and
// NewFromString depend on package-level variables the host owns
// (UseScientificNotation, TrimTrailingZeros, MarshalJSONWithoutQuotes) or accept
// forms carbonkit must refuse (exponents that allocate without bound). Every
// text carbonkit hashes, stores or prints goes through Format.
package dec

import (
	"errors"
	"math/big"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// MaxDigits bounds the number of significant digits Parse accepts, integer and
// fraction together, and separately the number of fraction digits. It is far
// beyond any real quantity (10^40 grams is more CO2e than the atmosphere holds)
// so that any value carbonkit's own arithmetic produces still parses back, and
// it bounds what a hostile input can make the parser allocate.
const MaxDigits = 1000

// Errors returned by Parse. Both are wrapped by callers into their own typed
// errors; they are exported so those callers can classify them.
var (
	// ErrSyntax reports text that is not a plain decimal number.
	ErrSyntax = errors.New("not a plain decimal number")
	// ErrNotFinite reports NaN or an infinity spelt out in the text.
	ErrNotFinite = errors.New("not a finite number")
	// ErrTooLong reports a number with more than MaxDigits digits.
	ErrTooLong = errors.New("too many digits")
)

// Parse reads a plain decimal number: an optional sign, digits, and an optional
// fraction ("12", "-0.5", "+3.", ".25"). Exponents, spaces, underscores, NaN and
// infinities are refused.
func Parse(s string) (decimal.Decimal, error) {
	body := s
	neg := false
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	if isNonFinite(body) {
		return decimal.Decimal{}, ErrNotFinite
	}
	var digits []byte
	frac := -1
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
			if frac >= 0 {
				frac++
			}
		case c == '.' && frac < 0:
			frac = 0
		default:
			return decimal.Decimal{}, ErrSyntax
		}
	}
	if len(digits) == 0 {
		return decimal.Decimal{}, ErrSyntax
	}
	// Leading zeros carry no information; dropping them before the length check
	// lets "0000.5" through while still bounding real precision.
	trimmed := strings.TrimLeft(string(digits), "0")
	if len(trimmed) > MaxDigits {
		return decimal.Decimal{}, ErrTooLong
	}
	if frac > MaxDigits {
		return decimal.Decimal{}, ErrTooLong
	}
	coef := new(big.Int)
	if trimmed != "" {
		coef.SetString(trimmed, 10)
	}
	if neg {
		coef.Neg(coef)
	}
	exp := int32(0)
	if frac > 0 {
		exp = -int32(frac)
	}
	return decimal.NewFromBigInt(coef, exp), nil
}

func isNonFinite(s string) bool {
	switch strings.ToLower(s) {
	case "nan", "inf", "infinity":
		return true
	}
	return false
}

// Format writes d in plain notation with no trailing fractional zeros and no
// exponent ("1.5", "-0.002", "1500"). Equal values always format identically,
// whatever their internal exponent, so the result is safe to hash.
//
// A decimal whose exponent lies outside ±InRange's bound (never one that
// Parse returned or that InRange accepts) is written as "<coefficient>e<exp>"
// instead, so that formatting a hostile value cannot spell out billions of
// zeros; that form does not parse back.
func Format(d decimal.Decimal) string { return string(Append(nil, d)) }

// Append appends Format(d) to b. For a coefficient that fits in an int64 it
// allocates nothing beyond b's growth.
func Append(b []byte, d decimal.Decimal) []byte {
	exp := d.Exponent()
	if exp > 2*MaxDigits || exp < -2*MaxDigits {
		b = d.Coefficient().Append(b, 10)
		b = append(b, 'e')
		return strconv.AppendInt(b, int64(exp), 10)
	}
	if d.NumDigits() <= 18 {
		return AppendInt64(b, d.CoefficientInt64(), exp)
	}
	coef := d.Coefficient()
	ten, q, r := big.NewInt(10), new(big.Int), new(big.Int)
	for exp < 0 {
		q.QuoRem(coef, ten, r)
		if r.Sign() != 0 {
			break
		}
		coef.Set(q)
		exp++
	}
	if coef.Sign() < 0 {
		b = append(b, '-')
		coef.Neg(coef)
	}
	return place(b, coef.Append(nil, 10), exp)
}

// AppendInt64 appends Format(decimal.New(coef, exp)) to b, without
// allocating beyond b's growth: the same text Append writes for a decimal
// with that coefficient and exponent.
func AppendInt64(b []byte, coef int64, exp int32) []byte {
	if exp > 2*MaxDigits || exp < -2*MaxDigits {
		b = strconv.AppendInt(b, coef, 10)
		b = append(b, 'e')
		return strconv.AppendInt(b, int64(exp), 10)
	}
	if coef == 0 {
		return append(b, '0')
	}
	// The magnitude as a uint64, so that math.MinInt64 is no exception.
	u := uint64(coef)
	if coef < 0 {
		b = append(b, '-')
		u = -u
	}
	for exp < 0 && u%10 == 0 {
		u /= 10
		exp++
	}
	var scratch [20]byte // the digits, from the end
	i := len(scratch)
	for u >= 10 {
		q := u / 10
		i--
		scratch[i] = byte('0' + u - q*10)
		u = q
	}
	i--
	scratch[i] = byte('0' + u)
	return place(b, scratch[i:], exp)
}

// place appends the digits of a non-negative coefficient scaled by 10^exp in
// plain notation.
func place(b, digits []byte, exp int32) []byte {
	n := len(digits)
	switch {
	case exp >= 0:
		b = append(b, digits...)
		for range exp {
			b = append(b, '0')
		}
	case n > int(-exp):
		cut := n + int(exp)
		b = append(b, digits[:cut]...)
		b = append(b, '.')
		b = append(b, digits[cut:]...)
	default:
		b = append(b, '0', '.')
		for i := n; i < int(-exp); i++ {
			b = append(b, '0')
		}
		b = append(b, digits...)
	}
	return b
}

// InRange reports whether d is in the range carbonkit computes with: an
// exponent within ±MaxDigits, and at most MaxDigits digits in plain
// notation (a positive exponent writes its zeros: 1e1000 is 1001 digits,
// out of range). Then Parse(Format(d)) equals d; and every value Parse
// returns is in range.
func InRange(d decimal.Decimal) bool {
	e := d.Exponent()
	if e < -MaxDigits || e > MaxDigits {
		return false
	}
	if d.Sign() == 0 {
		return true
	}
	n := d.NumDigits()
	if e > 0 {
		n += int(e)
	}
	return n <= MaxDigits
}

// Mode is a rounding mode for converting a decimal to an integer count.
type Mode uint8

// Rounding modes. Their numeric values are part of no encoding.
const (
	// TowardZero truncates: 1.9 -> 1, -1.9 -> -1.
	TowardZero Mode = iota + 1
	// AwayFromZero rounds any fraction outwards: 1.1 -> 2, -1.1 -> -2.
	AwayFromZero
	// HalfEven rounds to nearest, ties to even (banker's rounding): 2.5 -> 2.
	HalfEven
)

// Round rounds d to places decimal places by mode. It reports false for an
// unknown mode.
func Round(d decimal.Decimal, places int32, m Mode) (decimal.Decimal, bool) {
	switch m {
	case TowardZero:
		return d.RoundDown(places), true
	case AwayFromZero:
		return d.RoundUp(places), true
	case HalfEven:
		return d.RoundBank(places), true
	}
	return decimal.Decimal{}, false
}

// Int64 rounds d to an integer by mode and reports whether the result fits in an
// int64 (and the mode is known).
func Int64(d decimal.Decimal, m Mode) (int64, bool) {
	r, ok := Round(d, 0, m)
	if !ok {
		return 0, false
	}
	b := r.BigInt()
	if !b.IsInt64() {
		return 0, false
	}
	return b.Int64(), true
}

// FromRat converts r to a decimal when r has a finite decimal expansion (its
// reduced denominator has no prime factor other than 2 and 5), and reports
// false otherwise.
func FromRat(r *big.Rat) (decimal.Decimal, bool) {
	num := new(big.Int).Set(r.Num())
	den := new(big.Int).Set(r.Denom())
	two, five, zero := big.NewInt(2), big.NewInt(5), new(big.Int)
	// Scale the numerator by 10 once per factor of 2 or 5 removed from the
	// denominator; what is left of the denominator must be 1.
	var exp int32
	m := new(big.Int)
	for {
		switch {
		case m.Mod(den, two).Cmp(zero) == 0:
			den.Quo(den, two)
			num.Mul(num, five)
		case m.Mod(den, five).Cmp(zero) == 0:
			den.Quo(den, five)
			num.Mul(num, two)
		default:
			if den.Cmp(big.NewInt(1)) != 0 {
				return decimal.Decimal{}, false
			}
			return decimal.NewFromBigInt(num, exp), true
		}
		exp--
	}
}
