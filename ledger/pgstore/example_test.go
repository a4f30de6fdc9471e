package pgstore_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A Ledger over PostgreSQL: open a pool, migrate, and use the Ledger as
// with any Store. (This example has no checked output: it needs a server.)
func ExampleNew() {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(os.Getenv("CARBONKIT_PG_DSN"))
	if err != nil {
		log.Fatal(err)
	}
	// Keep the ledger's tables in a schema of their own.
	cfg.ConnConfig.RuntimeParams["search_path"] = "carbonkit"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS carbonkit"); err != nil {
		log.Fatal(err)
	}

	s, err := pgstore.New(ctx, pool, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	l, err := ledger.New(s, nil)
	if err != nil {
		log.Fatal(err)
	}

	if _, err := l.OpenUser(ctx, "u-42"); err != nil {
		log.Fatal(err)
	}
	if _, err := l.LinkPartner(ctx, "u-42", "metro"); err != nil {
		log.Fatal(err)
	}
	e, err := l.Post(ctx, ledger.PostRequest{Key: "metro-trip-991", Postings: []ledger.Posting{
		{Account: ledger.IssuanceAccount("metro"), Asset: ledger.Points, Amount: -30},
		{Account: ledger.PartnerAccount("u-42", "metro"), Asset: ledger.Points, Amount: 30},
	}})
	if err != nil {
		log.Fatal(err)
	}
	// The entry is in the feed once sealed; Seal waits for that.
	if err := s.Seal(ctx); err != nil {
		log.Fatal(err)
	}
	feed, err := l.Changes(ctx, 0, 100)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.ID == feed[len(feed)-1].ID)
}
