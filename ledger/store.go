package ledger

import (
	"context"
	"time"
)

// Store persists what the Ledger decides. The Ledger owns every invariant
// (balances never below their floor, postings that balance, lots that sum to
// balances, idempotency, the hash chain); a Store only keeps records, locks
// accounts, and commits or discards a transaction's writes as a unit.
//
// A Store is safe for concurrent use: the Ledger runs many transactions at
// once, each on its own goroutine. A Tx is not: it belongs to the goroutine
// running the function it was passed to, and is valid only until that
// function returns.
//
// Errors. A Store returns ErrNotFound (possibly wrapped) for a missing
// record and ErrConflict for a transaction that lost a race and may be
// retried as it is; the Ledger retries those itself. Any other error is the
// store's own (I/O, a cancelled context), and the Ledger returns it wrapped
// as ErrStore. The suite in ledger/storetest checks every contract below.
type Store interface {
	// Update runs fn in a read-write transaction. If fn returns nil, Update
	// commits every write fn made, atomically: entries, keys, balances,
	// lots and accounts all become visible together or not at all. If fn
	// returns an error, Update discards the writes and returns that error
	// unchanged. If the commit itself fails, nothing was applied and Update
	// returns the failure (ErrConflict if retrying can succeed); a store
	// that cannot know whether a failed commit was applied returns an error
	// other than ErrConflict, and the Ledger's idempotency keys make the
	// caller's retry safe. Update calls fn exactly once. fn must not call
	// the store itself (a nested Update or View may wait for this
	// transaction, which waits for fn: a store that commits transactions
	// together, or one writer at a time, deadlocks).
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction that sees a consistent state:
	// every transaction committed before View began, and none of those
	// committing while it runs.
	View(ctx context.Context, fn func(tx ReadTx) error) error
}

// ReadTx reads committed state. Inside Update, reads see what committed
// transactions wrote, including, for accounts this transaction has locked,
// everything committed before the lock was granted; they need not see this
// transaction's own writes (the Ledger never reads what it has written).
type ReadTx interface {
	// Account returns an account's metadata, or ErrNotFound.
	Account(ctx context.Context, id AccountID) (Account, error)
	// Accounts returns up to limit accounts with IDs greater than after, in
	// ID order. An empty result means there are no more.
	Accounts(ctx context.Context, after AccountID, limit int) ([]Account, error)
	// Children returns the child accounts of a parent account in ID order
	// (none for an account without children).
	Children(ctx context.Context, parent AccountID) ([]Account, error)
	// Balance returns an account's balance in one asset (zero if nothing was
	// ever posted or held in it), or ErrNotFound if the account does not
	// exist.
	Balance(ctx context.Context, id AccountID, asset Asset) (Balance, error)
	// Lots calls fn with each lot of the account in the asset that has
	// something remaining, ordered by expiry (lots that never expire last),
	// then by Created, then in insertion order, until fn returns false. fn
	// must not call the transaction.
	Lots(ctx context.Context, id AccountID, asset Asset, fn func(Lot) bool) error
	// Lot returns one lot of account, whatever its remaining amount, or
	// ErrNotFound.
	Lot(ctx context.Context, account AccountID, id LotID) (Lot, error)
	// Entry returns a committed entry, or ErrNotFound. The entry may not be
	// sealed yet.
	Entry(ctx context.Context, id EntryID) (*Entry, error)
	// Key returns the entry inserted under a unique key (see
	// Tx.InsertEntry), or ErrNotFound.
	Key(ctx context.Context, key string) (EntryID, error)
	// History returns up to limit committed entries that post to, hold on or
	// take lots from the account, in commit order, starting at cursor (""
	// for the first), and the cursor of the next page ("" when there are no
	// more). A cursor the store did not issue gets ErrInvalidCursor. A store
	// that seals after commit may show sealed entries only, in Seq order, so
	// that a page once read never gains an entry before its end.
	History(ctx context.Context, id AccountID, cursor string, limit int) ([]*Entry, string, error)
	// Changes returns up to limit sealed entries with Seq greater than
	// after, in Seq order and without gaps: it stops before the first entry
	// that is not sealed yet.
	Changes(ctx context.Context, after uint64, limit int) ([]*Entry, error)
	// Expiring returns up to limit accounts, in ID order and greater than
	// after, that hold, in some asset, more in lots expiring at or before
	// asOf than the account's held amount in that asset.
	Expiring(ctx context.Context, asOf time.Time, after AccountID, limit int) ([]AccountID, error)
	// PendingHolds returns up to limit hold entries, in ID order and greater
	// than after, whose deadline is at or before asOf and under whose
	// resolution key (HoldKey) no entry has been inserted.
	PendingHolds(ctx context.Context, asOf time.Time, after EntryID, limit int) ([]*Entry, error)
}

// KeyLocker is implemented by a Tx that can look a key up in the same step
// as it takes its locks: a store that pays a round trip per call (a
// database over the network) saves one. The Ledger then takes a write's
// locks first and looks its idempotency key up with them, instead of
// looking the key up before it locks; a write that takes no lock looks its
// key up with Key before it inserts its entry.
type KeyLocker interface {
	// LockKey is Lock(ctx, ids) and then Key(ctx, key), whose lookup sees
	// every commit before the locks were granted. It returns the ID of the
	// entry under key, or "" if there is none; its errors are Lock's.
	LockKey(ctx context.Context, ids []AccountID, key string) (EntryID, error)
}

// AccountReader is implemented by a Store that can read one account on its
// own, without a View, at less cost: an in-memory store whose Views exclude
// commits reads it under the account's own lock, and a database store in
// one statement. Ledger.Account and Ledger.Balance use it when the store
// has it.
type AccountReader interface {
	// ReadAccount returns what a View's ReadTx.Account would: the
	// account's metadata as last committed, or ErrNotFound.
	ReadAccount(ctx context.Context, id AccountID) (Account, error)
	// ReadBalance returns what a View's ReadTx.Balance would: the
	// account's balance in asset as last committed (zero in an asset it
	// never held), or ErrNotFound.
	ReadBalance(ctx context.Context, id AccountID, asset Asset) (Balance, error)
}

// KeyDeferrer is implemented by a KeyLocker that can leave a LockKey's
// lookup to the commit, and so save the round trip of a write that needs
// nothing else from its store before it commits (an earn). LockKeyDeferred
// is LockKey, except that it may answer "" without looking the key up;
// when it does, inserting an entry under the key must fail the
// transaction with ErrConflict if an entry is (or becomes) committed under
// it before this transaction commits. The Ledger calls it on a write's
// first try only: a write that conflicts is retried with LockKey, which
// finds the entry under the key.
type KeyDeferrer interface {
	KeyLocker
	LockKeyDeferred(ctx context.Context, ids []AccountID, key string) (EntryID, error)
}

// Tx is a read-write transaction. Writes take effect at commit; a Store may
// check them (a balance overflow, a lot outside 0..Amount) at any time up to
// commit and fail the transaction.
type Tx interface {
	ReadTx
	// Lock takes exclusive locks on the accounts named, acquired in sorted
	// ID order whatever the order given, and held until the transaction
	// ends (ErrNotFound if one does not exist; the Ledger then abandons the
	// transaction, so a store may keep the locks it took until it ends): no
	// other transaction can lock them, or change their balances or
	// lots except by AddBalance deltas on accounts it did not lock itself
	// (the Ledger never does that to an account whose rules it checks). The
	// Ledger calls Lock at most once per transaction, before any write, and
	// never names an account it does not need to check: an account left
	// unlocked takes concurrent deltas from every writer.
	Lock(ctx context.Context, ids []AccountID) error
	// CreateAccount creates an account. If an account with its ID exists
	// (or is being created by a transaction in flight), CreateAccount or the
	// commit fails with ErrConflict.
	CreateAccount(ctx context.Context, a Account) error
	// UpdateAccount replaces an existing account's metadata (the Ledger only
	// updates accounts it has locked), or fails with ErrNotFound.
	UpdateAccount(ctx context.Context, a Account) error
	// AddBalance adds deltas to an account's posted and held amounts in one
	// asset, atomically at commit and without reading the balance first, so
	// concurrent transactions on an unlocked account do not lose updates.
	// If a result would not fit in int64 the commit fails with ErrOverflow
	// and nothing is applied.
	AddBalance(ctx context.Context, id AccountID, asset Asset, posted, held int64) error
	// InsertLot records a new lot.
	InsertLot(ctx context.Context, lot Lot) error
	// AddLot adds delta to the Remaining of a lot of account.
	AddLot(ctx context.Context, account AccountID, id LotID, delta int64) error
	// InsertEntry records a committed entry (unsealed; the store seals it,
	// with a Sealer, in commit order, at commit or later) under each of
	// the unique keys given. If any key is already taken, by a committed
	// entry or by a transaction still in flight, InsertEntry or the commit
	// fails with ErrConflict: at most one entry is ever recorded under a
	// key. So does an entry whose ID is taken (the Ledger then retries with
	// a new ID). A store may take the keys at InsertEntry or only at
	// commit (a database store that sends its writes with the commit):
	// of two transactions racing for a key, either may win. The loser
	// fails with ErrConflict even if its other writes would fail too (a
	// lot refilled past its amount): they may fail because of the
	// winner's writes, which the Ledger, retrying, then finds.
	InsertEntry(ctx context.Context, e *Entry, keys []string) error
}

// Unique keys under which the Ledger inserts entries. Callers' idempotency
// keys, hold resolutions, reversals and expiries live in separate
// namespaces, so that no caller key can block an internal one.

// CallerKey returns the store key for a caller's idempotency key.
func CallerKey(key string) string { return "k:" + key }

// HoldKey returns the key under which the entry that commits or voids a
// hold is inserted: one resolution per hold, ever.
func HoldKey(hold EntryID) string { return "h:" + string(hold) }

// ReversalKey returns the key under which an entry's reversal is inserted:
// one reversal per entry, ever.
func ReversalKey(entry EntryID) string { return "r:" + string(entry) }
