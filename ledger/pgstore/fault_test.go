package pgstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/storetest"
)

// TestCancelledMembers ends transactions' contexts at random points while
// their statements are queued, sent or being answered in a shared batch,
// as a host's request timeouts do. A statement a member abandons while its
// batch runs it stays the batch's: before, the member's next request was
// written over it, which crashed the driving goroutine (a nil scan, empty
// SQL) or left it waiting for ever on a signal, with every connection of
// the pool idle in a transaction. Afterwards the Store must still commit.
func TestCancelledMembers(t *testing.T) {
	s, _, _ := newStore(t, &Options{SealInterval: -1})
	ctx := context.Background()
	acct := ledger.Account{ID: "user u-1"}
	if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.CreateAccount(ctx, acct) }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 200 {
				cctx, cancel := context.WithTimeout(ctx, time.Duration(r.IntN(1500))*time.Microsecond)
				_ = s.Update(cctx, func(tx ledger.Tx) error {
					for range 3 {
						if _, err := tx.Balance(cctx, acct.ID, ledger.Points); err != nil {
							return err
						}
					}
					return nil
				})
				cancel()
			}
		}()
	}
	wg.Wait()
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := s.Update(cctx, func(tx ledger.Tx) error {
		if err := tx.Lock(cctx, []ledger.AccountID{acct.ID}); err != nil {
			return err
		}
		return tx.AddBalance(cctx, acct.ID, ledger.Points, 1, 0)
	})
	if err != nil {
		t.Fatalf("a commit after the cancellations: %v", err)
	}
}

// TestCorruptEntryIsAnError reads the feed and a history after an entry's
// stored body was damaged: each read reports a store error, and none
// returns a nil entry (which the Ledger's Changes dereferenced, panicking).
// A damaged feed row is reported as such.
func TestCorruptEntryIsAnError(t *testing.T) {
	ctx := context.Background()
	s, pool, _ := newStore(t, &Options{SealInterval: -1})
	l, err := ledger.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	linkFood(t, l)
	e, err := l.Post(ctx, earnReq("e1", 10))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	var body []byte
	if err := pool.QueryRow(ctx, `SELECT body FROM ledger_entries WHERE id = $1`, string(e.ID)).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE ledger_entries SET body = '\x01ff'`); err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx ledger.ReadTx) error {
		es, err := tx.Changes(ctx, 0, 10)
		if err == nil || len(es) != 0 {
			t.Errorf("Changes over a corrupt entry: %d entries, %v; want none and an error", len(es), err)
		}
		hs, _, err := tx.History(ctx, ledger.PartnerAccount("u-1", "food"), "", 10)
		if err == nil || len(hs) != 0 {
			t.Errorf("History over a corrupt entry: %d entries, %v; want none and an error", len(hs), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Changes(ctx, 0, 10); !errors.Is(err, ledger.ErrStore) {
		t.Errorf("Ledger.Changes over a corrupt entry: %v; want ErrStore", err)
	}

	// A malformed feed row is named as such, not as the body.
	if _, err := pool.Exec(ctx, `UPDATE ledger_entries SET body = $1`, body); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE ledger_feed SET hash = '\x00'`); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Entry(ctx, e.ID); !errors.Is(err, errCorruptSeal) {
		t.Errorf("Entry with a 1-byte hash in its feed row: %v; want errCorruptSeal", err)
	}
}

// killer wraps a Store and, when armed, terminates the server process of
// the connection running the next transaction (pg_terminate_backend) at a
// chosen point: just after the operation locked its accounts (in the middle
// of it, with reads still to come), or after its last write call, just
// before the COMMIT is sent with the buffered writes.
type killer struct {
	*Store
	t     *testing.T
	armed killPoint
}

type killPoint int

const (
	noKill killPoint = iota
	killAfterLock
	killBeforeCommit
)

func (k *killer) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	at := k.armed
	k.armed = noKill
	if at == noKill {
		return k.Store.Update(ctx, fn)
	}
	return k.Store.Update(ctx, func(tx ledger.Tx) error {
		return fn(&killTx{Tx: tx, k: k, at: at})
	})
}

type killTx struct {
	ledger.Tx
	k  *killer
	at killPoint
}

func (t *killTx) kill(ctx context.Context) {
	t.k.t.Helper()
	pid := t.Tx.(*txn).conn.Conn().PgConn().PID()
	var ok bool
	// The role may signal its own sessions; wait for the process to exit.
	if err := admin.QueryRow(ctx, `SELECT pg_terminate_backend($1, 5000)`, int32(pid)).Scan(&ok); err != nil || !ok {
		t.k.t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, ok, err)
	}
}

func (t *killTx) Lock(ctx context.Context, ids []ledger.AccountID) error {
	err := t.Tx.Lock(ctx, ids)
	if err == nil && t.at == killAfterLock {
		t.kill(ctx)
	}
	return err
}

func (t *killTx) InsertEntry(ctx context.Context, e *ledger.Entry, keys []string) error {
	err := t.Tx.InsertEntry(ctx, e, keys)
	if err == nil && t.at == killBeforeCommit {
		t.kill(ctx)
	}
	return err
}

// TestTerminatedConnection kills the connection in the middle of each kind
// of operation and just before its commit: the failed call must change
// nothing (no entry, balance, lot or feed row), and the retry with the
// same key must succeed exactly once.
func TestTerminatedConnection(t *testing.T) {
	s, _, _ := newStore(t, nil)
	ctx := context.Background()
	k := &killer{Store: s, t: t}
	clock := carbon.NewTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l, err := ledger.New(k, &ledger.Options{Clock: clock, Expiry: ledger.ExpireAfter(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.OpenUser(ctx, "u-1"))
	must(l.LinkPartner(ctx, "u-1", "food"))
	must(l.LinkPartner(ctx, "u-1", "metro"))
	must(l.OpenAccount(ctx, "merchant shop", ledger.BalancePolicy{}))
	shop := ledger.AccountID("merchant shop")

	var spent, held ledger.EntryID
	ops := []struct {
		name string
		run  func() (ledger.Entry, error)
	}{
		{"Earn", func() (ledger.Entry, error) {
			return l.Post(ctx, ledger.PostRequest{Key: "earn-1", Postings: []ledger.Posting{
				{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: -100},
				{Account: ledger.PartnerAccount("u-1", "food"), Asset: ledger.Points, Amount: 100}}})
		}},
		{"EarnOther", func() (ledger.Entry, error) {
			return l.Post(ctx, ledger.PostRequest{Key: "earn-2", Postings: []ledger.Posting{
				{Account: ledger.IssuanceAccount("metro"), Asset: ledger.Points, Amount: -50},
				{Account: ledger.PartnerAccount("u-1", "metro"), Asset: ledger.Points, Amount: 50}}})
		}},
		{"SpendAtParent", func() (ledger.Entry, error) {
			e, err := l.Spend(ctx, ledger.Spend{Key: "spend-1", User: "u-1", Asset: ledger.Points, Amount: 120, To: shop})
			spent = e.ID
			return e, err
		}},
		{"HoldSpend", func() (ledger.Entry, error) {
			e, err := l.HoldSpend(ctx, ledger.Spend{Key: "hold-1", User: "u-1", Asset: ledger.Points, Amount: 20, To: shop,
				Deadline: clock.Now().Add(time.Hour)})
			held = e.ID
			return e, err
		}},
		{"CommitHold", func() (ledger.Entry, error) {
			return l.Commit(ctx, ledger.CommitRequest{Key: "commit-1", Hold: held, Amount: 15})
		}},
		{"Reverse", func() (ledger.Entry, error) {
			return l.Reverse(ctx, ledger.ReverseRequest{Key: "reverse-1", Entry: spent})
		}},
	}
	for _, o := range ops {
		for _, at := range []killPoint{killAfterLock, killBeforeCommit} {
			before, err := storetest.Snapshot(ctx, l, k)
			if err != nil {
				t.Fatal(err)
			}
			k.armed = at
			_, err = o.run()
			if err == nil || !errors.Is(err, ledger.ErrStore) || errors.Is(err, ledger.ErrConflict) {
				t.Fatalf("%s, killed at point %d: %v; want ledger.ErrStore, not ErrConflict", o.name, at, err)
			}
			if at == killBeforeCommit && !errors.Is(err, ErrUnknownOutcome) {
				t.Fatalf("%s, killed before commit: %v; want ErrUnknownOutcome", o.name, err)
			}
			if err := s.Seal(ctx); err != nil {
				t.Fatal(err)
			}
			if after, err := storetest.Snapshot(ctx, l, k); err != nil || after != before {
				t.Fatalf("%s, killed at point %d, changed the store (%v):\nbefore:\n%s\nafter:\n%s", o.name, at, err, before, after)
			}
		}
		seq, err := l.VerifyChain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e, err := o.run()
		if err != nil {
			t.Fatalf("%s retried: %v", o.name, err)
		}
		committed, err := storetest.Snapshot(ctx, l, k)
		if err != nil {
			t.Fatal(err)
		}
		again, err := o.run()
		if err != nil || again.ID != e.ID {
			t.Fatalf("%s replayed: %s, %v; want %s", o.name, again.ID, err, e.ID)
		}
		if after, err := storetest.Snapshot(ctx, l, k); err != nil || after != committed {
			t.Fatalf("%s: the replay changed the store (%v)", o.name, err)
		}
		feed, err := l.Changes(ctx, seq, 1000)
		if err != nil || len(feed) != 1 || feed[0].ID != e.ID {
			t.Fatalf("%s: the feed gained %d entries (%v), want exactly its entry", o.name, len(feed), err)
		}
		if err := storetest.CheckInvariants(ctx, l, k); err != nil {
			t.Fatalf("after %s: %v", o.name, err)
		}
	}
}
