package rewards_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/ledger/storetest"
	"github.com/carbonkit/carbonkit/methodology"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

// fund gives user u points in partner p's child account by earning metro
// trips (89 points per 10 km at the base policy) or meals.
func (e *env) fund(u carbon.UserID, trips int) {
	e.t.Helper()
	for i := 0; i < trips; i++ {
		_, err := e.p.Earn(e.ctx, trip(e.t, fmt.Sprintf("fund-%s-%d", u, i), u, "10", progStart))
		require.NoError(e.t, err)
	}
}

func (e *env) addReward(r rewards.Reward) {
	e.t.Helper()
	require.NoError(e.t, e.p.AddReward(e.ctx, r))
}

func coupon(id string, cost carbon.Points, stock, perUser int64) rewards.Reward {
	return rewards.Reward{ID: id, Kind: rewards.RewardCoupon, Title: "Coffee coupon", Payee: "coffee", Cost: cost, Stock: stock, PerUser: perUser}
}

// A refused redemption whose undoing fails is an ErrStore, not the
// refusal alone: the caller must repeat it, and the repeat, refused again,
// releases the unit it had reserved. Reported as a mere refusal, the call
// was not repeated, and the last unit stayed reserved for no one.
func TestRedeemRefusedUndoFails(t *testing.T) {
	cat := &unreleasableCatalog{CatalogStore: rewards.NewMemCatalogStore()}
	e := newEnv(t, func(o *rewards.ProgrammeOptions) { o.Catalog = cat })
	e.fund("u1", 1) // 89 points; u2 has none
	e.addReward(coupon("last", 50, 1, 0))
	req := rewards.RedeemRequest{Key: "k-u2", User: "u2", RewardID: "last"}

	cat.fail.Store(true)
	_, err := e.p.Redeem(e.ctx, req)
	require.ErrorIs(t, err, rewards.ErrStore)
	require.ErrorIs(t, err, rewards.ErrInsufficientPoints, "and why it was refused")
	cat.fail.Store(false)
	_, err = e.p.Redeem(e.ctx, req)
	require.ErrorIs(t, err, rewards.ErrInsufficientPoints)
	require.NotErrorIs(t, err, rewards.ErrStore)

	rd, err := e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "k-u1", User: "u1", RewardID: "last"})
	require.NoError(t, err, "the unit is free again")
	require.Equal(t, rewards.RedemptionHeld, rd.State)
}

// unreleasableCatalog is a CatalogStore whose Release fails while fail is
// set.
type unreleasableCatalog struct {
	rewards.CatalogStore
	fail atomic.Bool
}

func (c *unreleasableCatalog) Release(ctx context.Context, reward, redemption string) error {
	if c.fail.Load() {
		return errors.New("catalog: connection reset")
	}
	return c.CatalogStore.Release(ctx, reward, redemption)
}

// Sixteen goroutines race for the last unit: exactly one wins, and only its
// points are held.
func TestRedeemLastUnit(t *testing.T) {
	e := newEnv(t, nil)
	users := make([]carbon.UserID, 16)
	for i := range users {
		users[i] = carbon.UserID(fmt.Sprintf("r%02d", i))
		e.link(users[i], "metro")
		e.fund(users[i], 1)
	}
	for round := 0; round < 10; round++ {
		id := fmt.Sprintf("last-%d", round)
		e.addReward(coupon(id, 5, 1, 0))
		var wg sync.WaitGroup
		errs := make([]error, len(users))
		for i, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: id + "-" + string(u), User: u, RewardID: id})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				require.ErrorIs(t, err, rewards.ErrOutOfStock)
			}
		}
		require.Equal(t, 1, won, "round %d", round)
	}
	held := int64(0)
	for _, u := range users {
		b, err := e.l.Balance(e.ctx, ledger.PartnerAccount(u, "metro"), ledger.Points)
		require.NoError(t, err)
		held += b.Held
	}
	require.Equal(t, int64(10*5), held)
}

// A voided redemption returns its points to the very lots they came from,
// and its unit to the stock; a fulfilled one pays the merchant.
func TestRedeemCancelAndFulfil(t *testing.T) {
	e := newEnv(t, nil)
	e.fund("u1", 1) // 89 in metro
	_, err := e.p.Earn(e.ctx, meal(t, "m1", "u1", 10, progStart))
	require.NoError(t, err) // 30 in eleme
	e.addReward(coupon("cup", 100, 5, 0))
	lots := func() map[ledger.AccountID][]ledger.Lot {
		out := map[ledger.AccountID][]ledger.Lot{}
		for _, p := range []carbon.PartnerID{"metro", "eleme"} {
			ls, err := e.l.Lots(e.ctx, ledger.PartnerAccount("u1", p), ledger.Points)
			require.NoError(t, err)
			out[ledger.PartnerAccount("u1", p)] = ls
		}
		return out
	}
	before := lots()

	rd, err := e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "rd-1", User: "u1", RewardID: "cup"})
	require.NoError(t, err)
	require.Equal(t, rewards.RedemptionHeld, rd.State)
	roll, err := e.l.Rollup(e.ctx, "u1", ledger.Points)
	require.NoError(t, err)
	require.Equal(t, int64(100), roll.Total.Held)

	again, err := e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "rd-1", User: "u1", RewardID: "cup"})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, rd.Hold, again.Hold)
	_, err = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "rd-1", User: "u2", RewardID: "cup"})
	require.ErrorIs(t, err, rewards.ErrReplayMismatch)

	v, err := e.p.Cancel(e.ctx, "rd-1")
	require.NoError(t, err)
	require.Equal(t, rewards.RedemptionVoided, v.State)
	require.Equal(t, before, lots(), "points back in the same lots")
	_, err = e.p.Fulfil(e.ctx, "rd-1")
	require.ErrorIs(t, err, rewards.ErrRedemptionFinal)
	v2, err := e.p.Cancel(e.ctx, "rd-1")
	require.NoError(t, err)
	require.True(t, v2.Replayed)

	rd, err = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "rd-f0", User: "u1", RewardID: "cup"})
	require.NoError(t, err)
	f, err := e.p.Fulfil(e.ctx, rd.ID)
	require.NoError(t, err)
	require.Equal(t, rewards.RedemptionFulfilled, f.State)
	f2, err := e.p.Fulfil(e.ctx, rd.ID)
	require.NoError(t, err)
	require.True(t, f2.Replayed)
	require.Equal(t, int64(100), e.balance(ledger.MerchantAccount("coffee"), ledger.Points))
	roll, err = e.l.Rollup(e.ctx, "u1", ledger.Points)
	require.NoError(t, err)
	require.Equal(t, int64(19), roll.Total.Posted)
	require.Zero(t, roll.Total.Held)
	_, err = e.p.Cancel(e.ctx, "rd-f0")
	require.ErrorIs(t, err, rewards.ErrRedemptionFinal)
	require.Equal(t, []rewards.EventType{rewards.EventRedemptionHeld, rewards.EventRedemptionVoided,
		rewards.EventRedemptionHeld, rewards.EventRedemptionFulfilled}, redemptionTypes(e.events.types()))
}

func redemptionTypes(ts []rewards.EventType) []rewards.EventType {
	var out []rewards.EventType
	for _, t := range ts {
		if len(t) > 10 && t[:10] == "redemption" {
			out = append(out, t)
		}
	}
	return out
}

// A mall reward is paid from that partner's child alone, even when the
// user has more points elsewhere.
func TestRedeemMallScope(t *testing.T) {
	e := newEnv(t, nil)
	e.fund("u1", 2) // 178 in metro
	_, err := e.p.Earn(e.ctx, meal(t, "m1", "u1", 10, progStart))
	require.NoError(t, err) // 30 in eleme
	e.addReward(rewards.Reward{ID: "chopsticks", Kind: rewards.RewardMallItem, Title: "Chopsticks", Partner: "eleme", Payee: "eleme-mall", Cost: 25, Stock: 10})
	e.addReward(rewards.Reward{ID: "bowl", Kind: rewards.RewardMallItem, Title: "Bowl", Partner: "eleme", Payee: "eleme-mall", Cost: 40, Stock: 10})
	_, err = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "k1", User: "u1", RewardID: "chopsticks"})
	require.NoError(t, err)
	b, err := e.l.Balance(e.ctx, ledger.PartnerAccount("u1", "eleme"), ledger.Points)
	require.NoError(t, err)
	require.Equal(t, int64(25), b.Held)
	_, err = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "k2", User: "u1", RewardID: "bowl"})
	require.ErrorIs(t, err, rewards.ErrInsufficientPoints, "the metro points do not count in the eleme mall")
	e.link("u9", "metro")
	_, err = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "k3", User: "u9", RewardID: "chopsticks"})
	require.ErrorIs(t, err, rewards.ErrNotLinked)
}

// Per-user limits hold when one user's requests race.
func TestRedeemPerUserLimitConcurrent(t *testing.T) {
	e := newEnv(t, nil)
	e.fund("u1", 3)
	e.addReward(coupon("tea", 5, 100, 2))
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: fmt.Sprintf("tea-%d", i), User: "u1", RewardID: "tea"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, rewards.ErrLimitReached)
		}
	}
	require.Equal(t, 2, ok)
	b, err := e.l.Balance(e.ctx, ledger.PartnerAccount("u1", "metro"), ledger.Points)
	require.NoError(t, err)
	require.Equal(t, int64(10), b.Held)
}

// Bad redemptions get typed errors and change nothing: no hold, no stock
// taken, no redemption remembered.
func TestRedeemBadInput(t *testing.T) {
	e := newEnv(t, nil)
	e.fund("u1", 1) // 89 points
	past := mustWindow(t, "2026-03-01", "2026-03-31")
	e.addReward(coupon("cheap", 10, 5, 0))
	e.addReward(coupon("dear", 1000, 5, 0))
	old := coupon("march", 10, 5, 0)
	old.Window = past
	e.addReward(old)
	e.link("loner")
	before := e.entries()
	for _, tc := range []struct {
		name string
		req  rewards.RedeemRequest
		want error
	}{
		{"unknown reward", rewards.RedeemRequest{Key: "b1", User: "u1", RewardID: "caviar"}, rewards.ErrUnknownReward},
		{"expired window", rewards.RedeemRequest{Key: "b2", User: "u1", RewardID: "march"}, rewards.ErrWindowClosed},
		{"insufficient points", rewards.RedeemRequest{Key: "b3", User: "u1", RewardID: "dear"}, rewards.ErrInsufficientPoints},
		{"no points at all", rewards.RedeemRequest{Key: "b4", User: "loner", RewardID: "cheap"}, rewards.ErrInsufficientPoints},
		{"unknown user", rewards.RedeemRequest{Key: "b5", User: "ghost", RewardID: "cheap"}, rewards.ErrNotLinked},
		{"malformed key", rewards.RedeemRequest{Key: "a key", User: "u1", RewardID: "cheap"}, rewards.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.p.Redeem(e.ctx, tc.req)
			require.ErrorIs(t, err, tc.want)
			_, err = e.p.Fulfil(e.ctx, tc.req.Key)
			require.Error(t, err)
		})
	}
	require.Equal(t, before, e.entries())
	rs, err := e.p.Rewards(e.ctx)
	require.NoError(t, err)
	require.Len(t, rs, 3)
	// The refused key is free: the same redemption can now succeed.
	e.fund("u1", 12)
	rd, err := e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "b3", User: "u1", RewardID: "dear"})
	require.NoError(t, err)
	require.False(t, rd.Replayed)
	// A reward redefined differently is refused.
	require.ErrorIs(t, e.p.AddReward(e.ctx, coupon("cheap", 11, 5, 0)), rewards.ErrInvalidReward)
	require.ErrorIs(t, e.p.AddReward(e.ctx, rewards.Reward{ID: "x"}), rewards.ErrInvalidReward)
	// A refused reward opens no account for its payee.
	tea := coupon("cheap", 10, 5, 0)
	tea.Payee = "tea"
	require.ErrorIs(t, e.p.AddReward(e.ctx, tea), rewards.ErrInvalidReward)
	_, err = e.l.Account(e.ctx, ledger.MerchantAccount("tea"))
	require.ErrorIs(t, err, ledger.ErrUnknownAccount, "the refused reward's payee has an account")
	_, err = e.p.Cancel(e.ctx, "never")
	require.ErrorIs(t, err, rewards.ErrUnknownRedemption)
}

// A hold that times out cannot be fulfilled: the redemption is voided and
// its stock returned.
func TestRedeemHoldTimeout(t *testing.T) {
	e := newEnv(t, func(o *rewards.ProgrammeOptions) { o.HoldTimeout = time.Hour })
	e.fund("u1", 1)
	e.addReward(coupon("one", 10, 1, 0))
	rd, err := e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "t1", User: "u1", RewardID: "one"})
	require.NoError(t, err)
	require.False(t, rd.Deadline.IsZero())
	e.clock.Advance(2 * time.Hour)
	_, err = e.p.Fulfil(e.ctx, "t1")
	require.ErrorIs(t, err, rewards.ErrRedemptionFinal)
	_, err = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "t2", User: "u1", RewardID: "one"})
	require.NoError(t, err, "the unit came back")
}

// A sweep voids the redemptions whose holds timed out and returns their
// stock, leaving the others.
func TestExpireRedemptions(t *testing.T) {
	e := newEnv(t, func(o *rewards.ProgrammeOptions) { o.HoldTimeout = time.Hour })
	e.fund("u1", 1)
	e.addReward(coupon("one", 10, 2, 0))
	_, err := e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "early", User: "u1", RewardID: "one"})
	require.NoError(t, err)
	e.clock.Advance(30 * time.Minute)
	_, err = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "late", User: "u1", RewardID: "one"})
	require.NoError(t, err)
	_, err = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "third", User: "u1", RewardID: "one"})
	require.ErrorIs(t, err, rewards.ErrOutOfStock)

	e.clock.Advance(45 * time.Minute)              // "early" is past its deadline, "late" is not
	_, err = e.l.ExpireHolds(e.ctx, e.clock.Now()) // the ledger's own sweep may run first
	require.NoError(t, err)
	voided, err := e.p.ExpireRedemptions(e.ctx, e.clock.Now())
	require.NoError(t, err)
	require.Len(t, voided, 1)
	require.Equal(t, "early", voided[0].ID)
	require.Equal(t, rewards.RedemptionVoided, voided[0].State)
	_, err = e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "third", User: "u1", RewardID: "one"})
	require.NoError(t, err, "the unit came back")
	f, err := e.p.Fulfil(e.ctx, "late")
	require.NoError(t, err)
	require.Equal(t, rewards.RedemptionFulfilled, f.State)
	_, err = e.p.ExpireRedemptions(e.ctx, time.Time{})
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
}

// A Redeem repeated while its redemption is still held, after the first
// call failed past the hold, delivers and commits it: when publishing the
// hold failed (the first call had not delivered), and when the commit
// after delivery failed (the Fulfiller is called again, and must deliver
// once).
func TestRedeemFulfillerRepeated(t *testing.T) {
	t.Run("publishing the hold failed", func(t *testing.T) {
		delivered := 0
		e := newEnv(t, func(o *rewards.ProgrammeOptions) {
			o.Fulfiller = func(context.Context, rewards.Redemption) error { delivered++; return nil }
		})
		e.fund("u1", 1)
		e.addReward(coupon("mug", 50, 10, 0))
		req := rewards.RedeemRequest{Key: "k1", User: "u1", RewardID: "mug"}
		e.events.mu.Lock()
		e.events.fail = true
		e.events.mu.Unlock()
		_, err := e.p.Redeem(e.ctx, req)
		require.ErrorIs(t, err, rewards.ErrFollowUp)
		e.events.mu.Lock()
		e.events.fail = false
		e.events.mu.Unlock()
		rd, err := e.p.Redeem(e.ctx, req)
		require.NoError(t, err)
		require.Equal(t, rewards.RedemptionFulfilled, rd.State)
		require.Equal(t, 1, delivered)
		require.Equal(t, int64(39), e.balance(ledger.PartnerAccount("u1", "metro"), ledger.Points))
	})
	t.Run("the commit after delivery failed", func(t *testing.T) {
		faulty := storetest.NewFaulty(memstore.New())
		clock := carbon.NewTestClock(progStart)
		l, err := ledger.New(faulty, &ledger.Options{Clock: clock})
		require.NoError(t, err)
		delivered := map[string]int{}
		p, err := rewards.NewProgramme(methodology.Builtin(), l, &rewards.ProgrammeOptions{Clock: clock,
			Policies: []rewards.EarnPolicy{basePolicy()}, Partners: []carbon.PartnerID{"metro"}, HoldTimeout: time.Hour,
			Fulfiller: func(_ context.Context, rd rewards.Redemption) error {
				if delivered[rd.ID]++; delivered[rd.ID] == 1 {
					faulty.Inject(storetest.FailCommit, 0) // the hold's commit, next
				}
				return nil
			}})
		require.NoError(t, err)
		ctx := context.Background()
		_, err = l.OpenUser(ctx, "u1")
		require.NoError(t, err)
		_, err = l.LinkPartner(ctx, "u1", "metro")
		require.NoError(t, err)
		_, err = p.Earn(ctx, trip(t, "t1", "u1", "10", progStart))
		require.NoError(t, err)
		require.NoError(t, p.AddReward(ctx, coupon("mug", 50, 10, 0)))
		req := rewards.RedeemRequest{Key: "k1", User: "u1", RewardID: "mug"}
		_, err = p.Redeem(ctx, req)
		require.ErrorIs(t, err, rewards.ErrLedger)
		rd, err := p.Redeem(ctx, req)
		require.NoError(t, err)
		require.Equal(t, rewards.RedemptionFulfilled, rd.State)
		// Its hold committed, expiry has nothing to void: the user keeps
		// the item and pays for it.
		clock.Advance(2 * time.Hour)
		voided, err := p.ExpireRedemptions(ctx, clock.Now())
		require.NoError(t, err)
		require.Empty(t, voided)
		b, err := l.Balance(ctx, ledger.PartnerAccount("u1", "metro"), ledger.Points)
		require.NoError(t, err)
		require.Equal(t, int64(39), b.Posted)
	})
}

// With a Fulfiller, Redeem delivers at once: fulfilled when it succeeds,
// voided (points and stock back) when it fails.
func TestRedeemFulfiller(t *testing.T) {
	var mu sync.Mutex
	delivered := map[string]bool{}
	e := newEnv(t, func(o *rewards.ProgrammeOptions) {
		o.Fulfiller = func(_ context.Context, rd rewards.Redemption) error {
			mu.Lock()
			defer mu.Unlock()
			if rd.User == "u2" {
				return errors.New("courier unavailable")
			}
			delivered[rd.ID] = true
			return nil
		}
	})
	e.fund("u1", 1)
	e.fund("u2", 1)
	e.addReward(coupon("one", 10, 1, 0))
	_, err := e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "k2", User: "u2", RewardID: "one"})
	require.ErrorIs(t, err, rewards.ErrFulfilment)
	b, err := e.l.Balance(e.ctx, ledger.PartnerAccount("u2", "metro"), ledger.Points)
	require.NoError(t, err)
	require.Equal(t, ledger.Balance{Posted: 89}, b, "points back")
	rd, err := e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "k1", User: "u1", RewardID: "one"})
	require.NoError(t, err, "the unit came back")
	require.Equal(t, rewards.RedemptionFulfilled, rd.State)
	require.True(t, delivered["k1"])
	require.Equal(t, int64(79), e.balance(ledger.PartnerAccount("u1", "metro"), ledger.Points))
	again, err := e.p.Redeem(e.ctx, rewards.RedeemRequest{Key: "k1", User: "u1", RewardID: "one"})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, rewards.RedemptionFulfilled, again.State)
}
