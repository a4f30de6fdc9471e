// Package pgstore is the PostgreSQL ledger.Store: the ledger's books in a
// database that a partner backend already runs, shared by any number of
// processes. It is a nested module, so that importing the core carbonkit
// module never pulls in its driver (github.com/jackc/pgx/v5).
//
//	pool, err := pgxpool.New(ctx, "postgres://...")
//	s, err := pgstore.New(ctx, pool, nil)
//	defer s.Close()
//	err = s.Migrate(ctx)                 // idempotent; safe from many processes
//	l, err := ledger.New(s, &ledger.Options{...})
//
// The Ledger owns every invariant; the Store persists, locks and orders.
// Its tables live in the pool's search_path (set it in the pool's
// configuration, RuntimeParams["search_path"], to keep them in a schema of
// their own).
//
// # Schema
//
// Migrate applies the embedded, versioned migrations (migrations/*.sql,
// recorded in ledger_migrations) each in its own transaction. A migration
// first inserts its version into ledger_migrations (a primary key): a
// second process migrating at the same moment blocks on that row, then
// finds the version applied and skips it; no advisory lock is used.
//
//	ledger_accounts       id (collation "C", so the database orders IDs
//	                      byte by byte, as Go does), parent, policy, closed
//	ledger_balances       (account, asset, shard) -> posted, held
//	ledger_lots           (entry, posting) -> account, asset, amount,
//	                      remaining, expiry and creation as Unix seconds and
//	                      nanoseconds, insertion order
//	ledger_entries        id -> ord (commit order), kind, body (the entry in
//	                      a versioned binary encoding); never changed once
//	                      inserted
//	ledger_feed           seq -> ord, prev_hash, hash: one row per sealed
//	                      entry, insert-only (schema version 2)
//	ledger_keys           key -> entry: idempotency, hold resolution, reversal
//	ledger_history        (account, ord) -> entry
//	ledger_pending_holds  holds with a deadline, until resolved
//	ledger_chain          one row: the last sealed seq and hash, and the ord
//	                      up to which every entry is sealed
//
// Schema version 2 (migrations/0002_feed.sql) moved the seals out of
// ledger_entries into ledger_feed, so that sealing appends rows instead of
// updating them; every process must run a version of this package that
// knows version 2 once it is applied.
//
// There are no foreign keys: a foreign key check takes a KEY SHARE lock on
// the referenced account row, which would make every unlocked credit wait
// for whoever holds that account's lock. Times are stored as integers,
// exact to the nanosecond (the hash chain covers them; timestamptz keeps
// microseconds).
//
// # Transactions, isolation and locking order
//
// Every ledger operation (Update) runs at READ COMMITTED, and its writes
// commit whole or not at all; reads (View) run at REPEATABLE READ READ
// ONLY, one snapshot taken at the first read.
//
// Group commit. Updates of one Store that run at the same time share a
// database transaction, a batch (batch.go): a batch is one connection and
// one transaction, and each Update in it a member. Members' statements go
// in the batch's round trips as they come (what is queued while one round
// trip is in flight goes in the next), the Key lookups of a round trip in
// one statement and its Locks in one statement. Writes are buffered and,
// once every member has returned, merged (one statement for all the lots
// and balance deltas, one for all the entries with their keys and history
// rows) and sent with the COMMIT in one round trip: one WAL flush for the
// batch. Transactions implement ledger.KeyLocker, so the Ledger looks a
// write's idempotency key up with its locks, in the statement after them,
// and ledger.KeyDeferrer, so that on a write's first try the locks and the
// lookup may wait for the commit (deferred locks, below): an earn costs
// its batch one round trip, the commit, shared by the batch's members. The
// Store is a ledger.AccountReader: Ledger.Account (which
// rewards.Programme.Earn calls to check a user's link) is one statement
// outside any transaction, where a View would cost a transaction and
// first seal this process's recent entries.
// Sharing is safe because:
//
//   - nothing is written before the commit, so every read sees committed
//     state only, as in a transaction of its own: no member sees another's
//     writes, and a member whose fn fails leaves nothing behind;
//   - two members never hold one account: Lock first takes an in-process
//     lock per account, in ID order, held until the holder's batch ends. A
//     member that must wait for one leaves its batch first (it has only
//     read so far), waits, and joins the next batch;
//   - if the merged writes fail (a key taken meanwhile, an overflow, a
//     missing lot), the batch rolls back to a savepoint taken before them
//     (keeping its row locks) and applies each member alone under a
//     savepoint of its own, so each member gets its own outcome and the
//     others commit.
//
// A batch may close once one of its members has returned while no other
// batch is committing, or once the committing one ends: while one batch
// waits for its WAL flush the next gathers members. It then closes when it
// holds as many members as the writers lately seen (the members of the
// batch that just ended, who come back together), or 200µs after it could
// first have closed. A batch has at most 32 members.
// A member waiting for a round trip honours its context; a round trip in
// flight (a lock wait included) is not interrupted, and the batch's own
// I/O does not stop with any member's context.
//
// Locks are taken in one order, so that transactions do not deadlock:
//
//  1. in process, the in-process account locks, in ID order;
//  2. the accounts' rows, SELECT ... WHERE id = ANY(...) ORDER BY id FOR
//     UPDATE: sorted by ID, whatever the order given (every Lock of a
//     round trip in one statement). A shared batch adds SKIP LOCKED and
//     never waits for a row, so no member waits for another's contention;
//     a member that finds a row held by another process's transaction
//     moves to a private batch, a transaction of its own, whose one Lock
//     statement waits for it. READ COMMITTED then shows
//     the transaction everything committed before each lock was granted,
//     which is what the Ledger's balance checks read. In the same round
//     trip, right after the locks, LockKey's key is looked up, and so are
//     the keys that the transaction found missing before it locked (a
//     hold's resolution, an entry's reversal): if one of those was taken
//     meanwhile, by the transaction the lock waited for, Lock fails with
//     ledger.ErrConflict and the Ledger starts over on fresh reads;
//  3. at commit: the rows of deferred locks (below), sorted, with SKIP
//     LOCKED; new and updated account rows (sorted), then new lots and
//     balance rows (sorted by account and asset) in one statement, lot
//     updates (sorted), and last the entries with their unique keys
//     (sorted). A key taken by a commit in flight makes the second commit
//     wait for the first and then fail with ledger.ErrConflict.
//
// Deferred locks. On a write's first try the Ledger calls
// LockKeyDeferred. If the Store knows the metadata of every account named
// (as it last read them under a lock, or committed them) and no other
// member holds them, it takes the in-process locks and answers from
// memory, the key free, with no round trip. The rows are then locked by
// the first statement of the commit's round trip, before any write, in ID
// order and with SKIP LOCKED, and that statement fails the member with
// ledger.ErrConflict unless every row is there, locked, and as answered;
// a key taken meanwhile fails its insert with ErrConflict. A read later in
// the same transaction (a balance check, lots) takes the row locks with
// the key's lookup first, as LockKey would, and fails with ErrConflict if
// they differ from what was answered. So a member commits only what it
// would have committed had it locked first. After a conflict the Store
// forgets the accounts the member relied on, and the Ledger's retry uses
// LockKey: a replay costs one conflicted try, then finds its entry.
//
// Hot accounts. An account the Ledger does not lock (its policy needs no
// balance check: an issuance account with no limit, a merchant credited by
// every spend) is never a point where writers queue. Its balance is spread
// over Options.Shards rows; each commit adds its delta (a batch's deltas
// to one account summed into one), without reading, to the next row round
// robin, and a read sums the rows. A row is locked only for the commit's
// round trip. Locked accounts use one row, which a batch's deltas to an
// account it locked also go to. After each commit the totals are cast back
// to bigint, so a balance outside int64 fails the commit with
// ledger.ErrOverflow.
//
// # Errors and retries
//
// The Store does not retry: ledger.Store's contract runs fn exactly once,
// and only the caller can rerun it. It reports serialization failures
// (40001), deadlocks (40P01) and unique violations (an idempotency key, an
// entry or account ID taken by a concurrent transaction) as errors matching
// ledger.ErrConflict, and the Ledger retries those, up to
// ledger.Options.MaxRetries times (default 64) with a growing, jittered
// backoff: one retry policy, not two nested ones. On PostgreSQL at READ
// COMMITTED with sorted locks, conflicts come almost only from the same
// idempotency key replayed concurrently, where the retry finds and returns
// the original entry, and from a key taken while a Lock waited (above).
// A member of a batch whose transaction another member's statement aborted
// (a statement or lock timeout set on the server, say) gets
// ledger.ErrConflict too: nothing of it was applied.
//
// A connection that fails while the commit is in flight (the server
// process was terminated, the network dropped) leaves the outcome unknown:
// the Store returns an error matching ErrUnknownOutcome, never
// ledger.ErrConflict, to every member of the batch, and discards the
// connection; a connection that fails before the commit fails its batch's
// members with a plain store error. The Ledger returns either as
// ledger.ErrStore; the caller retries with the same idempotency key, which
// either finds the committed entry or commits it once.
//
// # The change feed and the hash chain: sealing after commit
//
// A counter row updated by every transaction would serialize every writer,
// so sequence numbers and hashes are assigned after commit, by sealing. A
// committing transaction draws its entries' ord from the sequence
// ledger_commit_order in its last round trip, after every lock and read
// and only once it has a transaction ID; so ord follows commit order for
// any two transactions that touch the same locked account, and a hold's
// resolution or an entry's reversal always comes after the entry. The
// sealer then:
//
//  1. reads the sequence's last value v, then takes a transaction ID n:
//     every transaction that drew an ord up to v had its ID by then, so its
//     ID is below n;
//  2. waits until the oldest transaction running has an ID above n
//     (pg_snapshot_xmin(pg_current_snapshot())): every ord up to v is then
//     committed or rolled back for good;
//  3. locks the ledger_chain row, reads the unsealed entries (ord past the
//     head's) up to v in ord order, gives them consecutive seqs and their
//     hashes (ledger.Sealer), and commits them, appended to ledger_feed,
//     with the new head.
//
// So Changes shows sealed entries only, in order, never skipping one: an
// entry is never sealed while a transaction that may still commit an
// earlier one is in flight (TestSealNeverSkips holds one open to prove it).
// History shows sealed entries too, so that its pages never gain an entry
// before their end. Sealers in many processes may run at once; the chain
// row orders them.
//
// Who seals, and the lag:
//
//   - a background goroutine per Store seals right after its Store's
//     commits (rounds at least 3ms apart, 10ms after a round that sealed 2
//     entries or more, so that under load each round seals many),
//     and every Options.SealInterval (20ms) otherwise, which bounds how late
//     it sees entries committed by other processes;
//   - View first seals entries its own Store committed (waiting at most
//     ViewSealWait), so a process always finds its own writes in the feed;
//   - Seal seals everything committed before it was called.
//
// Measured on a 2-core machine (TestSealingLag, 100 entries written one at
// a time): an entry reaches another process's feed in about 3ms (p50) when
// its writer's sealer runs, and within the reader's SealInterval, about
// 20ms (p50), when only the reader's runs; under a sustained load of
// thousands of entries a second, in about 10ms. The lag grows with the
// longest-running transaction that holds a transaction ID, anywhere on the
// server (transaction IDs are cluster-wide): keep writing transactions
// short, as any PostgreSQL application should.
//
// # PostgreSQL features relied on
//
// PostgreSQL 13 or newer (tested with 15). In the hot path: ordinary
// tables and B-tree indexes, INSERT ... ON CONFLICT DO UPDATE, data-modifying
// CTEs, unnest of array parameters, SELECT ... FOR UPDATE [SKIP LOCKED],
// savepoints, the collation "C", a sequence (nextval), and, in a
// transaction that inserts an entry without any other write (the Ledger
// never does), pg_current_xact_id(). Durability is the server's: every
// commit is an ordinary COMMIT at the server's synchronous_commit (on by
// default); the Store sets no session parameter.
// For sealing: pg_current_xact_id(), pg_current_snapshot() and
// pg_snapshot_xmin(), outside the hot path. Nothing uses advisory locks, LISTEN/NOTIFY,
// triggers, stored procedures or SERIALIZABLE.
//
// Planner statistics: the server may keep one generic plan per prepared
// statement and connection, chosen for the tables as they were, until
// their statistics change; autovacuum refreshes them at most once a minute
// (autovacuum_naptime). Statistics taken while the ledger is young (a few
// hundred entries, when a table scan beats any index) would then keep
// every key lookup scanning a table of growing size for that minute: at
// thousands of entries a second, each Update costs milliseconds more after
// a few seconds. So, with the background sealer on, a Store runs ANALYZE
// on the ledger's tables, on a connection of the pool and outside any
// transaction, each time the commit order passes a power of two from 1,024
// to 2^24 (a process that starts on a grown ledger, once it has doubled).
// That needs the role to own the tables (it does if it ran Migrate); a
// refresh that fails is skipped, and autovacuum catches up in its time.
//
// # Distributed engines (CockroachDB, YugabyteDB, Citus)
//
// The schema and the hot path's SQL are portable PostgreSQL. What depends
// on the engine is the sealer's horizon (steps 1 and 2 above), which needs
// PostgreSQL's own transaction IDs and snapshots. None of this is tested
// here; it is the plan for each engine:
//
//   - Citus: distribute the per-account tables (ledger_balances,
//     ledger_lots, ledger_history, ledger_accounts) by account to spread
//     the hot path over workers, and keep ledger_entries, ledger_feed,
//     ledger_keys, ledger_pending_holds, ledger_chain and the sequence as
//     local tables
//     on the coordinator, where every transaction that draws an ord then
//     has a coordinator transaction ID and the sealer runs unchanged.
//   - YugabyteDB (YSQL): the hot path should run as is; its distributed
//     transactions are not ordered by PostgreSQL transaction IDs, so the
//     horizon does not hold there. Seal by commit time, as for CockroachDB.
//   - CockroachDB: every transaction is SERIALIZABLE, so expect far more
//     ledger.ErrConflict (retried by the Ledger); it has no
//     pg_current_xact_id or pg_current_snapshot, and sequences are slow
//     (use one with a CACHE, or unique_rowid(), for ord, and drop the
//     transaction ID statement). The sealer must order entries by commit
//     timestamp (the crdb_internal_mvcc_timestamp column) and seal only
//     below a closed timestamp (follower_read_timestamp()), below which no
//     transaction can still commit. This package does not implement that
//     variant; on PostgreSQL it is not needed.
//
// # Tests
//
// The tests need a live server: set CARBONKIT_PG_DSN to a database in which
// the role may create schemas (ci/start-postgres.sh, sourced as root on a
// Debian machine, installs, starts and provisions one, and exports it).
// Without it they skip, except under CI=true, where they fail. Each test
// works in a schema of its own, dropped at its end.
package pgstore
