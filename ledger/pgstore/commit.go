package pgstore

import (
	"cmp"
	"context"
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

	// The transaction's new lots and every balance delta, in one
	// statement. Each delta lands on one shard row, rows taken in
	// (account, asset) order. The statement then sums each account's other
	// shards and casts the totals to bigint, so that a total outside int64
	// fails the commit (SQLSTATE 22003) as a row's own overflow does.
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

	// One statement per entry: the entry with its commit-order key, its
	// unique keys and its rows in each account's history.
	sqlInsertEntry = `WITH e AS (
		INSERT INTO ledger_entries (id, ord, kind, body) VALUES ($1, nextval('ledger_commit_order'), $2, $3) RETURNING ord),
	k AS (INSERT INTO ledger_keys (key, entry) SELECT k, $1 FROM unnest($4::text[]) AS k),
	h AS (INSERT INTO ledger_history (account, ord, entry) SELECT a, e.ord, $1 FROM e, unnest($5::text[]) AS a)
	SELECT ord FROM e`
	sqlPendingHold = `INSERT INTO ledger_pending_holds (entry, deadline_s, deadline_ns) VALUES ($1, $2, $3)`
	sqlResolveHold = `DELETE FROM ledger_pending_holds WHERE entry = $1`
)

// commit sends every buffered write and the COMMIT in one round trip, and
// returns the largest ord drawn (0 if the transaction inserted no entry).
//
// Row locks on shared rows (an unlocked account's shard row, a key) are
// taken in a fixed order, accounts and balances sorted, so two commits
// cannot deadlock on them; the rows they touch are held only for this
// round trip.
func (t *txn) commit(ctx context.Context) (int64, error) {
	if !t.begun && len(t.creates)+len(t.updates)+len(t.deltas)+len(t.newLots)+len(t.lotAdds)+len(t.inserts) == 0 {
		return 0, nil
	}

	var b pgx.Batch
	if !t.begun {
		b.Queue(t.beginSQL())
	}
	slices.SortFunc(t.creates, func(a, b ledger.Account) int { return cmp.Compare(a.ID, b.ID) })
	for _, a := range t.creates {
		var parent *string
		if p := a.ID.Parent(); p != "" {
			s := string(p)
			parent = &s
		}
		b.Queue(sqlCreateAccount, string(a.ID), parent, a.Policy.Overdraft, a.Policy.Limit, a.Closed)
	}
	for _, a := range t.updates {
		b.Queue(sqlUpdateAccount, string(a.ID), a.Policy.Overdraft, a.Policy.Limit, a.Closed)
	}
	deltas, err := t.sumDeltas()
	if err != nil {
		return 0, err
	}
	var shard int16
	if len(deltas) > 0 {
		shard = t.s.shard()
	}
	write := len(deltas) > 0 || len(t.newLots) > 0
	if write {
		accts, assets := make([]string, len(deltas)), make([]string, len(deltas))
		shards, posted, held := make([]int16, len(deltas)), make([]int64, len(deltas)), make([]int64, len(deltas))
		for i, d := range deltas {
			accts[i], assets[i], posted[i], held[i] = string(d.id), string(d.asset), d.posted, d.held
			if !t.isLocked(d.id) {
				shards[i] = shard
			}
		}
		n := len(t.newLots)
		entries, lotAccts, lotAssets := make([]string, n), make([]string, n), make([]string, n)
		postings, ens, cns := make([]int32, n), make([]*int32, n), make([]int32, n)
		amounts, remaining, es, cs := make([]int64, n), make([]int64, n), make([]*int64, n), make([]int64, n)
		for i, l := range t.newLots {
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
	adds := t.sumLotAdds()
	for _, a := range adds {
		b.Queue(sqlAddLot, string(a.id.Entry), int32(a.id.Posting), string(a.account), a.delta)
	}
	// Entries last: each draws its ord, which the sealer follows, as late
	// as possible, and only once the transaction has an ID.
	// (A lock or any write gave it one already.)
	xact := len(t.inserts) > 0 && len(t.locked) == 0 && len(t.creates)+len(t.updates) == 0 && !write && len(adds) == 0
	if xact {
		b.Queue(sqlXact)
	}
	for i := range t.inserts {
		in := &t.inserts[i]
		b.Queue(sqlInsertEntry, string(in.id), int16(in.kind), in.body, in.keys, in.accounts)
		switch {
		case in.kind == ledger.KindHold && !in.deadline.IsZero():
			b.Queue(sqlPendingHold, string(in.id), in.deadline.Unix(), int32(in.deadline.Nanosecond()))
		case in.kind == ledger.KindCommit || in.kind == ledger.KindVoid:
			b.Queue(sqlResolveHold, string(in.ref))
		}
	}
	b.Queue("COMMIT")

	br := t.conn.SendBatch(ctx, &b)
	begin := !t.begun
	t.begun = true
	ord, err := t.readCommit(br, begin, write, xact, adds)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = classify("commit", cerr, true)
	}
	if err != nil {
		var se *Error
		if errors.As(err, &se) && errors.Is(err, ErrUnknownOutcome) {
			// The connection cannot be trusted to be in any state: drop it.
			_ = t.conn.Conn().Close(context.WithoutCancel(ctx))
			t.ended = true
		}
		return 0, err
	}
	t.ended = true
	for _, a := range t.updates {
		if !a.ID.IsUser() {
			t.s.system.Delete(a.ID)
		}
	}
	return ord, nil
}

// readCommit reads the commit's results in the order commit queued them.
// An error the server returned means the transaction did not commit (the
// statements after it, COMMIT included, were skipped); any other failure
// leaves the outcome unknown.
func (t *txn) readCommit(br pgx.BatchResults, begin, write, xact bool, adds []lotAdd) (int64, error) {
	fail := func(err error) (int64, error) { return 0, classify("commit", err, true) }
	exec := func() error {
		_, err := br.Exec()
		return err
	}
	one := func() error {
		var n int32
		return br.QueryRow().Scan(&n)
	}
	missing := func(err error, what string) (int64, error) {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == codeDivZero {
			return 0, &Error{Op: "commit", Kind: ledger.ErrNotFound, Detail: what}
		}
		return fail(err)
	}
	if begin {
		if err := exec(); err != nil {
			return fail(err)
		}
	}
	for range t.creates {
		if err := exec(); err != nil {
			return fail(err)
		}
	}
	for _, a := range t.updates {
		if err := one(); err != nil {
			return missing(err, "account "+strconv.Quote(string(a.ID)))
		}
	}
	if write {
		rows, err := br.Query()
		if err == nil {
			rows.Close()
			err = rows.Err()
		}
		if err != nil {
			return fail(err)
		}
	}
	for _, a := range adds {
		if err := one(); err != nil {
			return missing(err, "lot "+a.id.String()+" of "+strconv.Quote(string(a.account)))
		}
	}
	var maxOrd int64
	if xact {
		if err := exec(); err != nil {
			return fail(err)
		}
	}
	for i := range t.inserts {
		in := &t.inserts[i]
		var ord int64
		if err := br.QueryRow().Scan(&ord); err != nil {
			return fail(err)
		}
		maxOrd = max(maxOrd, ord)
		if (in.kind == ledger.KindHold && !in.deadline.IsZero()) || in.kind == ledger.KindCommit || in.kind == ledger.KindVoid {
			if err := exec(); err != nil {
				return fail(err)
			}
		}
	}
	if err := exec(); err != nil {
		return fail(err)
	}
	return maxOrd, nil
}

// sumDeltas folds the deltas by account and asset, in sorted order, or
// fails with ErrOverflow if their sum does not fit in int64.
func (t *txn) sumDeltas() ([]delta, error) {
	ds := t.deltas
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

// sumLotAdds folds the lot deltas by lot, in sorted order; a lot whose sum
// is zero is still updated, so that a missing lot is reported.
func (t *txn) sumLotAdds() []lotAdd {
	as := t.lotAdds
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
