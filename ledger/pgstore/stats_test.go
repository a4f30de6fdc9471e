package pgstore

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

func TestMarkAfter(t *testing.T) {
	for _, c := range []struct{ ord, want int64 }{
		{0, analyzeFirst}, {1, analyzeFirst}, {analyzeFirst - 1, analyzeFirst},
		{analyzeFirst, 2 * analyzeFirst}, {3000, 4096},
		{analyzeLast - 1, analyzeLast}, {analyzeLast, -1}, {1 << 40, -1},
	} {
		if got := markAfter(c.ord); got != c.want {
			t.Errorf("markAfter(%d) = %d, want %d", c.ord, got, c.want)
		}
	}
}

// TestKeyLookupsUseTheIndexAsTheLedgerGrows: statistics taken while the
// ledger is young (autovacuum visits a table once it has 50 new rows) make
// the cached key lookup, which every Update runs, read the whole table;
// once the ledger has grown, the statistics the Store refreshes make it
// use the index again, on every connection, long before autovacuum would
// have looked again.
func TestKeyLookupsUseTheIndexAsTheLedgerGrows(t *testing.T) {
	ctx := context.Background()
	s, pool, _ := newStore(t, nil)
	l, err := ledger.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	const writers = 8
	shop := ledger.MerchantAccount("shop")
	if _, err := l.OpenAccount(ctx, shop, ledger.BalancePolicy{}); err != nil {
		t.Fatal(err)
	}
	post := func(prefix string, n int) {
		var wg sync.WaitGroup
		for w := range writers {
			u := carbon.UserID("u-" + strconv.Itoa(w))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j, i := 0, w; i < n; j, i = j+1, i+writers {
					// Earns, and spends of one point each, which look
					// their key up with the locks.
					from, to := ledger.IssuanceAccount("p"), ledger.PartnerAccount(u, "p")
					if j%2 == 1 {
						from, to = to, shop
					}
					req := ledger.PostRequest{Key: prefix + strconv.Itoa(i), Postings: []ledger.Posting{
						{Account: from, Asset: ledger.Points, Amount: -1},
						{Account: to, Asset: ledger.Points, Amount: 1}}}
					if _, err := l.Post(ctx, req); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	for w := range writers {
		u := carbon.UserID("u-" + strconv.Itoa(w))
		if _, err := l.OpenUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, err := l.LinkPartner(ctx, u, "p"); err != nil {
			t.Fatal(err)
		}
	}
	post("young-", 100)
	for _, table := range analyzeTables {
		if _, err := pool.Exec(ctx, "ANALYZE "+table); err != nil {
			t.Fatal(err)
		}
	}
	// Each connection plans its lookups for the young table.
	post("planned-", 100)
	// Past two marks (1,024 and 2,048), so that the last refresh saw a
	// table of some size.
	post("grow-", 3*analyzeFirst)
	for deadline := time.Now().Add(time.Minute); s.seal.stats.runs.Load() < 2 || s.seal.stats.running.Load(); {
		if time.Now().After(deadline) {
			t.Fatalf("%d statistics refreshes after %d entries, want 2", s.seal.stats.runs.Load(), 3*analyzeFirst)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Run the lookups again: a statement replans at its next execution.
	post("after-", 4*writers)

	conns := pool.AcquireAllIdle(ctx)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	checked := 0
	for _, c := range conns {
		var name string
		err := c.QueryRow(ctx, `SELECT name FROM pg_prepared_statements WHERE statement = $1`, sqlKeys).Scan(&name)
		if err != nil {
			continue // a connection that ran no lookup
		}
		rows, err := c.Query(ctx, `EXPLAIN (COSTS OFF) EXECUTE `+name+`('{"k-1","k-2"}')`)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan") || !strings.Contains(text, "Index") {
			t.Errorf("after %d entries the key lookup reads the whole table:\n%s", 3*analyzeFirst, text)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no connection had prepared the key lookup")
	}
}
