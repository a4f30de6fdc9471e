package pgstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a ledger.Store kept in PostgreSQL. It is safe for concurrent use
// by any number of goroutines, and any number of Stores (in any number of
// processes) may share one database. Close it to stop its background
// sealer; the pool stays the caller's.
type Store struct {
	pool   *pgxpool.Pool
	shards int
	next   atomic.Uint32 // the last shard picked
	seal   *sealer
	// batches groups concurrent Updates into shared transactions.
	batches committer
	// system caches the metadata of system accounts (every kind but
	// user accounts), which the Ledger never changes once created: an
	// earn then reads nothing about its issuance account.
	system sync.Map // ledger.AccountID -> ledger.Account
	// known serves deferred locks (see deferred.go).
	known accountCache
}

// Options configures a Store. A nil *Options, and zero fields, mean the
// defaults.
type Options struct {
	// Shards is the number of balance rows over which an account updated
	// without a lock (an issuance account) spreads its balance, besides the
	// row that locked updates use: about the number of transactions that
	// commit at the same moment across every process. Default 16; at most
	// 1024. Changing it later is safe (reads sum every row).
	Shards int
	// SealInterval is how often the background sealer looks for entries to
	// seal when this Store has committed none since it last looked (it runs
	// at once after a local commit): the lag with which entries committed
	// by other processes reach the feed. Default 20ms; negative turns the
	// background sealer off (View and Seal still seal on demand), and with
	// it the refresh of planner statistics (see "PostgreSQL features
	// relied on" in the package documentation).
	SealInterval time.Duration
}

// DefaultShards is the default number of balance rows per unlocked account.
const DefaultShards = 16

// ViewSealWait bounds how long View waits to seal this Store's own recent
// entries (see View). After a wait that timed out (a long transaction on
// the server holds the horizon back), Views skip sealing for a second.
const ViewSealWait = 250 * time.Millisecond

// DefaultSealInterval is the background sealer's default idle interval.
const DefaultSealInterval = 20 * time.Millisecond

// Errors. Every error a Store returns is an *Error, but for a Key lookup's
// miss, the bare ledger.ErrNotFound (a miss is the common case, and costs
// no allocation); the ones a Ledger acts on match ledger.ErrConflict,
// ledger.ErrNotFound or ledger.ErrOverflow with errors.Is.
var (
	// ErrUnknownOutcome: the connection failed while a commit was in flight,
	// so the transaction may or may not have committed. It never matches
	// ledger.ErrConflict: the Ledger returns it as ledger.ErrStore, and the
	// caller's retry with the same idempotency key finds out.
	ErrUnknownOutcome = errors.New("pgstore: commit outcome unknown")
	// ErrInvalidOptions: an Options field out of range, or a nil pool.
	ErrInvalidOptions = errors.New("pgstore: invalid options")
	// ErrSchema: the database holds a schema version newer than this
	// package knows, or a migration failed.
	ErrSchema = errors.New("pgstore: schema")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("pgstore: store closed")
)

// Error is the error a Store returns. It matches Kind (a sentinel of this
// package or of ledger) and the underlying error with errors.Is and
// errors.As.
type Error struct {
	Op     string // what the store was doing: "commit", "lock", "migrate"
	Kind   error  // ledger.ErrConflict, ledger.ErrNotFound, ErrUnknownOutcome...; may be nil
	Detail string // what was wrong with which value
	Err    error  // the driver's error, if any
}

// Error implements error.
func (e *Error) Error() string {
	s := "pgstore: " + e.Op
	if e.Kind != nil {
		s += ": " + e.Kind.Error()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Kind and Err.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// New returns a Store over pool. It does no I/O but starts the background
// sealer, which runs until Close (ctx's values reach it, not its
// cancellation); call Migrate before the first transaction. Errors:
// ErrInvalidOptions for a nil context or pool, or Shards out of range.
func New(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Store, error) {
	switch {
	case ctx == nil:
		return nil, &Error{Op: "new", Kind: ErrInvalidOptions, Detail: "context is nil"}
	case pool == nil:
		return nil, &Error{Op: "new", Kind: ErrInvalidOptions, Detail: "pool is nil"}
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.Shards == 0:
		o.Shards = DefaultShards
	case o.Shards < 0 || o.Shards > 1024:
		return nil, &Error{Op: "new", Kind: ErrInvalidOptions, Detail: "shards " + strconv.Itoa(o.Shards) + " is outside 1 to 1024"}
	}
	if o.SealInterval == 0 {
		o.SealInterval = DefaultSealInterval
	}
	s := &Store{pool: pool, shards: o.Shards}
	s.next.Store(rand.Uint32())
	s.seal = newSealer(s)
	s.batches.s = s
	if o.SealInterval > 0 {
		s.seal.start(context.WithoutCancel(ctx), o.SealInterval)
	}
	return s, nil
}

// Close stops the background sealer and waits for it. It does not close
// the pool. A Store is unusable after Close; closing twice is harmless.
func (s *Store) Close() {
	s.seal.stop()
}

// Update implements ledger.Store. fn runs in a READ COMMITTED transaction
// that it may share with other Updates of this Store running at the same
// time (group commit, see the package documentation): its reads and locks
// are pipelined with theirs, and its buffered writes are merged with theirs
// and sent with the COMMIT in one round trip. Its writes still commit
// whole or not at all, whatever becomes of the others'. See the package
// documentation for locking and retries.
func (s *Store) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	switch {
	case s.seal.closed.Load():
		return &Error{Op: "update", Kind: ErrClosed}
	case fn == nil:
		return &Error{Op: "update", Detail: "fn is nil"}
	}
	t := txPool.Get().(*txn)
	t.init(s, nil, true)
	c := &s.batches
	done := false
	defer func() {
		if !done {
			// fn panicked: its batch must not wait for it.
			c.abandon(t)
		}
		t.reset()
		txPool.Put(t)
	}()
	err := fn(t)
	done = true
	if t.batch == nil {
		if err != nil || !t.hasWrites() {
			c.locks.release(t.held)
			return err
		}
		c.join(ctx, t, false)
	}
	b := t.batch
	if err != nil || !t.hasWrites() {
		// Nothing to commit: the batch releases t's locks when it ends.
		c.arrive(t, false)
		return err
	}
	c.arrive(t, true)
	<-b.done
	t.afterCommit()
	if t.result != nil {
		return t.keyTaken(ctx, t.result)
	}
	return nil
}

// keyTaken returns err, the failed commit's error, or, if it is not a
// conflict already and a key t inserted under is taken, an ErrConflict:
// the loser of a race for a key fails with ErrConflict even if its other
// writes failed too (see ledger.Tx.InsertEntry), as they may have failed
// because of the winner's. It looks only on that rare path, outside t's
// transaction, which has ended.
func (t *txn) keyTaken(ctx context.Context, err error) error {
	var keys []string
	for _, in := range t.inserts {
		keys = append(keys, in.keys...)
	}
	if len(keys) == 0 || errors.Is(err, ledger.ErrConflict) || errors.Is(err, ErrUnknownOutcome) {
		return err
	}
	var taken string
	qerr := t.s.pool.QueryRow(ctx, `SELECT key FROM ledger_keys WHERE key = ANY($1) LIMIT 1`, keys).Scan(&taken)
	if qerr != nil {
		return err // pgx.ErrNoRows: no key is taken; or the lookup failed
	}
	return &Error{Op: "commit", Kind: ledger.ErrConflict, Detail: "key " + strconv.Quote(taken) + " was taken meanwhile", Err: err}
}

// View implements ledger.Store. fn runs in one REPEATABLE READ READ ONLY
// transaction whose snapshot is taken at its first read. If this Store has
// committed entries that are not sealed yet, View first seals them (see
// Seal), so that a process finds its own writes in the feed and in
// History; it waits at most ViewSealWait for transactions in flight, then
// reads what is sealed.
func (s *Store) View(ctx context.Context, fn func(ledger.ReadTx) error) error {
	switch {
	case s.seal.closed.Load():
		return &Error{Op: "view", Kind: ErrClosed}
	case fn == nil:
		return &Error{Op: "view", Detail: "fn is nil"}
	}
	s.seal.beforeView(ctx)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return &Error{Op: "acquire", Err: err}
	}
	t := txPool.Get().(*txn)
	t.init(s, conn, false)
	defer func() {
		t.finish(ctx)
		conn.Release()
		t.reset()
		txPool.Put(t)
	}()
	return fn(t)
}

// Seal seals every entry committed before it was called, by any process:
// when it returns nil, Changes shows them all. It waits for transactions
// that were committing when it was called to end (usually well under a
// millisecond, but as long as the longest-running writing transaction on
// the server). The background sealer calls it too; a host need only call
// it to publish with no lag at all. Errors: the driver's, wrapped.
func (s *Store) Seal(ctx context.Context) error {
	return s.seal.sealAll(ctx)
}

// shard picks the balance row an unlocked delta goes to: round robin over
// the Store's transactions, from a random start, so that writers in flight
// at the same moment (consecutive picks) land on different rows and do not
// queue on one row's lock, and Stores in different processes start apart.
func (s *Store) shard() int16 {
	return int16(1 + s.next.Add(1)%uint32(s.shards))
}

var txPool = sync.Pool{New: func() any { return new(txn) }}

// Error classification.

// SQLSTATE codes the store acts on.
const (
	codeSerialization = "40001"
	codeDeadlock      = "40P01"
	codeUnique        = "23505"
	codeOutOfRange    = "22003"
	codeCheck         = "23514"
	codeDivZero       = "22012"
)

// classify wraps a driver error: serialization failures, deadlocks and
// unique violations (a key or ID taken by a concurrent transaction) match
// ledger.ErrConflict, integer overflow ledger.ErrOverflow. inCommit says
// the error came from the round trip carrying COMMIT: a failure that is not
// a server's answer then leaves the outcome unknown.
func classify(op string, err error, inCommit bool) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && !(inCommit && connectionLost(pe)) {
		switch pe.Code {
		case codeSerialization, codeDeadlock, codeUnique:
			return &Error{Op: op, Kind: ledger.ErrConflict, Err: err}
		case codeOutOfRange:
			return &Error{Op: op, Kind: ledger.ErrOverflow, Err: err}
		}
		return &Error{Op: op, Err: err}
	}
	if inCommit {
		return &Error{Op: op, Kind: ErrUnknownOutcome, Err: err}
	}
	return &Error{Op: op, Err: err}
}

// connectionLost reports whether the server ended the session (it was
// terminated, or is shutting down): it may have done so before or after a
// COMMIT it had received.
func connectionLost(pe *pgconn.PgError) bool {
	return pe.Severity == "FATAL" || pe.Severity == "PANIC" || strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57")
}

// isConflict reports whether err is worth retrying at once (for the
// store's own internal transactions: sealing, migrating).
func isConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerialization || pe.Code == codeDeadlock)
}

var _ ledger.Store = (*Store)(nil)
var _ = pgx.ErrNoRows
