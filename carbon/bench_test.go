package carbon_test

import (
	"testing"

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
