package pgstore

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// BenchmarkEarn measures earn-style entries (an issuance account debited,
// a user's child account credited: one lock, one lot, two balance deltas,
// one entry) per second against the server, with 1 and 8 concurrent
// writers, each its own user. With 8 writers, all earn either from ONE
// issuance account (the hot account every writer updates) or from 8
// distinct ones: the first figure staying close to the second shows that
// the hot account does not serialize writers. Run with
//
//	go test -run '^$' -bench '^BenchmarkEarn$' -benchtime 20000x
func BenchmarkEarn(b *testing.B) {
	for _, bc := range []struct {
		name     string
		writers  int
		distinct bool
	}{
		{"writers=1", 1, false},
		{"writers=8/issuance=one", 8, false},
		{"writers=8/issuance=distinct", 8, true},
	} {
		b.Run(bc.name, func(b *testing.B) { benchEarn(b, bc.writers, bc.distinct) })
	}
}

func benchEarn(b *testing.B, writers int, distinct bool) {
	ctx := context.Background()
	l := benchLedger(b, writers)
	type writer struct {
		iss, acct ledger.AccountID
	}
	ws := make([]writer, writers)
	for i := range ws {
		u := carbon.UserID("w-" + strconv.Itoa(i))
		p := carbon.PartnerID("hot")
		if distinct {
			p = carbon.PartnerID("p-" + strconv.Itoa(i))
		}
		if _, err := l.OpenUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		if _, err := l.LinkPartner(ctx, u, p); err != nil {
			b.Fatal(err)
		}
		ws[i] = writer{iss: ledger.IssuanceAccount(p), acct: ledger.PartnerAccount(u, p)}
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := ws[i]
			for {
				k := n.Add(1)
				if k > int64(b.N) {
					return
				}
				_, err := l.Post(ctx, ledger.PostRequest{Key: "earn-" + strconv.FormatInt(k, 10), Postings: []ledger.Posting{
					{Account: w.iss, Asset: ledger.Points, Amount: -3},
					{Account: w.acct, Asset: ledger.Points, Amount: 3}}})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// benchLedger returns a Ledger over a Store in a fresh, migrated schema,
// with a pool for writers concurrent writers and the sealer.
func benchLedger(b *testing.B, writers int) *ledger.Ledger {
	b.Helper()
	dsn, schema := newSchema(b)
	s := storeOn(b, newPool(b, dsn, schema, int32(writers+4)), nil)
	if err := s.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	l, err := ledger.New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkSpendAfterHistory spends one point from a child account that
// holds earns unspent lots: a spend should fetch the lots it takes, not
// every lot the account holds.
func BenchmarkSpendAfterHistory(b *testing.B) {
	for _, earns := range []int{10, 2_000} {
		b.Run("earns="+strconv.Itoa(earns), func(b *testing.B) {
			ctx := context.Background()
			s, _, _ := newStore(b, nil)
			l, err := ledger.New(s, nil)
			if err != nil {
				b.Fatal(err)
			}
			acct, shop := ledger.PartnerAccount("u", "p"), ledger.MerchantAccount("shop")
			if _, err := l.OpenUser(ctx, "u"); err != nil {
				b.Fatal(err)
			}
			if _, err := l.LinkPartner(ctx, "u", "p"); err != nil {
				b.Fatal(err)
			}
			if _, err := l.OpenAccount(ctx, shop, ledger.BalancePolicy{}); err != nil {
				b.Fatal(err)
			}
			for i := range earns {
				_, err := l.Post(ctx, ledger.PostRequest{Key: "earn-" + strconv.Itoa(i), Postings: []ledger.Posting{
					{Account: ledger.IssuanceAccount("p"), Asset: ledger.Points, Amount: -1 << 20},
					{Account: acct, Asset: ledger.Points, Amount: 1 << 20}}})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_, err := l.Spend(ctx, ledger.Spend{Key: "spend-" + strconv.Itoa(i), User: "u", Partner: "p", Asset: ledger.Points, Amount: 1, To: shop})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
