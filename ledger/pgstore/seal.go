package pgstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sealing. A committing transaction draws its entries' ord from the
// sequence ledger_commit_order in its last round trip, after every lock and
// read, and only once it has a transaction ID (sqlXact). The sealer gives
// entries their seq and hash in ord order, and must never seal past an ord
// whose transaction may still commit. So it works from marks:
//
//  1. read v, the sequence's last value, then (a later statement) take a
//     transaction ID n: every ord <= v was drawn by a transaction that had
//     an ID below n;
//  2. once the oldest transaction still running has an ID above n
//     (pg_snapshot_xmin of a fresh snapshot), every transaction that drew
//     an ord <= v has committed or rolled back: the entries up to v are
//     final, and ords that no committed entry holds are simply skipped;
//  3. lock the chain head row, read the entries after the head's ord up to
//     v in ord order, seal them with ledger.Sealer, and commit the seals
//     and the new head together.
//
// Several sealers (in several processes) may run at once: the head row's
// lock orders them, and each seals only what lies past the head.
type sealer struct {
	s         *Store
	mu        sync.Mutex     // one sealing transaction at a time in this process
	chain     *ledger.Sealer // guarded by mu
	sealed    atomic.Int64   // every ord up to this one is known sealed
	committed atomic.Int64   // the largest ord this process committed
	skipUntil atomic.Int64   // Unix nanoseconds: Views do not seal before
	closed    atomic.Bool
	wake      chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
	// With the background sealer: its context, and the planner
	// statistics' refreshes (see stats.go).
	ctx   context.Context
	stats statsKeeper
}

// sealPace is the least time between two rounds of the background
// sealer; busyPace replaces it after a round that sealed busyRound entries
// or more (so that under load a round seals many entries, and the cost of
// sealing, a transaction with its own WAL flush, stays a small part of the
// cost of committing), while an entry written alone is sealed at once.
const (
	sealPace  = 3 * time.Millisecond
	busyPace  = 10 * time.Millisecond
	busyRound = 2
)

// sealBatch is how many entries one sealing transaction seals at most.
const sealBatch = 1000

func newSealer(s *Store) *sealer {
	q := &sealer{s: s, chain: ledger.NewSealer(), wake: make(chan struct{}, 1)}
	q.stats.s = s
	return q
}

// noteCommit records an ord this process committed and wakes the
// background sealer.
func (q *sealer) noteCommit(ord int64) {
	for {
		old := q.committed.Load()
		if ord <= old || q.committed.CompareAndSwap(old, ord) {
			break
		}
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
	if q.ctx != nil {
		q.stats.note(q.ctx, ord)
	}
}

// dirty reports whether this process committed entries it does not know
// to be sealed.
func (q *sealer) dirty() bool { return q.committed.Load() > q.sealed.Load() }

// beforeView seals this process's own recent entries, waiting at most
// ViewSealWait; a View reads what is sealed whatever happens here.
func (q *sealer) beforeView(ctx context.Context) {
	if !q.dirty() || time.Now().UnixNano() < q.skipUntil.Load() {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, ViewSealWait)
	defer cancel()
	if err := q.sealAll(wctx); err != nil && ctx.Err() == nil {
		q.skipUntil.Store(time.Now().Add(time.Second).UnixNano())
	}
}

// mark is step 1: every ord up to v is final once every transaction with
// an ID below n has ended, that is once the oldest transaction still
// running has an ID above n.
type mark struct{ v, n int64 }

// takeMark reads the sequence, then takes a transaction ID of its own (a
// later statement): any transaction that drew an ord up to v had its ID by
// then, so its ID is below n. (A snapshot's xmax would not do: it is one
// past the latest completed ID, and a transaction with an ID above it may
// be running.) The ID is the only cost: its transaction writes nothing and
// its commit is not flushed.
//
// With oldest set, it first reads the ID of the oldest transaction
// running, in the same round trip.
func takeMark(ctx context.Context, conn *pgxpool.Conn, oldest bool) (m mark, xmin int64, err error) {
	var b pgx.Batch
	if oldest {
		b.Queue(sqlOldest)
	}
	b.Queue(`SELECT last_value, is_called FROM ledger_commit_order`)
	b.Queue(`SELECT pg_current_xact_id()::text::bigint`)
	br := conn.SendBatch(ctx, &b)
	if oldest {
		err = br.QueryRow().Scan(&xmin)
	}
	var called bool
	if err == nil {
		err = br.QueryRow().Scan(&m.v, &called)
	}
	if err == nil {
		err = br.QueryRow().Scan(&m.n)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if !called {
		m.v = 0
	}
	return m, xmin, err
}

// sqlOldest reads the ID of the oldest transaction running (or, if none
// is, the next ID to be assigned).
const sqlOldest = `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`

// horizon returns the ID of the oldest transaction running, and records
// how far the chain head says entries are sealed (another sealer's work).
func (q *sealer) horizon(ctx context.Context, conn *pgxpool.Conn) (int64, error) {
	var xmin, head int64
	err := conn.QueryRow(ctx, sqlOldest+`, (SELECT ord FROM ledger_chain WHERE id = 1)`).Scan(&xmin, &head)
	if err == nil {
		q.advance(head)
	}
	return xmin, err
}

// sealAll seals every entry committed before it was called, waiting for
// the transactions in flight to end.
func (q *sealer) sealAll(ctx context.Context) error {
	conn, err := q.s.pool.Acquire(ctx)
	if err != nil {
		return &Error{Op: "seal", Err: err}
	}
	defer conn.Release()
	m, _, err := takeMark(ctx, conn, false)
	if err != nil {
		return classify("seal", err, false)
	}
	if m.v <= q.sealed.Load() {
		return nil
	}
	for wait := time.Duration(0); ; wait = min(max(2*wait, 50*time.Microsecond), 5*time.Millisecond) {
		if wait > 0 {
			select {
			case <-ctx.Done():
				return &Error{Op: "seal", Err: ctx.Err()}
			case <-time.After(wait):
			}
		}
		xmin, err := q.horizon(ctx, conn)
		if err != nil {
			return classify("seal", err, false)
		}
		if xmin > m.n || q.sealed.Load() >= m.v {
			break
		}
	}
	return q.sealTo(ctx, conn, m.v)
}

// sealTo seals every entry up to ord bound, which must be final.
func (q *sealer) sealTo(ctx context.Context, conn *pgxpool.Conn, bound int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for attempt := 0; q.sealed.Load() < bound; {
		more, err := q.sealBatch(ctx, conn, bound)
		switch {
		case err == nil && !more:
			return nil
		case err == nil:
			attempt = 0
		case isConflict(err) && attempt < 8:
			attempt++
		default:
			return classify("seal", err, false)
		}
	}
	return nil
}

// sealBatch runs one sealing transaction, in two round trips, and reports
// whether entries up to bound remain unsealed.
func (q *sealer) sealBatch(ctx context.Context, conn *pgxpool.Conn, bound int64) (more bool, err error) {
	committed := false
	defer func() {
		if !committed {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, rerr := conn.Exec(rctx, "ROLLBACK"); rerr != nil {
				_ = conn.Conn().Close(rctx)
			}
		}
	}()
	var b pgx.Batch
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	b.Queue(`SELECT seq, ord, hash FROM ledger_chain WHERE id = 1 FOR UPDATE`)
	// A later statement, so a later snapshot: it sees the head as locked.
	b.Queue(`SELECT id, body, ord FROM ledger_entries
		WHERE ord > (SELECT ord FROM ledger_chain WHERE id = 1) AND ord <= $1 ORDER BY ord LIMIT $2`, bound, sealBatch)
	br := conn.SendBatch(ctx, &b)
	var seq, ord int64
	var head []byte
	var ords, seqs []int64
	var prevs, hashes [][]byte
	var prev ledger.Hash
	n, last := 0, int64(0)
	err = func() error {
		if _, err := br.Exec(); err != nil {
			return err
		}
		if err := br.QueryRow().Scan(&seq, &ord, &head); err != nil {
			return err
		}
		if len(head) != len(prev) {
			return &Error{Op: "seal", Detail: "chain head hash", Err: errCorruptSeal}
		}
		copy(prev[:], head)
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var body []byte
			if err := rows.Scan(&id, &body, &last); err != nil {
				return err
			}
			e := ledger.Entry{ID: ledger.EntryID(id)}
			if err := decodeBody(body, &e); err != nil {
				return &Error{Op: "seal", Detail: "entry " + id, Err: err}
			}
			seq++
			q.chain.Seal(&e, uint64(seq), prev)
			p := prev
			ords, seqs = append(ords, last), append(seqs, seq)
			prevs, hashes = append(prevs, p[:]), append(hashes, e.Hash[:])
			prev = e.Hash
			n++
		}
		return rows.Err()
	}()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, err
	}
	if ord >= bound {
		q.advance(ord)
		return false, nil
	}
	newOrd := bound
	if n == sealBatch {
		newOrd = last
	}
	var b2 pgx.Batch
	if n > 0 {
		b2.Queue(`INSERT INTO ledger_feed (seq, ord, prev_hash, hash) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[])`,
			seqs, ords, prevs, hashes)
	}
	b2.Queue(`UPDATE ledger_chain SET seq = $1, ord = $2, hash = $3 WHERE id = 1`, seq, newOrd, prev[:])
	b2.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, &b2).Close(); err != nil {
		return false, err
	}
	committed = true
	q.advance(newOrd)
	return newOrd < bound, nil
}

func (q *sealer) advance(ord int64) {
	for {
		old := q.sealed.Load()
		if ord <= old || q.sealed.CompareAndSwap(old, ord) {
			return
		}
	}
}

// start runs the background sealer until stop.
func (q *sealer) start(ctx context.Context, interval time.Duration) {
	q.ctx, q.cancel = context.WithCancel(ctx)
	ctx = q.ctx
	q.done = make(chan struct{})
	go q.run(ctx, interval)
}

func (q *sealer) stop() {
	if q.closed.Swap(true) || q.cancel == nil {
		return
	}
	q.cancel()
	<-q.done
	q.stats.close()
}

// run is the background sealer: a round after each local commit, and every
// interval otherwise. A round never waits for the horizon: it keeps the
// marks it took and seals up to the newest one that has become final.
func (q *sealer) run(ctx context.Context, interval time.Duration) {
	defer close(q.done)
	var pending []mark
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-timer.C:
		}
		var err error
		before := q.sealed.Load()
		pending, err = q.round(ctx, pending)
		// Pace the rounds, so that under load each seals a batch of
		// entries rather than one, for at most busyPace of extra lag.
		pace := sealPace
		if q.sealed.Load()-before >= busyRound {
			pace = busyPace
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pace):
		}
		next := interval
		switch {
		case err != nil && ctx.Err() == nil:
			pending = pending[:0] // start afresh; an error is retried after interval
		case len(pending) > 0:
			next = time.Millisecond
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}

func (q *sealer) round(ctx context.Context, pending []mark) ([]mark, error) {
	conn, err := q.s.pool.Acquire(ctx)
	if err != nil {
		return pending, err
	}
	defer conn.Release()
	m, xmin, err := takeMark(ctx, conn, true)
	if err != nil {
		return pending, err
	}
	if m.v > q.sealed.Load() && (len(pending) == 0 || pending[len(pending)-1].v < m.v) {
		pending = append(pending, m)
		// Usually nothing else is running: then the mark is final as soon
		// as its own transaction has ended, which one more look shows.
		if xmin, err = q.horizon(ctx, conn); err != nil {
			return pending, err
		}
	}
	var bound int64
	keep := pending[:0]
	for _, p := range pending {
		if p.n < xmin {
			bound = max(bound, p.v)
		} else {
			keep = append(keep, p)
		}
	}
	if len(keep) > 64 {
		keep = append(keep[:0], keep[len(keep)-64:]...)
	}
	if bound > q.sealed.Load() {
		if err := q.sealTo(ctx, conn, bound); err != nil {
			return keep, err
		}
	}
	return keep, nil
}
