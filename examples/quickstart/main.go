// Quickstart shows carbonkit end to end: a user of four partner apps (food
// delivery, logistics, second-hand, a mall) earns carbon points for actions
// the built-in methodologies quantify, wins a badge, redeems a coupon, donates
// points for a red packet and reads each app's child account, the parent
// roll-up and the trial balance. In memory, on a fixed clock, deterministic:
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run plays one user's day and prints the account statement to w.
func run(ctx context.Context, args []string, w io.Writer) error {
	if err := flag.NewFlagSet("quickstart", flag.ContinueOnError).Parse(args); err != nil {
		return err // it takes no flags, but answers -h
	}
	user, cst := carbon.UserID("u-42"), time.FixedZone("CST", 8*3600) // China Standard Time
	clock := carbon.NewTestClock(time.Date(2026, 4, 22, 9, 0, 0, 0, cst))
	l, err1 := ledger.New(memstore.New(), &ledger.Options{Clock: clock})
	badge := rewards.Badge{ID: "all-rounder", Title: "Green all-rounder", Levels: []rewards.Criterion{{Kind: rewards.KindPartners, Min: 4}}}
	badges, err2 := rewards.NewBadges(rewards.NewMemBadgeStore(), []rewards.Badge{badge}, nil)
	p, err3 := rewards.NewProgramme(methodology.Builtin(), l, &rewards.ProgrammeOptions{
		Clock: clock, TimeZone: cst, Badges: badges, Partners: []carbon.PartnerID{"food-delivery", "logistics", "secondhand", "mall"},
		Policies: []rewards.EarnPolicy{{ID: "standard", Version: "2026.1", ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, cst),
			PointsPerGram: decimal.New(1, -1)}}, // a point per 10 g of CO2e avoided
		Sponsors: []rewards.Sponsor{{Name: "green-fund", FenPerPoint: 1, MaxFen: 888}}, // a fen a point, at most 8.88 CNY
	})
	_, err4 := l.OpenUser(ctx, user) // the parent account; LinkPartner below opens a child per app
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}
	fmt.Fprintf(w, "Account statement of %s, %s\n\nEarned\n", user, clock.Now().Format(time.DateOnly))
	for i, a := range []struct {
		partner, scenario, quantity, value string
		attrs                              map[string]string
	}{
		{"food-delivery", "food.no-cutlery", "orders", "2 order", map[string]string{"cutlery": "none"}},
		{"logistics", "logistics.box-reuse", "boxes", "3 box", nil},
		{"secondhand", "secondhand.resale", "items", "1 item", map[string]string{"category": "clothing", "condition": "good"}},
		{"mall", "retail.efficient-product", "items", "1 item", map[string]string{"category": "air-conditioner", "efficiency_grade": "1"}},
	} {
		_, err := l.LinkPartner(ctx, user, carbon.PartnerID(a.partner))
		q, qerr := carbon.ParseQuantity(a.value)
		r, eerr := p.Earn(ctx, carbon.Activity{ID: fmt.Sprintf("%s-%d", a.partner, i+1), Partner: carbon.PartnerID(a.partner), User: user,
			Scenario: carbon.Scenario(a.scenario), OccurredAt: clock.Advance(time.Hour), Region: carbon.Guangdong,
			Quantities: map[string]carbon.Quantity{a.quantity: q}, Attributes: a.attrs})
		if err := errors.Join(err, qerr, eerr); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-14s %-25s %9s CO2e %5d points\n", a.partner, a.scenario, r.Reduction, r.Points)
	}
	coupon := rewards.Reward{ID: "coffee", Kind: rewards.RewardCoupon, Title: "Oat latte coupon", Payee: "cafe", Cost: 50, Stock: 100}
	err := p.AddReward(ctx, coupon)
	rd, err1 := p.Redeem(ctx, rewards.RedeemRequest{Key: "redeem-1", User: user, RewardID: coupon.ID}) // holds 50 points
	if err = errors.Join(err, err1); err == nil {
		rd, err = p.Fulfil(ctx, rd.ID) // the cafe served the coffee: the held points are spent
	}
	err1 = p.FundSponsor(ctx, "fund-1", "green-fund", 100_000) // 1,000 CNY for red packets
	d, err2 := p.Donate(ctx, rewards.DonateRequest{Key: "donate-1", User: user, Points: 100, Sponsor: "green-fund"})
	awards, err3 := badges.Awards(ctx, user)
	pts, err4 := l.Rollup(ctx, user, ledger.Points)
	co2, err5 := l.Rollup(ctx, user, ledger.CO2e)
	tb, err6 := l.TrialBalance(ctx)
	if err := errors.Join(err, err1, err2, err3, err4, err5, err6); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nBadges awarded: %d (%s)\nRedeemed: %s, %d points (%s)\nDonated: %d points, red packet CNY %d.%02d from %s\n\nBalances\n",
		len(awards), badge.Title, coupon.Title, rd.Cost, rd.State, d.Points, d.RedPacket/100, d.RedPacket%100, d.Sponsor)
	for i, c := range pts.Children { // the ledger keeps CO2e in milligrams
		fmt.Fprintf(w, "  %-14s %5d points %9s CO2e\n", c.Partner, c.Balance.Posted, carbon.Grams(decimal.New(co2.Children[i].Balance.Posted, -3)))
	}
	fmt.Fprintf(w, "  %-14s %5d points %9s CO2e\n\n", "parent total", pts.Total.Posted, carbon.Grams(decimal.New(co2.Total.Posted, -3)))
	for _, t := range tb {
		fmt.Fprintf(w, "Trial balance %-4s %d\n", t.Asset, t.Sum)
	}
	return nil
}
