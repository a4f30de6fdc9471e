package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The tests need a live server: CARBONKIT_PG_DSN names a database in which
// the role may create schemas. Each store gets a schema of its own, dropped
// when its test ends, so tests are independent and can run again and again.

var (
	adminOnce sync.Once
	admin     *pgxpool.Pool
	adminErr  error
)

// testDSN returns the server's DSN, skipping the test when none is set, or
// failing it under CI, where the server is required.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("CARBONKIT_PG_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CARBONKIT_PG_DSN is not set: CI must run the PostgreSQL tests (source ledger/pgstore/ci/start-postgres.sh)")
		}
		t.Skip("CARBONKIT_PG_DSN not set: skipping the PostgreSQL tests")
	}
	return dsn
}

// newSchema creates a uniquely named schema and drops it when t ends.
func newSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = testDSN(t)
	adminOnce.Do(func() { admin, adminErr = pgxpool.New(context.Background(), dsn) })
	if adminErr != nil {
		t.Fatal(adminErr)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = "carbonkit_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	return dsn, schema
}

// newPool returns a pool of up to conns connections whose search_path is
// schema, closed when t ends.
func newPool(t testing.TB, dsn, schema string, conns int32) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.MaxConns = conns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newStore returns a migrated Store in a fresh schema, closed when t ends.
func newStore(t testing.TB, opts *Options) (*Store, *pgxpool.Pool, string) {
	t.Helper()
	dsn, schema := newSchema(t)
	pool := newPool(t, dsn, schema, 24)
	s := storeOn(t, pool, opts)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, pool, schema
}

// storeOn returns a Store over pool, closed when t ends.
func storeOn(t testing.TB, pool *pgxpool.Pool, opts *Options) *Store {
	t.Helper()
	s, err := New(context.Background(), pool, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// linkFood opens user u-1 in l and links partner food: the child account
// most tests earn into.
func linkFood(t testing.TB, l *ledger.Ledger) {
	t.Helper()
	ctx := context.Background()
	if _, err := l.OpenUser(ctx, "u-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LinkPartner(ctx, "u-1", "food"); err != nil {
		t.Fatal(err)
	}
}
