package rewards_test

import (
	"context"
	"fmt"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
)

// exampleProgramme returns a programme over a fresh ledger with the
// built-in methodologies, one policy (a point per 10 g, a daily cap of 150
// points, double points in Guangdong in April 2026), partner "metro", and
// user u-42 linked to it.
func exampleProgramme(ctx context.Context) (*rewards.Programme, *ledger.Ledger, error) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, nil, err
	}
	clock := carbon.NewTestClock(time.Date(2026, 4, 22, 8, 0, 0, 0, shanghai))
	l, err := ledger.New(memstore.New(), &ledger.Options{Clock: clock})
	if err != nil {
		return nil, nil, err
	}
	april, err := rewards.LocalWindow(shanghai, "2026-04-01", "2026-04-30")
	if err != nil {
		return nil, nil, err
	}
	p, err := rewards.NewProgramme(methodology.Builtin(), l, &rewards.ProgrammeOptions{
		Clock: clock, TimeZone: shanghai, Partners: []carbon.PartnerID{"metro"},
		Policies: []rewards.EarnPolicy{{
			ID: "standard", Version: "2026.1", ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai),
			PointsPerGram: decimal.RequireFromString("0.1"), DailyCap: 150,
			Campaigns: []rewards.Campaign{{ID: "gd-april", Window: april, Regions: []carbon.Region{carbon.Guangdong}, Multiplier: decimal.NewFromInt(2)}},
		}},
	})
	if err != nil {
		return nil, nil, err
	}
	if _, err := l.OpenUser(ctx, "u-42"); err != nil {
		return nil, nil, err
	}
	if _, err := l.LinkPartner(ctx, "u-42", "metro"); err != nil {
		return nil, nil, err
	}
	return p, l, nil
}

// Three metro trips in one day: the campaign doubles the points, the
// daily cap cuts the second trip, and the third earns nothing but still
// records its reduction. A replay returns the original receipt.
func ExampleProgramme_Earn() {
	ctx := context.Background()
	p, l, err := exampleProgramme(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2026, 4, 22, 8, 30, 0, 0, time.FixedZone("CST", 8*3600))
	trip := func(id, km string) carbon.Activity {
		d, _ := carbon.ParseQuantity(km)
		return carbon.Activity{ID: id, Partner: "metro", User: "u-42", Scenario: "transport.metro",
			OccurredAt: at, Region: carbon.Guangdong, Quantities: map[string]carbon.Quantity{"distance": d}}
	}
	for _, a := range []carbon.Activity{trip("trip-1", "6.4 km"), trip("trip-2", "10 km"), trip("trip-3", "3 km"), trip("trip-1", "6.4 km")} {
		r, err := p.Earn(ctx, a)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: %s → %d base × %s = %d, credited %d (capped: %q, replay: %v)\n",
			a.ID, r.Reduction, r.BasePoints, r.Multiplier, r.Uncapped, r.Points, r.Capped, r.Replayed)
	}
	pts, _ := l.Balance(ctx, ledger.PartnerAccount("u-42", "metro"), ledger.Points)
	co2, _ := l.Balance(ctx, ledger.PartnerAccount("u-42", "metro"), ledger.CO2e)
	fmt.Printf("balance: %d points, %d mg CO2e\n", pts.Posted, co2.Posted)
	// Output:
	// trip-1: 569.6g → 56 base × 2 = 112, credited 112 (capped: "", replay: false)
	// trip-2: 890g → 89 base × 2 = 178, credited 38 (capped: "daily", replay: false)
	// trip-3: 267g → 26 base × 2 = 52, credited 0 (capped: "daily", replay: false)
	// trip-1: 569.6g → 56 base × 2 = 112, credited 112 (capped: "", replay: true)
	// balance: 150 points, 1726600 mg CO2e
}

// A coupon with one unit left: the first redemption holds the points and
// the unit, the second finds no stock; cancelling returns both, and the
// next redemption is fulfilled.
func ExampleProgramme_Redeem() {
	ctx := context.Background()
	p, l, err := exampleProgramme(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	d, _ := carbon.ParseQuantity("10 km")
	if _, err := p.Earn(ctx, carbon.Activity{ID: "trip-1", Partner: "metro", User: "u-42", Scenario: "transport.metro",
		OccurredAt: time.Date(2026, 4, 22, 0, 0, 0, 0, time.UTC), Region: carbon.Beijing,
		Quantities: map[string]carbon.Quantity{"distance": d}}); err != nil {
		fmt.Println(err)
		return
	}
	if err := p.AddReward(ctx, rewards.Reward{ID: "coffee", Kind: rewards.RewardCoupon, Title: "A coffee",
		Payee: "cafe", Cost: 50, Stock: 1, PerUser: 1}); err != nil {
		fmt.Println(err)
		return
	}
	show := func(what string) {
		b, _ := l.Balance(ctx, ledger.PartnerAccount("u-42", "metro"), ledger.Points)
		avail, _ := b.Available()
		fmt.Printf("%-10s posted %d, held %d, available %d\n", what, b.Posted, b.Held, avail)
	}
	show("earned")
	rd, err := p.Redeem(ctx, rewards.RedeemRequest{Key: "rd-1", User: "u-42", RewardID: "coffee"})
	if err != nil {
		fmt.Println(err)
		return
	}
	show(string(rd.State))
	_, err = p.Redeem(ctx, rewards.RedeemRequest{Key: "rd-2", User: "u-42", RewardID: "coffee"})
	fmt.Println("second:", err)
	if rd, err = p.Cancel(ctx, "rd-1"); err != nil {
		fmt.Println(err)
		return
	}
	show(string(rd.State))
	if rd, err = p.Redeem(ctx, rewards.RedeemRequest{Key: "rd-3", User: "u-42", RewardID: "coffee"}); err != nil {
		fmt.Println(err)
		return
	}
	if rd, err = p.Fulfil(ctx, rd.ID); err != nil {
		fmt.Println(err)
		return
	}
	show(string(rd.State))
	// Output:
	// earned     posted 89, held 0, available 89
	// held       posted 89, held 50, available 39
	// second: rewards: Programme.Redeem: out of stock: all 1 units of reward "coffee" are taken
	// voided     posted 89, held 0, available 89
	// fulfilled  posted 39, held 0, available 39
}
