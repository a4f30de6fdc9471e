package rewardstest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// RunCapStore checks that the stores newStore returns keep the
// rewards.CapStore contract: grants limited by every counter, the limiting
// counter named, idempotent reservations, release, settling (for a store
// that implements rewards.CapSettler), bad arguments (a counter listed
// twice among them) changing nothing, and no counter ever over its limit
// under concurrent reservations.
func RunCapStore(t *testing.T, newStore func(t *testing.T) rewards.CapStore) {
	day := rewards.CapLimit{Counter: "2026-04-22/u1", Limit: 100}
	scen := rewards.CapLimit{Counter: "2026-04-22/u1/food", Limit: 60}

	t.Run("GrantsUpToEveryLimit", func(t *testing.T) {
		s := newStore(t)
		steps := []struct {
			id        string
			limits    []rewards.CapLimit
			want      int64
			granted   int64
			limitedBy string
		}{
			{"a1", []rewards.CapLimit{scen, day}, 40, 40, ""},
			{"a2", []rewards.CapLimit{scen, day}, 40, 20, scen.Counter},
			{"a3", []rewards.CapLimit{scen, day}, 5, 0, scen.Counter},
			{"a4", []rewards.CapLimit{day}, 50, 40, day.Counter},
			{"a5", []rewards.CapLimit{day}, 1, 0, day.Counter},
			{"a6", nil, 7, 7, ""},
			{"a7", []rewards.CapLimit{day}, 0, 0, ""},
		}
		for _, st := range steps {
			r, err := s.Reserve(ctx(), st.id, "fp-"+st.id, st.limits, st.want)
			require.NoError(t, err, st.id)
			require.Equal(t, st.id, r.ID)
			require.Equal(t, "fp-"+st.id, r.Fingerprint)
			require.Equal(t, st.want, r.Wanted, st.id)
			require.Equal(t, st.granted, r.Granted, st.id)
			require.Equal(t, st.limitedBy, r.LimitedBy, st.id)
		}
		used, err := s.Used(ctx(), day.Counter)
		require.NoError(t, err)
		require.Equal(t, int64(100), used)
		used, err = s.Used(ctx(), scen.Counter)
		require.NoError(t, err)
		require.Equal(t, int64(60), used)
		used, err = s.Used(ctx(), "never")
		require.NoError(t, err)
		require.Zero(t, used)
	})

	t.Run("IdempotentAndReleasable", func(t *testing.T) {
		s := newStore(t)
		r1, err := s.Reserve(ctx(), "a", "fp1", []rewards.CapLimit{day}, 70)
		require.NoError(t, err)
		again, err := s.Reserve(ctx(), "a", "other", []rewards.CapLimit{day}, 10)
		require.NoError(t, err)
		require.Equal(t, r1, again, "the original reservation, whatever is asked")
		used, err := s.Used(ctx(), day.Counter)
		require.NoError(t, err)
		require.Equal(t, int64(70), used)

		require.NoError(t, s.Release(ctx(), "a"))
		require.NoError(t, s.Release(ctx(), "a"), "releasing twice")
		require.NoError(t, s.Release(ctx(), "unknown"))
		used, err = s.Used(ctx(), day.Counter)
		require.NoError(t, err)
		require.Zero(t, used)
		r2, err := s.Reserve(ctx(), "a", "fp2", []rewards.CapLimit{day}, 10)
		require.NoError(t, err)
		require.Equal(t, int64(10), r2.Granted)
		require.Equal(t, "fp2", r2.Fingerprint)
	})

	t.Run("Settle", func(t *testing.T) {
		s := newStore(t)
		cs, ok := s.(rewards.CapSettler)
		if !ok {
			t.Skip("the store does not implement rewards.CapSettler")
		}
		_, err := s.Reserve(ctx(), "a", "fp1", []rewards.CapLimit{day}, 70)
		require.NoError(t, err)
		require.NoError(t, cs.Settle(ctx(), "a"))
		require.NoError(t, cs.Settle(ctx(), "a"), "settling twice")
		require.NoError(t, cs.Settle(ctx(), "unknown"))
		require.NoError(t, s.Release(ctx(), "a"), "releasing a settled reservation")
		used, err := s.Used(ctx(), day.Counter)
		require.NoError(t, err)
		require.Equal(t, int64(70), used, "a settled grant stays in its counters")
		r, err := s.Reserve(ctx(), "a", "fp2", []rewards.CapLimit{day}, 50)
		require.NoError(t, err)
		require.Equal(t, "fp2", r.Fingerprint, "a settled id is reserved afresh")
		require.Equal(t, int64(30), r.Granted)
		require.Equal(t, day.Counter, r.LimitedBy)
		used, err = s.Used(ctx(), day.Counter)
		require.NoError(t, err)
		require.Equal(t, int64(100), used)
	})

	t.Run("BadArguments", func(t *testing.T) {
		s := newStore(t)
		for _, tc := range []struct {
			id     string
			limits []rewards.CapLimit
			want   int64
		}{
			{"", []rewards.CapLimit{day}, 1},
			{"a", []rewards.CapLimit{day}, -1},
			{"a", []rewards.CapLimit{{Counter: "c", Limit: 0}}, 1},
			{"a", []rewards.CapLimit{{Counter: "", Limit: 1}}, 1},
			// A counter listed twice would be charged twice.
			{"a", []rewards.CapLimit{day, scen, day}, 8},
			{"a", []rewards.CapLimit{{Counter: "c", Limit: math.MaxInt64}, {Counter: "c", Limit: math.MaxInt64}}, math.MaxInt64},
		} {
			_, err := s.Reserve(ctx(), tc.id, "fp", tc.limits, tc.want)
			require.ErrorIs(t, err, rewards.ErrInvalidArgument, "%+v", tc)
		}
		for _, c := range []string{day.Counter, scen.Counter, "c"} {
			used, err := s.Used(ctx(), c)
			require.NoError(t, err)
			require.Zero(t, used, c)
		}
		// Nothing was recorded under the id either.
		r, err := s.Reserve(ctx(), "a", "fp-a", []rewards.CapLimit{day}, 5)
		require.NoError(t, err)
		require.Equal(t, "fp-a", r.Fingerprint)
		require.Equal(t, int64(5), r.Granted)
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		granted := make([]int64, 64)
		errs := make([]error, 64)
		for i := range granted {
			wg.Add(1)
			go func() {
				defer wg.Done()
				limits := []rewards.CapLimit{{Counter: fmt.Sprintf("d/u1/s%d", i%3), Limit: 50}, {Counter: "d/u1", Limit: 120}}
				r, err := s.Reserve(ctx(), fmt.Sprintf("a%d", i), "fp", limits, 7)
				granted[i], errs[i] = r.Granted, err
				if i%5 == 0 && err == nil {
					errs[i] = s.Release(ctx(), fmt.Sprintf("a%d", i))
					granted[i] = 0
				}
			}()
		}
		wg.Wait()
		var total int64
		per := map[int]int64{}
		for i, g := range granted {
			require.NoError(t, errs[i])
			total += g
			per[i%3] += g
		}
		used, err := s.Used(ctx(), "d/u1")
		require.NoError(t, err)
		require.Equal(t, total, used)
		require.LessOrEqual(t, used, int64(120))
		for k, v := range per {
			u, err := s.Used(ctx(), fmt.Sprintf("d/u1/s%d", k))
			require.NoError(t, err)
			require.Equal(t, v, u)
			require.LessOrEqual(t, u, int64(50))
		}
	})
}

// RunReceiptStore checks that the stores newStore returns keep the
// rewards.ReceiptStore contract: insert-if-absent, completion, deletion of
// pending records only, and one winner among concurrent inserts.
func RunReceiptStore(t *testing.T, newStore func(t *testing.T) rewards.ReceiptStore) {
	receipt := func(id string, points carbon.Points) rewards.ReceiptRecord {
		return rewards.ReceiptRecord{Pending: true, Receipt: rewards.Receipt{
			ActivityID: id, Partner: "p1", User: "u1", Scenario: "food.no-cutlery", Region: carbon.Guangdong,
			OccurredAt: base, Points: points, Reduction: carbon.GramsInt(int64(points)), Methodology: "m@1",
			ResultDigest: "d", Policy: "std@1", BasePoints: points, Multiplier: decimal.NewFromInt(1),
			Uncapped: points, Fingerprint: "fp-" + id,
		}}
	}

	t.Run("InsertCompleteDelete", func(t *testing.T) {
		s := newStore(t)
		_, found, err := s.Receipt(ctx(), "p1", "a1")
		require.NoError(t, err)
		require.False(t, found)

		got, inserted, err := s.InsertReceipt(ctx(), receipt("a1", 5))
		require.NoError(t, err)
		require.True(t, inserted)
		require.True(t, got.Pending)
		other, inserted, err := s.InsertReceipt(ctx(), receipt("a1", 9))
		require.NoError(t, err)
		require.False(t, inserted)
		require.Equal(t, carbon.Points(5), other.Receipt.Points, "the first record stays")

		at := base.Add(time.Minute)
		require.NoError(t, s.CompleteReceipt(ctx(), "p1", "a1", "entry-1", at))
		rec, found, err := s.Receipt(ctx(), "p1", "a1")
		require.NoError(t, err)
		require.True(t, found)
		require.False(t, rec.Pending)
		require.Equal(t, ledger.EntryID("entry-1"), rec.Receipt.Entry)
		require.True(t, rec.Receipt.CreditedAt.Equal(at))
		require.True(t, rec.Receipt.Reduction.Equal(carbon.GramsInt(5)))
		require.True(t, rec.Receipt.Multiplier.Equal(decimal.NewFromInt(1)))

		require.NoError(t, s.CompleteReceipt(ctx(), "p1", "a1", "entry-2", at.Add(time.Hour)), "completing twice changes nothing")
		rec, _, err = s.Receipt(ctx(), "p1", "a1")
		require.NoError(t, err)
		require.Equal(t, ledger.EntryID("entry-1"), rec.Receipt.Entry)
		require.ErrorIs(t, s.CompleteReceipt(ctx(), "p1", "missing", "e", at), rewards.ErrInvalidArgument)

		require.NoError(t, s.DeletePendingReceipt(ctx(), "p1", "a1"))
		_, found, err = s.Receipt(ctx(), "p1", "a1")
		require.NoError(t, err)
		require.True(t, found, "a complete receipt is never deleted")

		_, _, err = s.InsertReceipt(ctx(), receipt("a2", 3))
		require.NoError(t, err)
		require.NoError(t, s.DeletePendingReceipt(ctx(), "p1", "a2"))
		_, found, err = s.Receipt(ctx(), "p1", "a2")
		require.NoError(t, err)
		require.False(t, found)
		require.NoError(t, s.DeletePendingReceipt(ctx(), "p1", "never"))
	})

	t.Run("KeysDoNotCollide", func(t *testing.T) {
		s := newStore(t)
		a := receipt("b", 1)
		a.Receipt.Partner = "p1/a"
		b := receipt("a/b", 2)
		b.Receipt.Partner = "p1"
		_, ins1, err := s.InsertReceipt(ctx(), a)
		require.NoError(t, err)
		_, ins2, err := s.InsertReceipt(ctx(), b)
		require.NoError(t, err)
		require.True(t, ins1 && ins2)
	})

	t.Run("ConcurrentInsertsOneWinner", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		wins := make([]bool, 16)
		errs := make([]error, 16)
		for i := range wins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, wins[i], errs[i] = s.InsertReceipt(ctx(), receipt("race", carbon.Points(i+1)))
			}()
		}
		wg.Wait()
		n := 0
		for i, w := range wins {
			require.NoError(t, errs[i])
			if w {
				n++
			}
		}
		require.Equal(t, 1, n)
	})
}

// RunCatalogStore checks that the stores newStore returns keep the
// rewards.CatalogStore contract: insert-if-absent, stock and per-user
// limits that hold under concurrent reservations, idempotent reserve and
// release.
func RunCatalogStore(t *testing.T, newStore func(t *testing.T) rewards.CatalogStore) {
	reward := rewards.Reward{ID: "cup", Kind: rewards.RewardCoupon, Title: "Cup", Payee: "shop", Cost: 10, Stock: 3, PerUser: 2}

	t.Run("Catalog", func(t *testing.T) {
		s := newStore(t)
		_, found, err := s.Reward(ctx(), "cup")
		require.NoError(t, err)
		require.False(t, found)
		got, ok, err := s.PutReward(ctx(), reward)
		require.NoError(t, err)
		require.True(t, ok)
		require.True(t, got.Equal(reward))
		changed := reward
		changed.Cost = 11
		got, ok, err = s.PutReward(ctx(), changed)
		require.NoError(t, err)
		require.False(t, ok)
		require.True(t, got.Equal(reward))
		other := reward
		other.ID = "bag"
		_, _, err = s.PutReward(ctx(), other)
		require.NoError(t, err)
		all, err := s.Rewards(ctx())
		require.NoError(t, err)
		require.Len(t, all, 2)
		require.Equal(t, "bag", all[0].ID)
	})

	t.Run("StockAndLimits", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.PutReward(ctx(), reward)
		require.NoError(t, err)
		require.NoError(t, s.Reserve(ctx(), "cup", "u1", "r1", 3, 2))
		require.NoError(t, s.Reserve(ctx(), "cup", "u1", "r1", 3, 2), "the same redemption again")
		require.NoError(t, s.Reserve(ctx(), "cup", "u1", "r2", 3, 2))
		require.ErrorIs(t, s.Reserve(ctx(), "cup", "u1", "r3", 3, 2), rewards.ErrLimitReached)
		require.NoError(t, s.Reserve(ctx(), "cup", "u2", "r4", 3, 2))
		require.ErrorIs(t, s.Reserve(ctx(), "cup", "u3", "r5", 3, 2), rewards.ErrOutOfStock)
		total, mine, err := s.Taken(ctx(), "cup", "u1")
		require.NoError(t, err)
		require.Equal(t, int64(3), total)
		require.Equal(t, int64(2), mine)

		require.NoError(t, s.Release(ctx(), "cup", "r1"))
		require.NoError(t, s.Release(ctx(), "cup", "r1"), "releasing twice")
		require.NoError(t, s.Release(ctx(), "cup", "never"))
		total, mine, err = s.Taken(ctx(), "cup", "u1")
		require.NoError(t, err)
		require.Equal(t, int64(2), total)
		require.Equal(t, int64(1), mine)
		require.NoError(t, s.Reserve(ctx(), "cup", "u3", "r5", 3, 2))
	})

	t.Run("ConcurrentLastUnit", func(t *testing.T) {
		s := newStore(t)
		_, _, err := s.PutReward(ctx(), reward)
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 32)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Reserve(ctx(), "cup", carbon.UserID(fmt.Sprintf("u%d", i%4)), fmt.Sprintf("r%d", i), 3, 1)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			require.True(t, errorIsAny(err, rewards.ErrOutOfStock, rewards.ErrLimitReached), "%v", err)
		}
		require.Equal(t, 3, won)
		total, _, err := s.Taken(ctx(), "cup", "u0")
		require.NoError(t, err)
		require.Equal(t, int64(3), total)
	})
}

// RunRedemptionStore checks that the stores newStore returns keep the
// rewards.RedemptionStore contract.
func RunRedemptionStore(t *testing.T, newStore func(t *testing.T) rewards.RedemptionStore) {
	rd := rewards.Redemption{ID: "r1", User: "u1", RewardID: "cup", Cost: 10, State: rewards.RedemptionPending}
	s := newStore(t)
	_, found, err := s.Redemption(ctx(), "r1")
	require.NoError(t, err)
	require.False(t, found)
	got, ok, err := s.InsertRedemption(ctx(), rd)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, rd, got)
	other := rd
	other.User = "u2"
	got, ok, err = s.InsertRedemption(ctx(), other)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, rd, got)

	held := rd
	held.State, held.Hold, held.HeldAt = rewards.RedemptionHeld, "h1", base
	require.NoError(t, s.UpdateRedemption(ctx(), held))
	got, found, err = s.Redemption(ctx(), "r1")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, held, got)
	require.NoError(t, s.DeleteRedemption(ctx(), "r1"))
	_, found, err = s.Redemption(ctx(), "r1")
	require.NoError(t, err)
	require.True(t, found, "only a pending redemption is deleted")

	exp, err := s.Expiring(ctx(), base.Add(time.Hour), "", 10)
	require.NoError(t, err)
	require.Empty(t, exp, "no deadline: never expiring")
	for i, d := range []time.Duration{time.Minute, 2 * time.Hour, 30 * time.Minute} {
		r := held
		r.ID, r.Deadline = fmt.Sprintf("x%d", i), base.Add(d)
		_, _, err := s.InsertRedemption(ctx(), r)
		require.NoError(t, err)
	}
	pending := rd
	pending.ID, pending.Deadline = "x9", base
	_, _, err = s.InsertRedemption(ctx(), pending)
	require.NoError(t, err)
	exp, err = s.Expiring(ctx(), base.Add(time.Hour), "", 10)
	require.NoError(t, err)
	require.Len(t, exp, 2)
	require.Equal(t, "x0", exp[0].ID)
	require.Equal(t, "x2", exp[1].ID)
	exp, err = s.Expiring(ctx(), base.Add(time.Hour), "x0", 10)
	require.NoError(t, err)
	require.Len(t, exp, 1)
	exp, err = s.Expiring(ctx(), base.Add(time.Hour), "", 1)
	require.NoError(t, err)
	require.Len(t, exp, 1)
	// A redemption resolved leaves the answer; one whose deadline moves
	// earlier joins it.
	fulfilled := held
	fulfilled.ID, fulfilled.Deadline, fulfilled.State = "x0", base.Add(time.Minute), rewards.RedemptionFulfilled
	require.NoError(t, s.UpdateRedemption(ctx(), fulfilled))
	sooner := held
	sooner.ID, sooner.Deadline = "x1", base.Add(time.Minute)
	require.NoError(t, s.UpdateRedemption(ctx(), sooner))
	exp, err = s.Expiring(ctx(), base.Add(time.Hour), "", 10)
	require.NoError(t, err)
	require.Len(t, exp, 2)
	require.Equal(t, []string{"x1", "x2"}, []string{exp[0].ID, exp[1].ID})

	missing := rd
	missing.ID = "r9"
	require.ErrorIs(t, s.UpdateRedemption(ctx(), missing), rewards.ErrUnknownRedemption)
	_, _, err = s.InsertRedemption(ctx(), missing)
	require.NoError(t, err)
	require.NoError(t, s.DeleteRedemption(ctx(), "r9"))
	_, found, err = s.Redemption(ctx(), "r9")
	require.NoError(t, err)
	require.False(t, found)
}

func errorIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
