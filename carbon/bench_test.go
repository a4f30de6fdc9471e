package carbon_test

import (
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

func BenchmarkParseMass(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := carbon.ParseMass("1.5 kgCO2e"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMassString(b *testing.B) {
	m, _ := carbon.ParseMass("1234.567g")
	b.ReportAllocs()
	for b.Loop() {
		_ = m.String()
	}
}

func BenchmarkQuantityIn(b *testing.B) {
	q, _ := carbon.ParseQuantity("6.4 km")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := q.In(carbon.Metre); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkActivityValidate validates a usual activity (one quantity, no
// attributes), as every Earn does first: it should not allocate.
func BenchmarkActivityValidate(b *testing.B) {
	q, _ := carbon.ParseQuantity("6.4 km")
	a := carbon.Activity{ID: "trip-1", Partner: "metro", User: "u1", Scenario: "transport.metro",
		OccurredAt: time.Date(2026, 4, 22, 9, 0, 0, 0, time.UTC), Region: carbon.Guangdong,
		Quantities: map[string]carbon.Quantity{"distance": q}}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
