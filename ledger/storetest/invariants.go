package storetest

import (
	"context"
	"fmt"

	"github.com/carbonkit/carbonkit/ledger"
)

// CheckInvariants checks the ledger's invariants over everything in s (the
// store l runs on), from its public reads, and returns the first violation
// found:
//
//   - per asset, the sum of all posted balances is zero (TrialBalance);
//   - no user account's posted balance, held amount or available balance
//     is below zero, and no system account's available balance is below
//     its policy's floor;
//   - each account's held amount equals what its pending holds reserve;
//   - for every user account, the remaining lots sum to the posted balance;
//   - each parent's roll-up equals its own balance plus its children's;
//   - the hash chain verifies and the feed has every entry, gapless.
//
// It reads without a global snapshot, so call it while no writes run.
func CheckInvariants(ctx context.Context, l *ledger.Ledger, s ledger.Store) error {
	totals, err := l.TrialBalance(ctx)
	if err != nil {
		return fmt.Errorf("trial balance: %w", err)
	}
	var assets []ledger.Asset
	for _, t := range totals {
		if t.Sum != 0 {
			return fmt.Errorf("asset %s: balances sum to %d, not 0", t.Asset, t.Sum)
		}
		assets = append(assets, t.Asset)
	}

	// Walk the feed: every entry once, holds and their resolutions.
	n, err := l.VerifyChain(ctx)
	if err != nil {
		return fmt.Errorf("verify chain: %w", err)
	}
	type key struct {
		id    ledger.AccountID
		asset ledger.Asset
	}
	held := map[key]int64{}
	holds := map[ledger.EntryID]ledger.Entry{}
	var seq uint64
	for {
		es, err := l.Changes(ctx, seq, 1000)
		if err != nil {
			return fmt.Errorf("changes: %w", err)
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if e.Seq != seq+1 {
				return fmt.Errorf("feed: seq %d follows %d", e.Seq, seq)
			}
			seq = e.Seq
			switch e.Kind {
			case ledger.KindHold:
				holds[e.ID] = e
			case ledger.KindCommit, ledger.KindVoid:
				if _, ok := holds[e.Ref]; !ok {
					return fmt.Errorf("entry %s resolves hold %s, which is not pending", e.ID, e.Ref)
				}
				delete(holds, e.Ref)
			}
		}
	}
	if seq != n {
		return fmt.Errorf("feed has %d entries, chain verified %d", seq, n)
	}
	for _, h := range holds {
		for _, p := range h.Postings {
			if p.Amount < 0 {
				held[key{p.Account, p.Asset}] -= p.Amount
			}
		}
	}

	var accounts []ledger.Account
	err = s.View(ctx, func(tx ledger.ReadTx) error {
		var after ledger.AccountID
		for {
			as, err := tx.Accounts(ctx, after, 1000)
			if err != nil || len(as) == 0 {
				return err
			}
			accounts = append(accounts, as...)
			after = as[len(as)-1].ID
		}
	})
	if err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	for _, a := range accounts {
		for _, asset := range assets {
			b, err := l.Balance(ctx, a.ID, asset)
			if err != nil {
				return fmt.Errorf("balance of %q: %w", a.ID, err)
			}
			avail, ok := b.Available()
			if !ok {
				return fmt.Errorf("%q %s: available balance overflows", a.ID, asset)
			}
			if b.Held != held[key{a.ID, asset}] {
				return fmt.Errorf("%q %s: held %d, pending holds reserve %d", a.ID, asset, b.Held, held[key{a.ID, asset}])
			}
			if a.ID.IsUser() {
				if b.Posted < 0 || b.Held < 0 || avail < 0 {
					return fmt.Errorf("user account %q %s below zero: %+v", a.ID, asset, b)
				}
				lots, err := l.Lots(ctx, a.ID, asset)
				if err != nil {
					return fmt.Errorf("lots of %q: %w", a.ID, err)
				}
				var sum int64
				for _, lot := range lots {
					if lot.Remaining <= 0 || lot.Remaining > lot.Amount {
						return fmt.Errorf("lot %s of %q has %d of %d", lot.ID, a.ID, lot.Remaining, lot.Amount)
					}
					sum += lot.Remaining
				}
				if sum != b.Posted {
					return fmt.Errorf("lots of %q %s sum to %d, balance is %d", a.ID, asset, sum, b.Posted)
				}
			} else if !a.Policy.Unbounded() {
				floor := int64(0)
				if a.Policy.Overdraft {
					floor = -a.Policy.Limit
				}
				if avail < floor {
					return fmt.Errorf("account %q %s: available %d below floor %d", a.ID, asset, avail, floor)
				}
			}
			if a.ID.Kind() == ledger.KindUser {
				r, err := l.Rollup(ctx, a.ID.User(), asset)
				if err != nil {
					return fmt.Errorf("rollup of %q: %w", a.ID, err)
				}
				want := b
				for _, c := range r.Children {
					cb, err := l.Balance(ctx, c.Account, asset)
					if err != nil {
						return err
					}
					want.Posted += cb.Posted
					want.Held += cb.Held
				}
				if r.Total != want || r.Own != b {
					return fmt.Errorf("rollup of %q %s: total %+v, own %+v; parts sum to %+v", a.ID, asset, r.Total, r.Own, want)
				}
			}
		}
	}
	return nil
}
