-- carbonkit ledger schema, version 2: an insert-only feed. Applied by
-- (*pgstore.Store).Migrate inside one transaction; do not edit once
-- released: add a new file.
--
-- Version 1 sealed an entry by updating its row (seq, prev_hash, hash):
-- a new row version on another page, a new entry in the primary key at a
-- random place, a dead row for vacuum, and two partial indexes switching
-- the entry from the sealer's queue to the feed. From version 2 on, an
-- entry's row is never changed after its insert: sealing inserts one row
-- into ledger_feed, appended at the end of the table and of both its
-- indexes (seq and ord grow together). An entry is sealed when its ord
-- has a feed row; the chain head's ord says up to where every entry is.
--
-- Every process must run a version that knows schema 2 once it is
-- applied: an older one reads and seals the dropped columns.

CREATE TABLE ledger_feed (
	seq       bigint PRIMARY KEY,
	ord       bigint NOT NULL,
	prev_hash bytea  NOT NULL,
	hash      bytea  NOT NULL
);
CREATE UNIQUE INDEX ledger_feed_ord ON ledger_feed (ord);

INSERT INTO ledger_feed (seq, ord, prev_hash, hash)
	SELECT seq, ord, prev_hash, hash FROM ledger_entries WHERE seq IS NOT NULL ORDER BY seq;

-- The sealer's queue is now every entry past the chain head's ord.
DROP INDEX ledger_entries_unsealed;
DROP INDEX ledger_entries_feed;
CREATE UNIQUE INDEX ledger_entries_ord ON ledger_entries (ord);
ALTER TABLE ledger_entries DROP COLUMN seq, DROP COLUMN prev_hash, DROP COLUMN hash;
