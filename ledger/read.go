package ledger

import (
	"context"
	"errors"
	"maps"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// Account returns an account's metadata. Errors: ErrInvalidRequest,
// ErrUnknownAccount, ErrStore.
func (l *Ledger) Account(ctx context.Context, id AccountID) (Account, error) {
	const op = "Account"
	if id.Kind() == KindInvalid {
		return Account{}, newErr(op, ErrInvalidRequest, "malformed account id "+strconv.Quote(string(id)))
	}
	if r, ok := l.store.(AccountReader); ok {
		a, err := r.ReadAccount(ctx, id)
		if err != nil {
			return Account{}, storeErr(op, err, ErrUnknownAccount)
		}
		return a, nil
	}
	var a Account
	err := l.view(ctx, op, func(tx ReadTx) error {
		var err error
		a, err = tx.Account(ctx, id)
		return storeErr(op, err, ErrUnknownAccount)
	})
	return a, err
}

// Balance returns an account's balance in an asset: posted, held by pending
// holds, and (Balance.Available) spendable. Errors: ErrInvalidRequest,
// ErrUnknownAsset, ErrUnknownAccount, ErrStore.
func (l *Ledger) Balance(ctx context.Context, id AccountID, asset Asset) (Balance, error) {
	const op = "Balance"
	if err := l.checkRead(op, id, asset); err != nil {
		return Balance{}, err
	}
	if r, ok := l.store.(AccountReader); ok {
		b, err := r.ReadBalance(ctx, id, asset)
		if err != nil {
			return Balance{}, storeErr(op, err, ErrUnknownAccount)
		}
		return b, nil
	}
	var b Balance
	err := l.view(ctx, op, func(tx ReadTx) error {
		var err error
		b, err = tx.Balance(ctx, id, asset)
		return storeErr(op, err, ErrUnknownAccount)
	})
	return b, err
}

// Rollup is a user's balance in one asset: the parent's own postings, each
// child, and their total.
type Rollup struct {
	User     carbon.UserID  // the user
	Asset    Asset          // the asset summed
	Own      Balance        // posted to the parent account itself
	Children []ChildBalance // in account ID order
	Total    Balance        // Own plus every child
}

// ChildBalance is one child's part of a Rollup.
type ChildBalance struct {
	Account AccountID        // the child account
	Partner carbon.PartnerID // its partner
	Closed  bool             // the partner was unlinked
	Balance Balance          // its balance in the roll-up's asset
}

// Rollup returns user u's balance in asset with a per-child breakdown, read
// consistently. Errors: ErrInvalidRequest, ErrUnknownAsset,
// ErrUnknownAccount (user never opened), ErrOverflow, ErrStore.
func (l *Ledger) Rollup(ctx context.Context, u carbon.UserID, asset Asset) (Rollup, error) {
	const op = "Rollup"
	if err := u.Validate(); err != nil {
		return Rollup{}, &Error{Op: op, Kind: ErrInvalidRequest, Err: err}
	}
	parent := UserAccount(u)
	if err := l.checkRead(op, parent, asset); err != nil {
		return Rollup{}, err
	}
	r := Rollup{User: u, Asset: asset}
	err := l.view(ctx, op, func(tx ReadTx) error {
		var err error
		if r.Own, err = tx.Balance(ctx, parent, asset); err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		kids, err := tx.Children(ctx, parent)
		if err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		r.Children = make([]ChildBalance, 0, len(kids))
		r.Total = r.Own
		for _, k := range kids {
			b, err := tx.Balance(ctx, k.ID, asset)
			if err != nil {
				return storeErr(op, err, ErrUnknownAccount)
			}
			r.Children = append(r.Children, ChildBalance{Account: k.ID, Partner: k.ID.Partner(), Closed: k.Closed, Balance: b})
			p, ok1 := add64(r.Total.Posted, b.Posted)
			h, ok2 := add64(r.Total.Held, b.Held)
			if !ok1 || !ok2 {
				return newErr(op, ErrOverflow, "roll-up of user "+strconv.Quote(string(u))+" in "+string(asset))
			}
			r.Total = Balance{Posted: p, Held: h}
		}
		return nil
	})
	return r, err
}

// Allocate returns the debits that a Spend of amount of asset at user u's
// parent would take if it were made now under alloc (nil:
// Options.Allocation): one negative posting per account it takes from, the
// parent first, then the children in ID order. It only reads: it is for a
// caller that posts an entry of its own from the same points (a donation
// that also pays a red packet, say). A write in between may take those
// points; Post then fails with ErrInsufficientFunds and the caller may
// ask again. Like a spend, it reads of each account only the lots it would
// take. Errors: ErrInvalidRequest, ErrUnknownAsset, ErrInvalidAmount,
// ErrUnknownAccount (user never opened), ErrInsufficientFunds, ErrStore.
func (l *Ledger) Allocate(ctx context.Context, u carbon.UserID, asset Asset, amount int64, alloc *Allocation) ([]Posting, error) {
	const op = "Allocate"
	if err := u.Validate(); err != nil {
		return nil, &Error{Op: op, Kind: ErrInvalidRequest, Err: err}
	}
	parent := UserAccount(u)
	if err := l.checkRead(op, parent, asset); err != nil {
		return nil, err
	}
	if amount <= 0 {
		return nil, newErr(op, ErrInvalidAmount, "amount "+strconv.FormatInt(amount, 10)+" is not positive")
	}
	a := l.alloc
	if alloc != nil {
		for _, p := range alloc.Priority {
			if err := p.Validate(); err != nil {
				return nil, &Error{Op: op, Kind: ErrInvalidRequest, Detail: "allocation priority", Err: err}
			}
		}
		a = *alloc
	}
	var out []Posting
	err := l.view(ctx, op, func(tx ReadTx) error {
		kids, err := tx.Children(ctx, parent)
		if err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		srcs := make([]AccountID, 0, len(kids)+1)
		srcs = append(srcs, parent)
		for _, k := range kids {
			srcs = append(srcs, k.ID)
		}
		takes, err := allocate(ctx, tx, op, u, srcs, asset, amount, a, nil)
		if err != nil {
			return err
		}
		for i, t := range takes {
			if t > 0 {
				out = append(out, Posting{Account: srcs[i], Asset: asset, Amount: -t})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// BalanceAt returns an account's posted balance in asset counting the
// entries effective at or before t (holds and voids move no posted value).
// It reads the account's whole history. Errors: as Balance, and
// ErrOverflow.
func (l *Ledger) BalanceAt(ctx context.Context, id AccountID, asset Asset, t time.Time) (int64, error) {
	const op = "BalanceAt"
	if err := l.checkRead(op, id, asset); err != nil {
		return 0, err
	}
	var sum int64
	err := l.view(ctx, op, func(tx ReadTx) error {
		if _, err := tx.Account(ctx, id); err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		cursor := ""
		for {
			es, next, err := tx.History(ctx, id, cursor, maxPageLimit)
			if err != nil {
				return storeErr(op, err, ErrUnknownAccount)
			}
			for _, e := range es {
				if e.Kind == KindHold || e.Kind == KindVoid || e.Effective.After(t) {
					continue
				}
				for _, p := range e.Postings {
					if p.Account == id && p.Asset == asset {
						var ok bool
						if sum, ok = add64(sum, p.Amount); !ok {
							return newErr(op, ErrOverflow, "balance of "+string(id)+" at "+t.Format(time.RFC3339))
						}
					}
				}
			}
			if next == "" {
				return nil
			}
			cursor = next
		}
	})
	return sum, err
}

// HistoryPage is one page of an account's history.
type HistoryPage struct {
	Entries []Entry // in commit order
	Next    string  // the cursor of the next page, "" at the end
}

// History returns up to limit (1 to 1000) entries that touch an account, in
// commit order, from cursor ("" for the start). Errors: ErrInvalidRequest,
// ErrUnknownAccount, ErrInvalidCursor, ErrStore.
func (l *Ledger) History(ctx context.Context, id AccountID, cursor string, limit int) (HistoryPage, error) {
	const op = "History"
	if id.Kind() == KindInvalid {
		return HistoryPage{}, newErr(op, ErrInvalidRequest, "malformed account id "+strconv.Quote(string(id)))
	}
	if limit < 1 || limit > maxPageLimit {
		return HistoryPage{}, newErr(op, ErrInvalidRequest, "limit "+strconv.Itoa(limit)+" is outside 1 to 1000")
	}
	var page HistoryPage
	err := l.view(ctx, op, func(tx ReadTx) error {
		if _, err := tx.Account(ctx, id); err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		es, next, err := tx.History(ctx, id, cursor, limit)
		if err != nil {
			if errors.Is(err, ErrInvalidCursor) {
				return &Error{Op: op, Kind: ErrInvalidCursor, Detail: "cursor " + strconv.Quote(cursor), Err: err}
			}
			return err
		}
		page = HistoryPage{Entries: deref(es), Next: next}
		return nil
	})
	return page, err
}

// AssetTotal is one line of a trial balance.
type AssetTotal struct {
	Asset Asset // the asset summed
	// Sum of every account's posted balance: always zero in a correct
	// ledger, since every entry balances.
	Sum int64
	// Held is the sum of every account's held amount.
	Held int64
	// Accounts counts the accounts with a non-zero posted balance.
	Accounts int
}

// TrialBalance sums every account's balance per registered asset, in asset
// order, from one consistent read. Errors: ErrOverflow (a total outside
// int64), ErrStore.
func (l *Ledger) TrialBalance(ctx context.Context) ([]AssetTotal, error) {
	const op = "TrialBalance"
	assets := slices.Sorted(maps.Keys(*l.assets.m.Load()))
	type acc128 struct{ hi, lo, hhi, hlo uint64 }
	sums := make([]acc128, len(assets))
	out := make([]AssetTotal, len(assets))
	err := l.view(ctx, op, func(tx ReadTx) error {
		var after AccountID
		for {
			as, err := tx.Accounts(ctx, after, maxPageLimit)
			if err != nil {
				return err
			}
			if len(as) == 0 {
				return nil
			}
			for _, a := range as {
				for i, asset := range assets {
					b, err := tx.Balance(ctx, a.ID, asset)
					if err != nil {
						return storeErr(op, err, ErrUnknownAccount)
					}
					if b.Posted != 0 {
						out[i].Accounts++
					}
					s := &sums[i]
					s.hi, s.lo = add128(s.hi, s.lo, b.Posted)
					s.hhi, s.hlo = add128(s.hhi, s.hlo, b.Held)
				}
			}
			after = as[len(as)-1].ID
		}
	})
	if err != nil {
		return nil, err
	}
	for i, asset := range assets {
		out[i].Asset = asset
		var ok1, ok2 bool
		out[i].Sum, ok1 = fit128(sums[i].hi, sums[i].lo)
		out[i].Held, ok2 = fit128(sums[i].hhi, sums[i].hlo)
		if !ok1 || !ok2 {
			return nil, newErr(op, ErrOverflow, "total of "+string(asset)+" does not fit in int64")
		}
	}
	return out, nil
}

// add128 adds a sign-extended int64 to a two's complement 128-bit integer.
func add128(hi, lo uint64, v int64) (uint64, uint64) {
	ext := uint64(0)
	if v < 0 {
		ext = ^uint64(0)
	}
	lo, c := bits.Add64(lo, uint64(v), 0)
	hi, _ = bits.Add64(hi, ext, c)
	return hi, lo
}

// fit128 returns a 128-bit integer as an int64 if it fits.
func fit128(hi, lo uint64) (int64, bool) {
	v := int64(lo)
	if (v < 0 && hi == ^uint64(0)) || (v >= 0 && hi == 0) {
		return v, true
	}
	return 0, false
}

// Entry returns a committed entry. Errors: ErrUnknownEntry, ErrStore.
func (l *Ledger) Entry(ctx context.Context, id EntryID) (Entry, error) {
	const op = "Entry"
	var e *Entry
	err := l.view(ctx, op, func(tx ReadTx) error {
		var err error
		e, err = tx.Entry(ctx, id)
		return storeErr(op, err, ErrUnknownEntry)
	})
	if err != nil {
		return Entry{}, err
	}
	return *e, nil
}

// HoldState says where a hold stands.
type HoldState struct {
	Hold       Entry   // the hold entry
	Pending    bool    // neither committed nor voided
	ResolvedBy EntryID // the commit or void, when not pending
}

// EntryByKey returns the entry that a write under the caller's
// idempotency key key committed: a caller that lost a write's outcome can
// look before it decides what to do. Errors: ErrInvalidRequest for a
// malformed key, ErrUnknownEntry if no write under key committed,
// ErrStore.
func (l *Ledger) EntryByKey(ctx context.Context, key string) (Entry, error) {
	const op = "EntryByKey"
	if err := carbon.ValidateID("idempotency key", key); err != nil {
		return Entry{}, &Error{Op: op, Kind: ErrInvalidRequest, Err: err}
	}
	var e *Entry
	err := l.view(ctx, op, func(tx ReadTx) error {
		id, err := tx.Key(ctx, CallerKey(key))
		if err != nil {
			return storeErr(op, err, ErrUnknownEntry)
		}
		e, err = tx.Entry(ctx, id)
		return storeErr(op, err, ErrUnknownEntry)
	})
	if err != nil {
		return Entry{}, err
	}
	return *e, nil
}

// HoldStatus returns a hold and whether it is still pending. A pending hold
// past its deadline is reported pending until ExpireHolds voids it.
// Errors: ErrUnknownEntry, ErrNotHold, ErrStore.
func (l *Ledger) HoldStatus(ctx context.Context, id EntryID) (HoldState, error) {
	const op = "HoldStatus"
	var st HoldState
	err := l.view(ctx, op, func(tx ReadTx) error {
		h, err := tx.Entry(ctx, id)
		if err != nil {
			return storeErr(op, err, ErrUnknownEntry)
		}
		if h.Kind != KindHold {
			return newErr(op, ErrNotHold, "entry "+string(id)+" is a "+h.Kind.String())
		}
		st.Hold = *h
		by, err := tx.Key(ctx, HoldKey(id))
		switch {
		case errors.Is(err, ErrNotFound):
			st.Pending = true
			return nil
		case err != nil:
			return err
		}
		st.ResolvedBy = by
		return nil
	})
	return st, err
}

// Lots returns an account's lots in an asset that have something
// remaining, in the order debits consume them. Errors: as Balance.
func (l *Ledger) Lots(ctx context.Context, id AccountID, asset Asset) ([]Lot, error) {
	const op = "Lots"
	if err := l.checkRead(op, id, asset); err != nil {
		return nil, err
	}
	var out []Lot
	err := l.view(ctx, op, func(tx ReadTx) error {
		if _, err := tx.Account(ctx, id); err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		return tx.Lots(ctx, id, asset, func(lot Lot) bool {
			out = append(out, lot)
			return true
		})
	})
	return out, err
}

// Changes returns up to limit (1 to 1000) sealed entries after sequence
// number after, in order and without gaps: the change feed a host publishes
// from (remember the last Seq it published, and ask for what follows).
// Errors: ErrInvalidRequest, ErrStore.
func (l *Ledger) Changes(ctx context.Context, after uint64, limit int) ([]Entry, error) {
	const op = "Changes"
	if limit < 1 || limit > maxPageLimit {
		return nil, newErr(op, ErrInvalidRequest, "limit "+strconv.Itoa(limit)+" is outside 1 to 1000")
	}
	var out []Entry
	err := l.view(ctx, op, func(tx ReadTx) error {
		es, err := tx.Changes(ctx, after, limit)
		if err != nil {
			return err
		}
		out = deref(es)
		return nil
	})
	return out, err
}

// VerifyChain walks the change feed from the start and checks that sequence
// numbers have no gaps and that each entry's hash follows from its
// predecessor's and its own content. It returns the number of entries
// verified, and a *ChainError (matching ErrBrokenChain) naming the first
// broken link, or ErrStore.
func (l *Ledger) VerifyChain(ctx context.Context) (uint64, error) {
	const op = "VerifyChain"
	s := NewSealer()
	var prev Hash
	var seq uint64
	for {
		var es []*Entry
		err := l.view(ctx, op, func(tx ReadTx) error {
			var err error
			es, err = tx.Changes(ctx, seq, maxPageLimit)
			return err
		})
		if err != nil {
			return seq, err
		}
		if len(es) == 0 {
			return seq, nil
		}
		for _, e := range es {
			switch {
			case e.Seq != seq+1:
				return seq, &ChainError{Seq: e.Seq, Reason: "sequence gap: expected " + strconv.FormatUint(seq+1, 10)}
			case e.PrevHash != prev:
				return seq, &ChainError{Seq: e.Seq, Reason: "previous hash does not match entry " + strconv.FormatUint(seq, 10)}
			case s.sum(e) != e.Hash:
				return seq, &ChainError{Seq: e.Seq, Reason: "hash does not match content"}
			}
			seq, prev = e.Seq, e.Hash
		}
	}
}

func (l *Ledger) checkRead(op string, id AccountID, asset Asset) error {
	if id.Kind() == KindInvalid {
		return newErr(op, ErrInvalidRequest, "malformed account id "+strconv.Quote(string(id)))
	}
	if _, ok := l.assets.scale(asset); !ok {
		return newErr(op, ErrUnknownAsset, "asset "+strconv.Quote(string(asset)))
	}
	return nil
}

func deref(es []*Entry) []Entry {
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = *e
	}
	return out
}
