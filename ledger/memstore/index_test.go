package memstore

import (
	"cmp"
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/storetest"
)

// expiringScan is the Expiring that scans every account, kept as the
// reference the index must agree with.
func (s *Store) expiringScan(asOf time.Time, after ledger.AccountID, limit int) []ledger.AccountID {
	s.accMu.RLock()
	all := make([]*account, 0, len(s.accounts))
	for id, a := range s.accounts {
		if id > after && id.IsUser() {
			all = append(all, a)
		}
	}
	s.accMu.RUnlock()
	var out []ledger.AccountID
	for _, a := range all {
		a.mu.Lock()
		if a.d != nil && a.d.expiring(asOf) {
			out = append(out, a.meta.ID)
		}
		a.mu.Unlock()
	}
	slices.Sort(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// pendingScan is the PendingHolds that scans every pending hold, with the
// pending set rebuilt from the feed as commits used to keep it.
func (c *checked) pendingScan(asOf time.Time, after ledger.EntryID, limit int) []*ledger.Entry {
	pending := map[ledger.EntryID]*ledger.Entry{}
	for _, e := range c.feed {
		switch {
		case e.Kind == ledger.KindHold && !e.Deadline.IsZero():
			pending[e.ID] = e
		case e.Kind == ledger.KindCommit || e.Kind == ledger.KindVoid:
			delete(pending, e.Ref)
		}
	}
	var out []*ledger.Entry
	for id, h := range pending {
		if id > after && !h.Deadline.After(asOf) {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b *ledger.Entry) int { return cmp.Compare(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// checked is a Store that, after every Update, compares Expiring and
// PendingHolds with the scans for a spread of as-of times, cursors and
// limits.
type checked struct {
	*Store
	t         *testing.T
	rng       *rand.Rand
	hits      int // non-empty answers compared, so the test cannot pass vacuously
	pageLimit []int
	feed      []*ledger.Entry // the store's feed, decoded, as of the last check
}

func (c *checked) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	err := c.Store.Update(ctx, fn)
	c.check()
	return err
}

func (c *checked) check() {
	c.t.Helper()
	s := c.Store
	err := s.View(context.Background(), func(tx ledger.ReadTx) error {
		// The times that matter: every lot expiry and hold deadline, and
		// the instants either side.
		var times []time.Time
		var ids []ledger.AccountID
		s.accMu.RLock()
		for id, a := range s.accounts {
			ids = append(ids, id)
			if a.d != nil {
				for _, ll := range a.d.lots {
					for _, l := range slices.Concat(ll.live(), ll.spent) {
						if !l.never() {
							times = append(times, l.expires())
						}
					}
				}
			}
		}
		s.accMu.RUnlock()
		var holds []ledger.EntryID
		s.idx.Lock()
		for seq := uint64(len(c.feed)) + 1; seq <= uint64(s.feed.len()); seq++ {
			e, err := s.entry(seq)
			if err != nil {
				s.idx.Unlock()
				return err
			}
			c.feed = append(c.feed, e)
		}
		s.idx.Unlock()
		for _, e := range c.feed {
			if e.Kind == ledger.KindHold {
				holds = append(holds, e.ID)
				if !e.Deadline.IsZero() {
					times = append(times, e.Deadline)
				}
			}
		}
		slices.Sort(ids)
		asOfs := []time.Time{time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
		for range 3 {
			if len(times) > 0 {
				x := times[c.rng.IntN(len(times))]
				asOfs = append(asOfs, x, x.Add(-time.Nanosecond), x.Add(time.Nanosecond))
			}
		}
		for _, asOf := range asOfs {
			full := s.expiringScan(asOf, "", 1<<30)
			afters := []ledger.AccountID{""}
			if len(full) > 0 {
				x := full[c.rng.IntN(len(full))]
				afters = append(afters, x, x+"\x00")
			}
			if len(ids) > 0 {
				afters = append(afters, ids[c.rng.IntN(len(ids))])
			}
			for _, after := range afters {
				for _, limit := range c.pageLimit {
					want := s.expiringScan(asOf, after, limit)
					got, err := tx.Expiring(context.Background(), asOf, after, limit)
					if err != nil {
						return err
					}
					if !slices.Equal(got, want) {
						c.t.Fatalf("Expiring(%v, %q, %d) = %q, the scan gives %q", asOf, after, limit, got, want)
					}
					if len(want) > 0 {
						c.hits++
					}
				}
			}
			hafters := []ledger.EntryID{""}
			if len(holds) > 0 {
				hafters = append(hafters, holds[c.rng.IntN(len(holds))])
			}
			for _, after := range hafters {
				for _, limit := range c.pageLimit {
					want := c.pendingScan(asOf, after, limit)
					got, err := tx.PendingHolds(context.Background(), asOf, after, limit)
					if err != nil {
						return err
					}
					if !slices.EqualFunc(got, want, func(a, b *ledger.Entry) bool { return a.ID == b.ID && a.Deadline.Equal(b.Deadline) }) {
						c.t.Fatalf("PendingHolds(%v, %q, %d) = %d holds, the scan gives %d", asOf, after, limit, len(got), len(want))
					}
					if len(want) > 0 {
						c.hits++
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
}

// TestIndexMatchesScan runs the storetest simulation (users, earns with
// expiring lots, spends, holds with deadlines, commits, voids, reversals,
// Expire, ExpireHolds, failed commits) and, after every transaction,
// compares the indexed Expiring and PendingHolds with the scans they
// replace.
func TestIndexMatchesScan(t *testing.T) {
	ops := 600
	if testing.Short() {
		ops = 300
	}
	for seed := uint64(1); seed <= 3; seed++ {
		c := &checked{Store: New(), t: t, rng: rand.New(rand.NewPCG(seed, 7)), pageLimit: []int{0, 1, 2, 5, 128}}
		storetest.Simulate(t, func(*testing.T) ledger.Store { return c }, storetest.SimOptions{Seed: seed, Ops: ops})
		if c.hits == 0 {
			t.Errorf("seed %d: no non-empty answer compared", seed)
		}
		t.Logf("seed %d: %d non-empty answers compared", seed, c.hits)
	}
}

// TestTreap checks the treap against a sorted slice under random inserts,
// removals and queries.
func TestTreap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tr treap[int, int]
	model := map[int]time.Time{}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 20_000 {
		id := rng.IntN(500)
		if _, ok := model[id]; ok && rng.IntN(2) == 0 {
			tr.remove(id)
			delete(model, id)
		} else {
			tr.remove(id)
			k := base.Add(time.Duration(rng.IntN(100)) * time.Minute)
			tr.insert(&tnode[int, int]{id: id, v: id, key: k})
			model[id] = k
		}
		if tr.n != len(model) {
			t.Fatalf("op %d: %d nodes, want %d", i, tr.n, len(model))
		}
		after := rng.IntN(520) - 10
		asOf := base.Add(time.Duration(rng.IntN(110)-5) * time.Minute)
		limit := rng.IntN(40)
		var want []int
		for id, k := range model {
			if id > after && !k.After(asOf) {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		want = want[:min(limit, len(want))]
		if got := tr.collect(after, asOf, limit, nil); !slices.Equal(got, want) {
			t.Fatalf("op %d: collect(%d, %v, %d) = %v, want %v", i, after, asOf, limit, got, want)
		}
	}
}
