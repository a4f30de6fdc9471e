package memstore_test

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/ledger/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) ledger.Store { return memstore.New() })
}

// TestConformanceKeyLocking runs the suite with the Ledger looking keys up
// with its locks (storetest.KeyLocking), the path it takes over pgstore on
// a retry.
func TestConformanceKeyLocking(t *testing.T) {
	storetest.Run(t, func(*testing.T) ledger.Store { return storetest.KeyLocking(memstore.New()) })
}

// TestConformanceKeyDeferring runs the suite with the Ledger leaving keys
// to the commit on a first try (storetest.KeyDeferring), the path it takes
// over pgstore first, faults included.
func TestConformanceKeyDeferring(t *testing.T) {
	storetest.Run(t, func(*testing.T) ledger.Store { return storetest.KeyDeferring(memstore.New()) })
}

// TestMemoryPerUser checks the memory an idle user costs: a parent and four
// children, no history, under 1 KiB.
func TestMemoryPerUser(t *testing.T) {
	const users = 20_000
	ctx := context.Background()
	l, err := ledger.New(memstore.New(), nil)
	if err != nil {
		t.Fatal(err)
	}
	partners := []carbon.PartnerID{"food", "metro", "resale", "mall"}
	ids := make([]carbon.UserID, users)
	for i := range ids {
		ids[i] = carbon.UserID("u-" + strconv.Itoa(1_000_000+i))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, u := range ids {
		if _, err := l.OpenUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		for _, p := range partners {
			if _, err := l.LinkPartner(ctx, u, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(l)
	perUser := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / users
	t.Logf("%d bytes per user with a parent and four children", perUser)
	if perUser >= 1024 {
		t.Errorf("an idle user costs %d bytes, want under 1024", perUser)
	}
}

// TestInsertEntryClaimsAtCommit checks that an entry's ID and keys are
// claimed when its transaction commits: of two transactions in flight with
// the same ID or key the first to commit wins and the other's commit fails
// with ErrConflict, and a transaction that rolls back claims nothing.
func TestInsertEntryClaimsAtCommit(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	insert := func(id ledger.EntryID, key string) error {
		return s.Update(ctx, func(tx ledger.Tx) error {
			return tx.InsertEntry(ctx, &ledger.Entry{ID: id, Kind: ledger.KindTransfer}, []string{key})
		})
	}
	for _, c := range []struct {
		name     string
		id       ledger.EntryID
		key      string
		otherID  ledger.EntryID
		otherKey string
	}{
		{"same id", "x", "k:a", "x", "k:b"},
		{"same key", "y", "k:c", "z", "k:c"},
	} {
		err := s.Update(ctx, func(tx ledger.Tx) error {
			if err := tx.InsertEntry(ctx, &ledger.Entry{ID: c.id, Kind: ledger.KindTransfer}, []string{c.key}); err != nil {
				return err
			}
			if err := insert(c.otherID, c.otherKey); err != nil {
				t.Errorf("%s: insert while the first is in flight: %v", c.name, err)
			}
			return nil
		})
		if !errors.Is(err, ledger.ErrConflict) {
			t.Errorf("%s: commit of the transaction that lost: %v, want ErrConflict", c.name, err)
		}
		err = s.View(ctx, func(tx ledger.ReadTx) error {
			id, err := tx.Key(ctx, c.otherKey)
			if err != nil {
				return err
			}
			if id != c.otherID {
				t.Errorf("%s: key %s maps to %s, want %s", c.name, c.otherKey, id, c.otherID)
			}
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	// The loser fails with ErrConflict even when its other writes fail the
	// commit's checks too: what they break may be the winner's doing (a lot
	// the winner refilled, which the loser refills again).
	l, err := ledger.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.OpenUser(ctx, "u-9"); err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx ledger.Tx) error {
		if err := tx.InsertEntry(ctx, &ledger.Entry{ID: "w", Kind: ledger.KindTransfer}, []string{"k:w"}); err != nil {
			return err
		}
		if err := insert("w2", "k:w"); err != nil {
			t.Errorf("insert while the first is in flight: %v", err)
		}
		return tx.AddLot(ctx, ledger.UserAccount("u-9"), ledger.LotID{Entry: "no-such-entry"}, 1)
	})
	if !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("commit of the transaction that lost, with a write that fails: %v, want ErrConflict", err)
	}

	rollback := errors.New("roll back")
	err = s.Update(ctx, func(tx ledger.Tx) error {
		if err := tx.InsertEntry(ctx, &ledger.Entry{ID: "r", Kind: ledger.KindTransfer}, []string{"k:r"}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if err := insert("r", "k:r"); err != nil {
		t.Fatalf("insert after a rolled-back one: %v", err)
	}
	if err := insert("r", "k:other"); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("insert of a committed entry id: %v, want ErrConflict", err)
	}
	if err := insert("other", "k:r"); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("insert under a committed key: %v, want ErrConflict", err)
	}
}

// TestConcurrentPastHeapBudget has goroutines post transfers and spends
// until the store's memory comes from mapped regions, then checks every
// invariant: the off-heap path under concurrency, which tests with small
// stores (on the heap) do not reach.
func TestConcurrentPastHeapBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("posts tens of thousands of entries")
	}
	ctx := context.Background()
	s := memstore.New()
	l, err := ledger.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 4, 6_000
	errs := make(chan error, workers)
	for w := range workers {
		u := carbon.UserID("u" + strconv.Itoa(w))
		if _, err := l.OpenUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, err := l.LinkPartner(ctx, u, "food"); err != nil {
			t.Fatal(err)
		}
		go func() {
			child := ledger.PartnerAccount(u, "food")
			for i := range perWorker {
				ps := []ledger.Posting{
					{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: -2},
					{Account: child, Asset: ledger.Points, Amount: 2},
				}
				if i%3 == 2 { // spend one back
					ps = []ledger.Posting{
						{Account: child, Asset: ledger.Points, Amount: -1},
						{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: 1},
					}
				}
				if _, err := l.Post(ctx, ledger.PostRequest{Key: string(u) + "-" + strconv.Itoa(i), Postings: ps}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if memstore.OffHeap(s) == 0 && runtime.GOOS == "linux" {
		t.Fatal("the store never left the heap: the test does not test what it says")
	}
	if err := storetest.CheckInvariants(ctx, l, s); err != nil {
		t.Fatal(err)
	}
}
