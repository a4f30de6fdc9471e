package carbon

import (
	"math"
	"math/bits"
	"strconv"
)

// Points is a whole number of carbon points. It is a signed count so that a
// debit or a reversal can be expressed; the ledger decides where a balance may
// not go below zero.
//
// The arithmetic methods check for int64 overflow and return an error matching
// ErrOverflow rather than wrapping around.
type Points int64

// Add returns p + q, or an *OverflowError.
func (p Points) Add(q Points) (Points, error) {
	s := p + q
	// Overflow iff both operands have the same sign and the sum's differs.
	if (p >= 0) == (q >= 0) && (s >= 0) != (p >= 0) {
		return 0, &OverflowError{Op: "+", A: p.String(), B: q.String()}
	}
	return s, nil
}

// Sub returns p - q, or an *OverflowError.
func (p Points) Sub(q Points) (Points, error) {
	s := p - q
	if (p >= 0) != (q >= 0) && (s >= 0) != (p >= 0) {
		return 0, &OverflowError{Op: "-", A: p.String(), B: q.String()}
	}
	return s, nil
}

// Mul returns p × n, or an *OverflowError.
func (p Points) Mul(n int64) (Points, error) {
	if p == 0 || n == 0 {
		return 0, nil
	}
	neg := (p < 0) != (n < 0)
	hi, lo := bits.Mul64(absU(int64(p)), absU(n))
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // |MinInt64| is one more than MaxInt64
	}
	if hi != 0 || lo > limit {
		return 0, &OverflowError{Op: "×", A: p.String(), B: strconv.FormatInt(n, 10)}
	}
	if neg {
		return Points(-int64(lo-1) - 1), nil
	}
	return Points(lo), nil
}

// Neg returns -p, or an *OverflowError for the one value with no negation.
func (p Points) Neg() (Points, error) {
	if p == math.MinInt64 {
		return 0, &OverflowError{Op: "-", A: "0", B: p.String()}
	}
	return -p, nil
}

// SumPoints adds ps with overflow checking.
func SumPoints(ps ...Points) (Points, error) {
	var total Points
	for _, p := range ps {
		var err error
		if total, err = total.Add(p); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// String formats p as a decimal integer.
func (p Points) String() string { return strconv.FormatInt(int64(p), 10) }

func absU(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1
	}
	return uint64(n)
}
