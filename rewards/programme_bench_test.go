package rewards_test

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
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
// definitions, three leaderboards and the footprint, over 1,000 users. It
// also reports the heap each earn leaves in use (heap-kept-B/op): what a
// long-running host pays for in memory, and on a machine where fresh memory
// is dear (see the README), in time.
func BenchmarkEarn(b *testing.B) {
	ctx := context.Background()
	p, users := earnBench(b)
	distance := map[string]carbon.Quantity{"distance": qty(b, "6.4 km")}
	at := workloadFrom.Add(24 * time.Hour)
	b.ReportAllocs()
	heap := heapInUse()
	cpu, ops := cputime.Process(), 0
	for b.Loop() {
		a := carbon.Activity{ID: "trip-" + strconv.Itoa(ops), Partner: "metro", User: users[ops%len(users)],
			Scenario: "transport.metro", OccurredAt: at, Region: carbon.Guangdong, Quantities: distance}
		ops++
		if _, err := p.Earn(ctx, a); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, ops)
	b.ReportMetric(float64(heapInUse()-heap)/float64(ops), "heap-kept-B/op")
	runtime.KeepAlive(p)
}

// BenchmarkEarnParallel is BenchmarkEarn from GOMAXPROCS goroutines at
// once, as a partner backend serving many requests calls Earn: ns/op is
// the time per earn of the whole process.
func BenchmarkEarnParallel(b *testing.B) {
	ctx := context.Background()
	p, users := earnBench(b)
	distance := map[string]carbon.Quantity{"distance": qty(b, "6.4 km")}
	at := workloadFrom.Add(24 * time.Hour)
	var next atomic.Int64
	b.ReportAllocs()
	cpu := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := int(next.Add(1))
			a := carbon.Activity{ID: "trip-" + strconv.Itoa(n), Partner: "metro", User: users[n%len(users)],
				Scenario: "transport.metro", OccurredAt: at, Region: carbon.Guangdong, Quantities: distance}
			if _, err := p.Earn(ctx, a); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCPU(b, cpu, int(next.Load()))
}

// earnBench returns BenchmarkEarn's programme and its 1,000 users, each
// linked to partner "metro".
func earnBench(b *testing.B) (*rewards.Programme, []carbon.UserID) {
	b.Helper()
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
	return p, users
}

// heapInUse returns the bytes of heap objects in use after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkAfterHistory earns a metro trip, redeems a coupon (a hold at
// the parent, then its commit) and donates a point at the parent, for a
// user who has earned earns times already and spent little of it: the
// spends should cost what they take from the user's lots, not the user's
// history.
func BenchmarkAfterHistory(b *testing.B) {
	for _, earns := range []int{10, 5_000} {
		b.Run("earns="+strconv.Itoa(earns), func(b *testing.B) {
			e := newEnv(b, func(o *rewards.ProgrammeOptions) {
				o.Policies[0].DailyCap, o.Policies[0].DefaultScenarioCap = 1<<40, 1<<40
				o.Sponsors = []rewards.Sponsor{{Name: "acme", FenPerPoint: 1, MaxFen: 1 << 40}}
				o.Publisher = nil
			})
			ctx := e.ctx
			if err := e.p.FundSponsor(ctx, "fund", "acme", 1<<40); err != nil {
				b.Fatal(err)
			}
			if err := e.p.AddReward(ctx, rewards.Reward{ID: "c", Kind: rewards.RewardCoupon, Title: "Coupon", Payee: "coffee", Cost: 1, Stock: 1 << 40}); err != nil {
				b.Fatal(err)
			}
			for i := range earns {
				if _, err := e.p.Earn(ctx, trip(b, "t-"+strconv.Itoa(i), "u1", "10", progStart)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			cpu, ops := cputime.Process(), 0
			for b.Loop() {
				key := "k-" + strconv.Itoa(ops)
				ops++
				if _, err := e.p.Earn(ctx, trip(b, key, "u1", "10", progStart)); err != nil {
					b.Fatal(err)
				}
				rd, err := e.p.Redeem(ctx, rewards.RedeemRequest{Key: key, User: "u1", RewardID: "c"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.p.Fulfil(ctx, rd.ID); err != nil {
					b.Fatal(err)
				}
				if _, err := e.p.Donate(ctx, rewards.DonateRequest{Key: key, User: "u1", Points: 1, Sponsor: "acme"}); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu, ops)
		})
	}
}
