package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/rewards"
)

// tally is one worker's count of what happened, from the programme's
// answers; the audit checks it against the ledger.
type tally struct {
	activities, capped, points, mg       int64
	byMethod                             map[string]*methodTally
	coffees, cancelled, totes, donations int64
	redeemed, donated, redPacketFen      int64
	balance, held                        int64 // the users' points at the end
}

type methodTally struct{ activities, mg, points int64 }

func newTally() *tally { return &tally{byMethod: map[string]*methodTally{}} }

// earned counts a receipt.
func (t *tally) earned(r *rewards.Receipt) error {
	mg, err := ledger.MassAmount(r.Reduction, carbon.TowardZero)
	if err != nil {
		return err
	}
	m := t.byMethod[r.Methodology]
	if m == nil {
		m = &methodTally{}
		t.byMethod[r.Methodology] = m
	}
	m.activities++
	m.mg += mg
	m.points += int64(r.Points)
	t.activities++
	t.mg += mg
	t.points += int64(r.Points)
	if r.Capped != rewards.CapNone {
		t.capped++
	}
	return nil
}

// add adds u's counts to t.
func (t *tally) add(u *tally) {
	t.activities += u.activities
	t.capped += u.capped
	t.points += u.points
	t.mg += u.mg
	t.coffees += u.coffees
	t.cancelled += u.cancelled
	t.totes += u.totes
	t.donations += u.donations
	t.redeemed += u.redeemed
	t.donated += u.donated
	t.redPacketFen += u.redPacketFen
	t.balance += u.balance
	t.held += u.held
	for ref, m := range u.byMethod {
		tm := t.byMethod[ref]
		if tm == nil {
			tm = &methodTally{}
			t.byMethod[ref] = tm
		}
		tm.activities += m.activities
		tm.mg += m.mg
		tm.points += m.points
	}
}

// awardCounter is the programme's Publisher: it counts the badge levels
// awarded.
type awardCounter struct {
	mu     sync.Mutex
	counts map[rewards.BadgeID][]int64 // by level, from 1
}

// Publish implements rewards.Publisher.
func (c *awardCounter) Publish(_ context.Context, events []rewards.Event) error {
	for _, e := range events {
		if e.Type != rewards.EventBadgeAwarded {
			continue
		}
		c.mu.Lock()
		if c.counts == nil {
			c.counts = map[rewards.BadgeID][]int64{}
		}
		lv := c.counts[e.Award.Badge]
		for len(lv) < e.Award.Level {
			lv = append(lv, 0)
		}
		lv[e.Award.Level-1]++
		c.counts[e.Award.Badge] = lv
		c.mu.Unlock()
	}
	return nil
}

// report is what the campaign did, read back from the ledger and the
// boards.
type report struct {
	users, workers int
	seed           uint64
	week           rewards.Window
	shanghai       *time.Location
	byProvince     []int
	t              *tally
	issued, co2Mg  int64
	redeemed       int64
	donated        int64
	expired        int64
	redPacketFen   int64
	boards         []rewards.Snapshot
	provinceNames  []string
	badges         []rewards.Badge
	awards         map[rewards.BadgeID][]int64
	trial          []ledger.AssetTotal
	chain          uint64
	wall           time.Duration
}

// audit reads the outcome back from the ledger and the boards, and checks
// the ledger against the workers' tallies: every point and milligram the
// receipts credited was issued, and what was issued is in users'
// accounts, redeemed, donated or expired.
func (s *simulation) audit(ctx context.Context, bar *progress) (*report, error) {
	l := s.ledger
	if err := s.parallel(func(w *worker) error {
		for _, i := range w.users {
			r, err := l.Rollup(ctx, s.ids[i], ledger.Points)
			if err != nil {
				return err
			}
			w.tally.balance += r.Total.Posted
			w.tally.held += r.Total.Held
			bar.add(1)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	rep := &report{users: s.users, seed: s.seed, workers: len(s.workers), week: s.week, shanghai: s.shanghai, t: newTally(), badges: s.badges}
	rep.byProvince = make([]int, len(provinces))
	for i := range s.plans {
		rep.byProvince[s.plans[i].province]++
	}
	for _, w := range s.workers {
		rep.t.add(w.tally)
	}
	balance := func(id ledger.AccountID, asset ledger.Asset) (int64, error) {
		b, err := l.Balance(ctx, id, asset)
		return b.Posted, err
	}
	for _, p := range partners {
		pts, err1 := balance(ledger.IssuanceAccount(p), ledger.Points)
		mg, err2 := balance(ledger.IssuanceAccount(p), ledger.CO2e)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		rep.issued -= pts
		rep.co2Mg -= mg
	}
	cafe, err1 := balance(ledger.MerchantAccount("cafe"), ledger.Points)
	shop, err2 := balance(ledger.MerchantAccount("mall-shop"), ledger.Points)
	donated, err3 := balance(ledger.CharityAccount("donations"), ledger.Points)
	expired, err4 := balance(ledger.BreakageAccount(), ledger.Points)
	budget, err5 := balance(ledger.SponsorAccount(sponsor), ledger.CNY)
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, err
	}
	rep.redeemed, rep.donated, rep.expired = cafe+shop, donated, expired
	rep.redPacketFen = int64(s.users)*100*fenPerPoint - budget

	var problems []string
	check := func(what string, ledgerSays, tallySays int64) {
		if ledgerSays != tallySays {
			problems = append(problems, fmt.Sprintf("%s: the ledger says %d, the receipts %d", what, ledgerSays, tallySays))
		}
	}
	check("points issued", rep.issued, rep.t.points)
	check("CO2e issued (mg)", rep.co2Mg, rep.t.mg)
	check("points redeemed", rep.redeemed, rep.t.redeemed)
	check("points donated", rep.donated, rep.t.donated)
	check("red packets (fen)", rep.redPacketFen, rep.t.redPacketFen)
	check("points in users' accounts", rep.t.balance, rep.issued-rep.redeemed-rep.donated-rep.expired)
	check("points held", rep.t.held, 0)
	if len(problems) > 0 {
		return nil, fmt.Errorf("audit failed: %s", strings.Join(problems, "; "))
	}

	snaps, err := s.prog.CloseBoards(ctx, 10)
	if err != nil {
		return nil, err
	}
	for _, id := range s.boards {
		i := slices.IndexFunc(snaps, func(sn rewards.Snapshot) bool { return sn.Board.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("board %s did not close", id)
		}
		rep.boards = append(rep.boards, snaps[i])
	}
	for _, pr := range provinces {
		rep.provinceNames = append(rep.provinceNames, pr.name)
	}
	rep.awards = s.awards.counts
	if rep.trial, err = l.TrialBalance(ctx); err != nil {
		return nil, err
	}
	for _, tb := range rep.trial {
		if tb.Sum != 0 {
			return nil, fmt.Errorf("trial balance of %s is %d, not zero", tb.Asset, tb.Sum)
		}
	}
	if rep.chain, err = l.VerifyChain(ctx); err != nil {
		return nil, err
	}
	bar.phase("", 0)
	return rep, nil
}

// print writes the report.
func (r *report) print(w io.Writer) {
	t := r.t
	fmt.Fprintf(w, "Carbon Week %s to %s (Asia/Shanghai): %s users, seed %d\n", weekFirst, weekLast, group(int64(r.users)), r.seed)
	fmt.Fprint(w, "  users by province:")
	for i, pr := range provinces {
		sep := ","
		if i == len(provinces)-1 {
			sep = ""
		}
		fmt.Fprintf(w, " %s %s%s", pr.region, group(int64(r.byProvince[i])), sep)
	}
	fmt.Fprintf(w, "\n  activities credited: %s (%s cut by the daily cap of %d points)\n", group(t.activities), group(t.capped), dailyCap)
	fmt.Fprintf(w, "  wall time: %s with %d workers\n", r.wall.Round(time.Millisecond), r.workers)

	fmt.Fprintf(w, "\nCO2e reduced by methodology\n  %-45s %10s %18s %12s\n", "methodology", "activities", "CO2e", "points")
	refs := make([]string, 0, len(t.byMethod))
	for ref := range t.byMethod {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	for _, ref := range refs {
		m := t.byMethod[ref]
		fmt.Fprintf(w, "  %-45s %10s %18s %12s\n", ref, group(m.activities), kg(m.mg), group(m.points))
	}
	fmt.Fprintf(w, "  %-45s %10s %18s %12s\n", "total", group(t.activities), kg(t.mg), group(t.points))

	fmt.Fprintf(w, "\nPoints\n")
	fmt.Fprintf(w, "  issued       %12s\n", group(r.issued))
	fmt.Fprintf(w, "  redeemed     %12s   %s coupons and %s tote bags fulfilled, %s coupons cancelled\n", group(r.redeemed), group(t.coffees), group(t.totes), group(t.cancelled))
	fmt.Fprintf(w, "  donated      %12s   %s donations, red packets CNY %s.%02d\n", group(r.donated), group(t.donations), group(r.redPacketFen/100), r.redPacketFen%100)
	fmt.Fprintf(w, "  expired      %12s   mall points of %s and %s, unspent a week later\n", group(r.expired),
		r.week.Start.Format("2 January"), r.week.Start.AddDate(0, 0, 1).Format("2 January"))
	fmt.Fprintf(w, "  in accounts  %12s   = issued - redeemed - donated - expired\n", group(t.balance))

	fmt.Fprintf(w, "\nBadges awarded\n")
	for _, b := range r.badges {
		for lv := range b.Levels {
			n := int64(0)
			if lv < len(r.awards[b.ID]) {
				n = r.awards[b.ID][lv]
			}
			fmt.Fprintf(w, "  %-28s level %d %10s\n", b.Title, lv+1, group(n))
		}
	}

	fmt.Fprintf(w, "\nLeaderboards: Carbon Week points, top 10\n")
	for i, sn := range r.boards {
		fmt.Fprintf(w, "  %s %s: %s members, frozen %s\n", sn.Board.Region, r.provinceNames[i], group(int64(sn.Members)),
			sn.FrozenAt.In(r.shanghai).Format("2006-01-02 15:04"))
		for _, st := range sn.Top {
			fmt.Fprintf(w, "    %3d  %-12s %8s\n", st.Rank, st.User, group(int64(st.Score)))
		}
	}

	fmt.Fprintf(w, "\nLedger\n  trial balance:")
	for i, tb := range r.trial {
		sep := ","
		if i == len(r.trial)-1 {
			sep = " (zero per asset)"
		}
		fmt.Fprintf(w, " %s %d%s", tb.Asset, tb.Sum, sep)
	}
	fmt.Fprintf(w, "\n  hash chain: %s entries verified\n", group(int64(r.chain)))
	fmt.Fprintf(w, "  audit: the ledger agrees with every receipt, redemption and donation\n")
}

// group formats n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// kg formats milligrams as kilograms to the gram.
func kg(mg int64) string {
	return fmt.Sprintf("%s.%03d kg", group(mg/1_000_000), mg%1_000_000/1000)
}
