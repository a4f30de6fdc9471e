package pgstore

import (
	"cmp"
	"errors"
	"slices"
	"strconv"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The statements of a commit.
const (
	// Drawing ord needs the transaction to have a transaction ID already
	// (see seal.go): this assigns one if no write did yet.
	sqlXact = `SELECT pg_current_xact_id()`

	sqlCreateAccount = `INSERT INTO ledger_accounts (id, parent, overdraft, overdraft_limit, closed) VALUES ($1, $2, $3, $4, $5)`
	// An update or a lot delta that finds no row must fail the transaction on
	// the server, before the COMMIT queued after it: dividing by the count of
	// rows changed raises division_by_zero (22012) when there were none.
	sqlUpdateAccount = `WITH u AS (UPDATE ledger_accounts SET overdraft = $2, overdraft_limit = $3, closed = $4 WHERE id = $1 RETURNING 1)
	SELECT 1 / count(*)::int FROM u`

	// The new lots and every balance delta, in one statement. Each delta
	// lands on one shard row, rows taken in (account, asset) order. The
	// statement then sums each account's other shards and casts the totals
	// to bigint, so that a total outside int64 fails the commit (SQLSTATE
	// 22003) as a row's own overflow does.
	sqlWrite = `WITH lots AS (
		INSERT INTO ledger_lots (entry, posting, account, asset, amount, remaining, expires_s, expires_ns, created_s, created_ns)
		SELECT * FROM unnest($6::text[], $7::int4[], $8::text[], $9::text[], $10::int8[], $11::int8[], $12::int8[], $13::int4[], $14::int8[], $15::int4[])),
	up AS (
		INSERT INTO ledger_balances AS b (account, asset, shard, posted, held)
		SELECT * FROM unnest($1::text[], $2::text[], $3::int2[], $4::int8[], $5::int8[]) ORDER BY 1, 2
		ON CONFLICT (account, asset, shard) DO UPDATE SET posted = b.posted + excluded.posted, held = b.held + excluded.held
		RETURNING account, asset, shard, posted, held)
	SELECT t.posted, t.held FROM up, LATERAL (
		SELECT (up.posted + coalesce(sum(o.posted), 0))::bigint AS posted, (up.held + coalesce(sum(o.held), 0))::bigint AS held
		FROM ledger_balances o WHERE o.account = up.account AND o.asset = up.asset AND o.shard <> up.shard) AS t`

	sqlAddLot = `WITH u AS (UPDATE ledger_lots SET remaining = remaining + $4 WHERE entry = $1 AND posting = $2 AND account = $3 RETURNING 1)
	SELECT 1 / count(*)::int FROM u`

	// One entry with its commit-order key, its unique keys and its rows in
	// each account's history. (Commits use sqlInsertEntries; this is the
	// same for one entry.)
	sqlInsertEntry = `WITH e AS (
		INSERT INTO ledger_entries (id, ord, kind, body) VALUES ($1, nextval('ledger_commit_order'), $2, $3) RETURNING ord),
	k AS (INSERT INTO ledger_keys (key, entry) SELECT k, $1 FROM unnest($4::text[]) AS k),
	h AS (INSERT INTO ledger_history (account, ord, entry) SELECT a, e.ord, $1 FROM e, unnest($5::text[]) AS a)
	SELECT ord FROM e`

	// Every entry of a commit in one statement: the entries, each drawing
	// its ord; their unique keys, in key order; their history rows. It
	// returns the largest ord drawn.
	sqlInsertEntries = `WITH e AS (
		INSERT INTO ledger_entries (id, ord, kind, body)
		SELECT id, nextval('ledger_commit_order'), kind, body FROM unnest($1::text[], $2::int2[], $3::bytea[]) AS u(id, kind, body)
		RETURNING id, ord),
	k AS (INSERT INTO ledger_keys (key, entry) SELECT k, en FROM unnest($4::text[], $5::text[]) AS u(k, en) ORDER BY k),
	h AS (INSERT INTO ledger_history (account, ord, entry) SELECT u.a, e.ord, e.id FROM unnest($6::text[], $7::text[]) AS u(a, en) JOIN e ON e.id = u.en)
	SELECT coalesce(max(ord), 0) FROM e`
	sqlPendingHolds = `INSERT INTO ledger_pending_holds (entry, deadline_s, deadline_ns) SELECT * FROM unnest($1::text[], $2::int8[], $3::int4[])`
	sqlResolveHolds = `DELETE FROM ledger_pending_holds WHERE entry = ANY($1)`
)

// writeSet is the buffered writes of one or more members, merged: one
// statement per kind of write, whatever the number of members.
type writeSet struct {
	verify  []ledger.Account // the deferred Locks' rows, as answered, sorted by ID
	creates []ledger.Account
	updates []ledger.Account
	deltas  []delta
	shards  []int16
	lots    []ledger.Lot
	adds    []lotAdd
	inserts []*insert
	pending bool // some entry is a hold with a deadline
	resolve bool // some entry commits or voids a hold
}

// newWriteSet merges the writes of txns; it fails with ErrOverflow if the
// deltas to one balance do not sum within int64.
func newWriteSet(s *Store, txns []*txn) (*writeSet, error) {
	ws := &writeSet{}
	for _, t := range txns {
		for _, id := range t.deferred {
			if i, ok := slices.BinarySearchFunc(t.locked, ledger.AccountID(id), byID); ok {
				ws.verify = append(ws.verify, t.locked[i])
			}
		}
		ws.creates = append(ws.creates, t.creates...)
		ws.updates = append(ws.updates, t.updates...)
		ws.deltas = append(ws.deltas, t.deltas...)
		ws.lots = append(ws.lots, t.newLots...)
		ws.adds = append(ws.adds, sumLotAdds(slices.Clone(t.lotAdds))...)
		for i := range t.inserts {
			in := &t.inserts[i]
			ws.inserts = append(ws.inserts, in)
			ws.pending = ws.pending || (in.kind == ledger.KindHold && !in.deadline.IsZero())
			ws.resolve = ws.resolve || in.kind == ledger.KindCommit || in.kind == ledger.KindVoid
		}
	}
	slices.SortFunc(ws.verify, func(a, b ledger.Account) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(ws.creates, func(a, b ledger.Account) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(ws.updates, func(a, b ledger.Account) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(ws.adds, func(a, b lotAdd) int {
		if c := cmp.Compare(a.id.Entry, b.id.Entry); c != 0 {
			return c
		}
		return cmp.Compare(a.id.Posting, b.id.Posting)
	})
	var err error
	if ws.deltas, err = sumDeltas(ws.deltas); err != nil {
		return nil, err
	}
	// A delta to an account some member locked goes to its locked row (the
	// transaction holds the account); any other to one shard row.
	if len(ws.deltas) > 0 {
		shard := s.shard()
		ws.shards = make([]int16, len(ws.deltas))
		for i, d := range ws.deltas {
			if !slices.ContainsFunc(txns, func(t *txn) bool { return t.isLocked(d.id) }) {
				ws.shards[i] = shard
			}
		}
	}
	return ws, nil
}

func (ws *writeSet) write() bool { return len(ws.deltas) > 0 || len(ws.lots) > 0 }

// queue queues the statements of ws. hasID says the transaction already
// has a transaction ID (it locked a row). The deferred Locks come first:
// nothing is written before their rows are locked.
func (ws *writeSet) queue(b *pgx.Batch, hasID bool) {
	if len(ws.verify) > 0 {
		queueVerify(b, ws.verify)
	}
	for _, a := range ws.creates {
		var parent *string
		if p := a.ID.Parent(); p != "" {
			s := string(p)
			parent = &s
		}
		b.Queue(sqlCreateAccount, string(a.ID), parent, a.Policy.Overdraft, a.Policy.Limit, a.Closed)
	}
	for _, a := range ws.updates {
		b.Queue(sqlUpdateAccount, string(a.ID), a.Policy.Overdraft, a.Policy.Limit, a.Closed)
	}
	if ws.write() {
		n := len(ws.deltas)
		accts, assets := make([]string, n), make([]string, n)
		posted, held := make([]int64, n), make([]int64, n)
		for i, d := range ws.deltas {
			accts[i], assets[i], posted[i], held[i] = string(d.id), string(d.asset), d.posted, d.held
		}
		shards := ws.shards
		if shards == nil {
			shards = []int16{}
		}
		n = len(ws.lots)
		entries, lotAccts, lotAssets := make([]string, n), make([]string, n), make([]string, n)
		postings, ens, cns := make([]int32, n), make([]*int32, n), make([]int32, n)
		amounts, remaining, es, cs := make([]int64, n), make([]int64, n), make([]*int64, n), make([]int64, n)
		for i, l := range ws.lots {
			entries[i], postings[i], lotAccts[i], lotAssets[i] = string(l.ID.Entry), int32(l.ID.Posting), string(l.Account), string(l.Asset)
			amounts[i], remaining[i] = l.Amount, l.Remaining
			if !l.Expires.IsZero() {
				s, ns := l.Expires.Unix(), int32(l.Expires.Nanosecond())
				es[i], ens[i] = &s, &ns
			}
			cs[i], cns[i] = l.Created.Unix(), int32(l.Created.Nanosecond())
		}
		b.Queue(sqlWrite, accts, assets, shards, posted, held,
			entries, postings, lotAccts, lotAssets, amounts, remaining, es, ens, cs, cns)
	}
	for _, a := range ws.adds {
		b.Queue(sqlAddLot, string(a.id.Entry), int32(a.id.Posting), string(a.account), a.delta)
	}
	if len(ws.inserts) == 0 {
		return
	}
	// Entries last: each draws its ord, which the sealer follows, as late
	// as possible, and only once the transaction has an ID (a lock or any
	// write gave it one already).
	if ws.needsXact(hasID) {
		b.Queue(sqlXact)
	}
	n := len(ws.inserts)
	ids, kinds, bodies := make([]string, n), make([]int16, n), make([][]byte, n)
	var keys, keyEntries, hAccts, hEntries []string
	var holds, resolved []string
	var hs []int64
	var hns []int32
	for i, in := range ws.inserts {
		ids[i], kinds[i], bodies[i] = string(in.id), int16(in.kind), in.body
		for _, k := range in.keys {
			keys, keyEntries = append(keys, k), append(keyEntries, string(in.id))
		}
		for _, a := range in.accounts {
			hAccts, hEntries = append(hAccts, a), append(hEntries, string(in.id))
		}
		switch {
		case in.kind == ledger.KindHold && !in.deadline.IsZero():
			holds = append(holds, string(in.id))
			hs, hns = append(hs, in.deadline.Unix()), append(hns, int32(in.deadline.Nanosecond()))
		case in.kind == ledger.KindCommit || in.kind == ledger.KindVoid:
			resolved = append(resolved, string(in.ref))
		}
	}
	if keys == nil {
		keys, keyEntries = []string{}, []string{}
	}
	if hAccts == nil {
		hAccts, hEntries = []string{}, []string{}
	}
	b.Queue(sqlInsertEntries, ids, kinds, bodies, keys, keyEntries, hAccts, hEntries)
	if ws.pending {
		b.Queue(sqlPendingHolds, holds, hs, hns)
	}
	if ws.resolve {
		b.Queue(sqlResolveHolds, resolved)
	}
}

func (ws *writeSet) needsXact(hasID bool) bool {
	return len(ws.inserts) > 0 && !hasID && len(ws.verify)+len(ws.creates)+len(ws.updates)+len(ws.adds) == 0 && !ws.write()
}

// read reads the results of the statements queue queued, in order, and
// returns the largest ord drawn. An error the server returned means the
// statement failed and the transaction is aborted (the statements after
// it, COMMIT included, were skipped): server reports it. Any other error
// is the connection's.
func (ws *writeSet) read(br pgx.BatchResults, hasID bool) (ord int64, server bool, err error) {
	exec := func() error {
		_, err := br.Exec()
		return err
	}
	one := func() error {
		var n int32
		return br.QueryRow().Scan(&n)
	}
	fail := func(err error, notFound string) (int64, bool, error) {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || connectionLost(pe) {
			return 0, false, err
		}
		if pe.Code == codeDivZero && notFound != "" {
			return 0, true, &Error{Op: "commit", Kind: ledger.ErrNotFound, Detail: notFound, Err: err}
		}
		return 0, true, err
	}
	if len(ws.verify) > 0 {
		if err := one(); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == codeStale {
				return 0, true, &Error{Op: "commit", Kind: ledger.ErrConflict,
					Detail: "an account changed, or is locked elsewhere, since a lock answered it from memory", Err: err}
			}
			return fail(err, "")
		}
	}
	for range ws.creates {
		if err := exec(); err != nil {
			return fail(err, "")
		}
	}
	for _, a := range ws.updates {
		if err := one(); err != nil {
			return fail(err, "account "+strconv.Quote(string(a.ID)))
		}
	}
	if ws.write() {
		rows, err := br.Query()
		if err == nil {
			rows.Close()
			err = rows.Err()
		}
		if err != nil {
			return fail(err, "")
		}
	}
	for _, a := range ws.adds {
		if err := one(); err != nil {
			return fail(err, "lot "+a.id.String()+" of "+strconv.Quote(string(a.account)))
		}
	}
	if len(ws.inserts) == 0 {
		return 0, false, nil
	}
	if ws.needsXact(hasID) {
		if err := exec(); err != nil {
			return fail(err, "")
		}
	}
	if err := br.QueryRow().Scan(&ord); err != nil {
		return fail(err, "")
	}
	if ws.pending {
		if err := exec(); err != nil {
			return fail(err, "")
		}
	}
	if ws.resolve {
		if err := exec(); err != nil {
			return fail(err, "")
		}
	}
	return ord, false, nil
}

// commit commits the members' writes in one round trip: every member's
// writes merged, and the COMMIT. If the merged writes fail and there are
// several members, it rolls back to a savepoint taken before them and
// applies each member alone (apart), so each gets its own outcome.
func (b *batch) commit(txns []*txn) {
	multi := len(txns) > 1
	ws, err := newWriteSet(b.c.s, txns)
	if err != nil && !multi {
		txns[0].result = err
		b.rollback()
		return
	}
	if err != nil {
		b.apart(txns, false)
		return
	}
	var pb pgx.Batch
	begin := !b.begun
	if begin {
		pb.Queue(beginWrite)
	}
	if multi {
		pb.Queue("SAVEPOINT batch")
	}
	ws.queue(&pb, b.locked)
	pb.Queue("COMMIT")
	lead := 0
	if begin {
		lead++
	}
	if multi {
		lead++
	}
	ord, server, err := b.send(&pb, lead, ws)
	b.begun = true
	switch {
	case err == nil:
		b.committed(txns, ord)
	case server && multi:
		b.apart(txns, true)
	default:
		var se *Error
		if !errors.As(err, &se) {
			err = classify("commit", err, true)
		}
		if errors.Is(err, ErrUnknownOutcome) {
			// The connection cannot be trusted to be in any state: drop it.
			_ = b.conn.Conn().Close(b.ctx)
		} else {
			b.rollback()
		}
		for _, t := range txns {
			t.result = err
		}
	}
}

// apart applies each member's writes alone, under a savepoint of its own,
// then commits those that succeeded. toSavepoint says the transaction is
// to be rolled back to the savepoint taken before the merged writes first.
func (b *batch) apart(txns []*txn, toSavepoint bool) {
	fail := func(err error) {
		if !b.conn.Conn().IsClosed() {
			b.rollback()
		}
		for _, t := range txns {
			if t.result == nil {
				t.result = classify("commit", err, false)
			}
		}
	}
	if !b.begun {
		if _, err := b.conn.Exec(b.ctx, beginWrite); err != nil {
			fail(err)
			return
		}
		b.begun = true
	}
	if toSavepoint {
		if _, err := b.conn.Exec(b.ctx, "ROLLBACK TO SAVEPOINT batch"); err != nil {
			fail(err)
			return
		}
	}
	var maxOrd int64
	ok := 0
	for _, t := range txns {
		ws, err := newWriteSet(b.c.s, []*txn{t})
		if err != nil {
			t.result = err
			continue
		}
		var pb pgx.Batch
		pb.Queue("SAVEPOINT member")
		ws.queue(&pb, b.locked)
		pb.Queue("RELEASE SAVEPOINT member")
		ord, server, err := b.send(&pb, 1, ws)
		switch {
		case err == nil:
			maxOrd = max(maxOrd, ord)
			ok++
			if len(t.inserts) > 0 || len(t.creates)+len(t.updates)+len(t.deltas)+len(t.newLots)+len(t.lotAdds) > 0 {
				b.locked = true // the transaction has an ID now
			}
		case server:
			var se *Error
			if !errors.As(err, &se) {
				err = classify("commit", err, false)
			}
			t.result = err
			if _, rerr := b.conn.Exec(b.ctx, "ROLLBACK TO SAVEPOINT member"); rerr != nil {
				fail(rerr)
				return
			}
		default:
			fail(err)
			return
		}
	}
	if ok == 0 {
		b.rollback()
		return
	}
	if _, err := b.conn.Exec(b.ctx, "COMMIT"); err != nil {
		err = classify("commit", err, true)
		if errors.Is(err, ErrUnknownOutcome) {
			_ = b.conn.Conn().Close(b.ctx)
		}
		for _, t := range txns {
			if t.result == nil {
				t.result = err
			}
		}
		return
	}
	var done []*txn
	for _, t := range txns {
		if t.result == nil {
			done = append(done, t)
		}
	}
	b.committed(done, maxOrd)
}

// committed records a successful commit of txns.
func (b *batch) committed(txns []*txn, ord int64) {
	s := b.c.s
	for _, t := range txns {
		t.result = nil
		for _, a := range t.updates {
			if !a.ID.IsUser() {
				s.system.Delete(a.ID)
			}
		}
		s.known.put(t.creates...)
		s.known.put(t.updates...)
	}
	if ord > 0 {
		s.seal.noteCommit(ord)
	}
}

// sumDeltas folds deltas by account and asset, in sorted order, or fails
// with ErrOverflow if their sum does not fit in int64.
func sumDeltas(ds []delta) ([]delta, error) {
	slices.SortStableFunc(ds, func(a, b delta) int {
		if c := cmp.Compare(a.id, b.id); c != 0 {
			return c
		}
		return cmp.Compare(a.asset, b.asset)
	})
	out := ds[:0]
	for _, d := range ds {
		if n := len(out); n > 0 && out[n-1].id == d.id && out[n-1].asset == d.asset {
			p, ok1 := add64(out[n-1].posted, d.posted)
			h, ok2 := add64(out[n-1].held, d.held)
			if !ok1 || !ok2 {
				return nil, &Error{Op: "commit", Kind: ledger.ErrOverflow, Detail: "deltas to " + strconv.Quote(string(d.id)) + " in " + string(d.asset)}
			}
			out[n-1].posted, out[n-1].held = p, h
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// sumLotAdds folds lot deltas by lot, in sorted order; a lot whose sum is
// zero is still updated, so that a missing lot is reported.
func sumLotAdds(as []lotAdd) []lotAdd {
	slices.SortStableFunc(as, func(a, b lotAdd) int {
		if c := cmp.Compare(a.id.Entry, b.id.Entry); c != 0 {
			return c
		}
		return cmp.Compare(a.id.Posting, b.id.Posting)
	})
	out := as[:0]
	for _, a := range as {
		if n := len(out); n > 0 && out[n-1].id == a.id && out[n-1].account == a.account {
			if s, ok := add64(out[n-1].delta, a.delta); ok {
				out[n-1].delta = s
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

func add64(a, b int64) (int64, bool) {
	s := a + b
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

// send sends pb: lead statements (BEGIN, SAVEPOINT) whose results are
// skipped, ws's writes, then one statement (COMMIT, RELEASE SAVEPOINT). It
// returns what ws.read does, the first error, and whether that error came
// from the server.
func (b *batch) send(pb *pgx.Batch, lead int, ws *writeSet) (ord int64, server bool, err error) {
	br := b.conn.SendBatch(b.ctx, pb)
	err = func() error {
		for range lead {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		var err error
		if ord, server, err = ws.read(br, b.locked); err != nil {
			return err
		}
		_, err = br.Exec()
		return err
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return ord, server, err
}
