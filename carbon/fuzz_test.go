package carbon_test

import (
	"errors"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
)

// FuzzParseMass checks that ParseMass never panics, that every failure is one
// of the documented typed errors, and that every mass it reads formats to text
// that reads back as the same mass.
func FuzzParseMass(f *testing.F) {
	for _, s := range []string{"37g", "1.5kg", "0.002t", "1.5 kgCO2e", "-12 g", "250mg", ".5kg", "NaN g", "1e3g", "999999.9999kg", "0.0000001t", "1,5kg", "   ", "+Inf"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := carbon.ParseMass(s)
		if err != nil {
			if !isKnown(err, carbon.ErrMalformedNumber, carbon.ErrNotFinite, carbon.ErrUnknownUnit, carbon.ErrDimensionMismatch) {
				t.Fatalf("ParseMass(%q): undocumented error %v", s, err)
			}
			return
		}
		text := m.String()
		back, err := carbon.ParseMass(text)
		if err != nil {
			t.Fatalf("ParseMass(%q) = %s, which does not parse back: %v", s, text, err)
		}
		if !back.Equal(m) {
			t.Fatalf("round trip of %q: %s became %s", s, m, back)
		}
		if back.String() != text {
			t.Fatalf("String is not canonical: %q then %q", text, back.String())
		}
	})
}

// FuzzParseQuantity is FuzzParseMass for quantities, adding conversion: a
// quantity converts into every unit of its dimension without panicking, and
// a conversion to a smaller unit and back is the identity.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"3.2 km", "1order", "250 kWh", "-0.5 MWh", "12.50 CNY", "7 day", "NaN km", "1 parsec", "0.001 t", "3 2 km"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := carbon.ParseQuantity(s)
		if err != nil {
			if !isKnown(err, carbon.ErrMalformedNumber, carbon.ErrNotFinite, carbon.ErrUnknownUnit) {
				t.Fatalf("ParseQuantity(%q): undocumented error %v", s, err)
			}
			return
		}
		back, err := carbon.ParseQuantity(q.String())
		if err != nil || !back.Equal(q) {
			t.Fatalf("round trip of %q: %s became %v (%v)", s, q, back, err)
		}
		for _, u := range carbon.Units() {
			c, err := q.Convert(u)
			if err != nil {
				if !isKnown(err, carbon.ErrDimensionMismatch, carbon.ErrInexact) {
					t.Fatalf("convert %s to %s: undocumented error %v", q, u, err)
				}
				continue
			}
			again, err := c.Convert(q.Unit())
			if err != nil || !again.Equal(q) {
				t.Fatalf("%s -> %s -> %v (%v)", q, c, again, err)
			}
		}
	})
}

func isKnown(err error, sentinels ...error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
