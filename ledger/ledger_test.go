package ledger_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/ledger/storetest"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// env is a ledger over a memstore with a test clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	l     *ledger.Ledger
	s     ledger.Store
	clock *carbon.TestClock
}

func newEnv(t *testing.T, opts *ledger.Options) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), s: memstore.New(), clock: carbon.NewTestClock(t0)}
	var o ledger.Options
	if opts != nil {
		o = *opts
	}
	o.Clock = e.clock
	l, err := ledger.New(e.s, &o)
	require.NoError(t, err)
	e.l = l
	return e
}

// user opens a user with the partners given.
func (e *env) user(u carbon.UserID, ps ...carbon.PartnerID) {
	e.t.Helper()
	_, err := e.l.OpenUser(e.ctx, u)
	require.NoError(e.t, err)
	for _, p := range ps {
		_, err := e.l.LinkPartner(e.ctx, u, p)
		require.NoError(e.t, err)
	}
}

func (e *env) earn(key string, u carbon.UserID, p carbon.PartnerID, n int64) ledger.Entry {
	e.t.Helper()
	en, err := e.l.Post(e.ctx, ledger.PostRequest{Key: key, Postings: []ledger.Posting{
		{Account: ledger.IssuanceAccount(p), Asset: ledger.Points, Amount: -n},
		{Account: ledger.PartnerAccount(u, p), Asset: ledger.Points, Amount: n},
	}})
	require.NoError(e.t, err)
	return en
}

func (e *env) posted(id ledger.AccountID) int64 {
	e.t.Helper()
	b, err := e.l.Balance(e.ctx, id, ledger.Points)
	require.NoError(e.t, err)
	return b.Posted
}

func (e *env) check() {
	e.t.Helper()
	require.NoError(e.t, storetest.CheckInvariants(e.ctx, e.l, e.s))
}

func (e *env) snapshot() string {
	e.t.Helper()
	s, err := storetest.Snapshot(e.ctx, e.l, e.s)
	require.NoError(e.t, err)
	return s
}

const shop = ledger.AccountID("merchant shop")

// TestBadInput checks that each kind of bad request gets its typed error
// and changes nothing.
func TestBadInput(t *testing.T) {
	e := newEnv(t, nil)
	e.user("u", "food", "metro")
	e.user("v", "food")
	_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	earned := e.earn("earn-1", "u", "food", 100)
	hold, err := e.l.HoldSpend(e.ctx, ledger.Spend{Key: "hold-1", User: "u", Partner: "food", Asset: ledger.Points, Amount: 10, To: shop})
	require.NoError(t, err)
	done, err := e.l.HoldSpend(e.ctx, ledger.Spend{Key: "hold-2", User: "u", Partner: "food", Asset: ledger.Points, Amount: 5, To: shop,
		Deadline: t0.Add(time.Hour)})
	require.NoError(t, err)
	_, err = e.l.Void(e.ctx, ledger.VoidRequest{Key: "void-2", Hold: done.ID})
	require.NoError(t, err)
	expiring, err := e.l.HoldSpend(e.ctx, ledger.Spend{Key: "hold-3", User: "u", Partner: "food", Asset: ledger.Points, Amount: 5, To: shop,
		Deadline: t0.Add(time.Minute)})
	require.NoError(t, err)
	reversal, err := e.l.Reverse(e.ctx, ledger.ReverseRequest{Key: "rev-1", Entry: e.earn("earn-2", "u", "metro", 7).ID})
	require.NoError(t, err)
	_, err = e.l.LinkPartner(e.ctx, "u", "gone")
	require.NoError(t, err)
	_, err = e.l.UnlinkPartner(e.ctx, "u", "gone")
	require.NoError(t, err)
	e.clock.Advance(2 * time.Minute) // hold-3 is past its deadline

	transfer := func(ps ...ledger.Posting) func() error {
		return func() error {
			_, err := e.l.Post(e.ctx, ledger.PostRequest{Key: "bad", Postings: ps})
			return err
		}
	}
	uf, um := ledger.PartnerAccount("u", "food"), ledger.PartnerAccount("u", "metro")
	iss := ledger.IssuanceAccount("food")
	pts := ledger.Points
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"Unbalanced", transfer(ledger.Posting{Account: iss, Asset: pts, Amount: -5}, ledger.Posting{Account: uf, Asset: pts, Amount: 4}), ledger.ErrUnbalanced},
		{"UnbalancedPerAsset", transfer(ledger.Posting{Account: iss, Asset: pts, Amount: -5}, ledger.Posting{Account: uf, Asset: ledger.CNY, Amount: 5}), ledger.ErrUnbalanced},
		{"UnknownAsset", transfer(ledger.Posting{Account: iss, Asset: "XYZ", Amount: -5}, ledger.Posting{Account: uf, Asset: "XYZ", Amount: 5}), ledger.ErrUnknownAsset},
		{"UnknownAccount", transfer(ledger.Posting{Account: iss, Asset: pts, Amount: -5}, ledger.Posting{Account: ledger.PartnerAccount("nobody", "food"), Asset: pts, Amount: 5}), ledger.ErrUnknownAccount},
		{"UnknownSystemAccount", transfer(ledger.Posting{Account: ledger.IssuanceAccount("nobody"), Asset: pts, Amount: -5}, ledger.Posting{Account: uf, Asset: pts, Amount: 5}), ledger.ErrUnknownAccount},
		{"MalformedAccount", transfer(ledger.Posting{Account: "bank vault", Asset: pts, Amount: -5}, ledger.Posting{Account: uf, Asset: pts, Amount: 5}), ledger.ErrInvalidRequest},
		{"ZeroAmount", transfer(ledger.Posting{Account: iss, Asset: pts, Amount: 0}, ledger.Posting{Account: uf, Asset: pts, Amount: 0}), ledger.ErrInvalidAmount},
		{"MinInt64", transfer(ledger.Posting{Account: iss, Asset: pts, Amount: math.MinInt64}, ledger.Posting{Account: uf, Asset: pts, Amount: 1}), ledger.ErrInvalidAmount},
		{"SumOverflows", transfer(ledger.Posting{Account: iss, Asset: pts, Amount: math.MaxInt64}, ledger.Posting{Account: uf, Asset: pts, Amount: math.MaxInt64},
			ledger.Posting{Account: um, Asset: pts, Amount: -2}), ledger.ErrOverflow},
		{"BalanceOverflows", transfer(ledger.Posting{Account: iss, Asset: pts, Amount: -math.MaxInt64}, ledger.Posting{Account: uf, Asset: pts, Amount: math.MaxInt64}), ledger.ErrOverflow},
		{"DuplicatePosting", transfer(ledger.Posting{Account: uf, Asset: pts, Amount: -5}, ledger.Posting{Account: uf, Asset: pts, Amount: 5}), ledger.ErrInvalidRequest},
		{"NoPostings", transfer(), ledger.ErrInvalidRequest},
		{"InsufficientFunds", transfer(ledger.Posting{Account: um, Asset: pts, Amount: -1}, ledger.Posting{Account: shop, Asset: pts, Amount: 1}), ledger.ErrInsufficientFunds},
		{"HeldIsNotAvailable", transfer(ledger.Posting{Account: uf, Asset: pts, Amount: -86}, ledger.Posting{Account: shop, Asset: pts, Amount: 86}), ledger.ErrInsufficientFunds},
		{"MerchantCannotOverdraw", transfer(ledger.Posting{Account: shop, Asset: pts, Amount: -1}, ledger.Posting{Account: uf, Asset: pts, Amount: 1}), ledger.ErrInsufficientFunds},
		{"ClosedAccount", transfer(ledger.Posting{Account: iss, Asset: pts, Amount: -5}, ledger.Posting{Account: ledger.PartnerAccount("u", "gone"), Asset: pts, Amount: 5}), ledger.ErrAccountClosed},
		{"EmptyKey", func() error {
			_, err := e.l.Post(e.ctx, ledger.PostRequest{Postings: []ledger.Posting{{Account: iss, Asset: pts, Amount: -1}, {Account: uf, Asset: pts, Amount: 1}}})
			return err
		}, ledger.ErrInvalidRequest},
		{"KeyWithSpace", func() error {
			_, err := e.l.Post(e.ctx, ledger.PostRequest{Key: "a b", Postings: []ledger.Posting{{Account: iss, Asset: pts, Amount: -1}, {Account: uf, Asset: pts, Amount: 1}}})
			return err
		}, ledger.ErrInvalidRequest},
		{"MetadataTooLong", func() error {
			_, err := e.l.Post(e.ctx, ledger.PostRequest{Key: "m", Metadata: map[string]string{"k": strings.Repeat("x", 2000)},
				Postings: []ledger.Posting{{Account: iss, Asset: pts, Amount: -1}, {Account: uf, Asset: pts, Amount: 1}}})
			return err
		}, ledger.ErrInvalidRequest},
		{"KeyReusedWithDifferentBody", func() error {
			_, err := e.l.Post(e.ctx, ledger.PostRequest{Key: "earn-1", Postings: []ledger.Posting{{Account: iss, Asset: pts, Amount: -101}, {Account: uf, Asset: pts, Amount: 101}}})
			return err
		}, ledger.ErrIdempotencyConflict},
		{"KeyReusedByAnotherOperation", func() error {
			_, err := e.l.Spend(e.ctx, ledger.Spend{Key: "earn-1", User: "u", Partner: "food", Asset: pts, Amount: 1, To: shop})
			return err
		}, ledger.ErrIdempotencyConflict},
		{"SpendZero", func() error {
			_, err := e.l.Spend(e.ctx, ledger.Spend{Key: "s0", User: "u", Asset: pts, Amount: 0, To: shop})
			return err
		}, ledger.ErrInvalidAmount},
		{"SpendNegative", func() error {
			_, err := e.l.Spend(e.ctx, ledger.Spend{Key: "s0", User: "u", Asset: pts, Amount: -3, To: shop})
			return err
		}, ledger.ErrInvalidAmount},
		{"SpendTooMuchAtParent", func() error {
			_, err := e.l.Spend(e.ctx, ledger.Spend{Key: "s0", User: "u", Asset: pts, Amount: 86, To: shop})
			return err
		}, ledger.ErrInsufficientFunds},
		{"SpendUnknownUser", func() error {
			_, err := e.l.Spend(e.ctx, ledger.Spend{Key: "s0", User: "nobody", Asset: pts, Amount: 1, To: shop})
			return err
		}, ledger.ErrUnknownAccount},
		{"SpendToOwnAccount", func() error {
			_, err := e.l.Spend(e.ctx, ledger.Spend{Key: "s0", User: "u", Asset: pts, Amount: 1, To: um})
			return err
		}, ledger.ErrInvalidRequest},
		{"SpendWithDeadline", func() error {
			_, err := e.l.Spend(e.ctx, ledger.Spend{Key: "s0", User: "u", Asset: pts, Amount: 1, To: shop, Deadline: t0.Add(day)})
			return err
		}, ledger.ErrInvalidRequest},
		{"CommitTwice", func() error {
			_, err := e.l.Commit(e.ctx, ledger.CommitRequest{Key: "c-x", Hold: done.ID})
			return err
		}, ledger.ErrHoldFinalised},
		{"VoidTwice", func() error {
			_, err := e.l.Void(e.ctx, ledger.VoidRequest{Key: "v-x", Hold: done.ID})
			return err
		}, ledger.ErrHoldFinalised},
		{"CommitAboveHold", func() error {
			_, err := e.l.Commit(e.ctx, ledger.CommitRequest{Key: "c-y", Hold: hold.ID, Amount: 11})
			return err
		}, ledger.ErrCommitExceedsHold},
		{"CommitNegative", func() error {
			_, err := e.l.Commit(e.ctx, ledger.CommitRequest{Key: "c-y", Hold: hold.ID, Amount: -1})
			return err
		}, ledger.ErrInvalidAmount},
		{"CommitAfterDeadline", func() error {
			_, err := e.l.Commit(e.ctx, ledger.CommitRequest{Key: "c-z", Hold: expiring.ID})
			return err
		}, ledger.ErrHoldExpired},
		{"CommitNotAHold", func() error {
			_, err := e.l.Commit(e.ctx, ledger.CommitRequest{Key: "c-z", Hold: earned.ID})
			return err
		}, ledger.ErrNotHold},
		{"CommitUnknown", func() error {
			_, err := e.l.Commit(e.ctx, ledger.CommitRequest{Key: "c-z", Hold: "nope"})
			return err
		}, ledger.ErrUnknownEntry},
		{"HoldDeadlineInPast", func() error {
			_, err := e.l.HoldSpend(e.ctx, ledger.Spend{Key: "h-p", User: "u", Partner: "food", Asset: pts, Amount: 1, To: shop, Deadline: t0})
			return err
		}, ledger.ErrInvalidRequest},
		{"ReversalOfReversal", func() error {
			_, err := e.l.Reverse(e.ctx, ledger.ReverseRequest{Key: "r-r", Entry: reversal.ID})
			return err
		}, ledger.ErrReversalOfReversal},
		{"ReverseTwice", func() error {
			_, err := e.l.Reverse(e.ctx, ledger.ReverseRequest{Key: "r-again", Entry: reversal.Ref})
			return err
		}, ledger.ErrAlreadyReversed},
		{"ReverseHold", func() error {
			_, err := e.l.Reverse(e.ctx, ledger.ReverseRequest{Key: "r-h", Entry: hold.ID})
			return err
		}, ledger.ErrNotReversible},
		{"ReverseSpentCredit", func() error {
			// earn-1 credited 100; 20 of it is held, so taking all 100 back
			// would leave the holds uncovered.
			_, err := e.l.Reverse(e.ctx, ledger.ReverseRequest{Key: "r-e", Entry: earned.ID})
			return err
		}, ledger.ErrInsufficientFunds},
		{"OpenAccountOtherPolicy", func() error {
			_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{Overdraft: true, Limit: 5})
			return err
		}, ledger.ErrAccountExists},
		{"OpenUserAccountAsSystem", func() error {
			_, err := e.l.OpenAccount(e.ctx, um, ledger.BalancePolicy{})
			return err
		}, ledger.ErrInvalidRequest},
		{"LinkUnknownUser", func() error {
			_, err := e.l.LinkPartner(e.ctx, "nobody", "food")
			return err
		}, ledger.ErrUnknownAccount},
		{"UnlinkUnknown", func() error {
			_, err := e.l.UnlinkPartner(e.ctx, "u", "never")
			return err
		}, ledger.ErrUnknownAccount},
		{"BadUserID", func() error {
			_, err := e.l.OpenUser(e.ctx, "has space")
			return err
		}, ledger.ErrInvalidRequest},
		{"BalanceUnknownAsset", func() error {
			_, err := e.l.Balance(e.ctx, uf, "NOPE")
			return err
		}, ledger.ErrUnknownAsset},
		{"HistoryBadLimit", func() error {
			_, err := e.l.History(e.ctx, uf, "", 0)
			return err
		}, ledger.ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			err := tc.call()
			t.Log(err)
			require.ErrorIs(t, err, tc.want)
			var le *ledger.Error
			require.ErrorAs(t, err, &le)
			require.NotEmpty(t, le.Op)
			msg := err.Error()
			require.True(t, strings.HasPrefix(msg, "ledger: "), msg)
			require.Equal(t, before, e.snapshot(), "a rejected call changed the ledger")
		})
	}
	e.check()
}

func TestIdempotentReplay(t *testing.T) {
	e := newEnv(t, nil)
	e.user("u", "food")
	first := e.earn("k", "u", "food", 9)
	e.clock.Advance(time.Hour)
	again := e.earn("k", "u", "food", 9)
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, first.Hash, again.Hash)
	require.Equal(t, int64(9), e.posted(ledger.PartnerAccount("u", "food")))
	e.check()
}

// TestEntryByKey finds the entries that writes under caller keys
// committed (a post, a hold's commit), and nothing under a key never used
// or under the Ledger's own keys.
func TestEntryByKey(t *testing.T) {
	e := newEnv(t, nil)
	e.user("u", "food")
	_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	earned := e.earn("earn-1", "u", "food", 9)
	h, err := e.l.HoldSpend(e.ctx, ledger.Spend{Key: "hold-1", User: "u", Asset: ledger.Points, Amount: 4, To: shop})
	require.NoError(t, err)
	c, err := e.l.Commit(e.ctx, ledger.CommitRequest{Key: "commit-1", Hold: h.ID})
	require.NoError(t, err)
	for key, want := range map[string]ledger.Entry{"earn-1": earned, "hold-1": h, "commit-1": c} {
		got, err := e.l.EntryByKey(e.ctx, key)
		require.NoError(t, err, key)
		require.Equal(t, want.ID, got.ID, key)
		require.Equal(t, want.Postings, got.Postings, key)
	}
	for _, key := range []string{"earn-2", string(h.ID), "h:" + string(h.ID)} {
		_, err := e.l.EntryByKey(e.ctx, key)
		require.ErrorIs(t, err, ledger.ErrUnknownEntry, key)
	}
	_, err = e.l.EntryByKey(e.ctx, "")
	require.ErrorIs(t, err, ledger.ErrInvalidRequest)
	_, err = e.l.EntryByKey(e.ctx, "has space")
	require.ErrorIs(t, err, ledger.ErrInvalidRequest)
}

func TestSpendAllocation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alloc *ledger.Allocation
		want  map[carbon.PartnerID]int64 // what is left in each child
	}{
		{"SoonestExpiringFirst", nil, map[carbon.PartnerID]int64{"a": 0, "b": 10, "c": 30}},
		{"PartnerPriority", &ledger.Allocation{Priority: []carbon.PartnerID{"c"}}, map[carbon.PartnerID]int64{"a": 20, "b": 20, "c": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, &ledger.Options{Expiry: ledger.ExpireAfter(10 * day)})
			e.user("u", "a", "b", "c")
			_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
			require.NoError(t, err)
			e.clock.Set(t0.Add(2 * day))
			e.earn("c", "u", "c", 30) // expires day 12
			e.clock.Set(t0)
			e.earn("a", "u", "a", 20) // expires day 10
			e.clock.Set(t0.Add(1 * day))
			e.earn("b", "u", "b", 20) // expires day 11
			debits, err := e.l.Allocate(e.ctx, "u", ledger.Points, 30, tc.alloc)
			require.NoError(t, err)
			spent, err := e.l.Spend(e.ctx, ledger.Spend{Key: "s", User: "u", Asset: ledger.Points, Amount: 30, To: shop, Allocation: tc.alloc})
			require.NoError(t, err)
			require.Equal(t, spent.Postings[:len(spent.Postings)-1], debits, "Allocate foresaw the spend's debits")
			for p, left := range tc.want {
				require.Equal(t, left, e.posted(ledger.PartnerAccount("u", p)), "child %s", p)
			}
			var took int64
			for _, u := range spent.Lots {
				took += u.Amount
			}
			require.Equal(t, int64(30), took, "lots recorded")
			e.check()
		})
	}
}

// TestAllocateMatchesSpend builds random users (lots of random expiries in
// several children and the parent, some of them held) and checks that
// Allocate foresees exactly the debits of the Spend made right after it,
// under both allocations, or fails as the Spend does.
func TestAllocateMatchesSpend(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	e := newEnv(t, &ledger.Options{Expiry: ledger.ExpireAfter(10 * day)})
	_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	partners := []carbon.PartnerID{"a", "b", "c"}
	spends, shorts := 0, 0
	for u := range 40 {
		user := carbon.UserID("u" + strconv.Itoa(u))
		e.user(user, partners...)
		for i := range 2 + r.IntN(12) {
			e.clock.Set(t0.Add(time.Duration(r.IntN(5*24)) * time.Hour))
			e.earn(string(user)+"-e"+strconv.Itoa(i), user, partners[r.IntN(len(partners))], 1+r.Int64N(20))
		}
		e.clock.Set(t0.Add(5 * day))
		if r.IntN(2) == 0 {
			_, err := e.l.HoldSpend(e.ctx, ledger.Spend{Key: string(user) + "-h", User: user, Asset: ledger.Points, Amount: 1 + r.Int64N(15), To: shop})
			require.True(t, err == nil || errors.Is(err, ledger.ErrInsufficientFunds), "%v", err)
		}
		for i := range 4 {
			alloc := &ledger.Allocation{}
			if r.IntN(2) == 0 {
				alloc.Priority = []carbon.PartnerID{partners[r.IntN(len(partners))]}
			}
			amount := 1 + r.Int64N(60)
			debits, aerr := e.l.Allocate(e.ctx, user, ledger.Points, amount, alloc)
			spent, serr := e.l.Spend(e.ctx, ledger.Spend{Key: string(user) + "-s" + strconv.Itoa(i), User: user, Asset: ledger.Points,
				Amount: amount, To: shop, Allocation: alloc})
			if serr != nil {
				require.ErrorIs(t, serr, ledger.ErrInsufficientFunds)
				require.ErrorIs(t, aerr, ledger.ErrInsufficientFunds, "Allocate agreed to what Spend refused")
				shorts++
				continue
			}
			require.NoError(t, aerr)
			require.Equal(t, spent.Postings[:len(spent.Postings)-1], debits)
			spends++
		}
	}
	require.Greater(t, spends, 20)
	require.Greater(t, shorts, 5)
	e.check()

	// Bad input changes nothing and gets its typed error.
	before := e.snapshot()
	for _, tc := range []struct {
		user   carbon.UserID
		asset  ledger.Asset
		amount int64
		alloc  *ledger.Allocation
		want   error
	}{
		{"", ledger.Points, 1, nil, ledger.ErrInvalidRequest},
		{"u0", "NOPE", 1, nil, ledger.ErrUnknownAsset},
		{"u0", ledger.Points, 0, nil, ledger.ErrInvalidAmount},
		{"u0", ledger.Points, -5, nil, ledger.ErrInvalidAmount},
		{"u0", ledger.Points, 1, &ledger.Allocation{Priority: []carbon.PartnerID{"bad partner"}}, ledger.ErrInvalidRequest},
		{"nobody", ledger.Points, 1, nil, ledger.ErrUnknownAccount},
		{"u0", ledger.Points, 1 << 62, nil, ledger.ErrInsufficientFunds},
	} {
		_, err := e.l.Allocate(e.ctx, tc.user, tc.asset, tc.amount, tc.alloc)
		require.ErrorIs(t, err, tc.want, "%+v", tc)
	}
	require.Equal(t, before, e.snapshot())
}

func TestSpendInMallDebitsThatChildOnly(t *testing.T) {
	e := newEnv(t, nil)
	e.user("u", "a", "b")
	_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	e.earn("a", "u", "a", 5)
	e.earn("b", "u", "b", 50)
	_, err = e.l.Spend(e.ctx, ledger.Spend{Key: "s", User: "u", Partner: "a", Asset: ledger.Points, Amount: 6, To: shop})
	require.ErrorIs(t, err, ledger.ErrInsufficientFunds)
	_, err = e.l.Spend(e.ctx, ledger.Spend{Key: "s2", User: "u", Partner: "a", Asset: ledger.Points, Amount: 5, To: shop})
	require.NoError(t, err)
	require.Equal(t, int64(50), e.posted(ledger.PartnerAccount("u", "b")))
	e.check()
}

func TestReversalRestoresLots(t *testing.T) {
	e := newEnv(t, &ledger.Options{Expiry: ledger.ExpireAfter(10 * day)})
	e.user("u", "a")
	_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	first := e.earn("e1", "u", "a", 10)
	e.clock.Advance(day)
	e.earn("e2", "u", "a", 10)
	spend, err := e.l.Spend(e.ctx, ledger.Spend{Key: "s", User: "u", Asset: ledger.Points, Amount: 15, To: shop})
	require.NoError(t, err)
	rev, err := e.l.Reverse(e.ctx, ledger.ReverseRequest{Key: "r", Entry: spend.ID})
	require.NoError(t, err)
	require.Equal(t, spend.ID, rev.Ref)
	lots, err := e.l.Lots(e.ctx, ledger.PartnerAccount("u", "a"), ledger.Points)
	require.NoError(t, err)
	require.Len(t, lots, 2)
	require.Equal(t, first.ID, lots[0].ID.Entry)
	require.Equal(t, int64(10), lots[0].Remaining)
	require.Equal(t, int64(10), lots[1].Remaining)
	// The same key returns the same reversal.
	again, err := e.l.Reverse(e.ctx, ledger.ReverseRequest{Key: "r", Entry: spend.ID})
	require.NoError(t, err)
	require.Equal(t, rev.ID, again.ID)
	e.check()
}

func TestExpiryLeavesHeldPoints(t *testing.T) {
	e := newEnv(t, &ledger.Options{Expiry: ledger.ExpireAfter(10 * day)})
	e.user("u", "a")
	_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	e.earn("e1", "u", "a", 10)
	h, err := e.l.HoldSpend(e.ctx, ledger.Spend{Key: "h", User: "u", Partner: "a", Asset: ledger.Points, Amount: 4, To: shop})
	require.NoError(t, err)
	e.clock.Advance(11 * day)
	es, err := e.l.Expire(e.ctx, e.clock.Now())
	require.NoError(t, err)
	require.Len(t, es, 1)
	acct := ledger.PartnerAccount("u", "a")
	require.Equal(t, int64(4), e.posted(acct), "the held 4 points stay")
	brk, err := e.l.Balance(e.ctx, ledger.BreakageAccount(), ledger.Points)
	require.NoError(t, err)
	require.Equal(t, int64(6), brk.Posted)
	e.check()
	// Replaying the same expiry returns the same entries and moves nothing.
	again, err := e.l.Expire(e.ctx, e.clock.Now())
	require.NoError(t, err)
	require.Empty(t, again)
	_, err = e.l.Commit(e.ctx, ledger.CommitRequest{Key: "c", Hold: h.ID})
	require.NoError(t, err)
	require.Equal(t, int64(0), e.posted(acct))
	e.check()
}

func TestHoldLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	e.user("u", "a")
	_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	e.earn("e1", "u", "a", 10)
	acct := ledger.PartnerAccount("u", "a")
	h, err := e.l.HoldSpend(e.ctx, ledger.Spend{Key: "h", User: "u", Partner: "a", Asset: ledger.Points, Amount: 8, To: shop,
		Deadline: t0.Add(time.Hour)})
	require.NoError(t, err)
	b, err := e.l.Balance(e.ctx, acct, ledger.Points)
	require.NoError(t, err)
	avail, _ := b.Available()
	require.Equal(t, ledger.Balance{Posted: 10, Held: 8}, b)
	require.Equal(t, int64(2), avail)
	st, err := e.l.HoldStatus(e.ctx, h.ID)
	require.NoError(t, err)
	require.True(t, st.Pending)
	c, err := e.l.Commit(e.ctx, ledger.CommitRequest{Key: "c", Hold: h.ID, Amount: 6})
	require.NoError(t, err)
	require.Equal(t, ledger.KindCommit, c.Kind)
	b, err = e.l.Balance(e.ctx, acct, ledger.Points)
	require.NoError(t, err)
	require.Equal(t, ledger.Balance{Posted: 4, Held: 0}, b)
	st, err = e.l.HoldStatus(e.ctx, h.ID)
	require.NoError(t, err)
	require.False(t, st.Pending)
	require.Equal(t, c.ID, st.ResolvedBy)
	e.check()
}

func TestAssets(t *testing.T) {
	e := newEnv(t, nil)
	require.NoError(t, e.l.RegisterAsset("GOLD", 4))
	require.NoError(t, e.l.RegisterAsset("GOLD", 4))
	require.ErrorIs(t, e.l.RegisterAsset("GOLD", 2), ledger.ErrAssetExists)
	require.ErrorIs(t, e.l.RegisterAsset(ledger.Points, 2), ledger.ErrAssetExists)
	require.ErrorIs(t, e.l.RegisterAsset("bad asset", 2), ledger.ErrInvalidRequest)
	require.ErrorIs(t, e.l.RegisterAsset("BIG", 19), ledger.ErrInvalidRequest)

	n, err := e.l.Amount(ledger.CNY, decimal.RequireFromString("3.255"), carbon.HalfEven)
	require.NoError(t, err)
	require.Equal(t, int64(326), n)
	n, err = e.l.Amount(ledger.CNY, decimal.RequireFromString("3.259"), carbon.TowardZero)
	require.NoError(t, err)
	require.Equal(t, int64(325), n)
	_, err = e.l.Amount(ledger.CNY, decimal.RequireFromString("1e30"), carbon.TowardZero)
	require.ErrorIs(t, err, ledger.ErrOverflow)
	_, err = e.l.Amount("NOPE", decimal.Zero, carbon.TowardZero)
	require.ErrorIs(t, err, ledger.ErrUnknownAsset)
	_, err = e.l.Amount(ledger.CNY, decimal.Zero, carbon.Rounding(0))
	require.ErrorIs(t, err, ledger.ErrInvalidRequest)
	// Decimals whose exponents shifting would overflow, or expand to
	// millions of digits first.
	for _, exp := range []int32{math.MaxInt32, math.MinInt32, 1 << 23} {
		require.NotPanics(t, func() {
			_, err = e.l.Amount(ledger.CNY, decimal.New(1, exp), carbon.TowardZero)
		}, "1e%d", exp)
		require.ErrorIs(t, err, ledger.ErrInvalidRequest, "1e%d", exp)
	}
	_, err = ledger.MassAmount(carbon.Grams(decimal.New(1, math.MaxInt32-1)), carbon.TowardZero)
	require.ErrorIs(t, err, ledger.ErrInvalidRequest)

	m, err := carbon.ParseMass("1.5kg")
	require.NoError(t, err)
	mg, err := ledger.MassAmount(m, carbon.TowardZero)
	require.NoError(t, err)
	require.Equal(t, int64(1_500_000), mg)
	d, err := e.l.Decimal(ledger.CNY, 325)
	require.NoError(t, err)
	require.True(t, d.Equal(decimal.RequireFromString("3.25")))
}

func TestAccountIDs(t *testing.T) {
	for _, tc := range []struct {
		id      ledger.AccountID
		kind    ledger.AccountKind
		user    carbon.UserID
		partner carbon.PartnerID
		parent  ledger.AccountID
	}{
		{ledger.UserAccount("u-1"), ledger.KindUser, "u-1", "", ""},
		{ledger.PartnerAccount("u-1", "metro"), ledger.KindPartner, "u-1", "metro", "user u-1"},
		{ledger.IssuanceAccount("metro"), ledger.KindIssuance, "", "metro", ""},
		{ledger.BreakageAccount(), ledger.KindBreakage, "", "", ""},
		{ledger.CharityAccount("rc"), ledger.KindCharity, "", "", ""},
		{ledger.MerchantAccount("m"), ledger.KindMerchant, "", "", ""},
		{ledger.SponsorAccount("s"), ledger.KindSponsor, "", "", ""},
		{"user", ledger.KindInvalid, "", "", ""},
		{"user a b c", ledger.KindInvalid, "", "", ""},
		{"breakage x", ledger.KindInvalid, "", "", ""},
		{"bank x", ledger.KindInvalid, "", "", ""},
		{"", ledger.KindInvalid, "", "", ""},
	} {
		t.Run(string(tc.id), func(t *testing.T) {
			require.Equal(t, tc.kind, tc.id.Kind())
			require.Equal(t, tc.user, tc.id.User())
			require.Equal(t, tc.partner, tc.id.Partner())
			require.Equal(t, tc.parent, tc.id.Parent())
			require.Equal(t, tc.kind == ledger.KindInvalid, tc.id.Validate() != nil)
		})
	}
}

func TestVerifyChainDetectsRewrite(t *testing.T) {
	e := newEnv(t, nil)
	e.user("u", "a")
	for i := range 5 {
		e.earn("e"+string(rune('0'+i)), "u", "a", int64(i+1))
	}
	n, err := e.l.VerifyChain(e.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(7-2), n) // five earns (account opening makes no entry)
	// Rewrite the third entry behind the ledger's back: a second Ledger
	// over the same store reads it changed.
	l, err := ledger.New(tamperStore{Store: e.s, seq: 3}, nil)
	require.NoError(t, err)
	_, err = l.VerifyChain(e.ctx)
	var ce *ledger.ChainError
	require.ErrorAs(t, err, &ce)
	require.ErrorIs(t, err, ledger.ErrBrokenChain)
	require.Equal(t, uint64(3), ce.Seq)
}

// tamperStore is a Store whose change feed shows the entry with Seq seq
// with one amount changed, as a store rewritten behind the ledger's back
// would.
type tamperStore struct {
	ledger.Store
	seq uint64
}

func (s tamperStore) View(ctx context.Context, fn func(ledger.ReadTx) error) error {
	return s.Store.View(ctx, func(tx ledger.ReadTx) error { return fn(tamperTx{ReadTx: tx, seq: s.seq}) })
}

type tamperTx struct {
	ledger.ReadTx
	seq uint64
}

func (t tamperTx) Changes(ctx context.Context, after uint64, limit int) ([]*ledger.Entry, error) {
	es, err := t.ReadTx.Changes(ctx, after, limit)
	for i, e := range es {
		if e.Seq == t.seq {
			x := *e
			x.Postings = slices.Clone(e.Postings)
			x.Postings[len(x.Postings)-1].Amount++
			es[i] = &x
		}
	}
	return es, err
}

func TestNewOptions(t *testing.T) {
	_, err := ledger.New(nil, nil)
	require.ErrorIs(t, err, ledger.ErrInvalidRequest)
	_, err = ledger.New(memstore.New(), &ledger.Options{MaxRetries: -1})
	require.ErrorIs(t, err, ledger.ErrInvalidRequest)
	l, err := ledger.New(memstore.New(), nil)
	require.NoError(t, err)
	_, err = l.OpenUser(context.Background(), "u")
	require.NoError(t, err)
}

func TestUnlinkKeepsHistoryAndSpend(t *testing.T) {
	e := newEnv(t, nil)
	e.user("u", "a")
	_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	e.earn("e", "u", "a", 10)
	_, err = e.l.UnlinkPartner(e.ctx, "u", "a")
	require.NoError(t, err)
	_, err = e.l.Spend(e.ctx, ledger.Spend{Key: "s", User: "u", Asset: ledger.Points, Amount: 4, To: shop})
	require.NoError(t, err, "an unlinked child can still be spent from")
	page, err := e.l.History(e.ctx, ledger.PartnerAccount("u", "a"), "", 10)
	require.NoError(t, err)
	require.Len(t, page.Entries, 2)
	a, err := e.l.LinkPartner(e.ctx, "u", "a")
	require.NoError(t, err)
	require.False(t, a.Closed, "linking again reopens")
	e.earn("e2", "u", "a", 1)
	e.check()
}

func TestErrorMessages(t *testing.T) {
	err := &ledger.Error{Op: "Post", Kind: ledger.ErrInsufficientFunds, Detail: `account "user u a" has 1 PTS available, needs 2`}
	require.Equal(t, `ledger: Post: insufficient funds: account "user u a" has 1 PTS available, needs 2`, err.Error())
	require.True(t, errors.Is(err, ledger.ErrInsufficientFunds))
	require.False(t, errors.Is(err, ledger.ErrOverflow))
}

// TestResolutionRaceReportsFinalised resolves a hold while another
// resolution of it, past its check that the hold is pending, waits for its
// locks: the loser must report ErrHoldFinalised, not what the winner left
// behind (the points already spent).
func TestResolutionRaceReportsFinalised(t *testing.T) {
	e := newEnv(t, nil)
	e.user("u", "food")
	e.earn("earn", "u", "food", 10)
	shop := ledger.MerchantAccount("shop")
	_, err := e.l.OpenAccount(e.ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	hold, err := e.l.HoldSpend(e.ctx, ledger.Spend{Key: "hold", User: "u", Partner: "food", Asset: ledger.Points, Amount: 10, To: shop})
	require.NoError(t, err)

	// The loser's first Lock lets the winner commit the hold before it
	// locks.
	var once sync.Once
	racing := &lockHook{Store: e.s, before: func() {
		once.Do(func() {
			_, err := e.l.Commit(e.ctx, ledger.CommitRequest{Key: "winner", Hold: hold.ID})
			require.NoError(t, err)
		})
	}}
	loser, err := ledger.New(racing, &ledger.Options{Clock: e.clock})
	require.NoError(t, err)
	_, err = loser.Commit(e.ctx, ledger.CommitRequest{Key: "loser", Hold: hold.ID})
	require.ErrorIs(t, err, ledger.ErrHoldFinalised)
	e.check()
}

// lockHook is a Store that calls before ahead of every Tx.Lock.
type lockHook struct {
	ledger.Store
	before func()
}

func (s *lockHook) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	return s.Store.Update(ctx, func(tx ledger.Tx) error { return fn(lockHookTx{Tx: tx, before: s.before}) })
}

type lockHookTx struct {
	ledger.Tx
	before func()
}

func (t lockHookTx) Lock(ctx context.Context, ids []ledger.AccountID) error {
	t.before()
	return t.Tx.Lock(ctx, ids)
}

// lotCounter is a Store that counts the lots its transactions hand to the
// Ledger.
type lotCounter struct {
	ledger.Store
	read atomic.Int64
}

func (s *lotCounter) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	return s.Store.Update(ctx, func(tx ledger.Tx) error { return fn(lotCounterTx{Tx: tx, s: s}) })
}

func (s *lotCounter) View(ctx context.Context, fn func(ledger.ReadTx) error) error {
	return s.Store.View(ctx, func(tx ledger.ReadTx) error { return fn(lotCounterTx{Tx: readOnly{tx}, s: s}) })
}

// readOnly makes a ReadTx a Tx for lotCounterTx; a View never writes.
type readOnly struct{ ledger.ReadTx }

var errWriteInView = errors.New("a write in a View")

func (readOnly) Lock(context.Context, []ledger.AccountID) error             { return errWriteInView }
func (readOnly) CreateAccount(context.Context, ledger.Account) error        { return errWriteInView }
func (readOnly) UpdateAccount(context.Context, ledger.Account) error        { return errWriteInView }
func (readOnly) InsertLot(context.Context, ledger.Lot) error                { return errWriteInView }
func (readOnly) InsertEntry(context.Context, *ledger.Entry, []string) error { return errWriteInView }
func (readOnly) AddBalance(context.Context, ledger.AccountID, ledger.Asset, int64, int64) error {
	return errWriteInView
}
func (readOnly) AddLot(context.Context, ledger.AccountID, ledger.LotID, int64) error {
	return errWriteInView
}

type lotCounterTx struct {
	ledger.Tx
	s *lotCounter
}

func (t lotCounterTx) Lots(ctx context.Context, id ledger.AccountID, asset ledger.Asset, fn func(ledger.Lot) bool) error {
	return t.Tx.Lots(ctx, id, asset, func(l ledger.Lot) bool {
		t.s.read.Add(1)
		return fn(l)
	})
}

// TestSpendReadsTheLotsItTakes gives a user 400 lots across four children
// and checks that a small spend at the parent, a spend in a mall and
// Allocate read a few lots of each account, not all of them; and that a
// spend of everything reads them all.
func TestSpendReadsTheLotsItTakes(t *testing.T) {
	s := &lotCounter{Store: memstore.New()}
	l, err := ledger.New(s, nil)
	require.NoError(t, err)
	ctx := context.Background()
	partners := []carbon.PartnerID{"a", "b", "c", "d"}
	_, err = l.OpenUser(ctx, "u")
	require.NoError(t, err)
	for _, p := range partners {
		_, err := l.LinkPartner(ctx, "u", p)
		require.NoError(t, err)
	}
	_, err = l.OpenAccount(ctx, shop, ledger.BalancePolicy{})
	require.NoError(t, err)
	for i := range 400 {
		p := partners[i%len(partners)]
		_, err := l.Post(ctx, ledger.PostRequest{Key: "earn-" + strconv.Itoa(i), Postings: []ledger.Posting{
			{Account: ledger.IssuanceAccount(p), Asset: ledger.Points, Amount: -10},
			{Account: ledger.PartnerAccount("u", p), Asset: ledger.Points, Amount: 10},
		}})
		require.NoError(t, err)
	}
	for _, tc := range []struct {
		name string
		op   func() error
		max  int64
	}{
		{"SpendAtParent", func() error {
			_, err := l.Spend(ctx, ledger.Spend{Key: "s1", User: "u", Asset: ledger.Points, Amount: 15, To: shop})
			return err
		}, 2 * 4},
		{"SpendInMall", func() error {
			_, err := l.Spend(ctx, ledger.Spend{Key: "s2", User: "u", Partner: "c", Asset: ledger.Points, Amount: 15, To: shop})
			return err
		}, 2},
		{"Allocate", func() error {
			_, err := l.Allocate(ctx, "u", ledger.Points, 15, nil)
			return err
		}, 2 * 4},
	} {
		s.read.Store(0)
		require.NoError(t, tc.op(), tc.name)
		require.LessOrEqual(t, s.read.Load(), tc.max, "%s read %d lots", tc.name, s.read.Load())
		require.Positive(t, s.read.Load(), tc.name)
	}
	s.read.Store(0)
	_, err = l.Spend(ctx, ledger.Spend{Key: "all", User: "u", Asset: ledger.Points, Amount: 4000 - 30, To: shop})
	require.NoError(t, err)
	require.GreaterOrEqual(t, s.read.Load(), int64(397), "a spend of everything reads every lot")
}
