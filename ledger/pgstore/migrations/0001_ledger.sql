-- carbonkit ledger schema, version 1. Applied by (*pgstore.Store).Migrate
-- inside one transaction; do not edit once released: add a new file.
--
-- Text keys use the "C" collation so that the database orders them byte by
-- byte, as Go compares strings. There are no foreign keys: a foreign key
-- check takes a KEY SHARE lock on the referenced account, which would make
-- every unlocked credit wait for the writer holding that account's lock.
-- The Ledger guarantees the references instead.

-- Accounts. parent is set for a user's child account.
CREATE TABLE ledger_accounts (
	id              text COLLATE "C" PRIMARY KEY,
	parent          text COLLATE "C",
	overdraft       boolean NOT NULL,
	overdraft_limit bigint  NOT NULL,
	closed          boolean NOT NULL
);
CREATE INDEX ledger_accounts_children ON ledger_accounts (parent, id) WHERE parent IS NOT NULL;

-- Balances, spread over shard rows summed on read: an account that every
-- writer credits or debits without a lock (an issuance account) takes each
-- writer's delta on a different row, so writers do not queue on one row.
-- Locked accounts use shard 0.
CREATE TABLE ledger_balances (
	account text COLLATE "C" NOT NULL,
	asset   text COLLATE "C" NOT NULL,
	shard   smallint NOT NULL,
	posted  bigint   NOT NULL,
	held    bigint   NOT NULL,
	PRIMARY KEY (account, asset, shard)
);

-- Lots: what is left of each credit to a user account. Times are Unix
-- seconds and nanoseconds (exact, unlike timestamptz's microseconds);
-- expires_s is NULL for a lot that never expires. n is insertion order.
CREATE TABLE ledger_lots (
	entry      text COLLATE "C" NOT NULL,
	posting    integer NOT NULL,
	account    text COLLATE "C" NOT NULL,
	asset      text COLLATE "C" NOT NULL,
	amount     bigint  NOT NULL,
	remaining  bigint  NOT NULL,
	expires_s  bigint,
	expires_ns integer,
	created_s  bigint  NOT NULL,
	created_ns integer NOT NULL,
	n          bigint GENERATED ALWAYS AS IDENTITY,
	PRIMARY KEY (entry, posting),
	CONSTRAINT ledger_lots_remaining CHECK (remaining >= 0 AND remaining <= amount)
);
CREATE INDEX ledger_lots_open ON ledger_lots (account, asset, expires_s, expires_ns, created_s, created_ns, n)
	WHERE remaining > 0;

-- Entries. ord is drawn from ledger_commit_order in the committing
-- transaction's last statements, after every lock and read: the order in
-- which the sealer gives entries their gapless seq and their hash. body is
-- the entry without seq and hashes, in pgstore's versioned binary encoding.
CREATE SEQUENCE ledger_commit_order;
CREATE TABLE ledger_entries (
	id        text COLLATE "C" PRIMARY KEY,
	ord       bigint   NOT NULL,
	kind      smallint NOT NULL,
	body      bytea    NOT NULL,
	seq       bigint,
	prev_hash bytea,
	hash      bytea
);
-- The sealer's queue (entries not sealed yet, in ord order) and the feed
-- (sealed entries by seq): each entry is in one or the other.
CREATE UNIQUE INDEX ledger_entries_unsealed ON ledger_entries (ord) WHERE seq IS NULL;
CREATE UNIQUE INDEX ledger_entries_feed ON ledger_entries (seq) WHERE seq IS NOT NULL;

-- Unique keys (idempotency, hold resolution, reversal): at most one entry
-- per key, ever.
CREATE TABLE ledger_keys (
	key   text COLLATE "C" PRIMARY KEY,
	entry text COLLATE "C" NOT NULL
);

-- Each account's entries, in ord order.
CREATE TABLE ledger_history (
	account text COLLATE "C" NOT NULL,
	ord     bigint NOT NULL,
	entry   text COLLATE "C" NOT NULL,
	PRIMARY KEY (account, ord)
);

-- Holds with a deadline that are not resolved yet.
CREATE TABLE ledger_pending_holds (
	entry       text COLLATE "C" PRIMARY KEY,
	deadline_s  bigint  NOT NULL,
	deadline_ns integer NOT NULL
);

-- The chain head: the last sealed entry's seq and hash, and the ord up to
-- which every entry is sealed. The sealer locks this one row.
CREATE TABLE ledger_chain (
	id   smallint PRIMARY KEY CHECK (id = 1),
	seq  bigint NOT NULL,
	ord  bigint NOT NULL,
	hash bytea  NOT NULL
);
INSERT INTO ledger_chain (id, seq, ord, hash) VALUES (1, 0, 0, decode(repeat('00', 32), 'hex'));
