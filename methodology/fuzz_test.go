package methodology

import (
	"errors"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// FuzzLoadJSON checks that the loader never panics, and that whatever it
// accepts is a working, valid methodology and whatever it refuses is a typed
// error.
func FuzzLoadJSON(f *testing.F) {
	f.Add([]byte(noCutleryJSON))
	f.Add([]byte(`{"id": 1, "factors": [{"value": "1e9999"}], "formula": {"be": [{"quantity": "x"}]}}`))
	f.Add([]byte(`{"conditions": [{"id": "c", "quantity": "q", "min": {"value": "1 km", "exclusive": true}}]}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := LoadJSON(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		s := m.Spec()
		if verr := s.Validate(); verr != nil {
			t.Fatalf("accepted an invalid spec: %v", verr)
		}
		// Quantify an activity carrying every monitored parameter at 1 of
		// its dimension's first unit it can take, at the window's start.
		a := carbon.Activity{ID: "e", Partner: "p", User: "u", Scenario: s.Scenario,
			OccurredAt: s.ValidFrom, Region: carbon.Guangdong, Quantities: map[string]carbon.Quantity{}}
		for _, p := range s.Parameters {
			if p.Monitoring == Monitored {
				a.Quantities[p.Name] = qty("1", unitOf(p.Dimension))
			}
		}
		res, err := m.Quantify(a)
		if err == nil && res.ER.IsNegative() {
			t.Fatalf("negative ER %s", res.ER)
		}
		if err != nil && !errors.Is(err, ErrNotQuantifiable) {
			t.Fatalf("untyped error %T: %v", err, err)
		}
	})
}

func unitOf(d carbon.Dimension) carbon.Unit {
	switch d {
	case carbon.DimMass:
		return carbon.Kilogram
	case carbon.DimDistance:
		return carbon.Kilometre
	case carbon.DimEnergy:
		return carbon.KilowattHour
	case carbon.DimMoney:
		return carbon.Yuan
	case carbon.DimDuration:
		return carbon.Hour
	}
	return carbon.Item
}

// FuzzQuantify feeds arbitrary quantities, units, attributes and times to
// every built-in methodology: Quantify must never panic, never return a
// negative ER, and every result must verify.
func FuzzQuantify(f *testing.F) {
	f.Add("food.no-cutlery", "orders", "2", "order", "cutlery", "none", int64(0))
	f.Add("secondhand.resale", "items", "20", "item", "category", "laptop", int64(1))
	f.Add("transport.bus", "distance", "0.001", "km", "x", "y", int64(-1<<40))
	f.Add("enterprise.electricity-saving", "electricity_saved", "99999999999999999999.999999999999", "Wh", "", "", int64(1<<50))
	f.Add("logistics.e-waybill", "waybills", "-3", "sheet", "a", "b", int64(7))
	r := Builtin()
	ms := r.List()
	f.Fuzz(func(t *testing.T, scenario, name, value, unit, attr, attrValue string, offset int64) {
		q, err := carbon.ParseQuantity(value + " " + unit)
		if err != nil {
			return
		}
		a := carbon.Activity{ID: "evt", Partner: "p", User: "u", Scenario: carbon.Scenario(scenario),
			OccurredAt: time.Unix(1735689600, 0).Add(time.Duration(offset)), Region: carbon.Shanghai,
			Quantities: map[string]carbon.Quantity{name: q},
			Attributes: map[string]string{attr: attrValue, "category": attrValue, "condition": "good",
				"cutlery": "none", "efficiency_grade": "1"},
		}
		check := func(res Result, err error) {
			if err != nil {
				if !errors.Is(err, ErrNotQuantifiable) && !errors.Is(err, ErrNoneInForce) {
					t.Fatalf("untyped error %T: %v", err, err)
				}
				return
			}
			if res.ER.IsNegative() {
				t.Fatalf("negative ER %s", res.ER)
			}
			if verr := r.Verify(a, res); verr != nil {
				t.Fatalf("result does not verify: %v", verr)
			}
		}
		check(r.Quantify(a))
		// Every methodology directly, whatever the scenario: each must refuse
		// or quantify, never panic.
		for _, s := range ms {
			m, err := r.Get(s.ID, s.Version)
			if err != nil {
				t.Fatal(err)
			}
			a.Scenario = s.Scenario
			check(m.Quantify(a))
		}
	})
}
