package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
)

// TestSealNeverSkips holds a transaction open after it drew its entry's
// commit-order key, and commits a later entry meanwhile: the later entry
// must not be sealed (the feed must not skip the earlier one) until the
// earlier transaction ends; then both are sealed, in order.
func TestSealNeverSkips(t *testing.T) {
	s, pool, _ := newStore(t, &Options{SealInterval: time.Millisecond})
	ctx := context.Background()
	l, err := ledger.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	linkFood(t, l)
	earn := func(key string) ledger.Entry {
		t.Helper()
		e, err := l.Post(ctx, ledger.PostRequest{Key: key, Postings: []ledger.Posting{
			{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: -1},
			{Account: ledger.PartnerAccount("u-1", "food"), Asset: ledger.Points, Amount: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	earn("before")
	base, err := l.VerifyChain(ctx)
	if err != nil || base != 1 {
		t.Fatalf("VerifyChain = %d, %v; want 1", base, err)
	}

	// A transaction that inserts an entry the way a commit does, and waits.
	slow := &ledger.Entry{ID: "slow", Kind: ledger.KindTransfer, Recorded: time.Unix(1, 0).UTC(),
		Postings: []ledger.Posting{{Account: "merchant x", Asset: ledger.Points, Amount: 1}}}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, sqlXact); err != nil {
		t.Fatal(err)
	}
	var slowOrd int64
	if err := conn.QueryRow(ctx, sqlInsertEntry, "slow", int16(slow.Kind), encodeBody(nil, slow), []string{"k:slow"},
		[]string{"merchant x"}).Scan(&slowOrd); err != nil {
		t.Fatal(err)
	}

	fast := earn("after") // a larger ord, committed first
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err = s.Seal(wctx)
	cancel()
	if err == nil {
		t.Fatal("Seal returned while a transaction with an earlier entry was in flight")
	}
	time.Sleep(20 * time.Millisecond) // give the background sealer every chance to err
	feed, err := l.Changes(ctx, base, 10)
	if err != nil || len(feed) != 0 {
		t.Fatalf("the feed shows %d entries past the open transaction (%v); want none", len(feed), err)
	}

	if _, err := conn.Exec(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	feed, err = l.Changes(ctx, base, 10)
	if err != nil || len(feed) != 2 || feed[0].ID != "slow" || feed[1].ID != fast.ID {
		t.Fatalf("feed = %v, %v; want slow then %s", ids(feed), err, fast.ID)
	}
	if n, err := l.VerifyChain(ctx); err != nil || n != 3 {
		t.Fatalf("VerifyChain = %d, %v; want 3", n, err)
	}
}

func ids(es []ledger.Entry) []ledger.EntryID {
	out := make([]ledger.EntryID, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// TestSealingLag measures how long an entry committed by one Store takes
// to reach the feed as another Store (another process) reads it, with the
// writer's background sealer on (it seals right after each commit) and off
// (the reader's sealer finds the entry on its idle interval).
func TestSealingLag(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writer time.Duration // the writer's SealInterval
		reader time.Duration
		max    time.Duration
	}{
		{"WriterSeals", DefaultSealInterval, -1, 500 * time.Millisecond},
		{"ReaderSealsOnInterval", -1, DefaultSealInterval, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn, schema := newSchema(t)
			ctx := context.Background()
			w := storeOn(t, newPool(t, dsn, schema, 4), &Options{SealInterval: tc.writer})
			r := storeOn(t, newPool(t, dsn, schema, 4), &Options{SealInterval: tc.reader})
			if err := w.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			lw, _ := ledger.New(w, nil)
			lr, _ := ledger.New(r, nil)
			linkFood(t, lw)
			var lags []time.Duration
			seq := uint64(0)
			for i := range 100 {
				e, err := lw.Post(ctx, ledger.PostRequest{Key: fmt.Sprint("lag-", i), Postings: []ledger.Posting{
					{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: -1},
					{Account: ledger.PartnerAccount("u-1", "food"), Asset: ledger.Points, Amount: 1}}})
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				for {
					feed, err := lr.Changes(ctx, seq, 10)
					if err != nil {
						t.Fatal(err)
					}
					if len(feed) > 0 {
						if feed[len(feed)-1].ID != e.ID {
							t.Fatalf("the feed's last entry is %s, want %s", feed[len(feed)-1].ID, e.ID)
						}
						seq = feed[len(feed)-1].Seq
						break
					}
					if time.Since(start) > 5*time.Second {
						t.Fatalf("entry %s not sealed after 5s", e.ID)
					}
					time.Sleep(200 * time.Microsecond)
				}
				lags = append(lags, time.Since(start))
			}
			slices.Sort(lags)
			p50, p99, worst := lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1]
			t.Logf("sealing lag over %d entries: p50 %v, p99 %v, max %v", len(lags), p50, p99, worst)
			if worst > tc.max {
				t.Errorf("worst sealing lag %v, want under %v", worst, tc.max)
			}
		})
	}
}

// TestMigrateConcurrently migrates one fresh schema from eight Stores at
// once, then again: every call succeeds and each version is applied once.
func TestMigrateConcurrently(t *testing.T) {
	dsn, schema := newSchema(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		s := storeOn(t, newPool(t, dsn, schema, 2), &Options{SealInterval: -1})
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Migrate(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	pool := newPool(t, dsn, schema, 1)
	s := storeOn(t, pool, nil)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrating again: %v", err)
	}
	var n, v int
	if err := pool.QueryRow(ctx, `SELECT count(*), max(version) FROM ledger_migrations`).Scan(&n, &v); err != nil || n != SchemaVersion || v != SchemaVersion {
		t.Fatalf("ledger_migrations has %d rows up to version %d (%v), want %d", n, v, err, SchemaVersion)
	}
	// A schema newer than the package is refused.
	if _, err := pool.Exec(ctx, `INSERT INTO ledger_migrations (version, name) VALUES ($1, 'future')`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); !errors.Is(err, ErrSchema) {
		t.Fatalf("Migrate under a newer schema: %v, want ErrSchema", err)
	}
}
