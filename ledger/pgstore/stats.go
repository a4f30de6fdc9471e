package pgstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Planner statistics while the ledger is young. The server may keep one
// generic plan per prepared statement and session, chosen for the tables
// as their statistics describe them, until the statistics change.
// Autovacuum takes a table's first statistics soon after its first 50
// rows, when reading every row beats any index, and refreshes them at most
// once a minute: a key lookup planned in between scans the whole table,
// whatever it has grown to, and at thousands of entries a second every
// Update costs milliseconds more within seconds. So the Store refreshes
// them itself: each time the commit order it has seen passes a power of
// two, from analyzeFirst to analyzeLast, it runs ANALYZE on the ledger's
// tables, on a goroutine of its own (with the background sealer only).
// Past analyzeLast, tables grow by a small fraction between autovacuum's
// visits, and the plans no longer change with their size.
const (
	analyzeFirst   = 1 << 10
	analyzeLast    = 1 << 24
	analyzeTimeout = time.Minute
)

// analyzeTables are the tables whose lookups a commit depends on.
var analyzeTables = []string{
	"ledger_keys", "ledger_accounts", "ledger_balances", "ledger_lots",
	"ledger_entries", "ledger_history", "ledger_feed",
}

// statsKeeper decides when to refresh the statistics and runs the refresh.
type statsKeeper struct {
	s       *Store
	next    atomic.Int64 // the ord whose commit makes a refresh due; 0 before the first commit, -1 when none is left
	running atomic.Bool
	runs    atomic.Int64 // refreshes completed

	mu     sync.Mutex
	closed bool // no refresh starts any more
	wg     sync.WaitGroup
}

// markAfter returns the first power of two above ord from analyzeFirst
// on, or -1 if it is past analyzeLast.
func markAfter(ord int64) int64 {
	n := int64(analyzeFirst)
	for n <= ord && n <= analyzeLast {
		n <<= 1
	}
	if n > analyzeLast {
		return -1
	}
	return n
}

// note records that ord committed, and starts a refresh on ctx if one is
// due and none is running. The first commit a Store sees only sets the
// first mark past it: a process that starts on a grown ledger refreshes
// once the ledger has grown again.
func (k *statsKeeper) note(ctx context.Context, ord int64) {
	next := k.next.Load()
	switch {
	case next == 0:
		k.next.CompareAndSwap(0, markAfter(ord))
		return
	case next < 0 || ord < next || !k.running.CompareAndSwap(false, true):
		return
	}
	k.next.Store(markAfter(ord))
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		k.running.Store(false)
		return
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		defer k.running.Store(false)
		k.analyze(ctx)
	}()
}

// analyze runs ANALYZE on each table. A failure (no privilege, a lock
// held too long, an engine without it) costs only the refresh: the plans
// stay as they were until autovacuum refreshes them.
func (k *statsKeeper) analyze(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, analyzeTimeout)
	defer cancel()
	for _, t := range analyzeTables {
		if _, err := k.s.pool.Exec(ctx, "ANALYZE "+t); err != nil && ctx.Err() != nil {
			return
		}
	}
	k.runs.Add(1)
}

// close stops refreshes from starting and waits for the one running, if
// any (its context is to be cancelled first).
func (k *statsKeeper) close() {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.wg.Wait()
}
