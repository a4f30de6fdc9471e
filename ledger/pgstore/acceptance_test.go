package pgstore

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/storetest"
)

var (
	simSeed = flag.Uint64("sim.seed", 1, "the seed of the simulation against PostgreSQL")
	simOps  = flag.Int("sim.ops", 5_000, "operations in the simulation against PostgreSQL")
)

// TestSimulation runs the ledger's simulation, checked against its
// reference model, over a Store in a fresh schema.
func TestSimulation(t *testing.T) {
	testDSN(t)
	ops := *simOps
	if testing.Short() {
		ops = min(ops, 1_000)
	}
	start := time.Now()
	storetest.Simulate(t, func(t *testing.T) ledger.Store {
		s, _, _ := newStore(t, nil)
		return s
	}, storetest.SimOptions{Seed: *simSeed, Ops: ops, Replay: "(cd ledger/pgstore && go test -run TestSimulation)"})
	t.Logf("simulated %d operations against PostgreSQL in %v", ops, time.Since(start).Round(time.Millisecond))
}

// racers returns n Ledgers over n Stores, each on a pool of its own with
// a single connection, all sharing one fresh schema (as n processes
// would), with user u-1 linked to partner food.
func racers(t *testing.T, n int) ([]*ledger.Ledger, []*Store) {
	t.Helper()
	ctx := context.Background()
	ls, ss, _ := sharedLedgers(t, n, 1)
	linkFood(t, ls[0])
	if _, err := ls[0].OpenAccount(ctx, "merchant shop", ledger.BalancePolicy{}); err != nil {
		t.Fatal(err)
	}
	return ls, ss
}

// race runs f on every Ledger at once.
func race(ls []*ledger.Ledger, f func(i int, l *ledger.Ledger)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			f(i, l)
		}()
	}
	close(start)
	wg.Wait()
}

// sharedLedgers returns n Ledgers over n Stores (as in n processes) on one
// fresh, migrated schema, each Store with a pool of conns connections.
func sharedLedgers(t *testing.T, n int, conns int32) ([]*ledger.Ledger, []*Store, string) {
	t.Helper()
	dsn, schema := newSchema(t)
	ls := make([]*ledger.Ledger, n)
	ss := make([]*Store, n)
	for i := range ls {
		s := storeOn(t, newPool(t, dsn, schema, conns), nil)
		ss[i] = s
		if i == 0 {
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		l, err := ledger.New(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = l
	}
	return ls, ss, schema
}

func earnReq(key string, n int64) ledger.PostRequest {
	return ledger.PostRequest{Key: key, Postings: []ledger.Posting{
		{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: -n},
		{Account: ledger.PartnerAccount("u-1", "food"), Asset: ledger.Points, Amount: n},
	}}
}

// TestSpendRace16: 16 goroutines, each on its own connection, race to
// spend a balance that covers one spend: exactly one succeeds, at the
// child and at the parent.
func TestSpendRace16(t *testing.T) {
	ls, ss := racers(t, 16)
	ctx := context.Background()
	for round, partner := range []carbon.PartnerID{"food", ""} {
		if _, err := ls[0].Post(ctx, earnReq(fmt.Sprintf("earn-%d", round), 10)); err != nil {
			t.Fatal(err)
		}
		var wins, poor atomic.Int32
		race(ls, func(i int, l *ledger.Ledger) {
			_, err := l.Spend(ctx, ledger.Spend{Key: fmt.Sprintf("spend-%d-%d", round, i), User: "u-1", Partner: partner,
				Asset: ledger.Points, Amount: 7, To: "merchant shop"})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ledger.ErrInsufficientFunds):
				poor.Add(1)
			default:
				t.Error(err)
			}
		})
		if wins.Load() != 1 || poor.Load() != 15 {
			t.Fatalf("partner %q: %d spends succeeded, %d were refused; want 1 and 15", partner, wins.Load(), poor.Load())
		}
		r, err := ls[0].Rollup(ctx, "u-1", ledger.Points)
		if err != nil || r.Total.Posted != 3 {
			t.Fatalf("after the race the user has %+v, %v; want 3 posted", r.Total, err)
		}
		if _, err := ls[0].Spend(ctx, ledger.Spend{Key: fmt.Sprintf("rest-%d", round), User: "u-1", Asset: ledger.Points,
			Amount: 3, To: "merchant shop"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss[0].Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := storetest.CheckInvariants(ctx, ls[0], ss[0]); err != nil {
		t.Fatal(err)
	}
}

// TestIdempotencyRace16: one idempotency key replayed from 16 goroutines,
// each on its own connection, writes one entry, and every replay gets it.
func TestIdempotencyRace16(t *testing.T) {
	ls, ss := racers(t, 16)
	ctx := context.Background()
	before, err := ls[0].Changes(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]ledger.EntryID, len(ls))
	race(ls, func(i int, l *ledger.Ledger) {
		e, err := l.Post(ctx, earnReq("once", 5))
		if err != nil {
			t.Error(err)
		}
		ids[i] = e.ID
	})
	for _, id := range ids {
		if id == "" || id != ids[0] {
			t.Fatalf("replays returned different entries: %v", ids)
		}
	}
	if err := ss[0].Seal(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := ls[0].Changes(ctx, uint64(len(before)), 1000)
	if err != nil || len(after) != 1 || after[0].ID != ids[0] {
		t.Fatalf("the feed gained %d entries (%v), want the one entry %s", len(after), err, ids[0])
	}
	b, err := ls[0].Balance(ctx, ledger.PartnerAccount("u-1", "food"), ledger.Points)
	if err != nil || b.Posted != 5 {
		t.Fatalf("balance %+v, %v; want 5 posted", b, err)
	}
}
