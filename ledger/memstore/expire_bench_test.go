package memstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
)

// BenchmarkExpire times one whole ledger.Expire call over 100,000 users
// who each hold a lot, of whom 1% hold a lot that has expired: the cost of
// the periodic expiry job, which should follow the 1,000 accounts it
// expires rather than the 100,000 it does not. Each iteration first gives
// the 1% a fresh expired lot, untimed.
func BenchmarkExpire(b *testing.B) {
	const users, every = 100_000, 100
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	soon := map[ledger.AccountID]bool{}
	l, err := ledger.New(memstore.New(), &ledger.Options{
		Clock: carbon.NewTestClock(base),
		// The 1% get lots that expire within the hour, the rest next year.
		Expiry: func(_ ledger.Asset, id ledger.AccountID, eff time.Time) time.Time {
			if soon[id] {
				return eff.Add(time.Hour)
			}
			return eff.AddDate(1, 0, 0)
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	var expiring []ledger.AccountID
	earn := func(id ledger.AccountID, key string) {
		_, err := l.Post(ctx, ledger.PostRequest{Key: key, Postings: []ledger.Posting{
			{Account: ledger.IssuanceAccount("a"), Asset: ledger.Points, Amount: -10},
			{Account: id, Asset: ledger.Points, Amount: 10},
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	for i := range users {
		u := carbon.UserID("u-" + strconv.Itoa(1_000_000+i))
		if _, err := l.OpenUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		acc, err := l.LinkPartner(ctx, u, "a")
		if err != nil {
			b.Fatal(err)
		}
		id := acc.ID
		if i%every == 0 {
			soon[id] = true
			expiring = append(expiring, id)
		}
		earn(id, "e-"+string(u))
	}
	asOf := base.Add(2 * time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		if n > 0 {
			b.StopTimer()
			for j, id := range expiring {
				earn(id, "r"+strconv.Itoa(n)+"-"+strconv.Itoa(j))
			}
			b.StartTimer()
		}
		out, err := l.Expire(ctx, asOf)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) != len(expiring) {
			b.Fatalf("expired %d accounts, want %d", len(out), len(expiring))
		}
	}
}
