package rewards_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/cputime"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
)

// BenchmarkEarn measures Earn end to end in one goroutine: validation, the
// methodology (a metro trip), the policy with a campaign, the cap
// counters, one ledger entry through memstore, badges with the cross-check
// definitions, three leaderboards and the footprint, over 1,000 users.
func BenchmarkEarn(b *testing.B) {
	ctx := context.Background()
	clock := carbon.NewTestClock(workloadFrom)
	l, err := ledger.New(memstore.New(), &ledger.Options{Clock: clock, Expiry: pointsExpire})
	if err != nil {
		b.Fatal(err)
	}
	boards, _ := rewards.NewBoards(rewards.NewMemBoardStore(), &rewards.BoardsOptions{Clock: clock})
	for _, bd := range crossBoards(b) {
		if err := boards.Define(ctx, bd); err != nil {
			b.Fatal(err)
		}
	}
	badges, err := rewards.NewBadges(rewards.NewMemBadgeStore(), crossBadges(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	feet, _ := rewards.NewFootprints(rewards.NewMemFootprintStore(), shanghai)
	pol := basePolicy()
	pol.DefaultScenarioCap, pol.DailyCap = 1<<40, 1<<50
	pol.Campaigns = []rewards.Campaign{{ID: "gd", Window: mustWindow(b, "2026-04-01", "2026-04-30"), Regions: []carbon.Region{carbon.Guangdong}, Multiplier: dec("1.5")}}
	p, err := rewards.NewProgramme(methodology.Builtin(), l, &rewards.ProgrammeOptions{
		Clock: clock, TimeZone: shanghai, Policies: []rewards.EarnPolicy{pol}, Partners: []carbon.PartnerID{"metro"},
		Badges: badges, Boards: boards, Footprints: feet,
	})
	if err != nil {
		b.Fatal(err)
	}
	users := make([]carbon.UserID, 1000)
	for i := range users {
		users[i] = carbon.UserID(fmt.Sprintf("u%04d", i))
		if _, err := l.OpenUser(ctx, users[i]); err != nil {
			b.Fatal(err)
		}
		if _, err := l.LinkPartner(ctx, users[i], "metro"); err != nil {
			b.Fatal(err)
		}
	}
	distance := map[string]carbon.Quantity{"distance": qty(b, "6.4 km")}
	at := workloadFrom.Add(24 * time.Hour)
	b.ReportAllocs()
	cpu, ops := cputime.Process(), 0
	for b.Loop() {
		a := carbon.Activity{ID: "trip-" + fmt.Sprint(ops), Partner: "metro", User: users[ops%len(users)],
			Scenario: "transport.metro", OccurredAt: at, Region: carbon.Guangdong, Quantities: distance}
		ops++
		if _, err := p.Earn(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, ops)
}
