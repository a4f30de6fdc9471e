package memstore_test

import (
	"context"
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
