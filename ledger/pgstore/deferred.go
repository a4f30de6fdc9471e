package pgstore

import (
	"context"
	"slices"
	"strconv"
	"sync"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/jackc/pgx/v5"
)

// Deferred locks. A Lock normally costs its member a round trip before fn
// can go on: the rows are locked and read, and LockKey's key looked up.
// An earn needs nothing else from the database: it credits a user account
// whose metadata it checks (not closed) and debits an issuance account
// that needs no check. So LockKeyDeferred (ledger.KeyDeferrer, which the
// Ledger calls on a write's first try) answers from memory when the Store
// knows the metadata of every account named (it keeps what earlier locks
// read and what it committed) and no other member holds any of them, and
// defers the row locks and the key to the commit's round trip:
//
//   - the in-process account locks are taken at once, as always;
//   - a later statement in the same transaction (a balance, lots, a key)
//     takes the row locks first, with the key's lookup, exactly as LockKey
//     would have, and fails with ledger.ErrConflict if a row differs from
//     what was answered or the key is taken;
//   - otherwise the commit's round trip locks the rows before any write,
//     and a row that differs from what was answered, or that another
//     transaction holds (SKIP LOCKED), fails the member with ErrConflict;
//     a key taken meanwhile fails the key's insert (a unique violation,
//     ErrConflict). Nothing is written before the locks are held, so the
//     member commits exactly what it would have committed had it locked
//     the rows first.
//
// A member that failed makes the Store forget the accounts it relied on,
// and the Ledger's retry uses LockKey, which locks and looks up for real.

// maxKnownAccounts bounds the memory of the account cache (about 100 bytes
// an account).
const maxKnownAccounts = 1 << 20

// accountCache holds the metadata of accounts as last read under a lock
// or committed by this Store, at most limit of them (maxKnownAccounts
// unless a test says otherwise). It keeps two generations: new entries go
// to cur, and when cur holds half the limit it becomes old and cur starts
// empty, so an account not used for a generation is forgotten, while one
// found in old moves back to cur. A host with more active accounts than
// the limit so loses only those it has not used lately, rather than
// everything at once.
type accountCache struct {
	mu       sync.Mutex
	cur, old map[ledger.AccountID]ledger.Account
	limit    int
}

func (c *accountCache) get(id ledger.AccountID) (ledger.Account, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.cur[id]; ok {
		return a, true
	}
	a, ok := c.old[id]
	if ok {
		delete(c.old, id)
		c.add(a)
	}
	return a, ok
}

func (c *accountCache) put(as ...ledger.Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range as {
		delete(c.old, a.ID)
		c.add(a)
	}
}

// add puts a in cur, starting a generation first if cur is full. c.mu is
// held.
func (c *accountCache) add(a ledger.Account) {
	if c.limit == 0 {
		c.limit = maxKnownAccounts
	}
	if _, ok := c.cur[a.ID]; !ok && len(c.cur) >= max(1, c.limit/2) {
		c.old, c.cur = c.cur, nil
	}
	if c.cur == nil {
		c.cur = make(map[ledger.AccountID]ledger.Account)
	}
	c.cur[a.ID] = a
}

func (c *accountCache) drop(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.cur, ledger.AccountID(id))
		delete(c.old, ledger.AccountID(id))
	}
}

// deferLock answers a Lock of want (sorted) from memory, and the key as
// free, if it may: see above. It reports whether it did.
func (t *txn) deferLock(want []string, key string) bool {
	if t.deferred != nil || len(t.locked) > 0 || len(t.missed) > 0 || (t.batch != nil && t.batch.private) {
		return false
	}
	rows := make([]ledger.Account, 0, len(want))
	for _, id := range want {
		a, ok := t.s.known.get(ledger.AccountID(id))
		if !ok {
			return false
		}
		rows = append(rows, a)
	}
	t.deferred, t.deferredKey = slices.Clone(want), key
	t.locked = append(t.locked[:0], rows...)
	return true
}

// materialize takes the row locks a deferred Lock put off, before the
// transaction's next statement, and fails with ErrConflict if they show
// something other than what the Lock answered.
func (t *txn) materialize(ctx context.Context) error {
	ids, key := t.deferred, t.deferredKey
	t.deferred, t.deferredKey = nil, ""
	hit, rows, err := t.lockRows(ctx, ids, key)
	if err != nil {
		t.s.known.drop(ids...)
		return err
	}
	if hit != "" {
		return &Error{Op: "lock", Kind: ledger.ErrConflict, Detail: "key " + strconv.Quote(key) + " was taken after it was answered free"}
	}
	same := len(rows) == len(ids)
	for _, a := range rows {
		if i, ok := slices.BinarySearchFunc(t.locked, a.ID, byID); !ok || t.locked[i] != a {
			same = false
		}
	}
	if !same {
		t.s.known.drop(ids...)
		return &Error{Op: "lock", Kind: ledger.ErrConflict, Detail: "an account changed after a lock answered it from memory"}
	}
	return nil
}

// afterCommit makes the Store forget what a member that failed relied on.
func (t *txn) afterCommit() {
	if t.deferred == nil || t.result == nil {
		return
	}
	t.s.known.drop(t.deferred...)
}

// codeStale is the SQLSTATE sqlVerify raises when a deferred lock finds a
// row changed or held elsewhere (invalid_text_representation, which no
// other statement of a commit can raise).
const codeStale = "22P02"

// sqlVerify locks the rows of the commit's deferred Locks, in ID order,
// never waiting for one that another transaction holds, and fails unless
// every row is there, locked, and as the Locks answered.
const sqlVerify = `WITH l AS (
	SELECT a.id FROM ledger_accounts a
	JOIN unnest($1::text[], $2::bool[], $3::int8[], $4::bool[]) AS u(id, overdraft, overdraft_limit, closed)
	ON a.id = u.id AND a.overdraft = u.overdraft AND a.overdraft_limit = u.overdraft_limit AND a.closed = u.closed
	ORDER BY a.id FOR UPDATE OF a SKIP LOCKED)
SELECT (CASE WHEN count(*) = cardinality($1::text[]) THEN '1' ELSE 'stale' END)::int FROM l`

// queueVerify queues sqlVerify for accounts as, sorted by ID.
func queueVerify(b *pgx.Batch, as []ledger.Account) {
	n := len(as)
	ids, od, lim, cl := make([]string, n), make([]bool, n), make([]int64, n), make([]bool, n)
	for i, a := range as {
		ids[i], od[i], lim[i], cl[i] = string(a.ID), a.Policy.Overdraft, a.Policy.Limit, a.Closed
	}
	b.Queue(sqlVerify, ids, od, lim, cl)
}

var _ ledger.KeyDeferrer = (*txn)(nil)
