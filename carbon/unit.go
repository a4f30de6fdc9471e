package carbon

import "fmt"

// Dimension is what a unit measures. The zero value is DimUnknown.
type Dimension uint8

// Dimensions.
const (
	DimUnknown  Dimension = iota
	DimCount              // discrete things: orders, boxes, items, trips
	DimMass               // CO2e or goods mass: mg, g, kg, t
	DimDistance           // m, km
	DimEnergy             // Wh, kWh, MWh
	DimMoney              // fen, CNY
	DimDuration           // s, hour, day
)

var dimensionNames = [...]string{
	DimUnknown:  "unknown",
	DimCount:    "count",
	DimMass:     "mass",
	DimDistance: "distance",
	DimEnergy:   "energy",
	DimMoney:    "money",
	DimDuration: "duration",
}

// String returns the dimension's name ("count", "mass", "distance", "energy",
// "money", "duration", or "unknown").
func (d Dimension) String() string {
	if int(d) < len(dimensionNames) {
		return dimensionNames[d]
	}
	return fmt.Sprintf("Dimension(%d)", uint8(d))
}

// MarshalText encodes the dimension as its name; DimUnknown and undefined
// dimensions are an error matching ErrUnknownDimension.
func (d Dimension) MarshalText() ([]byte, error) {
	if d == DimUnknown || int(d) >= len(dimensionNames) {
		return nil, fmt.Errorf("%w: cannot encode dimension %s", ErrUnknownDimension, d)
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes a dimension name; an unknown name is an error matching
// ErrUnknownDimension.
func (d *Dimension) UnmarshalText(b []byte) error {
	for i, n := range dimensionNames {
		if i != int(DimUnknown) && n == string(b) {
			*d = Dimension(i)
			return nil
		}
	}
	return &ParseError{Func: "Dimension.UnmarshalText", Input: string(b), Err: ErrUnknownDimension}
}

// Unit is a unit of measure, named by its symbol. The defined units are the
// constants below; any other string is an unknown unit, which Valid reports and
// every constructor rejects. Units are comparable with ==.
//
// Count units count different things, so an order never converts to a box:
// conversion happens only between units of the same dimension with a defined
// ratio (g to kg, km to m, day to hour).
type Unit string

// The defined units.
const (
	Order Unit = "order" // a placed order (food delivery, mall)
	Box   Unit = "box"   // a parcel box or container
	Item  Unit = "item"  // a single good
	Sheet Unit = "sheet" // a sheet of paper (a waybill)
	Trip  Unit = "trip"  // one journey

	Milligram Unit = "mg"
	Gram      Unit = "g"
	Kilogram  Unit = "kg"
	Tonne     Unit = "t"

	Metre     Unit = "m"
	Kilometre Unit = "km"

	WattHour     Unit = "Wh"
	KilowattHour Unit = "kWh"
	MegawattHour Unit = "MWh"

	Fen  Unit = "fen" // 0.01 CNY
	Yuan Unit = "CNY" // the renminbi yuan

	Second Unit = "s"
	Hour   Unit = "hour"
	Day    Unit = "day"
)

// unitDef places a unit in its dimension: perBase is how many of the
// dimension's smallest defined unit one of it is. All ratios are integers, so
// conversion to a smaller unit is always exact.
type unitDef struct {
	dim     Dimension
	perBase int64
}

// units is immutable after package initialisation.
var units = map[Unit]unitDef{
	Order: {DimCount, 1}, Box: {DimCount, 1}, Item: {DimCount, 1}, Sheet: {DimCount, 1}, Trip: {DimCount, 1},
	Milligram: {DimMass, 1}, Gram: {DimMass, 1_000}, Kilogram: {DimMass, 1_000_000}, Tonne: {DimMass, 1_000_000_000},
	Metre: {DimDistance, 1}, Kilometre: {DimDistance, 1_000},
	WattHour: {DimEnergy, 1}, KilowattHour: {DimEnergy, 1_000}, MegawattHour: {DimEnergy, 1_000_000},
	Fen: {DimMoney, 1}, Yuan: {DimMoney, 100},
	Second: {DimDuration, 1}, Hour: {DimDuration, 3_600}, Day: {DimDuration, 86_400},
}

// Units returns every defined unit, in no particular order.
func Units() []Unit {
	out := make([]Unit, 0, len(units))
	for u := range units {
		out = append(out, u)
	}
	return out
}

// ParseUnit returns the unit with symbol s, or an error matching
// ErrUnknownUnit. Symbols are case-sensitive ("kWh", "CNY").
func ParseUnit(s string) (Unit, error) {
	u := Unit(s)
	if !u.Valid() {
		return "", &ParseError{Func: "ParseUnit", Input: s, Err: ErrUnknownUnit}
	}
	return u, nil
}

// Valid reports whether u is a defined unit.
func (u Unit) Valid() bool {
	_, ok := units[u]
	return ok
}

// Dimension returns what u measures, or DimUnknown for an unknown unit.
func (u Unit) Dimension() Dimension {
	return units[u].dim
}

// String returns the unit's symbol.
func (u Unit) String() string { return string(u) }

// MarshalText encodes the unit as its symbol; an unknown unit is an error.
func (u Unit) MarshalText() ([]byte, error) {
	if !u.Valid() {
		return nil, &ParseError{Func: "Unit.MarshalText", Input: string(u), Err: ErrUnknownUnit}
	}
	return []byte(u), nil
}

// UnmarshalText decodes a unit symbol; an unknown one is an error matching
// ErrUnknownUnit.
func (u *Unit) UnmarshalText(b []byte) error {
	p, err := ParseUnit(string(b))
	if err != nil {
		return err
	}
	*u = p
	return nil
}

// ratio returns the factor that converts a value in from to a value in to, as
// the fraction fromPerBase/toPerBase, or a *ConversionError.
func ratio(from, to Unit) (num, den int64, err error) {
	f, okf := units[from]
	t, okt := units[to]
	switch {
	case !okf || !okt:
		bad := from
		if okf {
			bad = to
		}
		return 0, 0, &ParseError{Func: "Convert", Input: string(bad), Err: ErrUnknownUnit}
	case f.dim != t.dim:
		return 0, 0, &ConversionError{From: from, To: to, Err: ErrDimensionMismatch}
	case f.dim == DimCount && from != to:
		return 0, 0, &ConversionError{From: from, To: to, Err: ErrDimensionMismatch}
	}
	return f.perBase, t.perBase, nil
}
