package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// Run runs the conformance suite: every ledger.Store must pass it. newStore
// returns a new, empty store for each subtest (and may register cleanup
// with t.Cleanup).
//
// The suite covers the Store contracts directly (unique keys, account
// creation, locks, rollback, isolation of reads) and through a Ledger:
// atomicity when the store fails mid-operation or at commit, sorted
// locking, concurrent writers, idempotency and spend races, and the
// invariants of CheckInvariants after every step of a scenario.
func Run(t *testing.T, newStore func(t *testing.T) ledger.Store) {
	t.Run("Contracts", func(t *testing.T) { testContracts(t, newStore) })
	t.Run("Scenario", func(t *testing.T) { testScenario(t, newStore(t)) })
	t.Run("AtomicityMidOperation", func(t *testing.T) { testAtomicity(t, newStore(t)) })
	t.Run("CommitFaults", func(t *testing.T) { testCommitFaults(t, newStore(t)) })
	t.Run("SortedLocking", func(t *testing.T) { testSortedLocking(t, newStore(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, newStore(t)) })
	t.Run("UnlockedAccountTakesConcurrentDeltas", func(t *testing.T) { testUnlocked(t, newStore(t)) })
	t.Run("IdempotencyRace", func(t *testing.T) { testIdempotencyRace(t, newStore(t)) })
	t.Run("SpendRace", func(t *testing.T) { testSpendRace(t, newStore(t)) })
	t.Run("HoldResolutionRace", func(t *testing.T) { testHoldRace(t, newStore(t)) })
	t.Run("ReversalRace", func(t *testing.T) { testReversalRace(t, newStore) })
	t.Run("ViewIsolation", func(t *testing.T) { testViewIsolation(t, newStore(t)) })
	t.Run("HistoryAndFeed", func(t *testing.T) { testHistory(t, newStore(t)) })
	t.Run("ManyLots", func(t *testing.T) { testManyLots(t, newStore(t)) })
	t.Run("LockKey", func(t *testing.T) { testLockKey(t, newStore) })
	t.Run("LockKeyDeferred", func(t *testing.T) { testLockKeyDeferred(t, newStore) })
	t.Run("ReadAccount", func(t *testing.T) { testReadAccount(t, newStore(t)) })
}

// fixture is a ledger over a store with fixtureUsers() and fixturePartners() ready.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store ledger.Store
	f     *Faulty
	l     *ledger.Ledger
	clock *carbon.TestClock
	n     atomic.Int64 // for fresh keys
}

// The fixture's fixtureUsers() and fixturePartners().
func fixtureUsers() []carbon.UserID { return []carbon.UserID{"u-1", "u-2", "u-3"} }

func fixturePartners() []carbon.PartnerID {
	return []carbon.PartnerID{"food", "metro", "resale", "mall"}
}

// shop is the merchant every spend goes to.
const shop = ledger.AccountID("merchant shop")

func newFixture(t *testing.T, s ledger.Store) *fixture {
	t.Helper()
	fx := &fixture{t: t, ctx: context.Background(), f: NewFaulty(s)}
	fx.store = fx.f
	fx.clock = carbon.NewTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l, err := ledger.New(fx.f, &ledger.Options{Clock: fx.clock, Expiry: ledger.ExpireAfter(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	fx.l = l
	for _, u := range fixtureUsers() {
		fx.must(l.OpenUser(fx.ctx, u))
		for _, p := range fixturePartners() {
			fx.must(l.LinkPartner(fx.ctx, u, p))
		}
	}
	fx.must(l.OpenAccount(fx.ctx, shop, ledger.BalancePolicy{}))
	return fx
}

func (fx *fixture) must(_ any, err error) {
	fx.t.Helper()
	if err != nil {
		fx.t.Fatal(err)
	}
}

func (fx *fixture) key(prefix string) string {
	return prefix + "-" + strconv.FormatInt(fx.n.Add(1), 10)
}

func (fx *fixture) earn(u carbon.UserID, p carbon.PartnerID, amount int64) (ledger.Entry, error) {
	return fx.l.Post(fx.ctx, ledger.PostRequest{Key: fx.key("earn"), Postings: []ledger.Posting{
		{Account: ledger.IssuanceAccount(p), Asset: ledger.Points, Amount: -amount},
		{Account: ledger.PartnerAccount(u, p), Asset: ledger.Points, Amount: amount},
	}})
}

func (fx *fixture) check() {
	fx.t.Helper()
	if err := CheckInvariants(fx.ctx, fx.l, fx.store); err != nil {
		fx.t.Fatal("invariant broken: ", err)
	}
}

// snapshot renders everything observable about the store's state.
func (fx *fixture) snapshot() string {
	fx.t.Helper()
	snap, err := Snapshot(fx.ctx, fx.l, fx.store)
	if err != nil {
		fx.t.Fatal(err)
	}
	return snap
}

// Snapshot renders everything observable about the state of s (the store l
// runs on) as text: every account with its balances, lots and history
// length in each registered asset, and the whole feed. Two snapshots are
// equal exactly when nothing observable changed between them.
func Snapshot(ctx context.Context, l *ledger.Ledger, s ledger.Store) (string, error) {
	totals, err := l.TrialBalance(ctx)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = s.View(ctx, func(tx ledger.ReadTx) error {
		var after ledger.AccountID
		for {
			as, err := tx.Accounts(ctx, after, 1000)
			if err != nil || len(as) == 0 {
				return err
			}
			for _, a := range as {
				fmt.Fprintf(&b, "%+v\n", a)
				for _, t := range totals {
					bal, err := tx.Balance(ctx, a.ID, t.Asset)
					if err != nil {
						return err
					}
					fmt.Fprintf(&b, "  %s %+v\n", t.Asset, bal)
					err = tx.Lots(ctx, a.ID, t.Asset, func(l ledger.Lot) bool {
						fmt.Fprintf(&b, "    lot %s %d/%d\n", l.ID, l.Remaining, l.Amount)
						return true
					})
					if err != nil {
						return err
					}
				}
				es, _, err := tx.History(ctx, a.ID, "", 1000)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "  history %d\n", len(es))
			}
			after = as[len(as)-1].ID
		}
	})
	if err != nil {
		return "", err
	}
	var seq uint64
	for {
		es, err := l.Changes(ctx, seq, 1000)
		if err != nil {
			return "", err
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			fmt.Fprintf(&b, "feed %d %s %s\n", e.Seq, e.Kind, e.Hash)
			seq = e.Seq
		}
	}
	return b.String(), nil
}

func testContracts(t *testing.T, newStore func(t *testing.T) ledger.Store) {
	ctx := context.Background()
	acct := ledger.Account{ID: "merchant a"}
	entry := func(id string) *ledger.Entry {
		return &ledger.Entry{ID: ledger.EntryID(id), Kind: ledger.KindTransfer, Recorded: time.Unix(1, 0).UTC(),
			Postings: []ledger.Posting{{Account: acct.ID, Asset: ledger.Points, Amount: 1}, {Account: acct.ID, Asset: ledger.CNY, Amount: 1}}}
	}
	t.Run("CreateThenRead", func(t *testing.T) {
		s := newStore(t)
		if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
			t.Fatal(err)
		}
		err := s.View(ctx, func(tx ledger.ReadTx) error {
			got, err := tx.Account(ctx, acct.ID)
			if err != nil || got != acct {
				return fmt.Errorf("account = %+v, %v; want %+v", got, err, acct)
			}
			if _, err := tx.Account(ctx, "merchant b"); !errors.Is(err, ledger.ErrNotFound) {
				return fmt.Errorf("account(missing) error = %v, want ErrNotFound", err)
			}
			if b, err := tx.Balance(ctx, acct.ID, ledger.Points); err != nil || b != (ledger.Balance{}) {
				return fmt.Errorf("balance of a new account = %+v, %v", b, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("CreateTwiceConflicts", func(t *testing.T) {
		s := newStore(t)
		create := func() error {
			return s.Update(ctx, func(tx ledger.Tx) error { return tx.CreateAccount(ctx, acct) })
		}
		if err := create(); err != nil {
			t.Fatal(err)
		}
		if err := create(); !errors.Is(err, ledger.ErrConflict) {
			t.Fatalf("second create: %v, want ErrConflict", err)
		}
	})
	t.Run("LockUnknownAccount", func(t *testing.T) {
		s := newStore(t)
		err := s.Update(ctx, func(tx ledger.Tx) error { return tx.Lock(ctx, []ledger.AccountID{"merchant nobody"}) })
		if !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("Lock of a missing account: %v, want ErrNotFound", err)
		}
	})
	t.Run("RollbackDiscardsEverything", func(t *testing.T) {
		s := newStore(t)
		if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := s.Update(ctx, func(tx ledger.Tx) error {
			if err := tx.AddBalance(ctx, acct.ID, ledger.Points, 5, 1); err != nil {
				return err
			}
			if err := tx.InsertEntry(ctx, entry("e1"), []string{"k:one"}); err != nil {
				return err
			}
			if err := tx.CreateAccount(ctx, ledger.Account{ID: "merchant b"}); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("Update returned %v, want fn's error unchanged", err)
		}
		err = s.View(ctx, func(tx ledger.ReadTx) error {
			if b, _ := tx.Balance(ctx, acct.ID, ledger.Points); b != (ledger.Balance{}) {
				return fmt.Errorf("balance after rollback: %+v", b)
			}
			if _, err := tx.Key(ctx, "k:one"); !errors.Is(err, ledger.ErrNotFound) {
				return fmt.Errorf("key after rollback: %v", err)
			}
			if _, err := tx.Entry(ctx, "e1"); !errors.Is(err, ledger.ErrNotFound) {
				return fmt.Errorf("entry after rollback: %v", err)
			}
			if _, err := tx.Account(ctx, "merchant b"); !errors.Is(err, ledger.ErrNotFound) {
				return fmt.Errorf("account after rollback: %v", err)
			}
			if es, _ := tx.Changes(ctx, 0, 10); len(es) != 0 {
				return fmt.Errorf("feed after rollback: %d entries", len(es))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// The key is free again.
		if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.InsertEntry(ctx, entry("e2"), []string{"k:one"}) }); err != nil {
			t.Fatalf("reusing a rolled-back key: %v", err)
		}
	})
	t.Run("UniqueKeyWhileInFlight", func(t *testing.T) {
		s := newStore(t)
		if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
			t.Fatal(err)
		}
		inserted, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- s.Update(ctx, func(tx ledger.Tx) error {
				if err := tx.InsertEntry(ctx, entry("first"), []string{"k:same"}); err != nil {
					return err
				}
				close(inserted)
				<-release
				return nil
			})
		}()
		<-inserted
		// A store may take the key at InsertEntry, refusing the second
		// insert at once (memstore) or making it wait for the first
		// transaction (a database's unique index); or it may buffer the
		// insert and take the key at commit (pgstore), so that the second
		// transaction, committing first, wins. Either way exactly one
		// entry is recorded under the key and the loser gets ErrConflict.
		second := make(chan error, 1)
		go func() {
			second <- s.Update(ctx, func(tx ledger.Tx) error { return tx.InsertEntry(ctx, entry("second"), []string{"k:same"}) })
		}()
		select {
		case err := <-second:
			second <- err
		case <-time.After(50 * time.Millisecond):
		}
		close(release)
		err1, err2 := <-done, <-second
		winner := ledger.EntryID("first")
		switch {
		case err1 == nil && errors.Is(err2, ledger.ErrConflict):
		case err2 == nil && errors.Is(err1, ledger.ErrConflict):
			winner = "second"
		default:
			t.Fatalf("two inserts under one key: %v and %v; want one success and one ErrConflict", err1, err2)
		}
		err := s.Update(ctx, func(tx ledger.Tx) error { return tx.InsertEntry(ctx, entry("third"), []string{"k:same"}) })
		if !errors.Is(err, ledger.ErrConflict) {
			t.Errorf("insert under a committed key: %v, want ErrConflict", err)
		}
		err = s.View(ctx, func(tx ledger.ReadTx) error {
			id, err := tx.Key(ctx, "k:same")
			if err != nil || id != winner {
				return fmt.Errorf("key = %q, %v; want %s", id, err, winner)
			}
			es, err := tx.Changes(ctx, 0, 10)
			if err != nil || len(es) != 1 || es[0].Seq != 1 || !es[0].Sealed() {
				return fmt.Errorf("feed = %d entries, %v; want one sealed", len(es), err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("KeyLoserWhoseWritesFail", func(t *testing.T) {
		// The loser of a race for a key fails with ErrConflict even when
		// its other writes fail too: here they fail because of the
		// winner's (a lot the winner refilled, a balance the winner
		// raised), and the Ledger, retrying on the conflict, finds the
		// winner's entry rather than reporting those failures.
		s := newStore(t)
		user := ledger.Account{ID: "user u-1"}
		lot := ledger.Lot{ID: ledger.LotID{Entry: "credit", Posting: 1}, Account: user.ID, Asset: ledger.Points,
			Amount: 10, Created: time.Unix(1, 0).UTC()}
		if err := s.Update(ctx, func(tx ledger.Tx) error {
			if err := errors.Join(tx.CreateAccount(ctx, acct), tx.CreateAccount(ctx, user)); err != nil {
				return err
			}
			return tx.InsertLot(ctx, lot)
		}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			key   string
			write func(tx ledger.Tx) error
		}{
			{"a lot refilled past its amount", ledger.ReversalKey("spend"), func(tx ledger.Tx) error {
				return tx.AddLot(ctx, user.ID, lot.ID, 10)
			}},
			{"a balance past int64", ledger.CallerKey("same"), func(tx ledger.Tx) error {
				return tx.AddBalance(ctx, acct.ID, ledger.Points, 1<<62+1<<61, 0)
			}},
		} {
			commit := func(id string) error {
				return s.Update(ctx, func(tx ledger.Tx) error {
					if err := tx.Lock(ctx, []ledger.AccountID{acct.ID, user.ID}); err != nil {
						return err
					}
					if err := c.write(tx); err != nil {
						return err
					}
					return tx.InsertEntry(ctx, entry(id), []string{c.key})
				})
			}
			if err := commit(c.name + " 1"); err != nil {
				t.Fatalf("%s: the winner: %v", c.name, err)
			}
			if err := commit(c.name + " 2"); !errors.Is(err, ledger.ErrConflict) {
				t.Errorf("%s: the loser: %v; want ErrConflict", c.name, err)
			}
		}
	})
	t.Run("OverflowFailsCommit", func(t *testing.T) {
		s := newStore(t)
		if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
			t.Fatal(err)
		}
		add := func(n int64) error {
			return s.Update(ctx, func(tx ledger.Tx) error { return tx.AddBalance(ctx, acct.ID, ledger.Points, n, 0) })
		}
		if err := add(1<<62 + 1<<61); err != nil {
			t.Fatal(err)
		}
		if err := add(1 << 62); !errors.Is(err, ledger.ErrOverflow) {
			t.Fatalf("overflowing delta: %v, want ErrOverflow", err)
		}
		err := s.View(ctx, func(tx ledger.ReadTx) error {
			if b, _ := tx.Balance(ctx, acct.ID, ledger.Points); b.Posted != 1<<62+1<<61 {
				return fmt.Errorf("balance after a failed overflow: %d", b.Posted)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("LockIsExclusive", func(t *testing.T) {
		s := newStore(t)
		if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
			t.Fatal(err)
		}
		var inside atomic.Int32
		var wg sync.WaitGroup
		var bad atomic.Bool
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 50 {
					_ = s.Update(ctx, func(tx ledger.Tx) error {
						if err := tx.Lock(ctx, []ledger.AccountID{acct.ID}); err != nil {
							return err
						}
						if inside.Add(1) != 1 {
							bad.Store(true)
						}
						time.Sleep(10 * time.Microsecond)
						inside.Add(-1)
						return nil
					})
				}
			}()
		}
		wg.Wait()
		if bad.Load() {
			t.Fatal("two transactions held the same account lock at once")
		}
	})
}

// testScenario runs every kind of operation and checks the invariants
// after each.
func testScenario(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	ctx, l := fx.ctx, fx.l
	fx.check()
	for i, u := range fixtureUsers() {
		for j, p := range fixturePartners() {
			fx.must(fx.earn(u, p, int64(10*(i+1)+j)))
			fx.clock.Advance(time.Hour)
			fx.check()
		}
	}
	fx.must(l.Spend(ctx, ledger.Spend{Key: "s1", User: "u-1", Asset: ledger.Points, Amount: 25, To: shop}))
	fx.check()
	fx.must(l.Spend(ctx, ledger.Spend{Key: "s2", User: "u-2", Partner: "metro", Asset: ledger.Points, Amount: 5, To: shop}))
	fx.check()
	h, err := l.HoldSpend(ctx, ledger.Spend{Key: "h1", User: "u-3", Asset: ledger.Points, Amount: 50, To: shop,
		Deadline: fx.clock.Now().Add(time.Hour)})
	fx.must(h, err)
	fx.check()
	fx.must(l.Commit(ctx, ledger.CommitRequest{Key: "c1", Hold: h.ID, Amount: 40}))
	fx.check()
	h2, err := l.HoldSpend(ctx, ledger.Spend{Key: "h2", User: "u-3", Partner: "mall", Asset: ledger.Points, Amount: 3, To: shop})
	fx.must(h2, err)
	fx.check()
	fx.must(l.Void(ctx, ledger.VoidRequest{Key: "v2", Hold: h2.ID}))
	fx.check()
	h3, err := l.HoldSpend(ctx, ledger.Spend{Key: "h3", User: "u-1", Asset: ledger.Points, Amount: 7, To: shop,
		Deadline: fx.clock.Now().Add(time.Minute)})
	fx.must(h3, err)
	e, err := l.Spend(ctx, ledger.Spend{Key: "s3", User: "u-2", Asset: ledger.Points, Amount: 30, To: shop})
	fx.must(e, err)
	fx.must(l.Reverse(ctx, ledger.ReverseRequest{Key: "r3", Entry: e.ID}))
	fx.check()
	fx.must(l.UnlinkPartner(ctx, "u-1", "food"))
	if _, err := fx.earn("u-1", "food", 1); !errors.Is(err, ledger.ErrAccountClosed) {
		t.Fatalf("earn on unlinked child: %v, want ErrAccountClosed", err)
	}
	fx.check()
	fx.clock.Advance(2 * time.Minute)
	voids, err := l.ExpireHolds(ctx, fx.clock.Now())
	if err != nil || len(voids) != 1 || voids[0].Ref != h3.ID {
		t.Fatalf("ExpireHolds = %d voids, %v; want the void of %s", len(voids), err, h3.ID)
	}
	fx.check()
	fx.clock.Advance(31 * 24 * time.Hour)
	exp, err := l.Expire(ctx, fx.clock.Now())
	if err != nil || len(exp) == 0 {
		t.Fatalf("Expire = %d entries, %v", len(exp), err)
	}
	fx.check()
	again, err := l.Expire(ctx, fx.clock.Now())
	if err != nil || len(again) != 0 {
		t.Fatalf("second Expire = %d entries, %v; want none", len(again), err)
	}
	for _, u := range fixtureUsers() {
		r, err := l.Rollup(ctx, u, ledger.Points)
		if err != nil || r.Total.Posted != 0 {
			t.Fatalf("rollup of %s after expiry: %+v, %v", u, r.Total, err)
		}
	}
	fx.check()
}

// op is one ledger operation for the fault tests, run with a fixed key so
// that it can be retried.
type op struct {
	name string
	run  func(fx *fixture) (ledger.Entry, error)
}

func faultOps() []op {
	var hold, spend ledger.EntryID
	return []op{
		{"Earn", func(fx *fixture) (ledger.Entry, error) {
			return fx.l.Post(fx.ctx, ledger.PostRequest{Key: "f-earn", Postings: []ledger.Posting{
				{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: -100},
				{Account: ledger.PartnerAccount("u-1", "food"), Asset: ledger.Points, Amount: 100},
			}})
		}},
		{"EarnOther", func(fx *fixture) (ledger.Entry, error) {
			return fx.l.Post(fx.ctx, ledger.PostRequest{Key: "f-earn2", Postings: []ledger.Posting{
				{Account: ledger.IssuanceAccount("metro"), Asset: ledger.Points, Amount: -60},
				{Account: ledger.PartnerAccount("u-1", "metro"), Asset: ledger.Points, Amount: 60},
			}})
		}},
		{"SpendAtParent", func(fx *fixture) (ledger.Entry, error) {
			e, err := fx.l.Spend(fx.ctx, ledger.Spend{Key: "f-spend", User: "u-1", Asset: ledger.Points, Amount: 120, To: shop})
			spend = e.ID
			return e, err
		}},
		{"HoldAtParent", func(fx *fixture) (ledger.Entry, error) {
			e, err := fx.l.HoldSpend(fx.ctx, ledger.Spend{Key: "f-hold", User: "u-1", Asset: ledger.Points, Amount: 30, To: shop})
			hold = e.ID
			return e, err
		}},
		{"CommitPartial", func(fx *fixture) (ledger.Entry, error) {
			return fx.l.Commit(fx.ctx, ledger.CommitRequest{Key: "f-commit", Hold: hold, Amount: 20})
		}},
		{"Reverse", func(fx *fixture) (ledger.Entry, error) {
			return fx.l.Reverse(fx.ctx, ledger.ReverseRequest{Key: "f-reverse", Entry: spend})
		}},
		{"Expire", func(fx *fixture) (ledger.Entry, error) {
			fx.clock.Set(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
			es, err := fx.l.Expire(fx.ctx, fx.clock.Now())
			if err == nil && len(es) == 0 {
				return ledger.Entry{}, errors.New("nothing expired")
			}
			if err != nil {
				return ledger.Entry{}, err
			}
			return es[0], nil
		}},
		{"Link", func(fx *fixture) (ledger.Entry, error) {
			_, err := fx.l.LinkPartner(fx.ctx, "u-2", "new-partner")
			return ledger.Entry{}, err
		}},
		{"Unlink", func(fx *fixture) (ledger.Entry, error) {
			_, err := fx.l.UnlinkPartner(fx.ctx, "u-2", "food")
			return ledger.Entry{}, err
		}},
	}
}

// testAtomicity fails each write call of each operation in turn and checks
// that a failed operation changed nothing, then lets it succeed.
func testAtomicity(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	for _, o := range faultOps() {
		for n := 1; ; n++ {
			if n > 64 {
				t.Fatalf("%s: still failing after 64 injected faults", o.name)
			}
			before := fx.snapshot()
			fx.f.Inject(FailWrite, n)
			_, err := o.run(fx)
			fx.f.Inject(NoFault, 0)
			if err == nil {
				break
			}
			if !errors.Is(err, ErrInjected) {
				t.Fatalf("%s with write %d failing: %v", o.name, n, err)
			}
			if after := fx.snapshot(); after != before {
				t.Fatalf("%s with write %d failing changed the store:\nbefore:\n%s\nafter:\n%s", o.name, n, before, after)
			}
		}
		fx.check()
	}
}

// testCommitFaults fails each operation's commit (nothing must change),
// then loses its reply (the retry must return the same entry).
func testCommitFaults(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	for _, o := range faultOps() {
		before := fx.snapshot()
		fx.f.Inject(FailCommit, 0)
		if _, err := o.run(fx); !errors.Is(err, ErrInjected) {
			t.Fatalf("%s with a failing commit: %v, want ErrInjected", o.name, err)
		}
		if after := fx.snapshot(); after != before {
			t.Fatalf("%s: a failed commit changed the store", o.name)
		}
		fx.f.Inject(LoseReply, 0)
		if _, err := o.run(fx); !errors.Is(err, ErrInjected) {
			t.Fatalf("%s with a lost reply: %v, want ErrInjected", o.name, err)
		}
		committed := fx.snapshot()
		if committed == before {
			t.Fatalf("%s: a commit whose reply was lost did not commit", o.name)
		}
		e, err := o.run(fx)
		if o.name == "Expire" {
			// Expire commits one transaction per account and stops at the
			// lost reply; the retry finishes the rest. A second retry must
			// find nothing left to do.
			committed = fx.snapshot()
			_, err = fx.l.Expire(fx.ctx, fx.clock.Now())
		}
		if err != nil {
			t.Fatalf("%s retried after a lost reply: %v", o.name, err)
		}
		if o.name != "Expire" && o.name != "Link" && o.name != "Unlink" && e.ID == "" {
			t.Fatalf("%s retried: no entry", o.name)
		}
		if after := fx.snapshot(); after != committed {
			t.Fatalf("%s: the retry after a lost reply changed the store again", o.name)
		}
		fx.check()
	}
}

// testSortedLocking checks that the Ledger asks for locks in sorted order,
// and that the store takes locks given in any order without deadlock.
func testSortedLocking(t *testing.T, s ledger.Store) {
	rec := &lockRecorder{Store: s}
	fx := newFixture(t, rec)
	for _, u := range fixtureUsers() {
		for _, p := range fixturePartners() {
			fx.must(fx.earn(u, p, 1000))
		}
	}
	a, b := ledger.PartnerAccount("u-1", "food"), ledger.PartnerAccount("u-2", "metro")
	var wg sync.WaitGroup
	done := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := a, b
			if g%2 == 1 {
				from, to = b, a
			}
			for i := range 100 {
				_, err := fx.l.Post(fx.ctx, ledger.PostRequest{Key: fmt.Sprintf("x-%d-%d", g, i), Postings: []ledger.Posting{
					{Account: to, Asset: ledger.Points, Amount: 1}, {Account: from, Asset: ledger.Points, Amount: -1},
				}})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Raw transactions naming the same accounts in opposite orders.
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := []ledger.AccountID{b, a}
			if g == 1 {
				ids = []ledger.AccountID{a, b}
			}
			for range 100 {
				_ = s.Update(fx.ctx, func(tx ledger.Tx) error { return tx.Lock(fx.ctx, ids) })
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(deadline):
		t.Fatal("transfers in opposite directions deadlocked")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, ids := range rec.calls {
		if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
			t.Fatalf("the ledger locked %v: not sorted and unique", ids)
		}
		for _, id := range ids {
			if id.Kind() == ledger.KindIssuance {
				t.Fatalf("the ledger locked %v, including an unbounded issuance account", ids)
			}
		}
	}
	fx.check()
}

// testConcurrentWriters runs many writers of every kind at once.
func testConcurrentWriters(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	var wg sync.WaitGroup
	var ok, insufficient atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fixtureUsers()[g%len(fixtureUsers())]
			for i := range 60 {
				p := fixturePartners()[(g+i)%len(fixturePartners())]
				var err error
				switch i % 4 {
				case 0, 1:
					_, err = fx.earn(u, p, int64(1+i%7))
				case 2:
					_, err = fx.l.Spend(fx.ctx, ledger.Spend{Key: fx.key("cw"), User: u, Asset: ledger.Points, Amount: 3, To: shop})
				case 3:
					var h ledger.Entry
					h, err = fx.l.HoldSpend(fx.ctx, ledger.Spend{Key: fx.key("cwh"), User: u, Partner: p, Asset: ledger.Points, Amount: 2, To: shop})
					if err == nil {
						if i%8 == 3 {
							_, err = fx.l.Commit(fx.ctx, ledger.CommitRequest{Key: fx.key("cwc"), Hold: h.ID})
						} else {
							_, err = fx.l.Void(fx.ctx, ledger.VoidRequest{Key: fx.key("cwv"), Hold: h.ID})
						}
					}
				}
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ledger.ErrInsufficientFunds):
					insufficient.Add(1)
				default:
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if ok.Load() == 0 {
		t.Fatal("no operation succeeded")
	}
	fx.check()
}

// testUnlocked credits many fixtureUsers() from one unbounded issuance account at
// once: the deltas on the shared account must all land.
func testUnlocked(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	var wg sync.WaitGroup
	const perG, gs = 100, 8
	for g := range gs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perG {
				if _, err := fx.earn(fixtureUsers()[g%len(fixtureUsers())], "food", 2); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b, err := fx.l.Balance(fx.ctx, ledger.IssuanceAccount("food"), ledger.Points)
	if err != nil || b.Posted != -2*perG*gs {
		t.Fatalf("issuance balance = %d, %v; want %d", b.Posted, err, -2*perG*gs)
	}
	fx.check()
}

func testIdempotencyRace(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	before, err := fx.l.Changes(fx.ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	req := ledger.PostRequest{Key: "once", Postings: []ledger.Posting{
		{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: -5},
		{Account: ledger.PartnerAccount("u-1", "food"), Asset: ledger.Points, Amount: 5},
	}}
	ids := make([]ledger.EntryID, 8)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			e, err := fx.l.Post(fx.ctx, req)
			if err != nil {
				t.Error(err)
			}
			ids[g] = e.ID
		}()
	}
	close(start)
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("replays returned different entries: %v", ids)
		}
	}
	after, err := fx.l.Changes(fx.ctx, uint64(len(before)), 1000)
	if err != nil || len(after) != 1 {
		t.Fatalf("%d entries committed for one key (%v), want 1", len(after), err)
	}
	// The same key with a different request is refused.
	req.Postings[0].Amount, req.Postings[1].Amount = -6, 6
	if _, err := fx.l.Post(fx.ctx, req); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("same key, different request: %v, want ErrIdempotencyConflict", err)
	}
	// Replays of a spend that drains the balance: the replays that lose the
	// race must still get the original entry, not insufficient funds.
	spend := ledger.Spend{Key: "drain", User: "u-1", Partner: "food", Asset: ledger.Points, Amount: 5, To: shop}
	var wg2 sync.WaitGroup
	start2 := make(chan struct{})
	for g := range 8 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			<-start2
			e, err := fx.l.Spend(fx.ctx, spend)
			if err != nil {
				t.Errorf("replay of a draining spend: %v", err)
			}
			ids[g] = e.ID
		}()
	}
	close(start2)
	wg2.Wait()
	for _, id := range ids {
		if id != ids[0] || id == "" {
			t.Fatalf("replays of a draining spend returned different entries: %v", ids)
		}
	}
	fx.check()
}

func testSpendRace(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	for _, tc := range []struct {
		name    string
		partner carbon.PartnerID
	}{{"AtChild", "metro"}, {"AtParent", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			u := carbon.UserID("u-2")
			if tc.name == "AtParent" {
				u = "u-3"
			}
			fx.must(fx.earn(u, "metro", 10))
			var wg sync.WaitGroup
			var wins, poor atomic.Int32
			start := make(chan struct{})
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := fx.l.Spend(fx.ctx, ledger.Spend{Key: fmt.Sprintf("race-%s-%d", tc.name, g), User: u,
						Partner: tc.partner, Asset: ledger.Points, Amount: 7, To: shop})
					switch {
					case err == nil:
						wins.Add(1)
					case errors.Is(err, ledger.ErrInsufficientFunds):
						poor.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if wins.Load() != 1 || poor.Load() != 7 {
				t.Fatalf("%d spends succeeded and %d were refused; want 1 and 7", wins.Load(), poor.Load())
			}
			fx.check()
		})
	}
}

func testHoldRace(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	fx.must(fx.earn("u-1", "food", 50))
	h, err := fx.l.HoldSpend(fx.ctx, ledger.Spend{Key: "hr", User: "u-1", Partner: "food", Asset: ledger.Points, Amount: 40, To: shop})
	fx.must(h, err)
	var wg sync.WaitGroup
	var wins, finalised atomic.Int32
	start := make(chan struct{})
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var err error
			if g%2 == 0 {
				_, err = fx.l.Commit(fx.ctx, ledger.CommitRequest{Key: fmt.Sprintf("hrc-%d", g), Hold: h.ID})
			} else {
				_, err = fx.l.Void(fx.ctx, ledger.VoidRequest{Key: fmt.Sprintf("hrv-%d", g), Hold: h.ID})
			}
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ledger.ErrHoldFinalised):
				finalised.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || finalised.Load() != 7 {
		t.Fatalf("%d resolutions succeeded, %d refused; want 1 and 7", wins.Load(), finalised.Load())
	}
	fx.check()
}

// testReversalRace reverses a spend twice at once: the second call looks
// the reversal's once-only key up while the first holds the locks, finds it
// free, and builds its reversal only once the first has committed. The
// shop could refund the spend twice, so the key alone stands between the
// calls and a double refund, and the second must report it as taken: under
// another key with ErrAlreadyReversed, under the same key (a retry of the
// same request) with the first call's entry.
func testReversalRace(t *testing.T, newStore func(t *testing.T) ledger.Store) {
	for _, sameKey := range []bool{false, true} {
		t.Run(fmt.Sprintf("sameKey=%v", sameKey), func(t *testing.T) {
			ps := &pausing{Store: newStore(t), locked: make(chan struct{}), release: make(chan struct{}), locking: make(chan struct{})}
			fx := newFixture(t, ps)
			fx.must(fx.earn("u-1", "food", 50))
			sp, err := fx.l.Spend(fx.ctx, ledger.Spend{Key: "rs-1", User: "u-1", Partner: "food", Asset: ledger.Points, Amount: 40, To: shop})
			fx.must(sp, err)
			fx.must(fx.earn("u-2", "food", 40))
			fx.must(fx.l.Spend(fx.ctx, ledger.Spend{Key: "rs-2", User: "u-2", Partner: "food", Asset: ledger.Points, Amount: 40, To: shop}))

			ps.armed.Store(true)
			var first, second ledger.Entry
			var err1, err2 error
			done := make(chan struct{})
			go func() {
				defer close(done)
				first, err1 = fx.l.Reverse(fx.ctx, ledger.ReverseRequest{Key: "rr-1", Entry: sp.ID})
			}()
			<-ps.locked
			key := "rr-2"
			if sameKey {
				key = "rr-1"
			}
			go func() {
				<-ps.locking // the second has looked its keys up
				close(ps.release)
			}()
			second, err2 = fx.l.Reverse(fx.ctx, ledger.ReverseRequest{Key: key, Entry: sp.ID})
			<-done
			if err1 != nil {
				t.Fatal(err1)
			}
			switch {
			case sameKey && (err2 != nil || second.ID != first.ID):
				t.Errorf("the same request again: entry %q, %v; want the first call's %q", second.ID, err2, first.ID)
			case !sameKey && !errors.Is(err2, ledger.ErrAlreadyReversed):
				t.Errorf("under another key: entry %q, %v; want ErrAlreadyReversed", second.ID, err2)
			}
			if b, err := fx.l.Balance(fx.ctx, ledger.PartnerAccount("u-1", "food"), ledger.Points); err != nil || b.Posted != 50 {
				t.Errorf("u-1 holds %+v, %v; want the 50 earned", b, err)
			}
			fx.check()
		})
	}
}

// pausing is a Store whose first transaction, once armed, waits after
// taking its locks until release is closed, and whose second closes
// locking as it asks for its locks. It hides the optional interfaces of the
// store it wraps, so the Ledger takes every lock with Lock.
type pausing struct {
	ledger.Store
	armed                    atomic.Bool
	n                        atomic.Int32
	locked, release, locking chan struct{}
}

func (s *pausing) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	var no int32
	if s.armed.Load() {
		no = s.n.Add(1)
	}
	return s.Store.Update(ctx, func(tx ledger.Tx) error { return fn(&pausingTx{Tx: tx, s: s, no: no}) })
}

type pausingTx struct {
	ledger.Tx
	s  *pausing
	no int32 // the transaction's number since armed, 0 before
}

func (t *pausingTx) Lock(ctx context.Context, ids []ledger.AccountID) error {
	if t.no == 2 {
		close(t.s.locking)
	}
	err := t.Tx.Lock(ctx, ids)
	if t.no == 1 {
		close(t.s.locked)
		<-t.s.release
	}
	return err
}

// testViewIsolation reads the trial balance while transfers commit: every
// read must see whole transactions only.
func testViewIsolation(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := fx.earn(fixtureUsers()[g], fixturePartners()[i%len(fixturePartners())], 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 50 {
		totals, err := fx.l.TrialBalance(fx.ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tot := range totals {
			if tot.Sum != 0 {
				close(stop)
				wg.Wait()
				t.Fatalf("a read saw half a transaction: %s sums to %d", tot.Asset, tot.Sum)
			}
		}
	}
	close(stop)
	wg.Wait()
	fx.check()
}

func testHistory(t *testing.T, s ledger.Store) {
	fx := newFixture(t, s)
	acct := ledger.PartnerAccount("u-1", "food")
	var want []ledger.EntryID
	for i := range 7 {
		e, err := fx.earn("u-1", "food", int64(i+1))
		fx.must(e, err)
		want = append(want, e.ID)
		fx.clock.Advance(time.Hour)
	}
	var got []ledger.EntryID
	cursor := ""
	for {
		page, err := fx.l.History(fx.ctx, acct, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			got = append(got, e.ID)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("history = %v, want %v", got, want)
	}
	at, err := fx.l.BalanceAt(fx.ctx, acct, ledger.Points, time.Date(2026, 1, 1, 2, 30, 0, 0, time.UTC))
	if err != nil || at != 1+2+3 {
		t.Fatalf("BalanceAt after three earns = %d, %v; want 6", at, err)
	}
	if _, err := fx.l.History(fx.ctx, acct, "not-a-cursor", 3); !errors.Is(err, ledger.ErrInvalidCursor) {
		t.Fatalf("History with a bad cursor: %v, want ErrInvalidCursor", err)
	}
	fx.check()
}
