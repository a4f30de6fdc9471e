package carbon

import (
	"errors"
	"math/big"
	"strconv"
	"strings"

	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// Quantity is an exact decimal value with a unit: "3.2 km", "1 order",
// "250 kWh". The zero value has no unit and is not valid; construct with
// NewQuantity or ParseQuantity.
//
// A Quantity holds a decimal.Decimal, so it must not be compared with ==: use
// Equal (same value in the same unit) or Cmp (same dimension, after
// conversion).
type Quantity struct {
	value decimal.Decimal
	unit  Unit
}

// NewQuantity returns value in unit u. An unknown unit is an error matching
// ErrUnknownUnit; a value that needs more than 1000 digits written out, or
// has an exponent beyond ±1000, is one matching ErrOutOfRange. Negative values are allowed here (a
// correction may be negative); Activity.Validate refuses them in reports.
func NewQuantity(value decimal.Decimal, u Unit) (Quantity, error) {
	if !u.Valid() {
		return Quantity{}, &ParseError{Func: "NewQuantity", Input: string(u), Err: ErrUnknownUnit}
	}
	if !dec.InRange(value) {
		return Quantity{}, &ParseError{Func: "NewQuantity", Input: dec.Format(value), Err: ErrOutOfRange}
	}
	return Quantity{value: value, unit: u}, nil
}

// ParseQuantity reads "<number> <unit>" or "<number><unit>": "3.2 km", "1order",
// "-0.5 kWh". The number is plain decimal notation (no exponent); the unit is a
// defined symbol. Errors are *ParseError matching ErrMalformedNumber,
// ErrNotFinite or ErrUnknownUnit.
func ParseQuantity(s string) (Quantity, error) {
	num, sym := splitNumber(s)
	v, err := parseNumber("ParseQuantity", s, num)
	if err != nil {
		return Quantity{}, err
	}
	u := Unit(strings.TrimSpace(sym))
	if !u.Valid() {
		return Quantity{}, &ParseError{Func: "ParseQuantity", Input: s, Err: ErrUnknownUnit}
	}
	return Quantity{value: v, unit: u}, nil
}

// Value returns the quantity's number in its own unit.
func (q Quantity) Value() decimal.Decimal { return q.value }

// Unit returns the quantity's unit.
func (q Quantity) Unit() Unit { return q.unit }

// Dimension returns what the quantity measures.
func (q Quantity) Dimension() Dimension { return q.unit.Dimension() }

// IsValid reports whether q has a defined unit (the zero Quantity does not).
func (q Quantity) IsValid() bool { return q.unit.Valid() }

// IsNegative reports whether q's value is below zero.
func (q Quantity) IsNegative() bool { return q.value.Sign() < 0 }

// IsFractionalCount reports whether q counts discrete things (orders,
// boxes: DimCount) but is not a whole number, which Activity.Validate
// refuses with ErrNotWhole.
func (q Quantity) IsFractionalCount() bool { return q.Dimension() == DimCount && !q.value.IsInteger() }

// IsZero reports whether q's value is zero.
func (q Quantity) IsZero() bool { return q.value.Sign() == 0 }

// In returns q's value expressed in unit u. Converting across dimensions, or
// between two different count units, is a *ConversionError matching
// ErrDimensionMismatch; a result with no finite decimal form (1 hour in days) is
// one matching ErrInexact; and a value whose exponent lies beyond ±1000, which
// no parser or constructor of this package returns but a Mass of a caller's
// decimal may hold, is one matching ErrOutOfRange.
func (q Quantity) In(u Unit) (decimal.Decimal, error) {
	if q.unit == u && u.Valid() {
		return q.value, nil
	}
	from, to, err := ratio(q.unit, u)
	if err != nil {
		return decimal.Decimal{}, err
	}
	// Shifting such an exponent may overflow int32, which panics, and its
	// rational form may have billions of digits.
	if e := q.value.Exponent(); e < -dec.MaxDigits || e > dec.MaxDigits {
		return decimal.Decimal{}, &ConversionError{From: q.unit, To: u, Err: ErrOutOfRange}
	}
	// Fast paths: a whole multiple, or a power of ten, is exact in decimal.
	if from%to == 0 {
		return q.value.Mul(decimal.NewFromInt(from / to)), nil
	}
	if k := to / from; to%from == 0 && isPow10(k) {
		return q.value.Shift(-int32(len(strconv.FormatInt(k, 10)) - 1)), nil
	}
	r := big.NewRat(from, to)
	v, ok := dec.FromRat(r.Mul(q.value.Rat(), r))
	if !ok {
		return decimal.Decimal{}, &ConversionError{From: q.unit, To: u, Err: ErrInexact}
	}
	return v, nil
}

// Convert returns q expressed in unit u, with the errors of In.
func (q Quantity) Convert(u Unit) (Quantity, error) {
	v, err := q.In(u)
	if err != nil {
		return Quantity{}, err
	}
	return Quantity{value: v, unit: u}, nil
}

// Mass returns q as a Mass when q measures mass, or a *ConversionError matching
// ErrDimensionMismatch.
func (q Quantity) Mass() (Mass, error) {
	g, err := q.In(Gram)
	if err != nil {
		return Mass{}, err
	}
	return Mass{g: g}, nil
}

// Cmp compares q and r after converting r to q's unit: -1 if q < r, 0 if
// equal, +1 if q > r. Quantities of different dimensions do not compare: the
// error matches ErrDimensionMismatch.
func (q Quantity) Cmp(r Quantity) (int, error) {
	from, to, err := ratio(r.unit, q.unit)
	if err != nil {
		return 0, err
	}
	k := big.NewRat(from, to)
	return q.value.Rat().Cmp(k.Mul(r.value.Rat(), k)), nil
}

// Equal reports whether q and r have the same unit and numerically equal values
// ("1.50 km" equals "1.5 km"; "1 km" does not equal "1000 m": use Cmp).
func (q Quantity) Equal(r Quantity) bool {
	return q.unit == r.unit && q.value.Cmp(r.value) == 0
}

// String formats q as "<number> <unit>" in plain notation ("3.2 km"); the zero
// Quantity formats as "0".
func (q Quantity) String() string {
	if q.unit == "" {
		return dec.Format(q.value)
	}
	return dec.Format(q.value) + " " + string(q.unit)
}

// MarshalText encodes q as its String form. The zero Quantity is an error,
// since it would not decode.
func (q Quantity) MarshalText() ([]byte, error) {
	if !q.IsValid() {
		return nil, &ParseError{Func: "Quantity.MarshalText", Input: string(q.unit), Err: ErrUnknownUnit}
	}
	return []byte(q.String()), nil
}

// UnmarshalText decodes the form ParseQuantity reads.
func (q *Quantity) UnmarshalText(b []byte) error {
	p, err := ParseQuantity(string(b))
	if err != nil {
		return err
	}
	*q = p
	return nil
}

// splitNumber splits s into its number and unit parts: at its last run of
// spaces when it has one ("3.2 km"), otherwise where the first letter starts
// ("3.2km"), so that "1,5kg" is reported as a malformed number rather than an
// unknown unit.
func splitNumber(s string) (num, rest string) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexAny(s, " \t"); i >= 0 {
		return strings.TrimSpace(s[:i]), s[i+1:]
	}
	i := 0
	for i < len(s) && !isLetter(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// nonFinite reports whether s starts, after an optional sign, with NaN or an
// infinity, however capitalised: such text is refused as not finite rather than
// as malformed, so the caller learns what was wrong.
func nonFinite(s string) bool {
	s = strings.ToLower(strings.TrimLeft(strings.TrimSpace(s), "+-"))
	return strings.HasPrefix(s, "nan") || strings.HasPrefix(s, "inf")
}

// parseNumber parses num with dec.Parse and wraps its failures as a ParseError
// of fn on the whole input.
func parseNumber(fn, input, num string) (decimal.Decimal, error) {
	if nonFinite(input) {
		return decimal.Decimal{}, &ParseError{Func: fn, Input: input, Err: ErrNotFinite}
	}
	v, err := dec.Parse(num)
	switch {
	case err == nil:
		return v, nil
	case errors.Is(err, dec.ErrNotFinite):
		return decimal.Decimal{}, &ParseError{Func: fn, Input: input, Err: ErrNotFinite}
	default:
		return decimal.Decimal{}, &ParseError{Func: fn, Input: input, Err: ErrMalformedNumber}
	}
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func isPow10(n int64) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}
