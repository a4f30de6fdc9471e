package pgstore

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Group commit. Concurrent Updates of one Store share database
// transactions: a batch is one READ COMMITTED transaction on one
// connection, and each Update running in it is a member. Members' reads
// and locks are pipelined into the batch's round trips (whatever is queued
// when the connection is free goes in the next round trip, and the locks
// of several members in one statement); their buffered writes are merged,
// so that one statement inserts every member's entries and one COMMIT (one
// WAL flush) makes them durable together. Each member stays atomic: its
// writes are applied whole or not at all, as if it had run alone.
//
// Why sharing a transaction is safe:
//
//   - nothing a member writes reaches the server before the batch commits,
//     so every read sees committed state only, exactly as in a transaction
//     of its own (no member ever sees another's uncommitted writes);
//   - two members never hold the same account: Lock first takes an
//     in-process lock per account (sorted), held until the holder's batch
//     ends; a member that has to wait for one leaves its batch first (it
//     has only read so far), so a batch never waits for a member that
//     waits for another batch;
//   - a shared batch never waits for a row lock, so it can be part of no
//     deadlock and no member waits for another's contention: its Locks use
//     SKIP LOCKED, and a member that finds a row locked by another
//     process's transaction moves to a private batch, a transaction of its
//     own, whose one sorted Lock statement may wait (locks in ID order, as
//     every transaction takes them);
//   - a member that waited for a lock may have waited for the transaction
//     that made one of its earlier reads stale: the Ledger checks that a
//     key (a hold's resolution, an entry's reversal) is free before it
//     locks. So the statement right after the locks looks up again the
//     keys each member found missing, and a member whose key was taken
//     meanwhile fails with ledger.ErrConflict, which the Ledger retries
//     on fresh reads;
//   - at commit, if the merged statements fail (a key taken meanwhile, an
//     overflow, a missing lot), the batch rolls back to a savepoint taken
//     before them (keeping its row locks) and applies each member alone
//     under a savepoint of its own, so that each gets its own outcome.
//
// When a batch closes (takes no new members) and commits: a batch may
// close once a member has arrived with its outcome and no other batch's
// commit is running, so that while one batch's commit waits for its WAL
// flush, the next gathers members. It then closes as soon as it holds as
// many members as the writers lately seen (those of the batch that just
// ended come back together), or gatherWait after it could first have
// closed; it commits once every member has arrived (fn returned) or left.

// maxMembers bounds a batch, so that a burst does not make one long
// transaction.
const maxMembers = 32

// gatherWait bounds how long a batch that may commit waits for the
// writers lately seen (see gatherLocked).
const gatherWait = 200 * time.Microsecond

// gather is how many times, at most, a batch's worker yields to let its
// members queue statements before it sends a round trip.
const gather = 8

// committer forms batches. Its mutex guards every batch's bookkeeping.
type committer struct {
	s          *Store
	locks      lockTable
	mu         sync.Mutex
	open       *batch // takes new members; nil if none
	committing int    // shared batches whose commit is running
	last       int    // the writers lately seen: members of the last batch, and of the one it let gather
}

// batch is one shared transaction. It has no goroutine of its own: a
// member whose statement finds the connection idle runs the round trip
// itself (for every statement queued by then), then hands the connection
// to a member whose statement was queued meanwhile; the commit is run by
// whoever makes the batch's last member arrive or leave once it is closed
// (or, for a batch closed when another ended, by a goroutine of its own).
type batch struct {
	c       *committer
	private bool // one member only, never open to others

	// Guarded by c.mu.
	queue   []*request
	driving bool // a member is running round trips
	members int  // joined, neither arrived nor left
	arrived int  // members that arrived (fn returned)
	closed  bool // takes no new members
	armed   bool // a gather timer will close it
	counted bool // counted in c.committing (its commit is running)
	ending  bool // its end has begun
	txns    []*txn
	release []ledger.AccountID // in-process locks to release at the end

	done chan struct{} // closed when the batch has ended

	// Used by the member running a round trip, then by the end, one at a
	// time (handed over under c.mu).
	conn   *pgxpool.Conn
	ctx    context.Context
	begun  bool
	locked bool  // a Lock locked at least one row: the transaction has an ID
	err    error // the transaction is dead: the first failure
	dead   bool  // err was the connection's: nothing can be trusted
}

// request is one statement a member asks the batch to run.
type request struct {
	op   string
	sql  string
	args []any
	scan func(pgx.Rows) error // each row, until an error (errStop ends it cleanly)
	lock []string             // a Lock: the IDs, sorted and unique (sql unused)
	rows []ledger.Account     // a Lock's result: the rows it locked, sorted
	key  string               // a Key lookup (sql unused), if lock is nil
	hit  string               // a Key lookup's result: the entry, "" if none
	// A Lock's keys to look up again once the lock is granted: those its
	// transaction found missing before (see Lock).
	recheck []string
	// A LockKey's key, looked up with the recheck keys; its result goes to
	// hit.
	lookup string
	err    error
	turn   bool          // set with a signal on done: run the next round trip
	done   chan struct{} // capacity 1, reused by the member

	// scan writes to the member's own variables, which the member reads
	// once do returns, even when it abandons the statement mid-round-trip:
	// so scan runs under mu, and never once abandoned is set.
	mu        sync.Mutex
	abandoned bool
}

// scanRow hands one row to the member's scan, or ends the walk if the
// member has abandoned the statement.
func (r *request) scanRow(rows pgx.Rows) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.abandoned {
		return errStop
	}
	return r.scan(rows)
}

// abandon is the member giving up the statement: no row reaches its scan
// after abandon returns.
func (r *request) abandon() {
	r.mu.Lock()
	r.abandoned = true
	r.mu.Unlock()
}

// errSkipped: a Lock found a row that another transaction holds, in a batch
// where it may not wait for it.
var errSkipped = errors.New("row locked elsewhere")

func (c *committer) newBatch(ctx context.Context, private bool) *batch {
	return &batch{c: c, private: private, done: make(chan struct{}), ctx: context.WithoutCancel(ctx)}
}

// join makes t a member of the open batch (creating one), or of a private
// batch.
func (c *committer) join(ctx context.Context, t *txn, private bool) {
	c.mu.Lock()
	var b *batch
	if private {
		b = c.newBatch(ctx, true)
		b.closed = true
	} else {
		b = c.open
		if b == nil {
			b = c.newBatch(ctx, false)
			c.open = b
		}
		if b.members+b.arrived+1 >= maxMembers {
			c.closeLocked(b)
		}
	}
	b.members++
	t.batch = b
	c.mu.Unlock()
}

// leave takes t out of its batch, which no longer waits for it. t has only
// read in it, or locked rows that it will lock again elsewhere; they stay
// locked until the batch ends.
func (c *committer) leave(t *txn) {
	b := t.batch
	t.batch = nil
	c.mu.Lock()
	b.members--
	end := c.settleLocked(b)
	c.mu.Unlock()
	if end {
		b.end()
	}
}

// arrive hands the batch t's outcome: its writes if withWrites. t's
// in-process locks are released when the batch ends.
func (c *committer) arrive(t *txn, withWrites bool) {
	b := t.batch
	c.mu.Lock()
	b.members--
	b.arrived++
	if withWrites {
		b.txns = append(b.txns, t)
	}
	b.release = append(b.release, t.held...)
	end := c.settleLocked(b)
	c.mu.Unlock()
	if end {
		b.end()
	}
}

// abandon ends t's part in its batch, if any, with nothing to commit.
func (c *committer) abandon(t *txn) {
	if t.batch != nil {
		c.arrive(t, false)
	} else {
		c.locks.release(t.held)
	}
}

// settleLocked closes b if it should close now (nobody is left to wait
// for, or a member arrived and no other batch is committing), and reports
// whether the caller is to end it: it is closed and every member has
// arrived or left.
func (c *committer) settleLocked(b *batch) bool {
	switch {
	case b.closed:
	case b.members == 0 && b.arrived == 0:
		c.closeLocked(b)
	case b.arrived > 0 && c.committing == 0:
		c.gatherLocked(b)
	}
	if b.closed && b.members == 0 && !b.ending {
		b.ending = true
		return true
	}
	return false
}

// gatherLocked closes b, which may commit now, once it holds as many
// members as the writers seen lately (c.last): writers come back together
// when a batch ends, and a member whose locks were deferred arrives with no
// round trip before, so the first to arrive would otherwise commit alone,
// and the writers split into batches that take turns. The others are
// waited for at most gatherWait.
func (c *committer) gatherLocked(b *batch) {
	if b.members+b.arrived >= c.last {
		c.closeLocked(b)
		return
	}
	if b.armed {
		return
	}
	b.armed = true
	time.AfterFunc(gatherWait, func() {
		c.mu.Lock()
		end := false
		if !b.closed {
			c.last = b.members + b.arrived
			c.closeLocked(b)
			end = c.settleLocked(b)
		}
		c.mu.Unlock()
		if end {
			b.end()
		}
	})
}

func (c *committer) closeLocked(b *batch) {
	b.closed = true
	if c.open == b {
		c.open = nil
	}
}

// ended records that b has ended, expects b's writers back in the open
// batch, and closes that batch if it was waiting for that and holds them
// all already (ending it too, on a goroutine of its own, if all its members
// have arrived).
func (c *committer) ended(b *batch) {
	c.mu.Lock()
	if b.counted {
		c.committing--
		c.last = b.arrived
		if o := c.open; o != nil {
			// b's writers are about to come back to the open batch.
			c.last += o.members + o.arrived
		}
	}
	var next *batch
	if o := c.open; o != nil && c.committing == 0 && o.arrived > 0 && c.settleLocked(o) {
		next = o
	}
	c.mu.Unlock()
	if next != nil {
		go next.end()
	}
}

// do runs r in the batch and waits for it, or for ctx: a request given up
// while in flight still runs (its result is dropped), so it belongs to the
// batch from then on and the caller must not reuse it.
func (b *batch) do(ctx context.Context, r *request) (abandoned bool) {
	c := b.c
	r.err, r.rows, r.hit, r.turn = nil, r.rows[:0], "", false
	c.mu.Lock()
	b.queue = append(b.queue, r)
	if !b.driving {
		b.driving = true
		c.mu.Unlock()
		b.drive()
		<-r.done // served by the round trip just run
		return false
	}
	c.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		c.mu.Lock()
		if !r.turn {
			if i := slices.Index(b.queue, r); i >= 0 {
				// Not sent yet: withdraw it.
				b.queue = slices.Delete(b.queue, i, i+1)
			}
			c.mu.Unlock()
			r.abandon()
			return true
		}
		// Handed the connection: run the round trip all the same.
		c.mu.Unlock()
		<-r.done
	}
	if r.turn {
		r.turn = false
		b.drive()
		<-r.done
	}
	return false
}

// drive runs one round trip with every statement queued, then hands the
// connection to a member whose statement was queued meanwhile, if any.
func (b *batch) drive() {
	c := b.c
	c.mu.Lock()
	// Members still running are usually about to queue a statement, and
	// right after a batch ends its members come back together: yield a
	// little, so that one round trip carries more statements.
	for range gather {
		if len(b.queue) >= b.members && (b.begun || b.members >= c.last) {
			break
		}
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
	}
	q := b.queue
	b.queue = nil
	c.mu.Unlock()
	b.roundTrip(q)
	c.mu.Lock()
	if len(b.queue) == 0 {
		b.driving = false
		c.mu.Unlock()
		return
	}
	w := b.queue[0]
	w.turn = true
	c.mu.Unlock()
	w.done <- struct{}{}
}

// end commits (or rolls back) the batch once it is closed and every member
// has arrived or left, releases its connection and locks, and wakes the
// members waiting for the outcome.
func (b *batch) end() {
	c := b.c
	c.mu.Lock()
	txns, release := b.txns, b.release
	c.mu.Unlock()
	// It counts as committing (the open batch gathers members meanwhile)
	// only once it has a connection: a batch waiting for one must not
	// hold back the open batch, which may be holding the last one.
	if len(txns) > 0 {
		b.acquire()
	}
	if !b.private {
		c.mu.Lock()
		b.counted = true
		c.committing++
		c.mu.Unlock()
	}
	b.finish(txns)
	if b.conn != nil {
		b.conn.Release()
	}
	c.locks.release(release)
	c.ended(b)
	close(b.done)
}

// acquire gets the batch its connection; a failure kills the batch.
func (b *batch) acquire() bool {
	if b.conn != nil || b.err != nil {
		return b.err == nil
	}
	conn, err := b.c.s.pool.Acquire(b.ctx)
	if err != nil {
		b.err, b.dead = &Error{Op: "acquire", Err: err}, true
		return false
	}
	b.conn = conn
	return true
}

// fail gives a request the error it gets from a dead transaction.
func (b *batch) failed(op string) error {
	var se *Error
	if b.dead {
		if errors.As(b.err, &se) {
			return b.err
		}
		return classify(op, b.err, false)
	}
	return &Error{Op: op, Kind: ledger.ErrConflict, Detail: "another operation in the shared transaction failed", Err: b.err}
}

// kill records the transaction's first failure.
func (b *batch) kill(err error) {
	if b.err == nil {
		b.err = err
		b.dead = b.conn == nil || b.conn.Conn().IsClosed()
	}
}

func (b *batch) roundTrip(q []*request) {
	defer func() {
		for _, r := range q {
			r.done <- struct{}{}
		}
	}()
	if !b.acquire() {
		for _, r := range q {
			r.err = b.failed(r.op)
		}
		return
	}
	if b.err != nil {
		for _, r := range q {
			r.err = b.failed(r.op)
		}
		return
	}
	// Every Lock of this round trip in one statement, at the place of the
	// first: in a shared batch it never waits for a row (SKIP LOCKED), so
	// that no member waits for another process's transaction; only a
	// private batch's may. Every Key lookup in one statement too.
	var ids, keys, recheck []string
	firstLock, firstKey := -1, -1
	for i, r := range q {
		switch {
		case r.lock != nil:
			if firstLock < 0 {
				firstLock = i
			}
			ids = append(ids, r.lock...)
			recheck = append(recheck, r.recheck...)
			if r.lookup != "" {
				recheck = append(recheck, r.lookup)
			}
		case r.key != "":
			if firstKey < 0 {
				firstKey = i
			}
			keys = append(keys, r.key)
		}
	}
	skip := !b.private
	if len(ids) > 0 {
		slices.Sort(ids)
		ids = slices.Compact(ids)
	}
	var pb pgx.Batch
	begin := !b.begun
	if begin {
		pb.Queue(beginWrite)
	}
	for i, r := range q {
		switch {
		case i == firstLock:
			if skip {
				pb.Queue(sqlLockSkip, ids)
			} else {
				pb.Queue(sqlLock, ids)
			}
			if len(recheck) > 0 {
				// A later statement, so a later snapshot: it sees every
				// commit before the locks were granted.
				pb.Queue(sqlKeys, recheck)
			}
		case i == firstKey:
			pb.Queue(sqlKeys, keys)
		case r.lock == nil && r.key == "":
			pb.Queue(r.sql, r.args...)
		}
	}
	br := b.conn.SendBatch(b.ctx, &pb)
	b.begun = true
	var bad error
	var got []ledger.Account
	var hits, taken map[string]string
	if begin {
		if _, err := br.Exec(); err != nil {
			bad = err
		}
	}
	for i, r := range q {
		if (r.lock != nil && i != firstLock) || (r.key != "" && i != firstKey) || bad != nil {
			continue
		}
		rows, err := br.Query()
		if err == nil {
			switch i {
			case firstLock:
				for rows.Next() {
					var a ledger.Account
					if a, err = scanAccount(rows); err != nil {
						break
					}
					got = append(got, a)
				}
				if err == nil && len(recheck) > 0 {
					rows.Close()
					if err = rows.Err(); err == nil {
						taken, err = readKeys(br)
					}
				}
			case firstKey:
				hits, err = scanKeys(rows)
			default:
				for rows.Next() {
					if err = r.scanRow(rows); err != nil {
						break
					}
				}
			}
			rows.Close()
			if err == nil || err == errStop {
				err = rows.Err()
			} else if rerr := rows.Err(); rerr != nil {
				err = rerr
			}
		}
		var se *Error
		switch {
		case err == nil:
		case errors.As(err, &se):
			r.err = err // the member's own (a corrupt row): the statement succeeded
		default:
			bad = err
			r.err = classify(r.op, err, false)
		}
	}
	if cerr := br.Close(); bad == nil && cerr != nil {
		bad = cerr
	}
	if bad != nil {
		b.kill(bad)
		for _, r := range q {
			if r.err == nil {
				r.err = b.failed(r.op)
			}
		}
		return
	}
	for _, r := range q {
		if r.key != "" && r.lock == nil {
			r.hit = hits[r.key]
		}
	}
	if firstLock < 0 {
		return
	}
	if len(got) > 0 {
		b.locked = true
	}
	// Hand each Lock its rows; under SKIP LOCKED, a row missing may be
	// locked elsewhere rather than missing: one more look tells.
	var missing []string
	for _, r := range q {
		if r.lock == nil {
			continue
		}
		if r.lookup != "" {
			r.hit = taken[r.lookup]
		}
		for _, k := range r.recheck {
			if _, ok := taken[k]; ok {
				r.err = &Error{Op: "lock", Kind: ledger.ErrConflict,
					Detail: "key " + strconv.Quote(k) + " was taken before the locks were granted"}
				break
			}
		}
		for _, id := range r.lock {
			if i, ok := slices.BinarySearchFunc(got, ledger.AccountID(id), byID); ok {
				r.rows = append(r.rows, got[i])
			} else if skip {
				missing = append(missing, id)
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	var exist []string
	err := func() error {
		rows, err := b.conn.Query(b.ctx, `SELECT id FROM ledger_accounts WHERE id = ANY($1)`, missing)
		if err != nil {
			return err
		}
		exist, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	}()
	if err != nil {
		b.kill(err)
		for _, r := range q {
			if r.err == nil && r.lock != nil {
				r.err = classify(r.op, err, false)
			}
		}
		return
	}
	for _, r := range q {
		if r.lock != nil && r.err == nil && len(r.rows) < len(r.lock) {
			for _, id := range r.lock {
				if slices.Contains(exist, id) && !slices.ContainsFunc(r.rows, func(a ledger.Account) bool { return string(a.ID) == id }) {
					r.err = errSkipped
					break
				}
			}
		}
	}
}

// scanKeys reads the rows of sqlKeys.
func scanKeys(rows pgx.Rows) (map[string]string, error) {
	out := make(map[string]string)
	for rows.Next() {
		var k, e string
		if err := rows.Scan(&k, &e); err != nil {
			return out, err
		}
		out[k] = e
	}
	return out, rows.Err()
}

// readKeys reads the next result of br, a sqlKeys statement.
func readKeys(br pgx.BatchResults) (map[string]string, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanKeys(rows)
}

const (
	beginWrite = "BEGIN ISOLATION LEVEL READ COMMITTED"
	// The accounts' rows, locked in ID order: a private batch's Lock, which
	// waits for rows that other transactions hold.
	sqlLock = `SELECT id, overdraft, overdraft_limit, closed FROM ledger_accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE`
	// A shared batch's Locks never wait: a row that another transaction
	// holds is skipped.
	sqlLockSkip = sqlLock + ` SKIP LOCKED`
	// The Key lookups of a round trip.
	sqlKeys = `SELECT key, entry FROM ledger_keys WHERE key = ANY($1)`
)

// finish ends the batch: it commits the members' writes, or rolls back a
// batch with nothing to commit, and sets each member's result.
func (b *batch) finish(txns []*txn) {
	switch {
	case len(txns) > 0 && !b.acquire():
		for _, t := range txns {
			t.result = b.failed("commit")
		}
	case b.err != nil:
		for _, t := range txns {
			t.result = b.failed("commit")
		}
		b.rollback()
	case len(txns) > 0:
		b.commit(txns)
	case b.begun:
		b.rollback()
	}
}

// rollback ends a transaction that commits nothing; a connection that
// cannot be rolled back is closed, not reused.
func (b *batch) rollback() {
	if b.conn == nil || !b.begun || b.conn.Conn().IsClosed() {
		return
	}
	if _, err := b.conn.Exec(b.ctx, "ROLLBACK"); err != nil {
		_ = b.conn.Conn().Close(b.ctx)
	}
}

// lockTable holds the in-process account locks: an account locked by a
// member of a batch cannot be locked by another member until that batch
// has ended.
type lockTable struct {
	mu   sync.Mutex
	held map[ledger.AccountID]chan struct{}
}

// try takes id's lock if it is free.
func (l *lockTable) try(id ledger.AccountID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[id]; ok {
		return false
	}
	if l.held == nil {
		l.held = make(map[ledger.AccountID]chan struct{})
	}
	l.held[id] = make(chan struct{})
	return true
}

// wait takes id's lock, waiting for it as long as ctx allows.
func (l *lockTable) wait(ctx context.Context, id ledger.AccountID) error {
	for {
		l.mu.Lock()
		ch, ok := l.held[id]
		if !ok {
			if l.held == nil {
				l.held = make(map[ledger.AccountID]chan struct{})
			}
			l.held[id] = make(chan struct{})
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *lockTable) release(ids []ledger.AccountID) {
	if len(ids) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if ch, ok := l.held[id]; ok {
			delete(l.held, id)
			close(ch)
		}
	}
}
