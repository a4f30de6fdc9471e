package rewards_test

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

// balances reads every balance the donation tests care about.
func (e *env) balances(u carbon.UserID) map[string]int64 {
	e.t.Helper()
	out := map[string]int64{}
	for _, a := range []struct {
		id    ledger.AccountID
		asset ledger.Asset
	}{
		{ledger.PartnerAccount(u, "metro"), ledger.Points},
		{ledger.PartnerAccount(u, "eleme"), ledger.Points},
		{ledger.UserAccount(u), ledger.Points},
		{ledger.UserAccount(u), ledger.CNY},
		{ledger.CharityAccount("donations"), ledger.Points},
		{ledger.SponsorAccount("acme"), ledger.CNY},
		{ledger.SponsorAccount("acme.funding"), ledger.CNY},
	} {
		b, err := e.l.Balance(e.ctx, a.id, a.asset)
		if err != nil {
			require.ErrorIs(e.t, err, ledger.ErrUnknownAccount)
		}
		out[string(a.id)+" "+string(a.asset)] = b.Posted
		out[string(a.id)+" "+string(a.asset)+" held"] = b.Held
	}
	return out
}

// A donation moves points to charity and pays the red packet in one entry;
// when the budget cannot pay, nothing changes at all.
func TestDonate(t *testing.T) {
	e := newEnv(t, nil)
	e.fund("u1", 2) // 178 in metro
	e.clock.Advance(time.Minute)
	_, err := e.p.Earn(e.ctx, meal(t, "m1", "u1", 10, progStart))
	require.NoError(t, err) // 30 in eleme
	require.NoError(t, e.p.FundSponsor(e.ctx, "fund-1", "acme", 500))

	// At the parent: the donation takes the soonest-expiring points, which
	// here are the earliest credited (metro), then eleme.
	d, err := e.p.Donate(e.ctx, rewards.DonateRequest{Key: "d1", User: "u1", Points: 200, Sponsor: "acme"})
	require.NoError(t, err)
	require.Equal(t, int64(400), d.RedPacket) // 2 fen per point
	entry, err := e.l.Entry(e.ctx, d.Entry)
	require.NoError(t, err)
	require.Len(t, entry.Postings, 5, "one entry, both assets")
	b := e.balances("u1")
	require.Equal(t, int64(0), b["user u1 metro PTS"])
	require.Equal(t, int64(8), b["user u1 eleme PTS"])
	require.Equal(t, int64(200), b["charity donations PTS"])
	require.Equal(t, int64(400), b["user u1 CNY"])
	require.Equal(t, int64(100), b["sponsor acme CNY"])

	// The same key again: the original, even though the points are gone.
	again, err := e.p.Donate(e.ctx, rewards.DonateRequest{Key: "d1", User: "u1", Points: 200, Sponsor: "acme"})
	require.NoError(t, err)
	require.Equal(t, d.Entry, again.Entry)
	_, err = e.p.Donate(e.ctx, rewards.DonateRequest{Key: "d1", User: "u1", Points: 201, Sponsor: "acme"})
	require.ErrorIs(t, err, rewards.ErrReplayMismatch)

	// The budget has 100 fen left: a red packet of 120 fen cannot be
	// paid, and every balance stays as it was.
	e.fund("u2", 1) // 89 in metro
	before, n := e.balances("u2"), e.entries()
	_, err = e.p.Donate(e.ctx, rewards.DonateRequest{Key: "d2", User: "u2", Points: 60, Sponsor: "acme"})
	require.ErrorIs(t, err, rewards.ErrBudgetExhausted)
	require.Equal(t, before, e.balances("u2"))
	require.Equal(t, n, e.entries())
	// Exactly the budget is fine.
	d, err = e.p.Donate(e.ctx, rewards.DonateRequest{Key: "d2", User: "u2", Points: 50, Sponsor: "acme"})
	require.NoError(t, err)
	require.Equal(t, int64(100), d.RedPacket)
	require.Equal(t, int64(0), e.balances("u2")["sponsor acme CNY"])

	// Bad input changes nothing either.
	before, n = e.balances("u2"), e.entries()
	for _, tc := range []struct {
		req  rewards.DonateRequest
		want error
	}{
		{rewards.DonateRequest{Key: "d3", User: "u2", Points: 1, Sponsor: "nobody"}, rewards.ErrUnknownSponsor},
		{rewards.DonateRequest{Key: "d3", User: "u2", Points: 0, Sponsor: "acme"}, rewards.ErrInvalidArgument},
		{rewards.DonateRequest{Key: "d3", User: "u2", Points: 1000, Sponsor: "acme"}, rewards.ErrInsufficientPoints},
		{rewards.DonateRequest{Key: "d3", User: "u2", Points: 1, Sponsor: "acme", Partner: "didi"}, rewards.ErrNotLinked},
		{rewards.DonateRequest{Key: "d3", User: "u2", Points: 1, Sponsor: "acme", Partner: "bad partner"}, rewards.ErrInvalidArgument},
		{rewards.DonateRequest{Key: "d3", User: "u 2", Points: 1, Sponsor: "acme"}, rewards.ErrInvalidArgument},
		{rewards.DonateRequest{Key: "d3", User: "u2", Points: 1, Sponsor: "acme"}, rewards.ErrBudgetExhausted},
	} {
		_, err := e.p.Donate(e.ctx, tc.req)
		require.ErrorIs(t, err, tc.want, "%+v", tc.req)
	}
	require.Equal(t, before, e.balances("u2"))
	require.Equal(t, n, e.entries())
}

// A refused donation opens no account: FundSponsor opens the sponsor's
// and the charity's.
func TestDonateRefusedOpensNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.fund("u1", 1) // 89 in metro
	charity := ledger.CharityAccount("donations")
	requireUnopened := func(ids ...ledger.AccountID) {
		t.Helper()
		for _, id := range ids {
			_, err := e.l.Account(e.ctx, id)
			require.ErrorIs(t, err, ledger.ErrUnknownAccount, "%s was opened", id)
		}
	}
	refuse := func(req rewards.DonateRequest, want error) {
		t.Helper()
		n := e.entries()
		_, err := e.p.Donate(e.ctx, req)
		require.ErrorIs(t, err, want, "%+v", req)
		require.Equal(t, n, e.entries())
	}
	// The sponsor was never funded. (u2 has no points.)
	refuse(rewards.DonateRequest{Key: "d1", User: "u2", Points: 10, Sponsor: "acme"}, rewards.ErrInsufficientPoints)
	refuse(rewards.DonateRequest{Key: "d1", User: "u1", Points: 10, Sponsor: "acme"}, rewards.ErrBudgetExhausted)
	refuse(rewards.DonateRequest{Key: "d1", User: "u1", Points: 10, Sponsor: "acme", Partner: "metro"}, rewards.ErrBudgetExhausted)
	requireUnopened(ledger.SponsorAccount("acme"), ledger.SponsorAccount("acme.funding"), charity)

	// Funded, for 50 points. Funding opened the accounts a donation needs.
	require.NoError(t, e.p.FundSponsor(e.ctx, "f1", "acme", 100))
	for _, id := range []ledger.AccountID{ledger.SponsorAccount("acme"), ledger.SponsorAccount("acme.funding"), charity} {
		_, err := e.l.Account(e.ctx, id)
		require.NoError(t, err, "%s", id)
	}
	refuse(rewards.DonateRequest{Key: "d1", User: "u2", Points: 10, Sponsor: "acme"}, rewards.ErrInsufficientPoints)
	refuse(rewards.DonateRequest{Key: "d1", User: "u2", Points: 10, Sponsor: "acme", Partner: "metro"}, rewards.ErrInsufficientPoints)
	refuse(rewards.DonateRequest{Key: "d1", User: "u1", Points: 60, Sponsor: "acme"}, rewards.ErrBudgetExhausted)
	refuse(rewards.DonateRequest{Key: "d1", User: "u1", Points: 60, Sponsor: "acme", Partner: "metro"}, rewards.ErrBudgetExhausted)

	d, err := e.p.Donate(e.ctx, rewards.DonateRequest{Key: "d1", User: "u1", Points: 50, Sponsor: "acme", Partner: "metro"})
	require.NoError(t, err)
	require.Equal(t, int64(100), d.RedPacket)
	b := e.balances("u1")
	require.Equal(t, int64(50), b["charity donations PTS"])
	require.Equal(t, int64(39), b["user u1 metro PTS"])
	require.Equal(t, int64(0), b["sponsor acme CNY"])
}

// Funding a sponsor refuses bad input, and a budget past int64, with typed
// errors and changes nothing.
func TestFundSponsorBadInput(t *testing.T) {
	e := newEnv(t, nil)
	require.NoError(t, e.p.FundSponsor(e.ctx, "f1", "acme", math.MaxInt64))
	before, n := e.balances("u1"), e.entries()
	for _, tc := range []struct {
		name, key, sponsor string
		fen                int64
		want               error
	}{
		{"malformed key", "a key", "acme", 1, rewards.ErrInvalidArgument},
		{"zero", "f2", "acme", 0, rewards.ErrInvalidArgument},
		{"unknown sponsor", "f2", "nobody", 1, rewards.ErrUnknownSponsor},
		{"key reused", "f1", "acme", 1, rewards.ErrReplayMismatch},
		{"budget past int64", "f2", "acme", 1, rewards.ErrOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.p.FundSponsor(e.ctx, tc.key, tc.sponsor, tc.fen)
			require.ErrorIs(t, err, tc.want)
		})
	}
	require.Equal(t, before, e.balances("u1"))
	require.Equal(t, n, e.entries())
}

// Donations racing for a small budget: the sponsor never pays more than it
// has, and each refused donation leaves its donor's points alone.
func TestDonateBudgetConcurrent(t *testing.T) {
	e := newEnv(t, nil)
	users := []carbon.UserID{"u1", "u2", "u3", "u4"}
	for _, u := range users {
		e.fund(u, 1) // 89 each
	}
	require.NoError(t, e.p.FundSponsor(e.ctx, "fund-1", "acme", 250)) // two red packets of 100 fen
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.p.Donate(e.ctx, rewards.DonateRequest{Key: "d-" + string(u), User: u, Points: 50, Sponsor: "acme", Partner: "metro"})
		}()
	}
	wg.Wait()
	paid := 0
	for i, err := range errs {
		b := e.balances(users[i])
		if err == nil {
			paid++
			require.Equal(t, int64(39), b["user "+string(users[i])+" metro PTS"])
			require.Equal(t, int64(100), b["user "+string(users[i])+" CNY"])
			continue
		}
		require.ErrorIs(t, err, rewards.ErrBudgetExhausted)
		require.Equal(t, int64(89), b["user "+string(users[i])+" metro PTS"])
		require.Equal(t, int64(0), b["user "+string(users[i])+" CNY"])
	}
	require.Equal(t, 2, paid)
	require.Equal(t, int64(50), e.balances("u1")["sponsor acme CNY"])
	require.Equal(t, int64(100), e.balances("u1")["charity donations PTS"])
}

// The red packet is capped per donation.
func TestDonateMaxRedPacket(t *testing.T) {
	e := newEnv(t, nil)
	e.fund("u1", 8) // 712
	require.NoError(t, e.p.FundSponsor(e.ctx, "fund-1", "acme", 5000))
	d, err := e.p.Donate(e.ctx, rewards.DonateRequest{Key: "big", User: "u1", Points: 700, Sponsor: "acme"})
	require.NoError(t, err)
	require.Equal(t, int64(1000), d.RedPacket)
}
