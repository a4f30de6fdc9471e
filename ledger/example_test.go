package ledger_test

import (
	"context"
	"fmt"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
)

// A user with four partner apps earns points in each, spends at the parent
// (soonest-expiring points first, whichever app they came from), holds a
// redemption in one partner's mall and commits it for less, then reads the
// roll-up.
func Example() {
	ctx := context.Background()
	clock := carbon.NewTestClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	l, err := ledger.New(memstore.New(), &ledger.Options{
		Clock:  clock,
		Expiry: ledger.ExpireAfter(365 * 24 * time.Hour),
	})
	if err != nil {
		panic(err)
	}

	const user = carbon.UserID("u-42")
	partners := []carbon.PartnerID{"food", "metro", "resale", "mall"}
	if _, err := l.OpenUser(ctx, user); err != nil {
		panic(err)
	}
	for _, p := range partners {
		if _, err := l.LinkPartner(ctx, user, p); err != nil {
			panic(err)
		}
	}
	shop := ledger.MerchantAccount("tree-planting")
	if _, err := l.OpenAccount(ctx, shop, ledger.BalancePolicy{}); err != nil {
		panic(err)
	}

	// Earn: each partner credits the user's child account from its issuance
	// account. The key makes a retried request harmless.
	for i, p := range partners {
		_, err := l.Post(ctx, ledger.PostRequest{
			Key: "earn-" + string(p),
			Postings: []ledger.Posting{
				{Account: ledger.IssuanceAccount(p), Asset: ledger.Points, Amount: -int64(100 * (i + 1))},
				{Account: ledger.PartnerAccount(user, p), Asset: ledger.Points, Amount: int64(100 * (i + 1))},
			},
		})
		if err != nil {
			panic(err)
		}
		clock.Advance(24 * time.Hour)
	}

	// Spend 250 at the parent: the food points (earned first, expiring
	// first) go first, then metro.
	spend, err := l.Spend(ctx, ledger.Spend{
		Key: "order-1", User: user, Asset: ledger.Points, Amount: 250, To: shop,
	})
	if err != nil {
		panic(err)
	}
	for _, p := range spend.Postings {
		fmt.Printf("spend %-28s %5d\n", p.Account, p.Amount)
	}

	// Hold 300 in the mall's own shop, then commit 200 of it.
	hold, err := l.HoldSpend(ctx, ledger.Spend{
		Key: "redeem-7", User: user, Partner: "mall", Asset: ledger.Points, Amount: 300, To: shop,
	})
	if err != nil {
		panic(err)
	}
	if _, err := l.Commit(ctx, ledger.CommitRequest{Key: "redeem-7-done", Hold: hold.ID, Amount: 200}); err != nil {
		panic(err)
	}

	r, err := l.Rollup(ctx, user, ledger.Points)
	if err != nil {
		panic(err)
	}
	for _, c := range r.Children {
		fmt.Printf("child %-8s posted %4d held %d\n", c.Partner, c.Balance.Posted, c.Balance.Held)
	}
	avail, _ := r.Total.Available()
	fmt.Printf("total posted %d, available %d\n", r.Total.Posted, avail)

	n, err := l.VerifyChain(ctx)
	fmt.Println("chain:", n, "entries, error:", err)
	// Output:
	// spend user u-42 food                -100
	// spend user u-42 metro               -150
	// spend merchant tree-planting         250
	// child food     posted    0 held 0
	// child mall     posted  200 held 0
	// child metro    posted   50 held 0
	// child resale   posted  300 held 0
	// total posted 550, available 550
	// chain: 7 entries, error: <nil>
}

// Points expire 30 days after they are earned; a pending hold keeps the
// points it reserves from expiring until it is resolved.
func ExampleLedger_Expire() {
	ctx := context.Background()
	must := func(_ any, err error) {
		if err != nil {
			panic(err)
		}
	}
	clock := carbon.NewTestClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	l, err := ledger.New(memstore.New(), &ledger.Options{Clock: clock, Expiry: ledger.ExpireAfter(30 * 24 * time.Hour)})
	must(l, err)
	shop := ledger.MerchantAccount("shop")
	must(l.OpenAccount(ctx, shop, ledger.BalancePolicy{}))
	must(l.OpenUser(ctx, "u-7"))
	must(l.LinkPartner(ctx, "u-7", "metro"))
	child := ledger.PartnerAccount("u-7", "metro")
	must(l.Post(ctx, ledger.PostRequest{Key: "trip-1", Postings: []ledger.Posting{
		{Account: ledger.IssuanceAccount("metro"), Asset: ledger.Points, Amount: -100},
		{Account: child, Asset: ledger.Points, Amount: 100},
	}}))
	hold, err := l.HoldSpend(ctx, ledger.Spend{Key: "r-1", User: "u-7", Partner: "metro", Asset: ledger.Points, Amount: 30, To: shop})
	must(hold, err)

	clock.Advance(31 * 24 * time.Hour)
	expired, err := l.Expire(ctx, clock.Now())
	must(expired, err)
	b, err := l.Balance(ctx, child, ledger.Points)
	must(b, err)
	brk, err := l.Balance(ctx, ledger.BreakageAccount(), ledger.Points)
	must(brk, err)
	fmt.Println("expiry entries:", len(expired))
	fmt.Println("child:", b.Posted, "held:", b.Held, "breakage:", brk.Posted)

	must(l.Commit(ctx, ledger.CommitRequest{Key: "r-1-done", Hold: hold.ID}))
	b, err = l.Balance(ctx, child, ledger.Points)
	must(b, err)
	fmt.Println("after the commit:", b.Posted)
	// Output:
	// expiry entries: 1
	// child: 30 held: 30 breakage: 70
	// after the commit: 0
}

// A donation that also pays a cash red packet is one entry of the caller's
// own, so it cannot be a Spend; Allocate tells which of the user's
// accounts a spend at the parent would debit, and by how much, so that
// the entry debits the same. EntryByKey then finds the entry by its key,
// as a caller that lost the reply would.
func ExampleLedger_Allocate() {
	ctx := context.Background()
	must := func(_ any, err error) {
		if err != nil {
			panic(err)
		}
	}
	clock := carbon.NewTestClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	l, err := ledger.New(memstore.New(), &ledger.Options{Clock: clock, Expiry: ledger.ExpireAfter(365 * 24 * time.Hour)})
	must(l, err)
	must(l.OpenUser(ctx, "u-7"))
	for i, p := range []carbon.PartnerID{"metro", "food"} {
		must(l.LinkPartner(ctx, "u-7", p))
		must(l.Post(ctx, ledger.PostRequest{Key: "earn-" + string(p), Postings: []ledger.Posting{
			{Account: ledger.IssuanceAccount(p), Asset: ledger.Points, Amount: -int64(40 + 20*i)},
			{Account: ledger.PartnerAccount("u-7", p), Asset: ledger.Points, Amount: int64(40 + 20*i)},
		}}))
		clock.Advance(time.Hour)
	}

	// 50 points: the metro points expire first, so all 40 of them, then 10
	// of the food points. The debits come in account order.
	debits, err := l.Allocate(ctx, "u-7", ledger.Points, 50, nil)
	must(debits, err)
	for _, d := range debits {
		fmt.Println(d.Account, d.Amount)
	}
	charity := ledger.CharityAccount("trees")
	must(l.OpenAccount(ctx, charity, ledger.BalancePolicy{}))
	must(l.Post(ctx, ledger.PostRequest{Key: "donation-1", Postings: append(debits,
		ledger.Posting{Account: charity, Asset: ledger.Points, Amount: 50})}))

	e, err := l.EntryByKey(ctx, "donation-1")
	must(e, err)
	fmt.Println("donation entry postings:", len(e.Postings))
	// Output:
	// user u-7 food -10
	// user u-7 metro -40
	// donation entry postings: 3
}
