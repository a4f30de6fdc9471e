// Carbonweek simulates a one-week regional campaign, "Carbon Week" (10 to
// 16 August 2026, Asia/Shanghai), with 100,000 users in Guangdong, Zhejiang
// and Beijing who use four partner apps: a food-delivery app with bike
// sharing, a logistics network, a second-hand market and an online mall.
// Over the week they report a few actions each, in a realistic mix of the
// built-in scenarios, which the programme credits at double points (capped
// at 400 points a day); at the end of the week some redeem a coupon or a
// mall item and some donate points for a red packet. Mall points are valid
// for a week: on the Wednesday after the campaign, those earned on its
// first two days and not spent have expired.
//
// It then prints the campaign's report: per-province top-10 leaderboards,
// badges awarded, CO2e reduced per methodology, points issued, redeemed,
// donated and expired, the ledger's trial balance (zero for every asset)
// and its hash-chain check, and it audits the ledger against the receipts.
// The run is deterministic for a given -seed and -users, whatever the
// number of workers: each user's actions run in order on one worker, and
// all workers advance through the week hour by hour.
//
//	go run ./examples/carbonweek                      # 100,000 users
//	go run ./examples/carbonweek -users 2000 -seed 7
//
// A progress bar is drawn on stderr when it is a terminal (or with
// -progress).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Shanghai on hosts without a zone database

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "carbonweek:", err)
		os.Exit(1)
	}
}

// run simulates the campaign with the flags in args, prints the report to
// stdout, and draws progress on stderr if it is a terminal or -progress is
// set.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("carbonweek", flag.ContinueOnError)
	fs.SetOutput(stderr)
	users := fs.Int("users", 100_000, "number of users, 1 to 1,000,000 (memory: about 2.5 GB per 100,000)")
	seed := fs.Uint64("seed", 1, "seed of the simulated behaviour")
	workers := fs.Int("workers", 4*runtime.GOMAXPROCS(0), "goroutines running the workload")
	showProgress := fs.Bool("progress", isTerminal(stderr), "draw a progress bar on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *users < 1 || *users > 1_000_000 || *workers < 1 || fs.NArg() > 0 {
		return fmt.Errorf("want 1 to 1,000,000 users, at least one worker and no arguments, got -users %d -workers %d %q", *users, *workers, fs.Args())
	}
	var bar *progress
	if *showProgress {
		bar = &progress{w: stderr}
	}
	start := time.Now()
	sim, err := newSimulation(ctx, *users, *seed, *workers)
	if err != nil {
		return err
	}
	rep, err := sim.run(ctx, bar)
	if err != nil {
		return err
	}
	rep.wall = time.Since(start)
	rep.print(stdout)
	return nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// The campaign.
const (
	weekFirst, weekLast = "2026-08-10", "2026-08-16"
	slots               = 7 * 24 // the week's hours
	dailyCap            = 400    // points per user per day
	coffeeCost          = 150    // points, at the parent account
	toteCost            = 200    // points, in the mall only
	mallPointsLife      = 7 * 24 * time.Hour
	sponsor             = "green-fund"
	fenPerPoint         = 2
)

// Partners.
const (
	food      carbon.PartnerID = "food-delivery" // also runs bike sharing
	logistics carbon.PartnerID = "logistics"
	resale    carbon.PartnerID = "secondhand"
	mall      carbon.PartnerID = "mall"
)

var partners = []carbon.PartnerID{food, logistics, resale, mall}

// linkPercent is the share of users who use each partner's app, in
// percent, in the order of partners.
var linkPercent = []int{85, 70, 40, 50}

// provinces and their share of users, in percent.
var provinces = []struct {
	region carbon.Region
	name   string
	share  int
}{{carbon.Guangdong, "Guangdong", 55}, {carbon.Zhejiang, "Zhejiang", 30}, {carbon.Beijing, "Beijing", 15}}

// kind is one kind of action: a partner reporting a built-in scenario.
type kind struct {
	partner  carbon.PartnerID
	scenario carbon.Scenario
	quantity string // the quantity's name
	unit     carbon.Unit
	min, max int // the quantity reported, uniformly
	weight   int // how often users do it, relative to the others
	variants []variant
}

// variant is a set of attributes and how often it occurs.
type variant struct {
	attrs  map[string]string
	weight int
}

var kinds = []kind{
	{food, "food.no-cutlery", "orders", carbon.Order, 1, 3, 35, []variant{{map[string]string{"cutlery": "none"}, 1}}},
	{food, "transport.bicycle", "distance", carbon.Kilometre, 1, 8, 15, nil},
	{logistics, "logistics.box-reuse", "boxes", carbon.Box, 1, 3, 15, nil},
	{logistics, "logistics.e-waybill", "waybills", carbon.Sheet, 1, 5, 10, nil},
	{mall, "logistics.e-waybill", "waybills", carbon.Sheet, 1, 5, 10, nil},
	{resale, "secondhand.resale", "items", carbon.Item, 1, 1, 12, resaleVariants()},
	{mall, "retail.efficient-product", "items", carbon.Item, 1, 1, 2,
		[]variant{{map[string]string{"category": "air-conditioner", "efficiency_grade": "1"}, 1}}},
}

// resaleVariants are the second-hand listings: mostly clothing and books,
// some phones, few tablets and laptops, in any condition.
func resaleVariants() []variant {
	var out []variant
	for _, c := range []struct {
		category string
		weight   int
	}{{"clothing", 45}, {"book", 30}, {"phone", 15}, {"tablet", 6}, {"laptop", 4}} {
		for _, cond := range []string{"like-new", "good", "fair"} {
			out = append(out, variant{map[string]string{"category": c.category, "condition": cond}, c.weight})
		}
	}
	return out
}

// actionsWeight[n-1] is how likely a user is to act n times in the week.
var actionsWeight = []int{14, 20, 22, 18, 12, 8, 6}

// hourWeight is when in the day people act (lunch and evening peaks).
var hourWeight = []int{1, 0, 0, 0, 0, 1, 2, 5, 8, 6, 6, 10, 12, 8, 6, 6, 7, 9, 12, 12, 10, 7, 4, 2}

// pick returns an index into weights, drawn in proportion to them.
func pick(r *rand.Rand, weights func(i int) int, n int) int {
	total := 0
	for i := range n {
		total += weights(i)
	}
	x := r.IntN(total)
	for i := range n {
		if x -= weights(i); x < 0 {
			return i
		}
	}
	return n - 1
}

// plan is a user's week, drawn before the simulation starts.
type plan struct {
	province uint8
	links    uint8  // bit i: linked to partners[i]
	coffee   bool   // redeems a coffee coupon at the end of the week, if affordable
	cancel   bool   // ... and then cancels it
	tote     bool   // buys a tote bag with mall points, if affordable
	donate   uint16 // donates up to this many points (0: no donation)
}

// action is one activity of the plan.
type action struct {
	user    int32
	seq     uint8 // the user's n-th action, for its ID
	kind    uint8
	n       uint8 // the quantity, in the kind's unit
	variant uint8
}

// simulation is the campaign's programme and workload.
type simulation struct {
	users    int
	seed     uint64
	shanghai *time.Location
	week     rewards.Window
	clock    *carbon.TestClock
	ledger   *ledger.Ledger
	prog     *rewards.Programme
	boards   []rewards.BoardID // by province
	badges   []rewards.Badge
	awards   *awardCounter
	plans    []plan
	workers  []*worker
	ids      []carbon.UserID
	// quantities[k][n] is the shared, read-only quantity map of kind k
	// with quantity n.
	quantities [][]map[string]carbon.Quantity
}

// newSimulation builds the programme over an in-memory ledger and draws
// the users' plans.
func newSimulation(ctx context.Context, users int, seed uint64, nworkers int) (*simulation, error) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, err
	}
	week, err := rewards.LocalWindow(shanghai, weekFirst, weekLast)
	if err != nil {
		return nil, err
	}
	s := &simulation{users: users, seed: seed, shanghai: shanghai, week: week, clock: carbon.NewTestClock(week.Start), awards: &awardCounter{}}
	// Points expire at the end of next year, except the mall's, which are
	// valid for a week; CO2e and cash never expire.
	standard := ledger.ExpireEndOfNextYear(shanghai)
	expiry := func(asset ledger.Asset, acct ledger.AccountID, eff time.Time) time.Time {
		switch {
		case asset != ledger.Points:
			return time.Time{}
		case acct.Kind() == ledger.KindPartner && acct.Partner() == mall:
			return eff.Add(mallPointsLife)
		}
		return standard(asset, acct, eff)
	}
	if s.ledger, err = ledger.New(memstore.New(), &ledger.Options{Clock: s.clock, Expiry: expiry}); err != nil {
		return nil, err
	}
	boards, err := rewards.NewBoards(rewards.NewMemBoardStore(), &rewards.BoardsOptions{Clock: s.clock})
	if err != nil {
		return nil, err
	}
	for _, pr := range provinces {
		id := rewards.BoardID("carbon-week-" + strings.ToLower(string(pr.region)))
		if err := boards.Define(ctx, rewards.Board{ID: id, Window: week, Region: pr.region, Grace: time.Hour}); err != nil {
			return nil, err
		}
		s.boards = append(s.boards, id)
	}
	s.badges = campaignBadges(week)
	badges, err := rewards.NewBadges(rewards.NewMemBadgeStore(), s.badges, nil)
	if err != nil {
		return nil, err
	}
	s.prog, err = rewards.NewProgramme(methodology.Builtin(), s.ledger, &rewards.ProgrammeOptions{
		Clock: s.clock, TimeZone: shanghai, Partners: partners, Badges: badges, Boards: boards, Publisher: s.awards,
		Policies: []rewards.EarnPolicy{{ID: "standard", Version: "2026.1", ValidFrom: time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai),
			PointsPerGram: decimal.New(1, -1), DailyCap: dailyCap, // a point per 10 g
			Campaigns: []rewards.Campaign{{ID: "carbon-week", Window: week, Multiplier: decimal.NewFromInt(2),
				Regions: []carbon.Region{carbon.Guangdong, carbon.Zhejiang, carbon.Beijing}}}}},
		Sponsors: []rewards.Sponsor{{Name: sponsor, FenPerPoint: fenPerPoint, MaxFen: 1000}},
	})
	if err != nil {
		return nil, err
	}
	for _, rw := range []rewards.Reward{
		{ID: "coffee", Kind: rewards.RewardCoupon, Title: "Oat latte coupon", Payee: "cafe", Cost: coffeeCost, Stock: int64(users), PerUser: 1},
		{ID: "tote-bag", Kind: rewards.RewardMallItem, Title: "Recycled tote bag", Partner: mall, Payee: "mall-shop", Cost: toteCost, Stock: int64(users), PerUser: 1},
	} {
		if err := s.prog.AddReward(ctx, rw); err != nil {
			return nil, err
		}
	}
	// The sponsor's budget: a red packet for 100 points for everyone, more
	// than the 20% who donate up to 100 points need.
	if err := s.prog.FundSponsor(ctx, "carbon-week-budget", sponsor, int64(users)*100*fenPerPoint); err != nil {
		return nil, err
	}

	s.quantities = make([][]map[string]carbon.Quantity, len(kinds))
	for k, kd := range kinds {
		s.quantities[k] = make([]map[string]carbon.Quantity, kd.max+1)
		for n := kd.min; n <= kd.max; n++ {
			q, err := carbon.NewQuantity(decimal.NewFromInt(int64(n)), kd.unit)
			if err != nil {
				return nil, err
			}
			s.quantities[k][n] = map[string]carbon.Quantity{kd.quantity: q}
		}
	}
	s.plans = make([]plan, users)
	s.ids = make([]carbon.UserID, users)
	width := len(strconv.Itoa(users))
	s.workers = make([]*worker, nworkers)
	for w := range s.workers {
		s.workers[w] = &worker{sim: s, tally: newTally()}
	}
	for i := range users {
		s.ids[i] = carbon.UserID(fmt.Sprintf("u-%0*d", width, i+1))
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		s.plans[i] = s.draw(r, int32(i), s.workers[i%nworkers])
	}
	return s, nil
}

// draw draws user i's plan and adds its actions to w's hourly slots.
func (s *simulation) draw(r *rand.Rand, i int32, w *worker) plan {
	p := plan{province: uint8(pick(r, func(j int) int { return provinces[j].share }, len(provinces)))}
	for j := range partners {
		if r.IntN(100) < linkPercent[j] {
			p.links |= 1 << j
		}
	}
	if p.links == 0 {
		p.links = 1 // everyone has the food-delivery app
	}
	linked := func(pt carbon.PartnerID) bool { return p.links&(1<<slices.Index(partners, pt)) != 0 }
	n := 1 + pick(r, func(j int) int { return actionsWeight[j] }, len(actionsWeight))
	type timed struct {
		slot int
		a    action
	}
	acts := make([]timed, 0, n)
	for range n {
		day := r.IntN(7)
		hour := pick(r, func(j int) int { return hourWeight[j] }, 24)
		k := pick(r, func(j int) int {
			if !linked(kinds[j].partner) {
				return 0
			}
			return kinds[j].weight
		}, len(kinds))
		kd := kinds[k]
		a := action{user: i, kind: uint8(k), n: uint8(kd.min + r.IntN(kd.max-kd.min+1))}
		if len(kd.variants) > 1 {
			a.variant = uint8(pick(r, func(j int) int { return kd.variants[j].weight }, len(kd.variants)))
		}
		acts = append(acts, timed{day*24 + hour, a})
	}
	slices.SortStableFunc(acts, func(x, y timed) int { return cmp.Compare(x.slot, y.slot) })
	for j, t := range acts {
		t.a.seq = uint8(j + 1)
		w.slots[t.slot] = append(w.slots[t.slot], t.a)
		w.actions++
	}
	w.users = append(w.users, i)
	p.coffee = r.IntN(100) < 35
	p.cancel = r.IntN(100) < 10
	p.tote = r.IntN(100) < 30
	if r.IntN(100) < 20 {
		p.donate = uint16(20 + 10*r.IntN(9)) // 20 to 100 points
	}
	return p
}

// campaignBadges are the campaign's badges.
func campaignBadges(week rewards.Window) []rewards.Badge {
	inWeek := func(min int64) rewards.Criterion {
		return rewards.Criterion{Kind: rewards.KindWindow, Window: &week,
			Of: []rewards.Criterion{{Kind: rewards.KindActions, Min: min}}}
	}
	return []rewards.Badge{
		{ID: "carbon-week", Title: "Carbon Week regular", Levels: []rewards.Criterion{inWeek(3), inWeek(6)}},
		{ID: "all-rounder", Title: "Green all-rounder", Levels: []rewards.Criterion{{Kind: rewards.KindPartners, Min: 3}}},
		{ID: "streak", Title: "Days in a row", Levels: []rewards.Criterion{
			{Kind: rewards.KindStreak, Min: 2, TimeZone: "Asia/Shanghai"}, {Kind: rewards.KindStreak, Min: 3, TimeZone: "Asia/Shanghai"}}},
		{ID: "second-life", Title: "Second life", Levels: []rewards.Criterion{{Kind: rewards.KindFirst, Scenario: "secondhand.resale"}}},
		{ID: "kilo-saver", Title: "Kilogram saver", Levels: []rewards.Criterion{
			{Kind: rewards.KindReduction, MinReduction: carbon.GramsInt(1000)}, {Kind: rewards.KindReduction, MinReduction: carbon.GramsInt(10_000)}}},
	}
}

// run runs the week, the settlement and the audit, and returns the report.
func (s *simulation) run(ctx context.Context, bar *progress) (*report, error) {
	total := int64(0)
	for _, w := range s.workers {
		total += w.actions
	}
	bar.phase("enrolling", int64(s.users))
	if err := s.parallel(func(w *worker) error { return w.enrol(ctx, bar) }); err != nil {
		return nil, err
	}
	bar.phase("earning", total)
	for slot := range slots {
		// Every credit of this hour is recorded at its 59th minute.
		s.clock.Set(s.week.Start.Add(time.Duration(slot)*time.Hour + 59*time.Minute))
		if err := s.parallel(func(w *worker) error { return w.earn(ctx, slot, bar) }); err != nil {
			return nil, err
		}
	}
	// Sunday night: redemptions and donations.
	s.clock.Set(s.week.End.Add(-10 * time.Second))
	bar.phase("spending", int64(s.users))
	if err := s.parallel(func(w *worker) error { return w.spend(ctx, bar) }); err != nil {
		return nil, err
	}
	// Wednesday after the campaign: the boards have closed, and the mall
	// points earned on its first two days have expired.
	s.clock.Set(s.week.Start.Add(9 * 24 * time.Hour))
	bar.phase("expiring", 1)
	if _, err := s.ledger.Expire(ctx, s.clock.Now()); err != nil {
		return nil, err
	}
	bar.add(1)
	bar.phase("auditing", int64(s.users))
	return s.audit(ctx, bar)
}

// parallel runs fn on every worker at once and returns the first error.
func (s *simulation) parallel(fn func(w *worker) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(s.workers))
	for i, w := range s.workers {
		wg.Go(func() { errs[i] = fn(w) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// worker runs the users i with i % workers == its index, each user's
// actions in order.
type worker struct {
	sim     *simulation
	users   []int32
	slots   [slots][]action
	actions int64
	tally   *tally
}

// enrol opens the worker's users' accounts and links their apps.
func (w *worker) enrol(ctx context.Context, bar *progress) error {
	l := w.sim.ledger
	for _, i := range w.users {
		u := w.sim.ids[i]
		if _, err := l.OpenUser(ctx, u); err != nil {
			return err
		}
		for j, p := range partners {
			if w.sim.plans[i].links&(1<<j) != 0 {
				if _, err := l.LinkPartner(ctx, u, p); err != nil {
					return err
				}
			}
		}
		bar.add(1)
	}
	return nil
}

// earn credits the worker's actions of one hour of the week.
func (w *worker) earn(ctx context.Context, slot int, bar *progress) error {
	s := w.sim
	day, hour := slot/24, slot%24
	for _, a := range w.slots[slot] {
		kd := &kinds[a.kind]
		u := s.ids[a.user]
		act := carbon.Activity{
			ID:      string(u) + "-" + strconv.Itoa(int(a.seq)),
			Partner: kd.partner, User: u, Scenario: kd.scenario,
			OccurredAt: s.week.Start.Add(time.Duration(day*24+hour)*time.Hour + time.Duration(int(a.user)%59)*time.Minute),
			Region:     provinces[s.plans[a.user].province].region,
			Quantities: s.quantities[a.kind][a.n],
		}
		if kd.variants != nil {
			act.Attributes = kd.variants[a.variant].attrs
		}
		r, err := s.prog.Earn(ctx, act)
		if err != nil {
			return fmt.Errorf("earning %s: %w", act.ID, err)
		}
		if err := w.tally.earned(&r); err != nil {
			return err
		}
		bar.add(1)
	}
	return nil
}

// spend plays the worker's users' end of the week: a tote bag from mall
// points, a coffee coupon at the parent (fulfilled, or cancelled), and a
// donation for a red packet, each only if the user can afford it.
func (w *worker) spend(ctx context.Context, bar *progress) error {
	s, t := w.sim, w.tally
	for _, i := range w.users {
		u, p := s.ids[i], s.plans[i]
		if p.tote && p.links&(1<<slices.Index(partners, mall)) != 0 {
			b, err := s.ledger.Balance(ctx, ledger.PartnerAccount(u, mall), ledger.Points)
			if err != nil {
				return err
			}
			if avail, _ := b.Available(); avail >= toteCost {
				if err := w.redeem(ctx, "tote-"+string(u), u, "tote-bag", false); err != nil {
					return err
				}
				t.totes++
			}
		}
		if p.coffee {
			avail, err := w.available(ctx, u)
			if err != nil {
				return err
			}
			if avail >= coffeeCost {
				if err := w.redeem(ctx, "coffee-"+string(u), u, "coffee", p.cancel); err != nil {
					return err
				}
				if p.cancel {
					t.cancelled++
				} else {
					t.coffees++
				}
			}
		}
		if p.donate > 0 {
			avail, err := w.available(ctx, u)
			if err != nil {
				return err
			}
			if pts := min(avail, int64(p.donate)); pts >= 10 {
				d, err := s.prog.Donate(ctx, rewards.DonateRequest{Key: "donate-" + string(u), User: u, Points: carbon.Points(pts), Sponsor: sponsor})
				if err != nil {
					return fmt.Errorf("donating for %s: %w", u, err)
				}
				t.donations++
				t.donated += int64(d.Points)
				t.redPacketFen += d.RedPacket
			}
		}
		bar.add(1)
	}
	return nil
}

// available returns u's spendable points, over the parent and every child.
func (w *worker) available(ctx context.Context, u carbon.UserID) (int64, error) {
	r, err := w.sim.ledger.Rollup(ctx, u, ledger.Points)
	if err != nil {
		return 0, err
	}
	avail, _ := r.Total.Available()
	return avail, nil
}

// redeem redeems a reward and fulfils it, or cancels it.
func (w *worker) redeem(ctx context.Context, key string, u carbon.UserID, reward string, cancel bool) error {
	rd, err := w.sim.prog.Redeem(ctx, rewards.RedeemRequest{Key: key, User: u, RewardID: reward})
	if err != nil {
		return fmt.Errorf("redeeming %s for %s: %w", reward, u, err)
	}
	if cancel {
		_, err = w.sim.prog.Cancel(ctx, rd.ID)
	} else {
		_, err = w.sim.prog.Fulfil(ctx, rd.ID)
		w.tally.redeemed += int64(rd.Cost)
	}
	return err
}
