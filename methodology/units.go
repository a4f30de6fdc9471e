package methodology

import (
	"github.com/carbonkit/carbonkit/carbon"
	"github.com/shopspring/decimal"
)

// unitPair is a conversion from one unit to another.
type unitPair struct{ from, to carbon.Unit }

// pow10Ratios holds, for every pair of distinct units of one dimension whose
// ratio is a power of ten (g to kg, km to m, kWh to MWh), that power. It is
// derived from package carbon's own conversions at initialisation and
// immutable afterwards; it lets convert shift a decimal's exponent instead of
// going through carbon's rational arithmetic, which dominates the cost of a
// term otherwise.
var pow10Ratios = func() map[unitPair]int32 {
	out := map[unitPair]int32{}
	one := decimal.New(1, 0)
	for _, from := range carbon.Units() {
		q, err := carbon.NewQuantity(one, from)
		if err != nil {
			continue
		}
		for _, to := range carbon.Units() {
			if from == to {
				continue
			}
			r, err := q.In(to)
			if err != nil {
				continue
			}
			if k := powerOfTen(carbon.Grams(r)); k != unusedPow10 {
				out[unitPair{from, to}] = k
			}
		}
	}
	return out
}()

// convert returns v in unit from expressed in unit to, exactly, with the
// errors of carbon.Quantity.In.
func convert(v decimal.Decimal, from, to carbon.Unit) (decimal.Decimal, error) {
	if from == to {
		return v, nil
	}
	if k, ok := pow10Ratios[unitPair{from, to}]; ok {
		return v.Shift(k), nil
	}
	q, err := carbon.NewQuantity(v, from)
	if err != nil {
		return decimal.Decimal{}, err
	}
	return q.In(to)
}

// compareQuantity is q.Cmp(bound), without rational arithmetic when the units
// agree or differ by a power of ten.
func compareQuantity(q, bound carbon.Quantity) (int, error) {
	if v, err := convert(q.Value(), q.Unit(), bound.Unit()); err == nil {
		return v.Cmp(bound.Value()), nil
	}
	return q.Cmp(bound)
}
