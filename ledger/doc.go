// Package ledger is carbonkit's double-entry ledger for carbon points and
// the other values a programme moves (CO2e, cash for red packets): a
// concrete, goroutine-safe *Ledger over a small Store interface, the way
// *sql.DB sits over a driver. The Ledger owns every invariant; a Store only
// persists (ledger/memstore is the in-memory default, ledger/storetest the
// conformance suite every Store passes).
//
// # Model
//
//   - Assets have a fixed scale, registered once: Points (scale 0), CO2e
//     (grams at scale 3: amounts are milligrams) and CNY (scale 2: fen) are
//     predefined. Amounts are int64 minor units; every sum is checked for
//     overflow. Convert at the edge with Amount and MassAmount, which take
//     an explicit carbon.Rounding.
//   - Accounts are named by AccountID. A user has one parent account
//     (UserAccount) and one child per linked partner (PartnerAccount): "1+N".
//     System accounts (issuance per partner, breakage, charity, merchant,
//     sponsor) have a BalancePolicy; user accounts never go below zero.
//   - An Entry has postings that balance to zero per asset, a caller's
//     idempotency key, metadata and an effective time. It is posted
//     atomically or not at all, and never changes: corrections are
//     reversals, which are entries too.
//   - Every credit to a user account becomes a Lot with an expiry (from
//     Options.Expiry). Debits consume lots soonest-expiring first and record
//     which (Entry.Lots), so a reversal restores exactly those lots, and
//     Expire moves what is left of expired lots to breakage. A spend at the
//     parent allocates across the children (Options.Allocation), reading of
//     each only the lots it can take; Allocate tells, without spending,
//     what a spend would take from each.
//   - Holds reserve funds (available = posted - held) until committed, for
//     all or less, or voided, exactly once; a hold with a deadline expires
//     (ExpireHolds).
//   - Every committed entry gets a gapless sequence number and a hash that
//     chains it to its predecessor: Changes is the change feed a host
//     publishes from, VerifyChain detects any rewrite.
//
// # Calls
//
// A typical sequence in a host backend:
//
//	l, err := ledger.New(memstore.New(), &ledger.Options{
//		Expiry: ledger.ExpireEndOfNextYear(shanghai),
//	})
//	l.OpenUser(ctx, "u-42")                         // the parent account
//	l.LinkPartner(ctx, "u-42", "metro")             // a child account
//	l.Post(ctx, ledger.PostRequest{Key: "metro-trip-991", Postings: []ledger.Posting{
//		{Account: ledger.IssuanceAccount("metro"), Asset: ledger.Points, Amount: -30},
//		{Account: ledger.PartnerAccount("u-42", "metro"), Asset: ledger.Points, Amount: 30},
//	}})                                             // earn
//	l.OpenAccount(ctx, ledger.MerchantAccount("shop"), ledger.BalancePolicy{})
//	l.Spend(ctx, ledger.Spend{Key: "order-7", User: "u-42", Asset: ledger.Points,
//		Amount: 20, To: ledger.MerchantAccount("shop")})  // spend at the parent
//	h, _ := l.HoldSpend(ctx, ledger.Spend{...})       // reserve a redemption
//	l.Commit(ctx, ledger.CommitRequest{Key: "redeem-1", Hold: h.ID})
//	r, _ := l.Rollup(ctx, "u-42", ledger.Points)      // parent and children
//
// and, periodically, Expire(ctx, now) and ExpireHolds(ctx, now), and a
// publisher reading Changes(ctx, lastSeq, 100).
//
// # Idempotency and retries
//
// Every write carries a caller key. The same key with the same request
// returns the original entry and changes nothing; the same key with a
// different request fails with ErrIdempotencyConflict. So a caller that
// gets ErrStore (the store failed, and the write may or may not have
// committed) retries with the same key. The Ledger itself retries store
// conflicts (ErrConflict) a bounded number of times.
//
// # Errors
//
// Every error matches one of the Err sentinels with errors.Is and is an
// *Error (errors.As) carrying the method and what was wrong with which
// value. A rejected call changes nothing. Nothing panics on caller input.
//
// # Concurrency
//
// A *Ledger is safe for concurrent use by any number of goroutines. For
// each write the Ledger asks the store to lock, in sorted order, every user
// account it touches and every other account it debits whose policy it
// must check; an account with an unbounded policy (an issuance account) is
// never locked and takes concurrent deltas, so it is not a point where all
// writers queue. Entries returned may share memory with the store (memstore
// decodes a fresh copy for each read; another store need not): treat them
// as read-only.
package ledger
