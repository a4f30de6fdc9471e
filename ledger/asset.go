package ledger

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// Asset names a kind of value the ledger counts: 1 to 16 bytes of upper-case
// ASCII letters, digits, '_' and '-'. Amounts of an asset are int64 counts of
// its minor unit; the asset's scale (fixed when it is registered) says how
// many decimal places separate the minor unit from the major one.
type Asset string

// The predefined assets, registered with every Ledger.
const (
	// Points are carbon points, scale 0: an amount is a whole number of points.
	Points Asset = "PTS"
	// CO2e is a CO2-equivalent mass in grams at scale 3: an amount is a count
	// of milligrams.
	CO2e Asset = "CO2E"
	// CNY is renminbi at scale 2: an amount is a count of fen.
	CNY Asset = "CNY"
)

// MaxScale is the largest scale an asset may have.
const MaxScale = 18

func (a Asset) validate() bool {
	if len(a) == 0 || len(a) > 16 {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// assetTable is a copy-on-write map from asset to scale: reads on the hot
// path are a single atomic load, registrations (rare) copy the map.
type assetTable struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[Asset]int]
}

func newAssetTable() *assetTable {
	t := &assetTable{}
	m := map[Asset]int{Points: 0, CO2e: 3, CNY: 2}
	t.m.Store(&m)
	return t
}

func (t *assetTable) scale(a Asset) (int, bool) {
	s, ok := (*t.m.Load())[a]
	return s, ok
}

func (t *assetTable) register(a Asset, scale int) error {
	const op = "RegisterAsset"
	if !a.validate() {
		return newErr(op, ErrInvalidRequest, "asset "+strconv.Quote(string(a))+" is not 1 to 16 of A-Z 0-9 _ -")
	}
	if scale < 0 || scale > MaxScale {
		return newErr(op, ErrInvalidRequest, "scale "+strconv.Itoa(scale)+" of asset "+string(a)+" is outside 0 to 18")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.m.Load()
	if s, ok := old[a]; ok {
		if s != scale {
			return newErr(op, ErrAssetExists, "asset "+string(a)+" has scale "+strconv.Itoa(s)+", not "+strconv.Itoa(scale))
		}
		return nil
	}
	m := make(map[Asset]int, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[a] = scale
	t.m.Store(&m)
	return nil
}

// Amount converts a decimal quantity of an asset's major unit (3.25 CNY) to
// a count of its minor unit (325), rounding by r. Errors: ErrUnknownAsset,
// ErrInvalidRequest for an undefined rounding mode or a decimal beyond what
// carbonkit computes with (more than 1000 digits, or an exponent beyond
// ±1000), ErrOverflow for a result
// outside int64.
func (l *Ledger) Amount(a Asset, v decimal.Decimal, r carbon.Rounding) (int64, error) {
	const op = "Amount"
	scale, ok := l.assets.scale(a)
	if !ok {
		return 0, newErr(op, ErrUnknownAsset, "asset "+strconv.Quote(string(a)))
	}
	if !dec.InRange(v) { // its shift could overflow the exponent, or spell out billions of digits
		return 0, newErr(op, ErrInvalidRequest, "amount "+dec.Format(v)+" needs more than 1000 digits written out, or an exponent beyond ±1000")
	}
	n, ok := dec.Int64(v.Shift(int32(scale)), dec.Mode(r))
	if !ok {
		if r.String() == "invalid" {
			return 0, newErr(op, ErrInvalidRequest, "rounding mode "+strconv.Itoa(int(r))+" is undefined")
		}
		return 0, newErr(op, ErrOverflow, dec.Format(v)+" "+string(a)+" does not fit in int64 minor units")
	}
	return n, nil
}

// MassAmount converts m to an amount of CO2e (milligrams), rounding by r.
// Errors: ErrInvalidRequest for an undefined rounding mode or a mass whose
// exponent lies beyond ±1000 (see carbon.Mass.IntIn), ErrOverflow.
func MassAmount(m carbon.Mass, r carbon.Rounding) (int64, error) {
	n, err := m.IntIn(carbon.Milligram, r)
	if err != nil {
		kind := ErrOverflow
		if r.String() == "invalid" || errors.Is(err, carbon.ErrOutOfRange) {
			kind = ErrInvalidRequest
		}
		return 0, &Error{Op: "MassAmount", Kind: kind, Detail: "mass " + m.String(), Err: err}
	}
	return n, nil
}

// Decimal returns amount minor units of asset a as a decimal of its major
// unit (325 CNY fen is 3.25), or ErrUnknownAsset.
func (l *Ledger) Decimal(a Asset, amount int64) (decimal.Decimal, error) {
	scale, ok := l.assets.scale(a)
	if !ok {
		return decimal.Decimal{}, newErr("Decimal", ErrUnknownAsset, "asset "+strconv.Quote(string(a)))
	}
	return decimal.New(amount, -int32(scale)), nil
}

// add64 returns a+b and whether it did not overflow.
func add64(a, b int64) (int64, bool) {
	s := a + b
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

// sub64 returns a-b and whether it did not overflow.
func sub64(a, b int64) (int64, bool) {
	s := a - b
	return s, (a >= 0) == (b >= 0) || (s >= 0) == (a >= 0)
}
