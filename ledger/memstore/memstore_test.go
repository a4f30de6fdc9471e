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

// TestInsertEntryReservesID checks that an entry ID is taken from the
// InsertEntry of a transaction still in flight, as a key is, and released
// if that transaction rolls back.
func TestInsertEntryReservesID(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	rollback := errors.New("roll back")
	insert := func(key string) error {
		return s.Update(ctx, func(tx ledger.Tx) error {
			return tx.InsertEntry(ctx, &ledger.Entry{ID: "x", Kind: ledger.KindTransfer}, []string{key})
		})
	}
	err := s.Update(ctx, func(tx ledger.Tx) error {
		if err := tx.InsertEntry(ctx, &ledger.Entry{ID: "x", Kind: ledger.KindTransfer}, []string{"k:a"}); err != nil {
			return err
		}
		if err := insert("k:b"); !errors.Is(err, ledger.ErrConflict) {
			t.Errorf("second insert of entry x while the first is in flight: %v, want ErrConflict", err)
		}
		if _, err := tx.Entry(ctx, "x"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Entry of a reserved id: %v, want ErrNotFound", err)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if err := insert("k:a"); err != nil {
		t.Fatalf("insert after the first rolled back: %v", err)
	}
	if err := insert("k:c"); !errors.Is(err, ledger.ErrConflict) {
		t.Errorf("insert of a committed entry id: %v, want ErrConflict", err)
	}
}
