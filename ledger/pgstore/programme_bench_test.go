package pgstore

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
)

// BenchmarkProgrammeEarn measures rewards.Programme.Earn over this Store,
// as a partner backend runs it: a metro trip quantified, the user's link
// checked, the credit posted, with the programme's own stores in memory;
// 1 and 8 concurrent callers, each its own user. Run with
//
//	go test -run '^$' -bench ProgrammeEarn -benchtime 10000x
func BenchmarkProgrammeEarn(b *testing.B) {
	for _, callers := range []int{1, 8} {
		b.Run("callers="+strconv.Itoa(callers), func(b *testing.B) { benchProgrammeEarn(b, callers) })
	}
}

func benchProgrammeEarn(b *testing.B, callers int) {
	ctx := context.Background()
	l := benchLedger(b, callers)
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	p, err := rewards.NewProgramme(methodology.Builtin(), l, &rewards.ProgrammeOptions{
		Policies: []rewards.EarnPolicy{{ID: "std", Version: "1", ValidFrom: start, PointsPerGram: decimal.New(1, -1)}},
		Partners: []carbon.PartnerID{"metro"},
	})
	if err != nil {
		b.Fatal(err)
	}
	users := make([]carbon.UserID, callers)
	for i := range users {
		users[i] = carbon.UserID("u-" + strconv.Itoa(i))
		if _, err := l.OpenUser(ctx, users[i]); err != nil {
			b.Fatal(err)
		}
		if _, err := l.LinkPartner(ctx, users[i], "metro"); err != nil {
			b.Fatal(err)
		}
	}
	distance, err := carbon.ParseQuantity("6.4 km")
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := n.Add(1)
				if k > int64(b.N) {
					return
				}
				a := carbon.Activity{ID: "trip-" + strconv.FormatInt(k, 10), Partner: "metro", User: u, Scenario: "transport.metro",
					OccurredAt: start.Add(time.Hour), Region: carbon.Guangdong, Quantities: map[string]carbon.Quantity{"distance": distance}}
				if _, err := p.Earn(ctx, a); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "earns/s")
}
