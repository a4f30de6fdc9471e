package carbon

import (
	"strings"

	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// Mass is an exact mass of CO2-equivalent, held as decimal grams. The zero value
// is zero grams. A Mass may be negative (a reversal, a difference).
//
// Mass holds a decimal.Decimal, so it must not be compared with ==: use Equal
// or Cmp. It is immutable: every method returns a new value.
type Mass struct {
	g decimal.Decimal
}

// Grams returns a mass of v grams CO2e.
func Grams(v decimal.Decimal) Mass { return Mass{g: v} }

// Kilograms returns a mass of v kilograms CO2e.
func Kilograms(v decimal.Decimal) Mass { return Mass{g: v.Mul(thousand)} }

// Tonnes returns a mass of v tonnes CO2e.
func Tonnes(v decimal.Decimal) Mass { return Mass{g: v.Mul(million)} }

// thousand and million scale kilograms and tonnes to grams. Multiplying by
// them keeps v's exponent, where shifting it would panic on a decimal whose
// exponent is at int32's limit.
var thousand, million = decimal.New(1000, 0), decimal.New(1_000_000, 0)

// GramsInt returns a mass of n whole grams CO2e.
func GramsInt(n int64) Mass { return Mass{g: decimal.NewFromInt(n)} }

// ParseMass reads a mass: a plain decimal number, optional spaces, a mass unit
// (mg, g, kg, t) and an optional "CO2e" suffix: "37g", "1.5kg", "0.002t",
// "1.5 kgCO2e", "-12 g". Errors are *ParseError matching ErrMalformedNumber,
// ErrNotFinite, ErrUnknownUnit, or ErrDimensionMismatch (a unit that is not a
// mass, "3 km").
func ParseMass(s string) (Mass, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSpace(strings.TrimSuffix(t, "CO2e"))
	num, sym := splitNumber(t)
	v, err := parseNumber("ParseMass", s, num)
	if err != nil {
		return Mass{}, err
	}
	u := Unit(strings.TrimSpace(sym))
	switch {
	case !u.Valid():
		return Mass{}, &ParseError{Func: "ParseMass", Input: s, Err: ErrUnknownUnit}
	case u.Dimension() != DimMass:
		return Mass{}, &ParseError{Func: "ParseMass", Input: s, Err: ErrDimensionMismatch}
	}
	m, err := Quantity{value: v, unit: u}.Mass()
	if err != nil {
		return Mass{}, err
	}
	return m, nil
}

// Grams returns the mass in grams, exactly.
func (m Mass) Grams() decimal.Decimal { return m.g }

// Kilograms returns the mass in kilograms, exactly.
func (m Mass) Kilograms() decimal.Decimal { return m.g.Shift(-3) }

// Tonnes returns the mass in tonnes, exactly.
func (m Mass) Tonnes() decimal.Decimal { return m.g.Shift(-6) }

// Quantity returns the mass as a Quantity in grams.
func (m Mass) Quantity() Quantity { return Quantity{value: m.g, unit: Gram} }

// Add returns m + n.
func (m Mass) Add(n Mass) Mass { return Mass{g: m.g.Add(n.g)} }

// Sub returns m - n.
func (m Mass) Sub(n Mass) Mass { return Mass{g: m.g.Sub(n.g)} }

// Mul returns m × k, exactly.
func (m Mass) Mul(k decimal.Decimal) Mass { return Mass{g: m.g.Mul(k)} }

// Neg returns -m.
func (m Mass) Neg() Mass { return Mass{g: m.g.Neg()} }

// Cmp returns -1, 0 or +1 as m is less than, equal to or greater than n.
func (m Mass) Cmp(n Mass) int { return m.g.Cmp(n.g) }

// Equal reports whether m and n are the same mass (1.5kg equals 1500g).
func (m Mass) Equal(n Mass) bool { return m.g.Cmp(n.g) == 0 }

// Sign returns -1, 0 or +1 by the sign of m.
func (m Mass) Sign() int { return m.g.Sign() }

// IsZero reports whether m is zero.
func (m Mass) IsZero() bool { return m.g.Sign() == 0 }

// IsNegative reports whether m is below zero.
func (m Mass) IsNegative() bool { return m.g.Sign() < 0 }

// Rounding says how a conversion to a whole count of a unit treats a remainder.
type Rounding uint8

// Rounding modes. The zero value is not a mode, so a forgotten choice is an
// error rather than a silent default.
const (
	// TowardZero truncates: 1.9 -> 1, -1.9 -> -1. It is the conservative
	// choice for a reduction.
	TowardZero Rounding = Rounding(dec.TowardZero)
	// AwayFromZero rounds any remainder outwards: 1.1 -> 2, -1.1 -> -2.
	AwayFromZero Rounding = Rounding(dec.AwayFromZero)
	// HalfEven rounds to nearest, ties to even: 2.5 -> 2, 3.5 -> 4.
	HalfEven Rounding = Rounding(dec.HalfEven)
)

// String names the rounding mode.
func (r Rounding) String() string {
	switch r {
	case TowardZero:
		return "toward-zero"
	case AwayFromZero:
		return "away-from-zero"
	case HalfEven:
		return "half-even"
	}
	return "invalid"
}

// Round returns v rounded to places decimal places by r, or an error matching
// ErrInvalidRounding for an undefined mode.
func (r Rounding) Round(v decimal.Decimal, places int32) (decimal.Decimal, error) {
	out, ok := dec.Round(v, places, dec.Mode(r))
	if !ok {
		return decimal.Decimal{}, ErrInvalidRounding
	}
	return out, nil
}

// IntIn returns the mass as a whole number of unit u, rounded by r: the ledger
// stores CO2e as IntIn(Milligram, TowardZero). Errors: u not a mass unit
// (ErrDimensionMismatch or ErrUnknownUnit), an undefined rounding mode
// (ErrInvalidRounding), a result outside int64 (ErrOverflow), a mass whose
// decimal exponent lies beyond ±1000 (ErrOutOfRange; see Quantity.In).
func (m Mass) IntIn(u Unit, r Rounding) (int64, error) {
	v, err := m.Quantity().In(u)
	if err != nil {
		return 0, err
	}
	if e := v.Exponent(); e < -dec.MaxDigits || e > dec.MaxDigits { // In(Gram) checks nothing
		return 0, &ConversionError{From: Gram, To: u, Err: ErrOutOfRange}
	}
	rounded, err := r.Round(v, 0)
	if err != nil {
		return 0, err
	}
	b := rounded.BigInt()
	if !b.IsInt64() {
		return 0, &OverflowError{Op: "convert", A: m.String(), B: string(u)}
	}
	return b.Int64(), nil
}

// String formats the mass in plain notation in the largest of g, kg and t that
// keeps its integer part non-zero: "37g", "1.5kg", "2.25t", "0.5g", "-1.2kg".
// ParseMass(m.String()) equals m for every mass of at most 1000 significant
// digits whose exponent, in the unit written, lies within ±1000: every mass
// that carbonkit's parsers return, and the results of its methodologies.
func (m Mass) String() string {
	if e := m.g.Exponent(); e < -dec.MaxDigits || e > dec.MaxDigits {
		// Far out of range, where comparing it with a kilogram would
		// spell out its exponent's worth of digits: grams, as dec.Format
		// writes such a value.
		return dec.Format(m.g) + "g"
	}
	a := m.g.Abs()
	switch {
	case a.Cmp(decimal.New(1, 6)) >= 0:
		return dec.Format(m.g.Shift(-6)) + "t"
	case a.Cmp(decimal.New(1, 3)) >= 0:
		return dec.Format(m.g.Shift(-3)) + "kg"
	}
	return dec.Format(m.g) + "g"
}

// MarshalText encodes the mass as its String form.
func (m Mass) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText decodes any form ParseMass reads.
func (m *Mass) UnmarshalText(b []byte) error {
	p, err := ParseMass(string(b))
	if err != nil {
		return err
	}
	*m = p
	return nil
}
