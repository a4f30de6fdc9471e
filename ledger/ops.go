package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/carbonkit/carbonkit/carbon"
)

// Limits on a request.
const (
	MaxPostings   = 64              // postings in one entry
	MaxKeyLen     = carbon.MaxIDLen // bytes in an idempotency key
	MaxMetadata   = 32              // metadata pairs
	MaxMetaKeyLen = 64              // bytes in a metadata key
	MaxMetaValLen = 1024            // bytes in a metadata value
)

const (
	maxPageLimit = 1000 // entries or accounts per page
	expireBatch  = 128  // accounts or holds per Expire or ExpireHolds page
)

// Request fingerprints start with a format version and an operation code,
// so that one key reused for two kinds of operation never matches.
const (
	fpVersion    = 1
	fpPost       = 1
	fpHold       = 2
	fpSpend      = 3
	fpHoldSpend  = 4
	fpCommit     = 5
	fpVoid       = 6
	fpReverse    = 7
	fpExpire     = 8
	fpExpireHold = 9
)

// PostRequest asks for postings to be posted as one entry.
type PostRequest struct {
	// Key is the caller's idempotency key (required): printable ASCII
	// without spaces, at most MaxKeyLen bytes.
	Key string
	// Postings must balance to zero per asset, name each (account, asset)
	// once, and have non-zero amounts.
	Postings []Posting
	// Metadata is stored with the entry (at most MaxMetadata pairs).
	Metadata map[string]string
	// Effective is when the entry takes effect; zero means now.
	Effective time.Time
}

// HoldRequest asks for postings to be reserved: debited accounts' held
// amounts grow, so the funds cannot be spent elsewhere, until the hold is
// committed, voided or expires.
type HoldRequest struct {
	Key       string            // the caller's idempotency key, as in PostRequest
	Postings  []Posting         // as in PostRequest; the debits are reserved
	Metadata  map[string]string // stored with the hold
	Effective time.Time         // zero means now
	// Deadline, if not zero, is when the hold expires: it can no longer be
	// committed, and ExpireHolds voids it.
	Deadline time.Time
}

// Spend asks for Amount of Asset to be taken from a user's points and paid
// To an account (a merchant, a charity). With Partner set, the spend is in
// that partner's mall and debits only that child account; with Partner
// empty, it is at the parent and is allocated across the parent's own
// balance and its children by Allocation (nil: the Ledger's default).
type Spend struct {
	Key        string            // the caller's idempotency key
	User       carbon.UserID     // whose points
	Partner    carbon.PartnerID  // the mall spent in; "" for the parent
	Asset      Asset             // usually Points
	Amount     int64             // minor units, more than zero
	To         AccountID         // the account credited (not the user's own)
	Metadata   map[string]string // stored with the entry
	Effective  time.Time         // zero means now
	Allocation *Allocation       // for a spend at the parent; nil: Options.Allocation
	// Deadline applies to HoldSpend only (see HoldRequest.Deadline).
	Deadline time.Time
}

// CommitRequest asks for a hold to be committed.
type CommitRequest struct {
	Key  string  // the caller's idempotency key
	Hold EntryID // the hold to commit
	// Amount commits less than the hold, the rest being released; zero
	// commits it all. A partial commit needs a hold with one asset and one
	// credit posting; the debits are taken in the hold's posting order.
	Amount   int64
	Metadata map[string]string // stored with the commit entry
}

// VoidRequest asks for a hold to be released.
type VoidRequest struct {
	Key      string            // the caller's idempotency key
	Hold     EntryID           // the hold to void
	Metadata map[string]string // stored with the void entry
}

// ReverseRequest asks for a posted entry to be undone by a new entry.
type ReverseRequest struct {
	Key      string            // the caller's idempotency key
	Entry    EntryID           // the entry to reverse
	Metadata map[string]string // stored with the reversal
}

// Post posts r.Postings as one entry, atomically, and returns it. Credits
// to user accounts become lots (expiring by Options.Expiry); debits from
// user accounts consume lots soonest-expiring first, never the amount that
// holds reserve.
//
// If r.Key was used before with the same request, Post returns the original
// entry and changes nothing. Errors (a rejected call changes nothing):
// ErrInvalidRequest, ErrInvalidAmount, ErrUnbalanced, ErrUnknownAsset,
// ErrOverflow, ErrUnknownAccount, ErrAccountClosed (a credit to an unlinked
// child), ErrInsufficientFunds, ErrIdempotencyConflict, ErrConflict (after
// retries), ErrStore.
func (l *Ledger) Post(ctx context.Context, r PostRequest) (Entry, error) {
	const op = "Post"
	if err := l.validate(op, r.Key, r.Postings, r.Metadata); err != nil {
		return Entry{}, err
	}
	fp := l.fingerprint(func(b []byte) []byte {
		b = append(b, fpPost)
		b = appendStr(b, r.Key)
		b = appendPostings(b, r.Postings)
		b = appendMeta(b, r.Metadata)
		return appendTime(b, r.Effective)
	})
	w := l.writers.Get().(*writer)
	w.postReq = r
	return l.writeWith(w, ctx, op, KindTransfer, r.Key, "", fp, buildPost)
}

// buildPost is Post's build function: a plain function over the writer's
// copy of the request rather than a closure, which would cost an
// allocation on every Post.
func buildPost(w *writer) error {
	r := &w.postReq
	w.e.Effective = effective(r.Effective, w.now)
	w.e.Postings = append(w.block.ps[:0:len(w.block.ps)], r.Postings...)
	w.e.Metadata = cloneMeta(r.Metadata)
	return w.post(w.e.Postings)
}

// Hold reserves r.Postings: each debited account's held amount grows by the
// debit, after the same checks Post makes; nothing is posted. Commit or Void
// it exactly once. Errors: as Post, and ErrInvalidRequest for a deadline
// that is not after now.
func (l *Ledger) Hold(ctx context.Context, r HoldRequest) (Entry, error) {
	const op = "Hold"
	if err := l.validate(op, r.Key, r.Postings, r.Metadata); err != nil {
		return Entry{}, err
	}
	fp := l.fingerprint(func(b []byte) []byte {
		b = append(b, fpHold)
		b = appendStr(b, r.Key)
		b = appendPostings(b, r.Postings)
		b = appendMeta(b, r.Metadata)
		b = appendTime(b, r.Effective)
		return appendTime(b, r.Deadline)
	})
	return l.write(ctx, op, KindHold, r.Key, "", fp, func(w *writer) error {
		if err := w.deadline(r.Deadline); err != nil {
			return err
		}
		w.e.Effective = effective(r.Effective, w.now)
		w.e.Postings = append(w.block.ps[:0:len(w.block.ps)], r.Postings...)
		w.e.Metadata = cloneMeta(r.Metadata)
		return w.hold(w.e.Postings)
	})
}

// Spend takes s.Amount from user s.User's points and credits it to s.To: in
// partner s.Partner's mall from that child alone, or at the parent
// allocated across the parent and its children (see Spend). Errors: as
// Post; ErrInsufficientFunds when the user's available points do not cover
// the amount.
func (l *Ledger) Spend(ctx context.Context, s Spend) (Entry, error) {
	return l.spend(ctx, "Spend", s, false)
}

// HoldSpend reserves a spend as Spend would make it (the allocation across
// children is chosen now), to be committed or voided later.
func (l *Ledger) HoldSpend(ctx context.Context, s Spend) (Entry, error) {
	return l.spend(ctx, "HoldSpend", s, true)
}

func (l *Ledger) spend(ctx context.Context, op string, s Spend, hold bool) (Entry, error) {
	if err := l.validateSpend(op, &s); err != nil {
		return Entry{}, err
	}
	if !hold && !s.Deadline.IsZero() {
		return Entry{}, newErr(op, ErrInvalidRequest, "a deadline applies to HoldSpend only")
	}
	alloc := l.alloc
	if s.Allocation != nil {
		alloc = *s.Allocation
	}
	fp := l.fingerprint(func(b []byte) []byte {
		if hold {
			b = append(b, fpHoldSpend)
		} else {
			b = append(b, fpSpend)
		}
		b = appendStr(b, s.Key)
		b = appendStr(b, string(s.User))
		b = appendStr(b, string(s.Partner))
		b = appendStr(b, string(s.Asset))
		b = binary.BigEndian.AppendUint64(b, uint64(s.Amount))
		b = appendStr(b, string(s.To))
		b = appendMeta(b, s.Metadata)
		b = appendTime(b, s.Effective)
		b = binary.BigEndian.AppendUint32(b, uint32(len(alloc.Priority)))
		for _, p := range alloc.Priority {
			b = appendStr(b, string(p))
		}
		return appendTime(b, s.Deadline)
	})
	kind := KindTransfer
	if hold {
		kind = KindHold
	}
	return l.write(ctx, op, kind, s.Key, "", fp, func(w *writer) error {
		w.e.Effective = effective(s.Effective, w.now)
		w.e.Metadata = cloneMeta(s.Metadata)
		if hold {
			if err := w.deadline(s.Deadline); err != nil {
				return err
			}
		}
		if s.Partner != "" {
			w.e.Postings = append(w.block.ps[:0:len(w.block.ps)],
				Posting{Account: PartnerAccount(s.User, s.Partner), Asset: s.Asset, Amount: -s.Amount},
				Posting{Account: s.To, Asset: s.Asset, Amount: s.Amount})
			if hold {
				return w.hold(w.e.Postings)
			}
			return w.post(w.e.Postings)
		}
		return w.spendParent(s, alloc, hold)
	})
}

// Commit posts a hold (all of it, or r.Amount, the rest being released).
// A hold is committed or voided once: a second Commit or Void under another
// key gets ErrHoldFinalised; the same key and request returns the original
// commit. Errors: ErrInvalidRequest, ErrInvalidAmount (a negative amount, or
// a partial commit of a hold with several assets or credits),
// ErrUnknownEntry, ErrNotHold, ErrHoldFinalised, ErrHoldExpired (after the
// hold's deadline), ErrCommitExceedsHold, ErrAccountClosed,
// ErrIdempotencyConflict, ErrConflict, ErrStore.
func (l *Ledger) Commit(ctx context.Context, r CommitRequest) (Entry, error) {
	const op = "Commit"
	if err := validateKeyMeta(op, r.Key, r.Metadata); err != nil {
		return Entry{}, err
	}
	if r.Amount < 0 {
		return Entry{}, newErr(op, ErrInvalidAmount, "commit amount "+strconv.FormatInt(r.Amount, 10)+" is negative")
	}
	fp := l.fingerprint(func(b []byte) []byte {
		b = append(b, fpCommit)
		b = appendStr(b, r.Key)
		b = appendStr(b, string(r.Hold))
		b = binary.BigEndian.AppendUint64(b, uint64(r.Amount))
		return appendMeta(b, r.Metadata)
	})
	return l.write(ctx, op, KindCommit, r.Key, "", fp, func(w *writer) error {
		h, err := w.pendingHold(r.Hold)
		if err != nil {
			return err
		}
		if !h.Deadline.IsZero() && w.now.After(h.Deadline) {
			return newErr(op, ErrHoldExpired, "hold "+string(h.ID)+" expired at "+h.Deadline.Format(time.RFC3339Nano))
		}
		w.e.Effective = w.now
		w.e.Ref = h.ID
		w.e.Metadata = cloneMeta(r.Metadata)
		return w.commit(h, r.Amount)
	})
}

// Void releases a hold. Errors: ErrInvalidRequest, ErrUnknownEntry,
// ErrNotHold, ErrHoldFinalised, ErrIdempotencyConflict, ErrConflict,
// ErrStore. Voiding after the deadline is allowed.
func (l *Ledger) Void(ctx context.Context, r VoidRequest) (Entry, error) {
	const op = "Void"
	if err := validateKeyMeta(op, r.Key, r.Metadata); err != nil {
		return Entry{}, err
	}
	fp := l.fingerprint(func(b []byte) []byte {
		b = append(b, fpVoid)
		b = appendStr(b, r.Key)
		b = appendStr(b, string(r.Hold))
		return appendMeta(b, r.Metadata)
	})
	return l.write(ctx, op, KindVoid, r.Key, "", fp, func(w *writer) error {
		h, err := w.pendingHold(r.Hold)
		if err != nil {
			return err
		}
		w.e.Effective = w.now
		w.e.Ref = h.ID
		w.e.Metadata = cloneMeta(r.Metadata)
		return w.void(h)
	})
}

// Reverse undoes a posted entry (a transfer, a commit or an expiry) with a
// new entry of the opposite postings; the original stays. Lots the original
// consumed are restored (even to an unlinked child); lots it created are
// taken back first. An entry is reversed at most once: the same key and
// request returns the original reversal, another key gets
// ErrAlreadyReversed. Errors: ErrInvalidRequest, ErrUnknownEntry,
// ErrReversalOfReversal, ErrNotReversible (a hold or a void),
// ErrAlreadyReversed, ErrInsufficientFunds (what the original credited has
// been spent), ErrIdempotencyConflict, ErrConflict, ErrStore.
func (l *Ledger) Reverse(ctx context.Context, r ReverseRequest) (Entry, error) {
	const op = "Reverse"
	if err := validateKeyMeta(op, r.Key, r.Metadata); err != nil {
		return Entry{}, err
	}
	fp := l.fingerprint(func(b []byte) []byte {
		b = append(b, fpReverse)
		b = appendStr(b, r.Key)
		b = appendStr(b, string(r.Entry))
		return appendMeta(b, r.Metadata)
	})
	return l.write(ctx, op, KindReversal, r.Key, "", fp, func(w *writer) error {
		x, err := w.tx.Entry(w.ctx, r.Entry)
		if err != nil {
			return storeErr(op, err, ErrUnknownEntry)
		}
		switch x.Kind {
		case KindReversal:
			return newErr(op, ErrReversalOfReversal, "entry "+string(x.ID)+" is a reversal")
		case KindHold, KindVoid:
			return newErr(op, ErrNotReversible, "entry "+string(x.ID)+" is a "+x.Kind.String()+": void a pending hold instead")
		}
		if err := w.once(ReversalKey(x.ID), ErrAlreadyReversed, "entry "+string(x.ID)+" was reversed by entry "); err != nil {
			return err
		}
		w.e.Effective = w.now
		w.e.Ref = x.ID
		w.e.Metadata = cloneMeta(r.Metadata)
		return w.reverse(x)
	})
}

// Expire moves what is left of every lot that expired at or before asOf to
// the breakage account, with one expiry entry per account (opening the
// breakage account if needed), and returns the entries. Amounts reserved by
// pending holds are not expired until the hold is resolved. A retry is
// safe: a lot is expired once, so a retry with the same asOf expires only
// what the first call left, and returns only the entries it made itself
// (none, if the first call finished; the first call's are in History and
// Changes). Errors: ErrInvalidRequest for a zero asOf, ErrStore,
// ErrConflict. On an error, the entries already committed stay committed
// and are returned with the error.
func (l *Ledger) Expire(ctx context.Context, asOf time.Time) ([]Entry, error) {
	const op = "Expire"
	if asOf.IsZero() {
		return nil, newErr(op, ErrInvalidRequest, "as-of time is zero")
	}
	asOf = asOf.UTC().Round(0)
	var out []Entry
	var after AccountID
	for {
		var ids []AccountID
		err := l.view(ctx, op, func(tx ReadTx) error {
			var err error
			ids, err = tx.Expiring(ctx, asOf, after, expireBatch)
			return err
		})
		if err != nil {
			return out, err
		}
		if len(ids) == 0 {
			return out, nil
		}
		for _, id := range ids {
			e, err := l.expireAccount(ctx, id, asOf)
			switch {
			case errors.Is(err, errNothing):
			case err != nil:
				return out, err
			default:
				out = append(out, e)
			}
		}
		after = ids[len(ids)-1]
	}
}

// errNothing aborts an expiry transaction that found nothing to do.
var errNothing = errors.New("ledger: nothing to expire")

func (l *Ledger) expireAccount(ctx context.Context, id AccountID, asOf time.Time) (Entry, error) {
	const op = "Expire"
	fp := l.fingerprint(func(b []byte) []byte {
		b = append(b, fpExpire)
		b = appendStr(b, string(id))
		return appendTime(b, asOf)
	})
	// No idempotency key: the account's lots, read under its lock, are the
	// guard. Once expired they are empty, so a retry, or a concurrent
	// Expire, finds nothing left to move.
	return l.write(ctx, op, KindExpiry, "", "", fp, func(w *writer) error {
		w.e.Effective = asOf
		return w.expire(id, asOf)
	})
}

// ExpireHolds voids every pending hold whose deadline is at or before asOf
// and returns the void entries. A hold resolved meanwhile is skipped.
// Errors: ErrInvalidRequest for a zero asOf, ErrStore, ErrConflict; on an
// error the voids already committed are returned with it.
func (l *Ledger) ExpireHolds(ctx context.Context, asOf time.Time) ([]Entry, error) {
	const op = "ExpireHolds"
	if asOf.IsZero() {
		return nil, newErr(op, ErrInvalidRequest, "as-of time is zero")
	}
	asOf = asOf.UTC().Round(0)
	var out []Entry
	var after EntryID
	for {
		var holds []*Entry
		err := l.view(ctx, op, func(tx ReadTx) error {
			var err error
			holds, err = tx.PendingHolds(ctx, asOf, after, expireBatch)
			return err
		})
		if err != nil {
			return out, err
		}
		if len(holds) == 0 {
			return out, nil
		}
		for _, h := range holds {
			fp := l.fingerprint(func(b []byte) []byte {
				b = append(b, fpExpireHold)
				return appendStr(b, string(h.ID))
			})
			e, err := l.write(ctx, op, KindVoid, "", "", fp, func(w *writer) error {
				h, err := w.pendingHold(h.ID)
				if err != nil {
					return err
				}
				w.e.Effective = w.now
				w.e.Ref = h.ID
				w.e.Metadata = map[string]string{"reason": "expired"}
				return w.void(h)
			})
			switch {
			case errors.Is(err, ErrHoldFinalised):
			case err != nil:
				return out, err
			default:
				out = append(out, e)
			}
		}
		after = holds[len(holds)-1].ID
	}
}

// post checks and applies postings that move value.
func (w *writer) post(ps []Posting) error {
	if err := w.lockPostings(ps); err != nil {
		return err
	}
	for _, p := range ps {
		if p.Amount > 0 && p.Account.Kind() == KindPartner {
			if err := w.checkCredit(p.Account); err != nil {
				return err
			}
		}
	}
	for _, p := range ps {
		if p.Amount > 0 {
			continue
		}
		b, err := w.checkDebit(p.Account, p.Asset, -p.Amount)
		if err != nil {
			return err
		}
		if p.Account.IsUser() {
			if err := w.consume(p.Account, p.Asset, -p.Amount, b.Held, LotID{}); err != nil {
				return err
			}
		}
	}
	for i, p := range ps {
		if p.Amount > 0 {
			if err := w.credit(p.Account, p.Asset, p.Amount, i); err != nil {
				return err
			}
		} else if err := w.add(p.Account, p.Asset, p.Amount, 0); err != nil {
			return err
		}
	}
	return nil
}

// hold checks postings as post does and reserves their debits.
func (w *writer) hold(ps []Posting) error {
	if err := w.lockPostings(ps); err != nil {
		return err
	}
	for _, p := range ps {
		if p.Amount > 0 {
			if p.Account.Kind() == KindPartner {
				if err := w.checkCredit(p.Account); err != nil {
					return err
				}
			}
			continue
		}
		if _, err := w.checkDebit(p.Account, p.Asset, -p.Amount); err != nil {
			return err
		}
		if err := w.add(p.Account, p.Asset, 0, -p.Amount); err != nil {
			return err
		}
	}
	return nil
}

func (w *writer) lockPostings(ps []Posting) error {
	var ids [8]AccountID
	var debit [8]bool
	is, ds := ids[:0], debit[:0]
	for _, p := range ps {
		is = append(is, p.Account)
		ds = append(ds, p.Amount < 0)
	}
	return w.lockFor(is, ds)
}

func (w *writer) deadline(d time.Time) error {
	if !d.IsZero() && !d.After(w.now) {
		return newErr(w.op, ErrInvalidRequest, "deadline "+d.Format(time.RFC3339Nano)+" is not after now")
	}
	w.e.Deadline = d.UTC().Round(0)
	return nil
}

// once sets w.unique to key and fails with kind if an entry was inserted
// under it.
func (w *writer) once(key string, kind error, detail string) error {
	w.unique = key
	id, err := w.tx.Key(w.ctx, key)
	switch {
	case err == nil:
		return newErr(w.op, kind, detail+string(id))
	case errors.Is(err, ErrNotFound):
		w.uniqueFree = true
		return nil
	}
	return storeErr(w.op, err, nil)
}

// pendingHold loads a hold that has not been resolved, and claims its
// resolution key for this entry.
func (w *writer) pendingHold(id EntryID) (*Entry, error) {
	h, err := w.tx.Entry(w.ctx, id)
	if err != nil {
		return nil, storeErr(w.op, err, ErrUnknownEntry)
	}
	if h.Kind != KindHold {
		return nil, newErr(w.op, ErrNotHold, "entry "+string(id)+" is a "+h.Kind.String())
	}
	if err := w.once(HoldKey(id), ErrHoldFinalised, "hold "+string(id)+" was finalised by entry "); err != nil {
		return nil, err
	}
	return h, nil
}

// commit posts amount (0: all) of hold h and releases the rest.
func (w *writer) commit(h *Entry, amount int64) error {
	ps := make([]Posting, 0, len(h.Postings))
	if amount == 0 {
		ps = append(ps, h.Postings...)
	} else {
		var credit *Posting
		for i := range h.Postings {
			p := &h.Postings[i]
			if p.Asset != h.Postings[0].Asset {
				return newErr(w.op, ErrInvalidAmount, "partial commit of hold "+string(h.ID)+" which holds several assets")
			}
			if p.Amount > 0 {
				if credit != nil {
					return newErr(w.op, ErrInvalidAmount, "partial commit of hold "+string(h.ID)+" which credits several accounts")
				}
				credit = p
			}
		}
		if amount > credit.Amount {
			return newErr(w.op, ErrCommitExceedsHold, "commit of "+strconv.FormatInt(amount, 10)+" exceeds hold "+
				string(h.ID)+" of "+strconv.FormatInt(credit.Amount, 10))
		}
		left := amount
		for _, p := range h.Postings {
			switch {
			case p.Amount > 0:
				ps = append(ps, Posting{Account: p.Account, Asset: p.Asset, Amount: amount})
			case left > 0:
				take := min(-p.Amount, left)
				left -= take
				ps = append(ps, Posting{Account: p.Account, Asset: p.Asset, Amount: -take})
			}
		}
	}
	w.e.Postings = ps
	if err := w.lockPostings(h.Postings); err != nil {
		return err
	}
	for _, p := range ps {
		if p.Amount > 0 && p.Account.Kind() == KindPartner {
			if err := w.checkCredit(p.Account); err != nil {
				return err
			}
		}
	}
	// Release every reservation in full, then post what is committed: the
	// reservation covered it, so no balance check is needed.
	for _, hp := range h.Postings {
		if hp.Amount > 0 {
			continue
		}
		var posted int64
		for _, p := range ps {
			if p.Account == hp.Account && p.Asset == hp.Asset {
				posted = p.Amount
			}
		}
		if posted != 0 && hp.Account.IsUser() {
			if err := w.consume(hp.Account, hp.Asset, -posted, 0, LotID{}); err != nil {
				return err
			}
		}
		if err := w.add(hp.Account, hp.Asset, posted, hp.Amount); err != nil {
			return err
		}
	}
	for i, p := range ps {
		if p.Amount > 0 {
			if err := w.credit(p.Account, p.Asset, p.Amount, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// void releases hold h. The void entry carries the hold's postings, so that
// it shows in the history of every account the hold reserved on.
func (w *writer) void(h *Entry) error {
	w.e.Postings = h.Postings
	if err := w.lockPostings(h.Postings); err != nil {
		return err
	}
	for _, p := range h.Postings {
		if p.Amount < 0 {
			if err := w.add(p.Account, p.Asset, 0, p.Amount); err != nil {
				return err
			}
		}
	}
	return nil
}

// reverse posts the opposite of x, restoring the lots x consumed and taking
// back the lots x created first.
func (w *writer) reverse(x *Entry) error {
	ps := make([]Posting, len(x.Postings))
	for i, p := range x.Postings {
		ps[i] = Posting{Account: p.Account, Asset: p.Asset, Amount: -p.Amount}
	}
	w.e.Postings = ps
	if err := w.lockPostings(ps); err != nil {
		return err
	}
	for i, p := range ps {
		if p.Amount > 0 {
			continue
		}
		b, err := w.checkDebit(p.Account, p.Asset, -p.Amount)
		if err != nil {
			return err
		}
		if !p.Account.IsUser() {
			continue
		}
		need := -p.Amount
		own := LotID{Entry: x.ID, Posting: i}
		lot, err := w.tx.Lot(w.ctx, p.Account, own)
		switch {
		case errors.Is(err, ErrNotFound):
			own = LotID{}
		case err != nil:
			return storeErr(w.op, err, nil)
		case lot.Remaining > 0:
			take := min(lot.Remaining, need)
			w.e.Lots = append(w.e.Lots, LotUse{Lot: own, Account: p.Account, Asset: p.Asset, Amount: take})
			if err := w.applyLots(len(w.e.Lots) - 1); err != nil {
				return err
			}
			need -= take
		}
		if need > 0 {
			if err := w.consume(p.Account, p.Asset, need, b.Held, own); err != nil {
				return err
			}
		}
	}
	for _, u := range x.Lots {
		w.e.Lots = append(w.e.Lots, LotUse{Lot: u.Lot, Account: u.Account, Asset: u.Asset, Amount: -u.Amount})
		if err := w.tx.AddLot(w.ctx, u.Account, u.Lot, u.Amount); err != nil {
			return storeErr(w.op, err, nil)
		}
	}
	for _, p := range ps {
		if err := w.add(p.Account, p.Asset, p.Amount, 0); err != nil {
			return err
		}
	}
	return nil
}

// candidate is a lot's spendable part, for allocation across accounts.
type candidate struct {
	src     int // index into the sources
	lot     LotID
	expires time.Time
	created time.Time
	rank    int // partner priority; len(Priority) for the rest
	amount  int64
}

// spendParent allocates s.Amount across the parent and its children and
// posts (or holds) it.
func (w *writer) spendParent(s Spend, alloc Allocation, hold bool) error {
	parent := UserAccount(s.User)
	kids, err := w.tx.Children(w.ctx, parent)
	if err != nil {
		return storeErr(w.op, err, ErrUnknownAccount)
	}
	srcs := make([]AccountID, 0, len(kids)+2)
	srcs = append(srcs, parent)
	for _, k := range kids {
		srcs = append(srcs, k.ID)
	}
	debit := make([]bool, len(srcs), len(srcs)+1)
	for i := range debit {
		debit[i] = true
	}
	if err := w.lockFor(append(srcs, s.To), append(debit, false)); err != nil {
		return err
	}
	if s.To.Kind() == KindPartner {
		if err := w.checkCredit(s.To); err != nil {
			return err
		}
	}
	var uses *[]LotUse
	if !hold {
		uses = &w.e.Lots
	}
	takes, err := allocate(w.ctx, w.tx, w.op, s.User, srcs, s.Asset, s.Amount, alloc, uses)
	if err != nil {
		return err
	}
	ps := make([]Posting, 0, len(srcs)+1)
	for i, t := range takes {
		if t > 0 {
			ps = append(ps, Posting{Account: srcs[i], Asset: s.Asset, Amount: -t})
		}
	}
	ps = append(ps, Posting{Account: s.To, Asset: s.Asset, Amount: s.Amount})
	w.e.Postings = ps
	if err := w.applyLots(0); err != nil {
		return err
	}
	for i, p := range ps {
		switch {
		case hold && p.Amount < 0:
			err = w.add(p.Account, p.Asset, 0, -p.Amount)
		case hold:
		case p.Amount < 0:
			err = w.add(p.Account, p.Asset, p.Amount, 0)
		default:
			err = w.credit(p.Account, p.Asset, p.Amount, i)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// allocate works out how a spend of amount of asset is taken from srcs, a
// user's parent and children, under alloc: from the spendable part of
// each lot (an account's first lots are reserved by its holds), in
// allocation order (partner priority, then CompareLots), until amount is
// covered. It returns how much each source gives and, if uses is not nil,
// appends each lot taken to it.
//
// Of each account it reads only the lots that can be taken: an account
// gives at most amount, in its own lot order, so its lots past the first
// whose spendable parts reach amount are never reached. A spend then costs
// what it takes, not the user's history of unspent lots.
func allocate(ctx context.Context, tx ReadTx, op string, u carbon.UserID, srcs []AccountID, asset Asset, amount int64, alloc Allocation, uses *[]LotUse) ([]int64, error) {
	var cands []candidate
	for i, id := range srcs {
		b, err := tx.Balance(ctx, id, asset)
		if err != nil {
			return nil, storeErr(op, err, ErrUnknownAccount)
		}
		rank := len(alloc.Priority)
		if p := id.Partner(); p != "" {
			if j := slices.Index(alloc.Priority, p); j >= 0 {
				rank = j
			}
		}
		skip, got := b.Held, int64(0)
		err = tx.Lots(ctx, id, asset, func(lot Lot) bool {
			r := lot.Remaining
			if skip >= r {
				skip -= r
				return true
			}
			r -= skip
			skip = 0
			cands = append(cands, candidate{src: i, lot: lot.ID, expires: lot.Expires, created: lot.Created, rank: rank, amount: r})
			got += r // at most the account's balance: cannot overflow
			return got < amount
		})
		if err != nil {
			return nil, storeErr(op, err, ErrUnknownAccount)
		}
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		if c := compareExpiry(a.expires, b.expires); c != 0 {
			return c
		}
		return a.created.Compare(b.created)
	})
	takes := make([]int64, len(srcs))
	need := amount
	for _, c := range cands {
		if need == 0 {
			break
		}
		take := min(c.amount, need)
		need -= take
		takes[c.src] += take
		if uses != nil {
			*uses = append(*uses, LotUse{Lot: c.lot, Account: srcs[c.src], Asset: asset, Amount: take})
		}
	}
	if need > 0 {
		// Short: every account fell short of amount, so every lot was read.
		var total int64
		for _, c := range cands {
			total += c.amount // cannot overflow: it is at most the sum of balances
		}
		return nil, newErr(op, ErrInsufficientFunds, "user "+strconv.Quote(string(u))+" has "+strconv.FormatInt(total, 10)+" "+
			string(asset)+" available across "+strconv.Itoa(len(srcs))+" accounts, needs "+strconv.FormatInt(amount, 10))
	}
	return takes, nil
}

// compareExpiry orders expiry times with the zero time (never) last.
func compareExpiry(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

// expire moves the expired, unreserved remains of account id's lots to
// breakage.
func (w *writer) expire(id AccountID, asOf time.Time) error {
	brk := BreakageAccount()
	switch a, err := w.tx.Account(w.ctx, brk); {
	case errors.Is(err, ErrNotFound):
		a = Account{ID: brk, Policy: DefaultPolicy(KindBreakage)}
		if err := w.tx.CreateAccount(w.ctx, a); err != nil {
			return storeErr(w.op, err, nil)
		}
		w.accs = append(w.accs, a)
	case err != nil:
		return storeErr(w.op, err, nil)
	default:
		w.accs = append(w.accs, a)
	}
	if err := w.lockFor([]AccountID{id}, []bool{true}); err != nil {
		return err
	}
	assets := *w.l.assets.m.Load()
	names := slices.Sorted(maps.Keys(assets))
	for _, asset := range names {
		b, err := w.tx.Balance(w.ctx, id, asset)
		if err != nil {
			return storeErr(w.op, err, ErrUnknownAccount)
		}
		var expired []Lot
		var sum int64
		err = w.tx.Lots(w.ctx, id, asset, func(lot Lot) bool {
			if lot.Expires.IsZero() || lot.Expires.After(asOf) {
				return false
			}
			expired = append(expired, lot)
			sum += lot.Remaining // cannot overflow: lots sum to the balance
			return true
		})
		if err != nil {
			return storeErr(w.op, err, ErrUnknownAccount)
		}
		// Holds reserve the soonest lots, which are the expired ones: leave
		// b.Held of them for the hold, take the rest from the latest.
		amt := sum - max(b.Held, 0)
		if amt <= 0 {
			continue
		}
		start := len(w.e.Lots)
		left := amt
		for i := len(expired) - 1; i >= 0 && left > 0; i-- {
			take := min(expired[i].Remaining, left)
			left -= take
			w.e.Lots = append(w.e.Lots, LotUse{Lot: expired[i].ID, Account: id, Asset: asset, Amount: take})
		}
		if err := w.applyLots(start); err != nil {
			return err
		}
		w.e.Postings = append(w.e.Postings,
			Posting{Account: id, Asset: asset, Amount: -amt},
			Posting{Account: brk, Asset: asset, Amount: amt})
		if err := w.add(id, asset, -amt, 0); err != nil {
			return err
		}
		if err := w.add(brk, asset, amt, 0); err != nil {
			return err
		}
	}
	if len(w.e.Postings) == 0 {
		return errNothing
	}
	return nil
}

// validate checks a key, postings and metadata, without I/O.
func (l *Ledger) validate(op, key string, ps []Posting, meta map[string]string) error {
	if err := validateKeyMeta(op, key, meta); err != nil {
		return err
	}
	if len(ps) == 0 || len(ps) > MaxPostings {
		return newErr(op, ErrInvalidRequest, strconv.Itoa(len(ps))+" postings, want 1 to "+strconv.Itoa(MaxPostings))
	}
	for i, p := range ps {
		if p.Account.Kind() == KindInvalid {
			return newErr(op, ErrInvalidRequest, "posting "+strconv.Itoa(i)+": malformed account id "+strconv.Quote(string(p.Account)))
		}
		if _, ok := l.assets.scale(p.Asset); !ok {
			return newErr(op, ErrUnknownAsset, "posting "+strconv.Itoa(i)+": asset "+strconv.Quote(string(p.Asset)))
		}
		if p.Amount == 0 || p.Amount == -1<<63 {
			return newErr(op, ErrInvalidAmount, "posting "+strconv.Itoa(i)+": amount "+strconv.FormatInt(p.Amount, 10))
		}
		for j := range i {
			if ps[j].Account == p.Account && ps[j].Asset == p.Asset {
				return newErr(op, ErrInvalidRequest, "postings "+strconv.Itoa(j)+" and "+strconv.Itoa(i)+" both name "+
					strconv.Quote(string(p.Account))+" in "+string(p.Asset))
			}
		}
	}
	for i, p := range ps {
		seen := false
		for j := range i {
			if ps[j].Asset == p.Asset {
				seen = true
				break
			}
		}
		if seen {
			continue
		}
		var sum int64
		for _, q := range ps[i:] {
			if q.Asset != p.Asset {
				continue
			}
			var ok bool
			if sum, ok = add64(sum, q.Amount); !ok {
				return newErr(op, ErrOverflow, "postings in "+string(p.Asset)+" overflow int64")
			}
		}
		if sum != 0 {
			return newErr(op, ErrUnbalanced, "postings in "+string(p.Asset)+" sum to "+strconv.FormatInt(sum, 10))
		}
	}
	return nil
}

func (l *Ledger) validateSpend(op string, s *Spend) error {
	if err := validateKeyMeta(op, s.Key, s.Metadata); err != nil {
		return err
	}
	if err := s.User.Validate(); err != nil {
		return &Error{Op: op, Kind: ErrInvalidRequest, Err: err}
	}
	if s.Partner != "" {
		if err := s.Partner.Validate(); err != nil {
			return &Error{Op: op, Kind: ErrInvalidRequest, Err: err}
		}
	}
	if _, ok := l.assets.scale(s.Asset); !ok {
		return newErr(op, ErrUnknownAsset, "asset "+strconv.Quote(string(s.Asset)))
	}
	if s.Amount <= 0 {
		return newErr(op, ErrInvalidAmount, "spend amount "+strconv.FormatInt(s.Amount, 10)+" is not positive")
	}
	if s.To.Kind() == KindInvalid {
		return newErr(op, ErrInvalidRequest, "malformed account id "+strconv.Quote(string(s.To)))
	}
	if s.To.User() == s.User {
		return newErr(op, ErrInvalidRequest, "spend from user "+strconv.Quote(string(s.User))+" to its own account "+strconv.Quote(string(s.To)))
	}
	if s.Allocation != nil {
		for _, p := range s.Allocation.Priority {
			if err := p.Validate(); err != nil {
				return &Error{Op: op, Kind: ErrInvalidRequest, Detail: "allocation priority", Err: err}
			}
		}
	}
	return nil
}

func validateKeyMeta(op, key string, meta map[string]string) error {
	if err := carbon.ValidateID("idempotency key", key); err != nil {
		return &Error{Op: op, Kind: ErrInvalidRequest, Err: err}
	}
	if len(meta) > MaxMetadata {
		return newErr(op, ErrInvalidRequest, strconv.Itoa(len(meta))+" metadata pairs, more than "+strconv.Itoa(MaxMetadata))
	}
	for k, v := range meta {
		if k == "" || len(k) > MaxMetaKeyLen || !utf8.ValidString(k) {
			return newErr(op, ErrInvalidRequest, "metadata key "+strconv.Quote(k)+" is empty, longer than "+strconv.Itoa(MaxMetaKeyLen)+" bytes or not utf-8")
		}
		if len(v) > MaxMetaValLen || !utf8.ValidString(v) {
			return newErr(op, ErrInvalidRequest, "metadata value of "+strconv.Quote(k)+" is longer than "+strconv.Itoa(MaxMetaValLen)+" bytes or not utf-8")
		}
	}
	return nil
}

// fingerprint hashes the canonical encoding fill appends.
func (l *Ledger) fingerprint(fill func(b []byte) []byte) Hash {
	bp := l.bufs.Get().(*[]byte)
	b := fill(append((*bp)[:0], fpVersion))
	h := Hash(sha256.Sum256(b))
	*bp = b
	l.bufs.Put(bp)
	return h
}

func effective(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t.UTC().Round(0)
}

func cloneMeta(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}
