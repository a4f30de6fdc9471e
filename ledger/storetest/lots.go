package storetest

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// testManyLots credits one account 240 lots in runs of 20 that share their
// expiry and creation time (so that only insertion order tells a run's lots
// apart), some runs expiring and some not, and spends them down in steps,
// checking after each that Lots returns exactly the lots a plain model
// holds, in order: a store that reads lots a page at a time must not lose,
// repeat or reorder one at a page's edge. Then it reverses the spends,
// newest first, which refills spent lots, and checks again after each.
func testManyLots(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := carbon.NewTestClock(t0.Add(24 * time.Hour))
	// A credit effective at a whole second expires 30 days later; one
	// effective a nanosecond past it never does.
	expiry := func(_ ledger.Asset, _ ledger.AccountID, eff time.Time) time.Time {
		if eff.Nanosecond() != 0 {
			return time.Time{}
		}
		return eff.Add(30 * 24 * time.Hour)
	}
	l, err := ledger.New(s, &ledger.Options{Clock: clock, Expiry: expiry})
	if err != nil {
		t.Fatal(err)
	}
	const u, p = carbon.UserID("u-1"), carbon.PartnerID("food")
	acct := ledger.PartnerAccount(u, p)
	if _, err := l.OpenUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LinkPartner(ctx, u, p); err != nil {
		t.Fatal(err)
	}
	if _, err := l.OpenAccount(ctx, shop, ledger.BalancePolicy{}); err != nil {
		t.Fatal(err)
	}

	var model []*lotModel
	for run := range 12 {
		// Runs share three expiries, and each run its creation time.
		eff := t0.Add(time.Duration(run%3) * time.Hour)
		if run%4 == 3 {
			eff = eff.Add(time.Nanosecond)
		}
		clock.Set(t0.Add(24*time.Hour + time.Duration(run%5)*time.Minute))
		for i := range 20 {
			e, err := l.Post(ctx, ledger.PostRequest{Key: "credit-" + strconv.Itoa(run) + "-" + strconv.Itoa(i), Effective: eff, Postings: []ledger.Posting{
				{Account: ledger.IssuanceAccount(p), Asset: ledger.Points, Amount: -5},
				{Account: acct, Asset: ledger.Points, Amount: 5},
			}})
			if err != nil {
				t.Fatal(err)
			}
			model = append(model, &lotModel{id: ledger.LotID{Entry: e.ID, Posting: 1}, remaining: 5,
				expires: expiry(ledger.Points, acct, eff), created: e.Recorded, seq: len(model)})
		}
	}
	slices.SortFunc(model, (*lotModel).cmp)
	checkLots(t, l, acct, model, "after the credits")

	var spends []ledger.Entry
	for i, amount := range []int64{3, 2, 7, 40, 1, 333, 5, 200} {
		e, err := l.Spend(ctx, ledger.Spend{Key: "spend-" + strconv.Itoa(i), User: u, Partner: p, Asset: ledger.Points, Amount: amount, To: shop})
		if err != nil {
			t.Fatal(err)
		}
		spends = append(spends, e)
		need := amount
		for _, m := range model {
			take := min(need, m.remaining)
			m.remaining -= take
			need -= take
		}
		checkLots(t, l, acct, model, "after spend "+strconv.Itoa(i))
	}
	for i := len(spends) - 1; i >= 0; i-- {
		if _, err := l.Reverse(ctx, ledger.ReverseRequest{Key: "reverse-" + strconv.Itoa(i), Entry: spends[i].ID}); err != nil {
			t.Fatal(err)
		}
		for _, use := range spends[i].Lots {
			i := slices.IndexFunc(model, func(m *lotModel) bool { return m.id == use.Lot })
			if i < 0 {
				t.Fatalf("spend took from lot %s, which was never credited", use.Lot)
			}
			model[i].remaining += use.Amount
		}
		checkLots(t, l, acct, model, "after reversing spend "+strconv.Itoa(i))
	}
}

// lotModel is a lot as testManyLots expects it: seq is its insertion
// order, which tells apart lots that ledger.CompareLots finds equal.
type lotModel struct {
	id               ledger.LotID
	remaining        int64
	expires, created time.Time
	seq              int
}

func (m *lotModel) cmp(o *lotModel) int {
	a := ledger.Lot{Expires: m.expires, Created: m.created}
	b := ledger.Lot{Expires: o.expires, Created: o.created}
	return cmp.Or(ledger.CompareLots(a, b), cmp.Compare(m.seq, o.seq))
}

// checkLots fails t unless the lots of acct that Lots returns are those of
// model that hold something, in model's order.
func checkLots(t *testing.T, l *ledger.Ledger, acct ledger.AccountID, model []*lotModel, when string) {
	t.Helper()
	got, err := l.Lots(context.Background(), acct, ledger.Points)
	if err != nil {
		t.Fatal(err)
	}
	var want []*lotModel
	for _, m := range model {
		if m.remaining > 0 {
			want = append(want, m)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d lots, want %d", when, len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.ID != w.id || g.Remaining != w.remaining || !g.Expires.Equal(w.expires) || !g.Created.Equal(w.created) {
			t.Fatalf("%s: lot %d is %s with %d left (expires %v, created %v), want %s with %d left (expires %v, created %v)",
				when, i, g.ID, g.Remaining, g.Expires, g.Created, w.id, w.remaining, w.expires, w.created)
		}
	}
}
