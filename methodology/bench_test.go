package methodology

import (
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/cputime"
)

// BenchmarkQuantify measures Quantify, digest included, for a two-term
// declarative methodology (e-waybill: one BE and one PE term), for the
// Go-coded second-hand methodology, and for a metro trip (a declarative
// methodology with a decimal quantity and a ratio factor), the activity the
// rewards Earn benchmark quantifies.
func BenchmarkQuantify(b *testing.B) {
	cases := []struct {
		name, id string
		scenario carbon.Scenario
		qs, as   q
	}{
		{"declarative-two-term", "carbonkit.logistics.e-waybill", "logistics.e-waybill", q{"waybills": "3 sheet"}, q{"channel": "app"}},
		{"secondhand", "carbonkit.secondhand.resale", "secondhand.resale", q{"items": "2 item"}, q{"category": "phone", "condition": "good"}},
		{"metro", "carbonkit.transport.metro", "transport.metro", q{"distance": "6.4 km"}, nil},
	}
	r := Builtin()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			m, err := r.Get(c.id, "2024.1")
			if err != nil {
				b.Fatal(err)
			}
			a := activity(b, c.scenario, c.qs, c.as)
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				if _, err := m.Quantify(a); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time per call, robust to other work on a shared machine
			// (the collector's work on other threads included).
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
		})
		b.Run(c.name+"/brief", func(b *testing.B) {
			a := activity(b, c.scenario, c.qs, c.as)
			b.ReportAllocs()
			cpu := cputime.Process()
			for b.Loop() {
				if _, err := r.QuantifyBrief(a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
