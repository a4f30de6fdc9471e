package pgstore

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one versioned schema change: migrations/NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in version order, checking
// that the versions run 1, 2, 3... without gaps.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, &Error{Op: "migrate", Kind: ErrSchema, Detail: "migration file " + strconv.Quote(n) + " is not NNNN_name.sql"}
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, &Error{Op: "migrate", Kind: ErrSchema, Detail: "migration versions are not 1 to " + strconv.Itoa(len(out))}
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this package's embedded migrations
// reach.
const SchemaVersion = 2

// Migrate brings the schema in the pool's search_path up to SchemaVersion,
// applying each embedded migration that is missing in its own transaction.
// It is idempotent, and safe to run from several processes at once: each
// migration first inserts its version into ledger_migrations (primary
// key), so a second migrator blocks on that row until the first commits,
// then finds the version applied and skips it; if the first fails, the
// second applies it. No advisory lock is needed.
//
// Errors: ErrSchema if the database has a version newer than SchemaVersion
// (an older binary against a newer schema) or a migration fails; the
// driver's errors, wrapped.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	// Two processes creating the table at once can collide in the catalog
	// even with IF NOT EXISTS; the loser finds the table on its retry.
	for attempt := 0; ; attempt++ {
		_, err = s.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS ledger_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`)
		var pe *pgconn.PgError
		// unique_violation, duplicate_table, duplicate_object: all are the
		// catalog's way of saying another migrator won the race.
		if err == nil || attempt == 3 || !errors.As(err, &pe) || (pe.Code != codeUnique && pe.Code != "42P07" && pe.Code != "42710") {
			break
		}
	}
	if err != nil {
		return &Error{Op: "migrate", Kind: ErrSchema, Detail: "creating ledger_migrations", Err: err}
	}
	var newest int
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM ledger_migrations`).Scan(&newest); err != nil {
		return &Error{Op: "migrate", Kind: ErrSchema, Err: err}
	}
	if newest > len(ms) {
		return &Error{Op: "migrate", Kind: ErrSchema, Detail: "the database has schema version " + strconv.Itoa(newest) +
			", newer than this package's " + strconv.Itoa(len(ms))}
	}
	for _, m := range ms[newest:] {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m migration) error {
	detail := "migration " + strconv.Itoa(m.version) + " (" + m.name + ")"
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO ledger_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING`,
			m.version, m.name)
		if err != nil || tag.RowsAffected() == 0 {
			return err // applied by another migrator meanwhile
		}
		_, err = tx.Exec(ctx, m.sql)
		return err
	})
	if err != nil {
		return &Error{Op: "migrate", Kind: ErrSchema, Detail: detail, Err: err}
	}
	return nil
}
