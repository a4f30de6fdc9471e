package ledger

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// Ledger is a double-entry ledger over a Store. It owns every invariant: it
// validates each request, decides which accounts to lock, checks balances,
// chooses lots, and hands the store a complete set of writes to commit in
// one transaction.
//
// A Ledger is safe for concurrent use by any number of goroutines; two
// concurrent operations that debit the same account are serialised by the
// store's account locks, so they can never both spend a balance that covers
// one. Several Ledgers may share one Store if they register the same assets
// and use the same Options.
type Ledger struct {
	store     Store
	clock     carbon.Clock
	newID     func() string
	expiry    ExpiryPolicy
	alloc     Allocation
	retries   int
	assets    *assetTable
	bufs      sync.Pool // *[]byte scratch for canonical encodings
	writers   sync.Pool // *writer
	idPrefix  [16]byte  // the random ID prefix in hex, encoded once
	idCounter atomic.Uint64
}

// Options configures a Ledger. The zero value, and a nil *Options, mean
// the defaults.
type Options struct {
	// Clock tells the time for Recorded times, default effective times, hold
	// deadlines and lot expiry. Default: carbon.SystemClock().
	Clock carbon.Clock
	// NewID returns a new, unique, non-empty entry ID (a store refuses a
	// duplicate, and the Ledger then asks for another). Default: 32 hex
	// digits, a random 64-bit prefix chosen when the Ledger is created
	// followed by a 64-bit counter: unique across Ledgers with overwhelming
	// probability, ordered within one, and far cheaper than a random UUID.
	NewID func() string
	// Expiry gives each new lot its expiry. Default: lots never expire.
	Expiry ExpiryPolicy
	// Allocation is how Spend at the parent allocates across the children
	// when the Spend does not say. Default: soonest-expiring lots first.
	Allocation Allocation
	// MaxRetries bounds how many times one operation is retried after a
	// store conflict (ErrConflict) before the error is returned. Default 64.
	MaxRetries int
}

// ExpiryPolicy returns the expiry of a lot of asset credited to account with
// the given effective time; the zero time means the lot never expires.
type ExpiryPolicy func(asset Asset, account AccountID, effective time.Time) time.Time

// ExpireAfter returns a policy under which every lot expires d after its
// credit's effective time.
func ExpireAfter(d time.Duration) ExpiryPolicy {
	return func(_ Asset, _ AccountID, eff time.Time) time.Time { return eff.Add(d) }
}

// ExpireEndOfNextYear returns a policy under which a lot expires at the end
// of the calendar year after its credit, in loc (points earned any day of
// 2026 expire at the start of 2028 in loc): the common "valid until the end
// of next year" rule. A nil loc means UTC.
func ExpireEndOfNextYear(loc *time.Location) ExpiryPolicy {
	if loc == nil {
		loc = time.UTC
	}
	return func(_ Asset, _ AccountID, eff time.Time) time.Time {
		return time.Date(eff.In(loc).Year()+2, time.January, 1, 0, 0, 0, 0, loc).UTC()
	}
}

// Allocation says how a spend at the parent is taken from a user's accounts
// (the children and the parent's own balance).
//
// The zero value takes the soonest-expiring lots first across all of them.
// With Priority set, the children of the partners listed are drained first,
// in the order listed, each soonest-expiring first; the rest follow,
// soonest-expiring first.
type Allocation struct {
	Priority []carbon.PartnerID // partners drained first, in order; may be empty
}

// New returns a Ledger over store, configured by opts (nil for the
// defaults). Errors: ErrInvalidRequest for a nil store or a negative
// MaxRetries.
func New(store Store, opts *Options) (*Ledger, error) {
	if store == nil {
		return nil, newErr("New", ErrInvalidRequest, "store is nil")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxRetries < 0 {
		return nil, newErr("New", ErrInvalidRequest, "max retries "+strconv.Itoa(o.MaxRetries)+" is negative")
	}
	for _, p := range o.Allocation.Priority {
		if err := p.Validate(); err != nil {
			return nil, &Error{Op: "New", Kind: ErrInvalidRequest, Detail: "allocation priority", Err: err}
		}
	}
	l := &Ledger{store: store, clock: o.Clock, newID: o.NewID, expiry: o.Expiry,
		alloc: Allocation{Priority: slices.Clone(o.Allocation.Priority)}, retries: o.MaxRetries, assets: newAssetTable()}
	if l.clock == nil {
		l.clock = carbon.SystemClock()
	}
	if l.retries == 0 {
		l.retries = 64
	}
	if l.newID == nil {
		var p [8]byte
		if _, err := rand.Read(p[:]); err != nil {
			return nil, &Error{Op: "New", Kind: ErrStore, Detail: "reading random id prefix", Err: err}
		}
		hex.Encode(l.idPrefix[:], p[:])
		l.newID = l.counterID
	}
	l.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	l.writers.New = func() any { return newWriter(l) }
	return l, nil
}

func (l *Ledger) counterID() string {
	var b [32]byte
	copy(b[:16], l.idPrefix[:])
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], l.idCounter.Add(1))
	hex.Encode(b[16:], c[:])
	return string(b[:])
}

// RegisterAsset registers an asset with a fixed scale (0 to MaxScale).
// Registering it again with the same scale does nothing. It configures this
// Ledger only, does no I/O, and so takes no context; register the same assets
// at every start. Errors: ErrInvalidRequest for a malformed code or scale,
// ErrAssetExists for a different scale.
func (l *Ledger) RegisterAsset(a Asset, scale int) error { return l.assets.register(a, scale) }

// Scale returns an asset's scale and whether it is registered.
func (l *Ledger) Scale(a Asset) (int, bool) { return l.assets.scale(a) }

// now returns the clock's time, in UTC without a monotonic reading, so that
// it encodes and compares as stored.
func (l *Ledger) now() time.Time { return l.clock.Now().UTC().Round(0) }

// update runs fn in a store transaction, retrying on ErrConflict.
func (l *Ledger) update(ctx context.Context, op string, fn func(tx Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := l.store.Update(ctx, fn)
		if err == nil || err == errReplayed {
			return err
		}
		if !errors.Is(err, ErrConflict) || attempt >= l.retries {
			return storeErr(op, err, nil)
		}
		if cerr := ctx.Err(); cerr != nil {
			return &Error{Op: op, Kind: ErrStore, Err: cerr}
		}
		backoff(attempt)
	}
}

func (l *Ledger) view(ctx context.Context, op string, fn func(tx ReadTx) error) error {
	return storeErr(op, l.store.View(ctx, fn), nil)
}

// backoff waits before retry attempt+1 of a conflicted transaction: a
// yield for the first few, then a growing sleep, jittered (half of it
// random) so that writers that collided do not collide again in lockstep.
func backoff(attempt int) {
	if attempt < 4 {
		runtime.Gosched()
		return
	}
	d := time.Duration(attempt) * 20 * time.Microsecond
	if d > 2*time.Millisecond {
		d = 2 * time.Millisecond
	}
	time.Sleep(d/2 + mrand.N(d/2+1))
}

// write runs one write operation that produces one entry. key is the
// caller's idempotency key; an internal operation passes key "" and, if it
// is to be idempotent, a lookup key of its own. If the key was used before,
// write returns the original entry (or ErrIdempotencyConflict if the
// fingerprint differs). Otherwise it calls build to fill in a fresh entry
// inside the transaction and inserts the entry under its keys (plus
// w.unique, a key build may set to make the operation once-only).
func (l *Ledger) write(ctx context.Context, op string, kind EntryKind, key, lookup string, fp Hash,
	build func(w *writer) error) (Entry, error) {
	return l.writeWith(l.writers.Get().(*writer), ctx, op, kind, key, lookup, fp, build)
}

// writeWith is write with a writer from l.writers that the caller has
// already given its request (as Post does, so that its build function
// captures nothing and costs no allocation).
func (l *Ledger) writeWith(w *writer, ctx context.Context, op string, kind EntryKind, key, lookup string, fp Hash,
	build func(w *writer) error) (Entry, error) {
	w.ctx, w.op, w.kind, w.key, w.lookup, w.fp, w.build = ctx, op, kind, key, lookup, fp, build
	if key != "" {
		w.lookup = CallerKey(key)
	}
	err := l.update(ctx, op, w.runFn)
	if errors.Is(err, errReplayed) {
		err = nil
	}
	out := w.out
	w.reset()
	l.writers.Put(w)
	if err != nil {
		return Entry{}, err
	}
	return *out, nil
}

// writer builds one entry inside a transaction. Writers are pooled: the
// callbacks handed to the store are bound once, so a write allocates
// little beyond the entry itself.
type writer struct {
	l       *Ledger
	ctx     context.Context
	tx      Tx
	op      string
	now     time.Time
	e       *Entry
	block   *entryBlock // holds e
	kind    EntryKind
	key     string // the caller's key
	lookup  string // the key to look up and insert under
	fp      Hash
	build   func(w *writer) error
	postReq PostRequest // Post's request, for buildPost
	out     *Entry
	keys    [2]string
	unique  string // a once-only key for the entry, besides the lookup key
	// uniqueFree: build found unique free (see once) before it locked.
	uniqueFree bool
	// keyLater: the lookup key is still to be looked up, with the locks
	// (the store is a KeyLocker) or, if none are taken, before the insert.
	keyLater bool
	accs     []Account
	accBuf   [4]Account
	locks    [8]AccountID

	// tries counts the transactions run for this write (retries after a
	// conflict included).
	tries int

	runFn func(tx Tx) error // w.run, bound once
	lotFn func(Lot) bool    // w.takeLot, bound once
	// The state of the lot walk in consume.
	lotAcct    AccountID
	lotAsset   Asset
	lotNeed    int64
	lotSkip    int64
	lotExclude LotID
}

func newWriter(l *Ledger) *writer {
	w := &writer{l: l}
	w.runFn = w.run
	w.lotFn = w.takeLot
	w.accs = w.accBuf[:0]
	return w
}

func (w *writer) reset() {
	l, runFn, lotFn := w.l, w.runFn, w.lotFn
	*w = writer{l: l, runFn: runFn, lotFn: lotFn}
	w.accs = w.accBuf[:0]
}

// replay looks the write's key up and, if an entry was committed under it,
// makes that entry the result (done), or fails with ErrIdempotencyConflict
// if it was made for a different request.
func (w *writer) replay() (done bool, err error) {
	if w.lookup == "" {
		return false, nil
	}
	id, err := w.tx.Key(w.ctx, w.lookup)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return w.replayEntry(id)
}

// replayEntry is replay for id, the entry found under the write's key.
func (w *writer) replayEntry(id EntryID) (done bool, err error) {
	e, err := w.tx.Entry(w.ctx, id)
	if err != nil {
		return false, storeErr(w.op, err, ErrUnknownEntry)
	}
	if e.Fingerprint != w.fp {
		return false, newErr(w.op, ErrIdempotencyConflict, "key "+strconv.Quote(w.key)+" was used for entry "+string(e.ID)+" with a different request")
	}
	w.out = e
	return true, nil
}

// run is the body of the store transaction for one write; it may run more
// than once (after a conflict), each time from scratch.
func (w *writer) run(tx Tx) error {
	w.tx, w.out, w.unique, w.uniqueFree, w.accs = tx, nil, "", false, w.accBuf[:0]
	w.tries++
	_, w.keyLater = tx.(KeyLocker)
	w.keyLater = w.keyLater && w.lookup != ""
	if !w.keyLater {
		if done, err := w.replay(); done || err != nil {
			return err
		}
	}
	w.now = w.l.now()
	w.block = new(entryBlock)
	w.e = &w.block.e
	*w.e = Entry{ID: EntryID(w.l.newID()), Kind: w.kind, Key: w.key, Fingerprint: w.fp, Recorded: w.now,
		Lots: w.block.lots[:0:len(w.block.lots)]}
	if err := w.build(w); err != nil {
		// A concurrent call with the same key may have committed between
		// the lookup above and the locks build took, changing what build
		// saw (the balance it spent): the caller is owed that original.
		var le *Error
		if errors.As(err, &le) && le.Kind != ErrConflict && le.Kind != ErrStore {
			if done, rerr := w.replay(); rerr != nil {
				return rerr
			} else if done {
				return errReplayed // roll back what build wrote
			}
			// So may a concurrent operation that took the once-only key
			// build found free (a hold resolved, an entry reversed): a
			// retry reports that rather than what it left behind.
			if w.uniqueFree {
				if _, kerr := w.tx.Key(w.ctx, w.unique); kerr == nil {
					return newErr(w.op, ErrConflict, "key "+strconv.Quote(w.unique)+" was taken while the entry was built")
				}
			}
		}
		return err
	}
	if w.keyLater { // build took no lock: look the key up now
		w.keyLater = false
		if done, err := w.replay(); err != nil {
			return err
		} else if done {
			return errReplayed // roll back what build wrote
		}
	}
	if len(w.e.Lots) == 0 {
		w.e.Lots = nil // as if the block had not lent it room
	}
	n := 0
	if w.lookup != "" {
		w.keys[n] = w.lookup
		n++
	}
	if w.unique != "" {
		w.keys[n] = w.unique
		n++
	}
	if err := tx.InsertEntry(w.ctx, w.e, w.keys[:n]); err != nil {
		return err
	}
	w.out = w.e
	return nil
}

// entryBlock is a new entry with room for the postings and lot uses of a
// small transfer, so that building one takes one allocation, not three: the
// store keeps every entry, and each allocation costs both when it is made
// and at every collection after. Larger entries grow their slices out of
// the block as usual.
type entryBlock struct {
	e    Entry
	ps   [2]Posting
	lots [1]LotUse
}

// errReplayed rolls back a transaction that found, after it had begun to
// build its entry, that an entry was committed under its key (by a
// concurrent call, or by an earlier one when the key is looked up with the
// locks): write returns that entry.
var errReplayed = errors.New("ledger: replayed")

// account returns an account's metadata, reading it once per transaction.
func (w *writer) account(id AccountID) (Account, error) {
	for _, a := range w.accs {
		if a.ID == id {
			return a, nil
		}
	}
	a, err := w.tx.Account(w.ctx, id)
	if err != nil {
		return Account{}, storeErr(w.op, err, ErrUnknownAccount)
	}
	w.accs = append(w.accs, a)
	return a, nil
}

// lockFor locks, in sorted order, the user accounts among ids and every
// other account debited (debit[i]) whose policy is checked. It reads the
// metadata of system accounts first (their policy is immutable); user
// accounts are read after the lock so that their Closed flag is current.
func (w *writer) lockFor(ids []AccountID, debit []bool) error {
	lock := w.locks[:0]
	for i, id := range ids {
		if id.IsUser() {
			lock = append(lock, id)
			continue
		}
		a, err := w.account(id)
		if err != nil {
			return err
		}
		if debit[i] && !a.Policy.Unbounded() {
			lock = append(lock, id)
		}
	}
	if len(lock) > 1 {
		slices.Sort(lock)
		lock = slices.Compact(lock)
	}
	switch {
	case len(lock) > 0 && w.keyLater:
		w.keyLater = false
		var id EntryID
		var err error
		if kd, ok := w.tx.(KeyDeferrer); ok && w.tries == 1 {
			// The first try may leave the key to the commit; a retry
			// after a conflict looks it up.
			id, err = kd.LockKeyDeferred(w.ctx, lock, w.lookup)
		} else {
			id, err = w.tx.(KeyLocker).LockKey(w.ctx, lock, w.lookup)
		}
		if err != nil {
			return storeErr(w.op, err, ErrUnknownAccount)
		}
		if id != "" {
			if done, err := w.replayEntry(id); err != nil {
				return err
			} else if done {
				return errReplayed // roll back; write returns the original
			}
		}
	case len(lock) > 0:
		if err := w.tx.Lock(w.ctx, lock); err != nil {
			return storeErr(w.op, err, ErrUnknownAccount)
		}
	}
	for _, id := range ids {
		if id.IsUser() {
			if _, err := w.account(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkCredit refuses a new credit to a closed account.
func (w *writer) checkCredit(id AccountID) error {
	a, err := w.account(id)
	if err != nil {
		return err
	}
	if a.Closed {
		return newErr(w.op, ErrAccountClosed, "account "+strconv.Quote(string(id))+" is closed to new credits")
	}
	return nil
}

// checkDebit makes sure an account can give amount more (a debit or a new
// hold) without its available balance going below its floor.
func (w *writer) checkDebit(id AccountID, asset Asset, amount int64) (Balance, error) {
	a, err := w.account(id)
	if err != nil {
		return Balance{}, err
	}
	if a.Policy.Unbounded() && !id.IsUser() {
		return Balance{}, nil
	}
	b, err := w.tx.Balance(w.ctx, id, asset)
	if err != nil {
		return Balance{}, storeErr(w.op, err, ErrUnknownAccount)
	}
	avail, ok1 := b.Available()
	after, ok2 := sub64(avail, amount)
	if !ok1 || !ok2 {
		return Balance{}, newErr(w.op, ErrOverflow, "available balance of "+string(id)+" minus "+strconv.FormatInt(amount, 10))
	}
	floor := int64(0)
	if !id.IsUser() {
		floor = a.Policy.floor()
	}
	if after < floor {
		return Balance{}, newErr(w.op, ErrInsufficientFunds, "account "+strconv.Quote(string(id))+" has "+
			strconv.FormatInt(avail, 10)+" "+string(asset)+" available, needs "+strconv.FormatInt(amount, 10))
	}
	return b, nil
}

// consume takes amount from the lots of a user account, soonest-expiring
// first, after skipping the first skip units (reserved by holds) and the lot
// exclude (already taken by the caller), and records each take in the
// entry.
func (w *writer) consume(id AccountID, asset Asset, amount, skip int64, exclude LotID) error {
	start := len(w.e.Lots)
	w.lotAcct, w.lotAsset, w.lotNeed, w.lotSkip, w.lotExclude = id, asset, amount, skip, exclude
	if err := w.tx.Lots(w.ctx, id, asset, w.lotFn); err != nil {
		return storeErr(w.op, err, ErrUnknownAccount)
	}
	if need := w.lotNeed; need > 0 {
		// The balance check passed, so the lots cannot cover less than the
		// balance unless the store lost a write: refuse rather than let the
		// invariant break.
		return newErr(w.op, ErrInsufficientFunds, "lots of "+strconv.Quote(string(id))+" cover "+
			strconv.FormatInt(amount-need, 10)+" of "+strconv.FormatInt(amount, 10)+" "+string(asset))
	}
	return w.applyLots(start)
}

// takeLot is consume's walk over the lots.
func (w *writer) takeLot(lot Lot) bool {
	if lot.ID == w.lotExclude {
		return true
	}
	r := lot.Remaining
	if w.lotSkip > 0 {
		if w.lotSkip >= r {
			w.lotSkip -= r
			return true
		}
		r -= w.lotSkip
		w.lotSkip = 0
	}
	take := min(r, w.lotNeed)
	w.e.Lots = append(w.e.Lots, LotUse{Lot: lot.ID, Account: w.lotAcct, Asset: w.lotAsset, Amount: take})
	w.lotNeed -= take
	return w.lotNeed > 0
}

// applyLots writes the lot takes recorded from index start on.
func (w *writer) applyLots(start int) error {
	for _, u := range w.e.Lots[start:] {
		if err := w.tx.AddLot(w.ctx, u.Account, u.Lot, -u.Amount); err != nil {
			return storeErr(w.op, err, nil)
		}
	}
	return nil
}

// credit posts a credit, creating a lot on a user account (posting index i
// of the entry).
func (w *writer) credit(id AccountID, asset Asset, amount int64, i int) error {
	if id.IsUser() {
		lot := Lot{ID: LotID{Entry: w.e.ID, Posting: i}, Account: id, Asset: asset,
			Amount: amount, Remaining: amount, Created: w.e.Recorded}
		if w.l.expiry != nil {
			lot.Expires = w.l.expiry(asset, id, w.e.Effective).UTC().Round(0)
		}
		if err := w.tx.InsertLot(w.ctx, lot); err != nil {
			return storeErr(w.op, err, nil)
		}
	}
	return w.add(id, asset, amount, 0)
}

func (w *writer) add(id AccountID, asset Asset, posted, held int64) error {
	if err := w.tx.AddBalance(w.ctx, id, asset, posted, held); err != nil {
		return storeErr(w.op, err, nil)
	}
	return nil
}

// OpenUser opens user u's parent account, or does nothing if it is open.
// Errors: ErrInvalidRequest for a malformed user ID.
func (l *Ledger) OpenUser(ctx context.Context, u carbon.UserID) (Account, error) {
	const op = "OpenUser"
	if err := u.Validate(); err != nil {
		return Account{}, &Error{Op: op, Kind: ErrInvalidRequest, Err: err}
	}
	return l.open(ctx, op, Account{ID: UserAccount(u)})
}

// LinkPartner opens user u's child account for partner p, and p's issuance
// account (with the default policy) if it is not open yet. Linking an
// unlinked partner reopens its child account; linking a linked one does
// nothing. Errors: ErrInvalidRequest for malformed IDs, ErrUnknownAccount if
// the user was never opened.
func (l *Ledger) LinkPartner(ctx context.Context, u carbon.UserID, p carbon.PartnerID) (Account, error) {
	const op = "LinkPartner"
	if err := validateUserPartner(op, u, p); err != nil {
		return Account{}, err
	}
	var out Account
	err := l.update(ctx, op, func(tx Tx) error {
		parent, id, iss := UserAccount(u), PartnerAccount(u, p), IssuanceAccount(p)
		if _, err := tx.Account(ctx, parent); err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		switch _, err := tx.Account(ctx, iss); {
		case errors.Is(err, ErrNotFound):
			if err := tx.CreateAccount(ctx, Account{ID: iss, Policy: DefaultPolicy(KindIssuance)}); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		a, err := tx.Account(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			out = Account{ID: id}
			return tx.CreateAccount(ctx, out)
		case err != nil:
			return err
		case !a.Closed:
			out = a
			return nil
		}
		// Reopen under the account's lock, so that the flag cannot flip
		// under a concurrent credit's check.
		if err := tx.Lock(ctx, []AccountID{id}); err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		if out, err = tx.Account(ctx, id); err != nil {
			return err
		}
		out.Closed = false
		return tx.UpdateAccount(ctx, out)
	})
	return out, err
}

// UnlinkPartner closes user u's child account for partner p to new credits.
// Its history stays, and what is left in it can still be spent (at the
// parent or in p's mall), reversed into and expired. Unlinking an unlinked
// partner does nothing. Errors: ErrInvalidRequest, ErrUnknownAccount.
func (l *Ledger) UnlinkPartner(ctx context.Context, u carbon.UserID, p carbon.PartnerID) (Account, error) {
	const op = "UnlinkPartner"
	if err := validateUserPartner(op, u, p); err != nil {
		return Account{}, err
	}
	var out Account
	err := l.update(ctx, op, func(tx Tx) error {
		id := PartnerAccount(u, p)
		if err := tx.Lock(ctx, []AccountID{id}); err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		a, err := tx.Account(ctx, id)
		if err != nil {
			return storeErr(op, err, ErrUnknownAccount)
		}
		out = a
		if a.Closed {
			return nil
		}
		out.Closed = true
		return tx.UpdateAccount(ctx, out)
	})
	return out, err
}

// OpenAccount opens a system account (issuance, breakage, charity, merchant,
// sponsor) with a balance policy, or does nothing if it is open with the same
// policy. Errors: ErrInvalidRequest for a malformed or user account ID or a
// negative limit, ErrAccountExists for an open account with another policy.
func (l *Ledger) OpenAccount(ctx context.Context, id AccountID, p BalancePolicy) (Account, error) {
	const op = "OpenAccount"
	switch k := id.Kind(); {
	case k == KindInvalid:
		return Account{}, newErr(op, ErrInvalidRequest, "malformed account id "+strconv.Quote(string(id)))
	case k == KindUser || k == KindPartner:
		return Account{}, newErr(op, ErrInvalidRequest, "account "+strconv.Quote(string(id))+" is a user account: use OpenUser or LinkPartner")
	case p.Limit < 0 || (!p.Overdraft && p.Limit != 0):
		return Account{}, newErr(op, ErrInvalidRequest, "policy limit "+strconv.FormatInt(p.Limit, 10)+" needs overdraft and must not be negative")
	}
	return l.open(ctx, op, Account{ID: id, Policy: p})
}

func (l *Ledger) open(ctx context.Context, op string, a Account) (Account, error) {
	out := a
	err := l.update(ctx, op, func(tx Tx) error {
		old, err := tx.Account(ctx, a.ID)
		switch {
		case err == nil:
			if old.Policy != a.Policy {
				return newErr(op, ErrAccountExists, "account "+strconv.Quote(string(a.ID))+" is open with policy "+old.Policy.String())
			}
			out = old
			return nil
		case !errors.Is(err, ErrNotFound):
			return err
		}
		// A concurrent open of the same ID makes the commit conflict, and
		// the retry compares policies.
		return tx.CreateAccount(ctx, a)
	})
	return out, err
}

func validateUserPartner(op string, u carbon.UserID, p carbon.PartnerID) error {
	if err := u.Validate(); err != nil {
		return &Error{Op: op, Kind: ErrInvalidRequest, Err: err}
	}
	if err := p.Validate(); err != nil {
		return &Error{Op: op, Kind: ErrInvalidRequest, Err: err}
	}
	return nil
}
