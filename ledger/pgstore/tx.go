package pgstore

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// txn is one transaction, read-write (Update) or read-only (View).
//
// A read-only one has a connection of its own and begins lazily, in the
// same round trip as its first statement.
//
// A read-write one is a member of a shared transaction (see batch.go): it
// joins a batch at its first statement, which runs in the batch's next
// round trip; its writes are buffered and sent, merged with the other
// members', with the COMMIT in one round trip, so a write costs the
// database no round trip of its own and a transaction holds its row locks
// on shared balance rows only for the duration of that last round trip.
type txn struct {
	s     *Store
	conn  *pgxpool.Conn // the connection the transaction last ran on
	write bool
	begun bool // BEGIN was sent (read-only)
	ended bool // the connection was given up (read-only)

	batch  *batch             // read-write: the shared transaction, if joined
	held   []ledger.AccountID // in-process account locks taken
	missed []string           // keys found missing before any lock
	result error              // the commit's outcome, set by the batch
	// req is the member's statement for its batch, reused from one to the
	// next; an abandoned one is left to the batch, which may still be
	// running it, and replaced.
	req *request

	locked  []ledger.Account // sorted by ID, read under the lock (or known, if deferred)
	creates []ledger.Account
	updates []ledger.Account
	deltas  []delta
	newLots []ledger.Lot
	lotAdds []lotAdd
	inserts []insert
	buf     []byte

	// A deferred Lock (see deferred.go): the IDs whose rows are to be
	// locked before the next statement or at commit, sorted, and the key
	// LockKeyDeferred answered free without a lookup.
	deferred    []string
	deferredKey string
}

type delta struct {
	id           ledger.AccountID
	asset        ledger.Asset
	posted, held int64
}

type insert struct {
	id       ledger.EntryID
	kind     ledger.EntryKind
	ref      ledger.EntryID
	deadline time.Time
	body     []byte
	keys     []string // sorted
	accounts []string // every account the entry posts to or takes lots from, once
}

type lotAdd struct {
	account ledger.AccountID
	id      ledger.LotID
	delta   int64
}

func (t *txn) init(s *Store, conn *pgxpool.Conn, write bool) {
	t.s, t.conn, t.write = s, conn, write
	if t.req == nil {
		t.req = &request{done: make(chan struct{}, 1)}
	}
}

func (t *txn) reset() {
	clear(t.locked)
	clear(t.creates)
	clear(t.updates)
	clear(t.deltas)
	clear(t.newLots)
	clear(t.lotAdds)
	clear(t.inserts)
	clear(t.held)
	clear(t.missed)
	if r := t.req; r != nil {
		clear(r.args)
		clear(r.rows)
		*r = request{done: r.done, args: r.args[:0], rows: r.rows[:0]}
	}
	*t = txn{locked: t.locked[:0], creates: t.creates[:0], updates: t.updates[:0], deltas: t.deltas[:0],
		newLots: t.newLots[:0], lotAdds: t.lotAdds[:0], inserts: t.inserts[:0], buf: t.buf[:0], held: t.held[:0], missed: t.missed[:0],
		req: t.req}
}

func (t *txn) hasWrites() bool {
	return len(t.creates)+len(t.updates)+len(t.deltas)+len(t.newLots)+len(t.lotAdds)+len(t.inserts) > 0
}

func (t *txn) beginSQL() string {
	return "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
}

// run runs one statement of a read-write transaction in its batch,
// joining the open batch first if it has none; lock, if not nil, makes it
// a Lock of those IDs instead.
func (t *txn) run(ctx context.Context, op, sql string, args []any, each func(pgx.Rows) error, lock []string) error {
	if err := ctx.Err(); err != nil {
		return &Error{Op: op, Err: err}
	}
	if t.deferred != nil && lock == nil {
		if err := t.materialize(ctx); err != nil {
			return err
		}
	}
	if t.batch == nil {
		t.s.batches.join(ctx, t, false)
	}
	r := t.req
	r.op, r.sql, r.scan, r.lock = op, sql, each, lock
	r.args = append(r.args[:0], args...)
	if t.batch.do(ctx, r) {
		// The batch may still run the statement: leave it the request, and
		// whatever the request refers to, and take a new one.
		t.req = &request{done: make(chan struct{}, 1)}
		t.missed = nil
		return &Error{Op: op, Err: ctx.Err()}
	}
	t.conn = t.batch.conn
	return r.err
}

// finish rolls back a transaction that did not commit. If that fails, the
// connection is in an unknown state and is closed rather than returned to
// the pool.
func (t *txn) finish(ctx context.Context) {
	if !t.begun || t.ended {
		return
	}
	conn := t.conn.Conn()
	if conn.IsClosed() {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(rctx, "ROLLBACK"); err != nil {
		_ = conn.Close(rctx)
	}
}

// errStop ends a row walk early.
var errStop = errors.New("stop")

// query runs one statement in the transaction, beginning it first if it
// has not begun, and calls each for every row until each returns an error
// (errStop ends the walk without one).
func (t *txn) query(ctx context.Context, op, sql string, args []any, each func(pgx.Rows) error) error {
	if t.write {
		return t.run(ctx, op, sql, args, each, nil)
	}
	var rows pgx.Rows
	var br pgx.BatchResults
	var err error
	if t.begun {
		rows, err = t.conn.Query(ctx, sql, args...)
	} else {
		var b pgx.Batch
		b.Queue(t.beginSQL())
		b.Queue(sql, args...)
		br = t.conn.SendBatch(ctx, &b)
		t.begun = true
		if _, err = br.Exec(); err == nil {
			rows, err = br.Query()
		}
	}
	if err == nil {
		for rows.Next() {
			if err = each(rows); err != nil {
				break
			}
		}
		rows.Close()
		if err == nil || err == errStop {
			err = rows.Err()
		}
	}
	if br != nil {
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			return err
		}
		return classify(op, err, false)
	}
	return nil
}

func notFound(what string) error {
	return &Error{Op: "read", Kind: ledger.ErrNotFound, Detail: what}
}

// Account implements ledger.ReadTx.
func (t *txn) Account(ctx context.Context, id ledger.AccountID) (ledger.Account, error) {
	if i, ok := slices.BinarySearchFunc(t.locked, id, byID); ok {
		return t.locked[i], nil
	}
	system := !id.IsUser()
	if system {
		if a, ok := t.s.system.Load(id); ok {
			return a.(ledger.Account), nil
		}
	}
	a := ledger.Account{ID: id}
	found := false
	err := t.query(ctx, "account", sqlAccount,
		[]any{string(id)}, func(r pgx.Rows) error {
			found = true
			return r.Scan(&a.Policy.Overdraft, &a.Policy.Limit, &a.Closed)
		})
	if err != nil {
		return ledger.Account{}, err
	}
	if !found {
		return ledger.Account{}, notFound("account " + strconv.Quote(string(id)))
	}
	if system {
		t.s.system.Store(id, a)
	}
	return a, nil
}

// sqlBalance reads whether an account exists and its balance in an asset,
// summed over its shard rows.
const sqlBalance = `SELECT EXISTS (SELECT 1 FROM ledger_accounts WHERE id = $1),
	coalesce(sum(posted), 0)::bigint, coalesce(sum(held), 0)::bigint
	FROM ledger_balances WHERE account = $1 AND asset = $2`

// ReadBalance implements ledger.AccountReader, in one statement.
func (s *Store) ReadBalance(ctx context.Context, id ledger.AccountID, asset ledger.Asset) (ledger.Balance, error) {
	if s.seal.closed.Load() {
		return ledger.Balance{}, &Error{Op: "read", Kind: ErrClosed}
	}
	var b ledger.Balance
	exists := false
	if err := s.pool.QueryRow(ctx, sqlBalance, string(id), string(asset)).Scan(&exists, &b.Posted, &b.Held); err != nil {
		return ledger.Balance{}, classify("balance", err, false)
	}
	if !exists {
		return ledger.Balance{}, notFound("account " + strconv.Quote(string(id)))
	}
	return b, nil
}

// sqlAccount reads an account's metadata.
const sqlAccount = `SELECT overdraft, overdraft_limit, closed FROM ledger_accounts WHERE id = $1`

// ReadAccount implements ledger.AccountReader: one statement outside any
// transaction, where a View costs a transaction's round trips and first
// seals this process's recent entries (which only the feed needs, not an
// account's metadata or balance).
func (s *Store) ReadAccount(ctx context.Context, id ledger.AccountID) (ledger.Account, error) {
	if s.seal.closed.Load() {
		return ledger.Account{}, &Error{Op: "read", Kind: ErrClosed}
	}
	system := !id.IsUser()
	if system {
		if a, ok := s.system.Load(id); ok {
			return a.(ledger.Account), nil
		}
	}
	a := ledger.Account{ID: id}
	err := s.pool.QueryRow(ctx, sqlAccount, string(id)).Scan(&a.Policy.Overdraft, &a.Policy.Limit, &a.Closed)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ledger.Account{}, notFound("account " + strconv.Quote(string(id)))
	case err != nil:
		return ledger.Account{}, classify("account", err, false)
	}
	if system {
		s.system.Store(id, a)
	}
	return a, nil
}

func byID(a ledger.Account, id ledger.AccountID) int { return cmp.Compare(a.ID, id) }

func scanAccount(r pgx.Rows) (ledger.Account, error) {
	var a ledger.Account
	var id string
	err := r.Scan(&id, &a.Policy.Overdraft, &a.Policy.Limit, &a.Closed)
	a.ID = ledger.AccountID(id)
	return a, err
}

// Accounts implements ledger.ReadTx.
func (t *txn) Accounts(ctx context.Context, after ledger.AccountID, limit int) ([]ledger.Account, error) {
	var out []ledger.Account
	err := t.query(ctx, "accounts", `SELECT id, overdraft, overdraft_limit, closed FROM ledger_accounts
		WHERE id > $1 ORDER BY id LIMIT $2`, []any{string(after), limit}, func(r pgx.Rows) error {
		a, err := scanAccount(r)
		out = append(out, a)
		return err
	})
	return out, err
}

// Children implements ledger.ReadTx. A parent that does not exist gets
// ErrNotFound.
func (t *txn) Children(ctx context.Context, parent ledger.AccountID) ([]ledger.Account, error) {
	var out []ledger.Account
	exists := false
	err := t.query(ctx, "children", `SELECT id, overdraft, overdraft_limit, closed FROM ledger_accounts
		WHERE parent = $1 OR id = $1 ORDER BY id`, []any{string(parent)}, func(r pgx.Rows) error {
		a, err := scanAccount(r)
		if a.ID == parent {
			exists = true
		} else {
			out = append(out, a)
		}
		return err
	})
	if err == nil && !exists {
		err = notFound("account " + strconv.Quote(string(parent)))
	}
	return out, err
}

// Balance implements ledger.ReadTx: the sum of the account's shard rows.
func (t *txn) Balance(ctx context.Context, id ledger.AccountID, asset ledger.Asset) (ledger.Balance, error) {
	var b ledger.Balance
	exists := false
	err := t.query(ctx, "balance", sqlBalance, []any{string(id), string(asset)}, func(r pgx.Rows) error {
		return r.Scan(&exists, &b.Posted, &b.Held)
	})
	if err == nil && !exists {
		err = notFound("account " + strconv.Quote(string(id)))
	}
	return b, err
}

const lotColumns = `entry, posting, account, asset, amount, remaining, expires_s, expires_ns, created_s, created_ns`

func scanLot(r pgx.Rows) (ledger.Lot, error) {
	var l ledger.Lot
	var entry, account, asset string
	var posting int32
	var es *int64
	var ens *int32
	var cs int64
	var cns int32
	err := r.Scan(&entry, &posting, &account, &asset, &l.Amount, &l.Remaining, &es, &ens, &cs, &cns)
	fillLot(&l, entry, posting, account, asset, es, ens, cs, cns)
	return l, err
}

// fillLot sets the fields of l from the columns of a lot row.
func fillLot(l *ledger.Lot, entry string, posting int32, account, asset string, es *int64, ens *int32, cs int64, cns int32) {
	l.ID = ledger.LotID{Entry: ledger.EntryID(entry), Posting: int(posting)}
	l.Account, l.Asset = ledger.AccountID(account), ledger.Asset(asset)
	if es != nil && ens != nil {
		l.Expires = time.Unix(*es, int64(*ens)).UTC()
	}
	l.Created = time.Unix(cs, int64(cns)).UTC()
}

// Lots implements ledger.ReadTx. It reads the lots a page at a time, in
// the order of the index on open lots, and stops when fn does: a spend
// takes its amount from an account's first lots, and must not fetch every
// lot the account holds. The first page is small, and each next one
// larger. Each page is handed to fn once read whole (a read-write
// transaction's rows arrive on its batch's goroutine). The pages of one
// call see one state: a View reads one snapshot, and the Ledger reads the
// lots of an account in a write only once it holds the account's lock.
func (t *txn) Lots(ctx context.Context, id ledger.AccountID, asset ledger.Asset, fn func(ledger.Lot) bool) error {
	var (
		page []ledger.Lot
		ns   []int64
		size = firstLotPage
	)
	each := func(r pgx.Rows) error {
		l, n, err := scanLotN(r)
		page, ns = append(page, l), append(ns, n)
		return err
	}
	err := t.query(ctx, "lots", sqlLots+sqlLotsOrder, []any{string(id), string(asset), size}, each)
	for err == nil {
		for _, l := range page {
			if !fn(l) {
				return nil
			}
		}
		if len(page) < size {
			return nil
		}
		last := page[len(page)-1]
		cs, cns, n := last.Created.Unix(), int32(last.Created.Nanosecond()), ns[len(ns)-1]
		size = min(2*size, maxLotPage)
		page, ns = page[:0], ns[:0]
		if last.Expires.IsZero() {
			err = t.query(ctx, "lots", sqlLots+sqlLotsAfterNever+sqlLotsOrder, []any{string(id), string(asset), size, cs, cns, n}, each)
		} else {
			es, ens := last.Expires.Unix(), int32(last.Expires.Nanosecond())
			err = t.query(ctx, "lots", sqlLots+sqlLotsAfter+sqlLotsOrder, []any{string(id), string(asset), size, es, ens, cs, cns, n}, each)
		}
	}
	return err
}

// The pages of Lots, in the order of the index ledger_lots_open (expires_s
// ascending puts the lots that never expire, NULL, last): the first page,
// and the next ones after a lot that expires or one that does not.
const (
	firstLotPage = 16
	maxLotPage   = 1024

	sqlLots           = `SELECT ` + lotColumns + `, n FROM ledger_lots WHERE account = $1 AND asset = $2 AND remaining > 0`
	sqlLotsAfterNever = ` AND expires_s IS NULL AND (created_s, created_ns, n) > ($4, $5, $6)`
	sqlLotsAfter      = ` AND ((expires_s, expires_ns, created_s, created_ns, n) > ($4, $5, $6, $7, $8) OR expires_s IS NULL)`
	sqlLotsOrder      = ` ORDER BY expires_s ASC NULLS LAST, expires_ns, created_s, created_ns, n LIMIT $3`
)

// scanLotN scans a lot and its insertion order n.
func scanLotN(r pgx.Rows) (ledger.Lot, int64, error) {
	var l ledger.Lot
	var entry, account, asset string
	var posting int32
	var es *int64
	var ens *int32
	var cs, n int64
	var cns int32
	err := r.Scan(&entry, &posting, &account, &asset, &l.Amount, &l.Remaining, &es, &ens, &cs, &cns, &n)
	fillLot(&l, entry, posting, account, asset, es, ens, cs, cns)
	return l, n, err
}

// Lot implements ledger.ReadTx.
func (t *txn) Lot(ctx context.Context, account ledger.AccountID, id ledger.LotID) (ledger.Lot, error) {
	var l ledger.Lot
	found := false
	err := t.query(ctx, "lot", `SELECT `+lotColumns+` FROM ledger_lots WHERE entry = $1 AND posting = $2 AND account = $3`,
		[]any{string(id.Entry), int32(id.Posting), string(account)}, func(r pgx.Rows) error {
			var err error
			l, err = scanLot(r)
			found = true
			return err
		})
	if err == nil && !found {
		err = notFound("lot " + id.String())
	}
	return l, err
}

// entryColumns reads an entry (e) with its seal (f, a LEFT JOIN on ord
// where the entry may be unsealed).
const entryColumns = `e.id, e.body, f.seq, f.prev_hash, f.hash`

func scanEntry(r pgx.Rows, extra ...any) (*ledger.Entry, error) {
	var id string
	var body, prev, hash []byte
	var seq *int64
	if err := r.Scan(append([]any{&id, &body, &seq, &prev, &hash}, extra...)...); err != nil {
		return nil, err
	}
	e := &ledger.Entry{ID: ledger.EntryID(id)}
	if err := decodeBody(body, e); err != nil {
		return nil, &Error{Op: "read", Detail: "entry " + strconv.Quote(id), Err: err}
	}
	if seq != nil {
		if *seq <= 0 || len(prev) != len(e.PrevHash) || len(hash) != len(e.Hash) {
			return nil, &Error{Op: "read", Detail: "entry " + strconv.Quote(id) + "'s feed row", Err: errCorruptSeal}
		}
		e.Seq = uint64(*seq)
		copy(e.PrevHash[:], prev)
		copy(e.Hash[:], hash)
	}
	return e, nil
}

// Entry implements ledger.ReadTx.
func (t *txn) Entry(ctx context.Context, id ledger.EntryID) (*ledger.Entry, error) {
	var e *ledger.Entry
	err := t.query(ctx, "entry", `SELECT `+entryColumns+` FROM ledger_entries e LEFT JOIN ledger_feed f ON f.ord = e.ord WHERE e.id = $1`,
		[]any{string(id)}, func(r pgx.Rows) error {
			var err error
			e, err = scanEntry(r)
			return err
		})
	if err == nil && e == nil {
		err = notFound("entry " + strconv.Quote(string(id)))
	}
	return e, err
}

// Key implements ledger.ReadTx.
func (t *txn) Key(ctx context.Context, key string) (ledger.EntryID, error) {
	if t.write && key != "" {
		// Merged with the other members' lookups (see batch.go).
		t.req.key = key
		err := t.run(ctx, "key", "", nil, nil, nil)
		t.req.key = ""
		switch {
		case err != nil:
			return "", err
		case t.req.hit == "":
			if len(t.locked) == 0 {
				t.missed = append(t.missed, key) // to check again under the lock
			}
			return "", ledger.ErrNotFound
		}
		return ledger.EntryID(t.req.hit), nil
	}
	var id string
	found := false
	err := t.query(ctx, "key", `SELECT entry FROM ledger_keys WHERE key = $1`, []any{key}, func(r pgx.Rows) error {
		found = true
		return r.Scan(&id)
	})
	if err == nil && !found {
		// A plain sentinel: a miss is the common case on every write.
		return "", ledger.ErrNotFound
	}
	return ledger.EntryID(id), err
}

// History implements ledger.ReadTx. It shows sealed entries only, in seal
// (commit) order, so that a page once read never gains an entry before its
// end; a cursor is "o" and the ord of the last entry of the page.
func (t *txn) History(ctx context.Context, id ledger.AccountID, cursor string, limit int) ([]*ledger.Entry, string, error) {
	var after int64
	if cursor != "" {
		n, err := strconv.ParseInt(cursor[min(1, len(cursor)):], 10, 64)
		if err != nil || cursor[0] != 'o' || n < 0 {
			return nil, "", &Error{Op: "history", Kind: ledger.ErrInvalidCursor, Detail: "cursor " + strconv.Quote(cursor)}
		}
		after = n
	}
	if limit < 1 {
		return nil, "", nil
	}
	var out []*ledger.Entry
	var last int64
	next := ""
	err := t.query(ctx, "history", `SELECT `+entryColumns+`, h.ord FROM ledger_history h JOIN ledger_entries e ON e.id = h.entry JOIN ledger_feed f ON f.ord = h.ord
		WHERE h.account = $1 AND h.ord > $2 AND h.ord <= (SELECT ord FROM ledger_chain WHERE id = 1)
		ORDER BY h.ord LIMIT $3`, []any{string(id), after, limit + 1}, func(r pgx.Rows) error {
		if len(out) == limit {
			next = "o" + strconv.FormatInt(last, 10)
			return errStop
		}
		e, err := scanEntry(r, &last)
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, next, err
}

// Changes implements ledger.ReadTx.
func (t *txn) Changes(ctx context.Context, after uint64, limit int) ([]*ledger.Entry, error) {
	if after > 1<<62 || limit < 1 {
		return nil, nil
	}
	var out []*ledger.Entry
	err := t.query(ctx, "changes", `SELECT `+entryColumns+` FROM ledger_feed f JOIN ledger_entries e ON e.ord = f.ord WHERE f.seq > $1 ORDER BY f.seq LIMIT $2`,
		[]any{int64(after), limit}, func(r pgx.Rows) error {
			e, err := scanEntry(r)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	return out, err
}

// Expiring implements ledger.ReadTx.
func (t *txn) Expiring(ctx context.Context, asOf time.Time, after ledger.AccountID, limit int) ([]ledger.AccountID, error) {
	var out []ledger.AccountID
	err := t.query(ctx, "expiring", `SELECT DISTINCT l.account FROM ledger_lots l
		WHERE l.account > $1 AND l.remaining > 0 AND l.expires_s IS NOT NULL AND (l.expires_s, l.expires_ns) <= ($2, $3)
		GROUP BY l.account, l.asset
		HAVING sum(l.remaining) > greatest((SELECT coalesce(sum(b.held), 0) FROM ledger_balances b
			WHERE b.account = l.account AND b.asset = l.asset), 0)
		ORDER BY l.account LIMIT $4`, []any{string(after), asOf.Unix(), int32(asOf.Nanosecond()), limit}, func(r pgx.Rows) error {
		var id string
		err := r.Scan(&id)
		out = append(out, ledger.AccountID(id))
		return err
	})
	return out, err
}

// PendingHolds implements ledger.ReadTx.
func (t *txn) PendingHolds(ctx context.Context, asOf time.Time, after ledger.EntryID, limit int) ([]*ledger.Entry, error) {
	var out []*ledger.Entry
	err := t.query(ctx, "pending holds", `SELECT `+entryColumns+` FROM ledger_pending_holds p JOIN ledger_entries e ON e.id = p.entry LEFT JOIN ledger_feed f ON f.ord = e.ord
		WHERE p.entry > $1 AND (p.deadline_s, p.deadline_ns) <= ($2, $3) ORDER BY p.entry LIMIT $4`,
		[]any{string(after), asOf.Unix(), int32(asOf.Nanosecond()), limit}, func(r pgx.Rows) error {
			e, err := scanEntry(r)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	return out, err
}

// Lock implements ledger.Tx. It takes the accounts' in-process locks in ID
// order (leaving its batch first if it must wait for one, see batch.go),
// then locks their rows in its batch's next round trip, in one statement
// with the other members' Locks, and reads their metadata, which the
// transaction then serves from memory.
func (t *txn) Lock(ctx context.Context, ids []ledger.AccountID) error {
	_, err := t.lock(ctx, ids, "", false)
	return err
}

// LockKey implements ledger.KeyLocker: Lock, with the key's lookup in the
// statement that follows the locks, in the same round trip.
func (t *txn) LockKey(ctx context.Context, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
	hit, err := t.lock(ctx, ids, key, false)
	return ledger.EntryID(hit), err
}

// LockKeyDeferred implements ledger.KeyDeferrer: LockKey, whose row locks
// and lookup wait for the commit when the Store knows the accounts and no
// other member holds them (see deferred.go).
func (t *txn) LockKeyDeferred(ctx context.Context, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
	hit, err := t.lock(ctx, ids, key, true)
	return ledger.EntryID(hit), err
}

// lock is Lock, and LockKey if key is not "": it returns the entry under
// key. mayDefer lets it defer the row locks and the lookup.
func (t *txn) lock(ctx context.Context, ids []ledger.AccountID, key string, mayDefer bool) (string, error) {
	if !t.write {
		return "", &Error{Op: "lock", Detail: "lock in a read-only transaction"}
	}
	// The Ledger locks once per transaction; a second Lock locks the rows
	// of the first again, in case it has to move to another batch.
	want := make([]string, 0, len(ids)+len(t.held))
	for _, id := range ids {
		want = append(want, string(id))
	}
	for _, id := range t.held {
		want = append(want, string(id))
	}
	slices.Sort(want)
	want = slices.Compact(want)
	c := &t.s.batches
	for i, id := range want {
		if slices.Contains(t.held, ledger.AccountID(id)) {
			continue
		}
		if c.locks.try(ledger.AccountID(id)) {
			t.held = append(t.held, ledger.AccountID(id))
			continue
		}
		// Another member holds it until its batch ends: wait outside any
		// batch, so that none waits for this one meanwhile. (It may have
		// changed what this one is about to read: no deferring.)
		mayDefer = false
		if t.batch != nil {
			c.leave(t)
		}
		for _, id := range want[i:] {
			if slices.Contains(t.held, ledger.AccountID(id)) {
				continue
			}
			if err := c.locks.wait(ctx, ledger.AccountID(id)); err != nil {
				return "", &Error{Op: "lock", Err: err}
			}
			t.held = append(t.held, ledger.AccountID(id))
		}
		break
	}
	if mayDefer && t.deferLock(want, key) {
		return "", nil
	}
	if t.deferred != nil {
		// A second Lock: the first one's rows are locked for real first.
		if err := t.materialize(ctx); err != nil {
			return "", err
		}
	}
	hit, rows, err := t.lockRows(ctx, want, key)
	if err != nil {
		return "", err
	}
	for _, a := range rows {
		if i, ok := slices.BinarySearchFunc(t.locked, a.ID, byID); !ok {
			t.locked = slices.Insert(t.locked, i, a)
		}
	}
	if len(rows) != len(want) {
		for _, id := range want {
			if _, ok := slices.BinarySearchFunc(t.locked, ledger.AccountID(id), byID); !ok {
				// The transaction holds the locks it got until the Ledger,
				// seeing the error, ends it.
				return "", notFound("account " + strconv.Quote(id))
			}
		}
	}
	return hit, nil
}

// lockRows locks the rows of ids (sorted) in the transaction's batch, with
// key's lookup, and returns the entry under key and the rows it locked (in
// t.req, valid until the next statement), which the Store now knows.
func (t *txn) lockRows(ctx context.Context, ids []string, key string) (hit string, rows []ledger.Account, err error) {
	c := &t.s.batches
	// The keys this transaction found missing are looked up again once the
	// locks are granted: a transaction that waited for a lock may have
	// waited for one that took such a key (the Ledger checks that a hold
	// is unresolved, or an entry unreversed, before it locks), and must
	// then start over rather than act on what it read before.
	t.req.recheck, t.req.lookup = t.missed, key
	err = t.run(ctx, "lock", "", nil, nil, ids)
	if err == errSkipped {
		// A row is locked by another process's transaction: wait for it in
		// a transaction of this member's own, where the wait is safe.
		c.leave(t)
		c.join(ctx, t, true)
		err = t.run(ctx, "lock", "", nil, nil, ids)
	}
	hit = t.req.hit
	t.req.recheck, t.req.lookup, t.req.hit = nil, "", ""
	if err != nil {
		return "", nil, err
	}
	t.s.known.put(t.req.rows...)
	return hit, t.req.rows, nil
}

func (t *txn) isLocked(id ledger.AccountID) bool {
	_, ok := slices.BinarySearchFunc(t.locked, id, byID)
	return ok
}

// CreateAccount implements ledger.Tx; a taken ID fails the commit with
// ErrConflict.
func (t *txn) CreateAccount(_ context.Context, a ledger.Account) error {
	t.creates = append(t.creates, a)
	return nil
}

// UpdateAccount implements ledger.Tx; a missing account fails the commit
// with ErrNotFound.
func (t *txn) UpdateAccount(_ context.Context, a ledger.Account) error {
	t.updates = append(t.updates, a)
	return nil
}

// AddBalance implements ledger.Tx.
func (t *txn) AddBalance(_ context.Context, id ledger.AccountID, asset ledger.Asset, posted, held int64) error {
	t.deltas = append(t.deltas, delta{id: id, asset: asset, posted: posted, held: held})
	return nil
}

// InsertLot implements ledger.Tx.
func (t *txn) InsertLot(_ context.Context, l ledger.Lot) error {
	t.newLots = append(t.newLots, l)
	return nil
}

// AddLot implements ledger.Tx; a missing lot fails the commit with
// ErrNotFound, a remaining amount outside 0..Amount fails it too.
func (t *txn) AddLot(_ context.Context, account ledger.AccountID, id ledger.LotID, d int64) error {
	t.lotAdds = append(t.lotAdds, lotAdd{account: account, id: id, delta: d})
	return nil
}

// InsertEntry implements ledger.Tx. The entry is inserted at commit, with
// its unique keys: a key taken by a committed entry, or by a transaction
// whose commit is in flight (the commit waits for it), fails the commit
// with ErrConflict.
func (t *txn) InsertEntry(_ context.Context, e *ledger.Entry, keys []string) error {
	if !t.write {
		return &Error{Op: "insert entry", Detail: "insert in a read-only transaction"}
	}
	in := insert{id: e.ID, kind: e.Kind, ref: e.Ref, deadline: e.Deadline, keys: slices.Sorted(slices.Values(keys)),
		accounts: make([]string, 0, len(e.Postings))}
	start := len(t.buf)
	t.buf = encodeBody(t.buf, e)
	in.body = t.buf[start:len(t.buf):len(t.buf)]
	add := func(id ledger.AccountID) {
		if !slices.Contains(in.accounts, string(id)) {
			in.accounts = append(in.accounts, string(id))
		}
	}
	for _, p := range e.Postings {
		add(p.Account)
	}
	for _, u := range e.Lots {
		add(u.Account)
	}
	if in.keys == nil {
		in.keys = []string{}
	}
	t.inserts = append(t.inserts, in)
	return nil
}
