package memstore_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/cputime"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
)

func benchLedger(b *testing.B) *ledger.Ledger {
	b.Helper()
	l, _ := benchStore(b)
	return l
}

func benchStore(b *testing.B) (*ledger.Ledger, *memstore.Store) {
	b.Helper()
	s := memstore.New()
	l, err := ledger.New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	return l, s
}

// memUse returns the bytes of live heap objects after a collection, plus
// those s holds outside the heap.
func memUse(s *memstore.Store) int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc) + int64(memstore.OffHeap(s))
}

// openShop opens the merchant account "shop", and user u unless u is
// empty, and returns the shop's account.
func openShop(b *testing.B, l *ledger.Ledger, u carbon.UserID) ledger.AccountID {
	b.Helper()
	ctx := context.Background()
	shop := ledger.MerchantAccount("shop")
	if _, err := l.OpenAccount(ctx, shop, ledger.BalancePolicy{}); err != nil {
		b.Fatal(err)
	}
	if u != "" {
		if _, err := l.OpenUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	return shop
}

// fund opens user u with partners a and b, each holding n points.
func fund(b *testing.B, l *ledger.Ledger, u carbon.UserID, n int64) (ledger.AccountID, ledger.AccountID) {
	b.Helper()
	ctx := context.Background()
	if _, err := l.OpenUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	for _, p := range []carbon.PartnerID{"a", "b"} {
		if _, err := l.LinkPartner(ctx, u, p); err != nil {
			b.Fatal(err)
		}
		_, err := l.Post(ctx, ledger.PostRequest{Key: "fund-" + string(u) + "-" + string(p), Postings: []ledger.Posting{
			{Account: ledger.IssuanceAccount(p), Asset: ledger.Points, Amount: -n},
			{Account: ledger.PartnerAccount(u, p), Asset: ledger.Points, Amount: n},
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ledger.PartnerAccount(u, "a"), ledger.PartnerAccount(u, "b")
}

// BenchmarkPost posts one-posting transfers (a debit and a credit) between
// existing accounts, each with its own idempotency key, the hash chain on:
// the full path of a write (validation, fingerprint, locks, balance check,
// lot consumption, lot creation, sealing).
//
//   - UserToUser: between two children of one user, alternating direction;
//     both accounts locked, a lot consumed and a lot created per post.
//   - UserToMerchant: a spend in a partner's mall; one lot consumed, the
//     merchant credited without a lock.
//   - IssuanceToUser: an earn; the issuance account is never locked.
func BenchmarkPost(b *testing.B) {
	b.Run("UserToUser", func(b *testing.B) {
		l := benchLedger(b)
		x, y := fund(b, l, "u", 1<<40)
		benchPosts(b, l, [2][]ledger.Posting{
			{{Account: x, Asset: ledger.Points, Amount: -1}, {Account: y, Asset: ledger.Points, Amount: 1}},
			{{Account: y, Asset: ledger.Points, Amount: -1}, {Account: x, Asset: ledger.Points, Amount: 1}},
		})
	})
	b.Run("UserToMerchant", func(b *testing.B) {
		l := benchLedger(b)
		x, _ := fund(b, l, "u", 1<<40)
		shop := openShop(b, l, "")
		ps := []ledger.Posting{{Account: x, Asset: ledger.Points, Amount: -1}, {Account: shop, Asset: ledger.Points, Amount: 1}}
		benchPosts(b, l, [2][]ledger.Posting{ps, ps})
	})
	b.Run("IssuanceToUser", func(b *testing.B) {
		l := benchLedger(b)
		x, _ := fund(b, l, "u", 1)
		ps := []ledger.Posting{{Account: ledger.IssuanceAccount("a"), Asset: ledger.Points, Amount: -1}, {Account: x, Asset: ledger.Points, Amount: 1}}
		benchPosts(b, l, [2][]ledger.Posting{ps, ps})
	})
}

func benchPosts(b *testing.B, l *ledger.Ledger, ps [2][]ledger.Posting) {
	ctx := context.Background()
	timed(b, 'p', func(i int, key []byte) error {
		_, err := l.Post(ctx, ledger.PostRequest{Key: string(key), Postings: ps[i&1]})
		return err
	})
}

// timed runs op b.N times, the i-th with a key of its own (prefix, then
// i), and reports allocations and CPU time per op.
func timed(b *testing.B, prefix byte, op func(i int, key []byte) error) {
	key := make([]byte, 0, 32)
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		key = strconv.AppendInt(append(key[:0], prefix), int64(i), 10)
		if err := op(i, key); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// postHistory posts n entries of postings ps(i) under keys of their own.
func postHistory(b *testing.B, l *ledger.Ledger, n int, ps func(i int) []ledger.Posting) {
	b.Helper()
	for i := range n {
		if _, err := l.Post(context.Background(), ledger.PostRequest{Key: "earn-" + strconv.Itoa(i), Postings: ps(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCPU reports the process CPU time per operation since start as
// cpu-ns/op. On a machine shared with other work ns/op is wall time, which
// includes waiting for a core; CPU time is what the operations cost, the
// collector's work on other threads included.
func reportCPU(b *testing.B, start time.Duration) {
	b.Helper()
	if start > 0 && b.N > 0 {
		b.ReportMetric(float64(cputime.Process()-start)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkPostParallel runs BenchmarkPost's transfer in every goroutine,
// each over its own user.
func BenchmarkPostParallel(b *testing.B) {
	l := benchLedger(b)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	b.RunParallel(func(pb *testing.PB) {
		g := next.Add(1)
		u := carbon.UserID("u" + strconv.FormatInt(g, 10))
		x, y := fund(b, l, u, 1<<40)
		transfers(b, l, u, x, y, pb)
	})
	reportCPU(b, cpu)
}

// transfers moves a point between user u's accounts x and y and back, for
// as long as pb says.
func transfers(b *testing.B, l *ledger.Ledger, u carbon.UserID, x, y ledger.AccountID, pb *testing.PB) {
	ctx := context.Background()
	ps := [2][]ledger.Posting{
		{{Account: x, Asset: ledger.Points, Amount: -1}, {Account: y, Asset: ledger.Points, Amount: 1}},
		{{Account: y, Asset: ledger.Points, Amount: -1}, {Account: x, Asset: ledger.Points, Amount: 1}},
	}
	key := make([]byte, 0, 32)
	for i := 0; pb.Next(); i++ {
		key = strconv.AppendInt(append(append(key[:0], u...), '-'), int64(i), 10)
		if _, err := l.Post(ctx, ledger.PostRequest{Key: string(key), Postings: ps[i&1]}); err != nil {
			b.Error(err)
			return
		}
	}
}

// BenchmarkPostWhileReading is BenchmarkPostParallel with a reader beside
// each writer, reading a balance and an account (what an app shows a user)
// as fast as it can: ns/op is per post. Reads that excluded every commit
// (a View) would hold writers back.
func BenchmarkPostWhileReading(b *testing.B) {
	l := benchLedger(b)
	ctx := context.Background()
	var next atomic.Int64
	var reads atomic.Int64
	done := make(chan struct{})
	var readers sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := next.Add(1)
		u := carbon.UserID("u" + strconv.FormatInt(g, 10))
		x, y := fund(b, l, u, 1<<40)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := l.Balance(ctx, y, ledger.Points); err != nil {
					b.Error(err)
					return
				}
				if _, err := l.Account(ctx, x); err != nil {
					b.Error(err)
					return
				}
				reads.Add(1)
			}
		}()
		transfers(b, l, u, x, y, pb)
	})
	b.StopTimer()
	close(done)
	readers.Wait()
	b.ReportMetric(float64(reads.Load())/b.Elapsed().Seconds(), "reads/s")
}

// BenchmarkMemoryPerUser opens b.N users with a parent and four children
// each, and reports the heap retained per user (no history).
func BenchmarkMemoryPerUser(b *testing.B) {
	l, s := benchStore(b)
	ctx := context.Background()
	partners := []carbon.PartnerID{"food", "metro", "resale", "mall"}
	users := make([]carbon.UserID, b.N)
	for i := range users {
		users[i] = carbon.UserID("u-" + strconv.Itoa(1_000_000+i))
	}
	before := memUse(s)
	b.ResetTimer()
	for _, u := range users {
		if _, err := l.OpenUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		for _, p := range partners {
			if _, err := l.LinkPartner(ctx, u, p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	after := memUse(s)
	runtime.KeepAlive(l)
	b.ReportMetric(float64(after-before)/float64(b.N), "bytes/user")
}

// BenchmarkMemoryPerEntry posts b.N earn-style entries (an issuance account
// debited, one of 1,000 users' child accounts credited: an entry, its keys
// and a lot) and reports the memory retained per entry, on the heap and off
// it. Unlike ns/op it does
// not depend on what else the machine runs.
func BenchmarkMemoryPerEntry(b *testing.B) {
	l, s := benchStore(b)
	ctx := context.Background()
	accts := make([]ledger.AccountID, 1000)
	for i := range accts {
		u := carbon.UserID("u-" + strconv.Itoa(i))
		if _, err := l.OpenUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		if _, err := l.LinkPartner(ctx, u, "food"); err != nil {
			b.Fatal(err)
		}
		accts[i] = ledger.PartnerAccount(u, "food")
	}
	before := memUse(s)
	b.ResetTimer()
	key := make([]byte, 0, 32)
	for i := 0; i < b.N; i++ {
		key = strconv.AppendInt(append(key[:0], "order-"...), int64(i), 10)
		_, err := l.Post(ctx, ledger.PostRequest{Key: string(key), Postings: []ledger.Posting{
			{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: -3},
			{Account: accts[i%len(accts)], Asset: ledger.Points, Amount: 3}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	after := memUse(s)
	runtime.KeepAlive(l)
	b.ReportMetric(float64(after-before)/float64(b.N), "bytes/entry")
}

// BenchmarkSpendAfterHistory spends one point from a child account that
// has been credited history earns (each of one point and one gram of
// CO2e, as Programme.Earn credits them; lots that never expire, the
// default) and has spent all of those points but the last lot's. A spend
// reads the account's lots from the first one that is not empty, so its
// cost should not grow with the history behind it.
func BenchmarkSpendAfterHistory(b *testing.B) {
	for _, history := range []int{10, 1_000, 10_000} {
		b.Run("earns="+strconv.Itoa(history), func(b *testing.B) {
			l := benchLedger(b)
			ctx := context.Background()
			shop := openShop(b, l, "u")
			if _, err := l.LinkPartner(ctx, "u", "a"); err != nil {
				b.Fatal(err)
			}
			x, iss := ledger.PartnerAccount("u", "a"), ledger.IssuanceAccount("a")
			postHistory(b, l, history, func(i int) []ledger.Posting {
				pts := int64(1)
				if i == history-1 {
					pts = 1 << 40
				}
				return []ledger.Posting{
					{Account: iss, Asset: ledger.Points, Amount: -pts},
					{Account: x, Asset: ledger.Points, Amount: pts},
					{Account: iss, Asset: ledger.CO2e, Amount: -1000},
					{Account: x, Asset: ledger.CO2e, Amount: 1000},
				}
			})
			// Spend every one-point lot, a hundred at a time.
			for spent := 0; spent < history-1; spent += 100 {
				n := int64(min(100, history-1-spent))
				_, err := l.Post(ctx, ledger.PostRequest{Key: "drain-" + strconv.Itoa(spent), Postings: []ledger.Posting{
					{Account: x, Asset: ledger.Points, Amount: -n},
					{Account: shop, Asset: ledger.Points, Amount: n},
				}})
				if err != nil {
					b.Fatal(err)
				}
			}
			ps := []ledger.Posting{{Account: x, Asset: ledger.Points, Amount: -1}, {Account: shop, Asset: ledger.Points, Amount: 1}}
			benchPosts(b, l, [2][]ledger.Posting{ps, ps})
		})
	}
}

// BenchmarkReverseAfterHistory earns a point and a gram of CO2e into a
// child account that already holds history such unspent earns, then
// reverses that earn, which takes both back from the lots the earn made:
// finding those lots should not cost the lots in front of them, of either
// asset.
func BenchmarkReverseAfterHistory(b *testing.B) {
	for _, history := range []int{10, 10_000} {
		b.Run("earns="+strconv.Itoa(history), func(b *testing.B) {
			l := benchLedger(b)
			ctx := context.Background()
			if _, err := l.OpenUser(ctx, "u"); err != nil {
				b.Fatal(err)
			}
			if _, err := l.LinkPartner(ctx, "u", "a"); err != nil {
				b.Fatal(err)
			}
			earn := []ledger.Posting{
				{Account: ledger.IssuanceAccount("a"), Asset: ledger.Points, Amount: -1},
				{Account: ledger.PartnerAccount("u", "a"), Asset: ledger.Points, Amount: 1},
				{Account: ledger.IssuanceAccount("a"), Asset: ledger.CO2e, Amount: -1000},
				{Account: ledger.PartnerAccount("u", "a"), Asset: ledger.CO2e, Amount: 1000},
			}
			postHistory(b, l, history, func(int) []ledger.Posting { return earn })
			timed(b, 'e', func(_ int, key []byte) error {
				e, err := l.Post(ctx, ledger.PostRequest{Key: string(key), Postings: earn})
				if err != nil {
					return err
				}
				key[0] = 'r'
				_, err = l.Reverse(ctx, ledger.ReverseRequest{Key: string(key), Entry: e.ID})
				return err
			})
		})
	}
}

// BenchmarkSpendAtParent spends one point at the parent of a user whose
// four children hold history unspent earns between them: a spend should
// read the lots it takes, not every lot the user holds.
func BenchmarkSpendAtParent(b *testing.B) {
	for _, history := range []int{16, 12_000} {
		b.Run("earns="+strconv.Itoa(history), func(b *testing.B) {
			l := benchLedger(b)
			ctx := context.Background()
			shop := openShop(b, l, "u")
			partners := []carbon.PartnerID{"a", "b", "c", "d"}
			for _, p := range partners {
				if _, err := l.LinkPartner(ctx, "u", p); err != nil {
					b.Fatal(err)
				}
			}
			postHistory(b, l, history, func(i int) []ledger.Posting {
				p := partners[i%len(partners)]
				return []ledger.Posting{
					{Account: ledger.IssuanceAccount(p), Asset: ledger.Points, Amount: -1 << 30},
					{Account: ledger.PartnerAccount("u", p), Asset: ledger.Points, Amount: 1 << 30},
				}
			})
			timed(b, 's', func(_ int, key []byte) error {
				_, err := l.Spend(ctx, ledger.Spend{Key: string(key), User: "u", Asset: ledger.Points, Amount: 1, To: shop})
				return err
			})
		})
	}
}
