package storetest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
)

// ErrInjected is the error a Faulty store returns for an injected fault.
var ErrInjected = errors.New("storetest: injected fault")

// Fault is a kind of failure a Faulty store injects into one transaction.
type Fault uint8

// The faults.
const (
	// NoFault lets the transaction run as it would.
	NoFault Fault = iota
	// FailWrite makes the Nth write call of the transaction (Lock, LockKey,
	// LockKeyDeferred, CreateAccount, UpdateAccount, AddBalance, InsertLot,
	// AddLot, InsertEntry; N from Faulty.Inject) fail with ErrInjected: a
	// store failing in the middle of an operation.
	FailWrite
	// FailCommit runs the transaction's function, then discards its writes
	// and returns ErrInjected: a commit that fails.
	FailCommit
	// LoseReply commits the transaction and then returns ErrInjected: a
	// commit that succeeded but whose reply was lost.
	LoseReply
)

// Faulty wraps a Store and injects faults into chosen transactions. It is
// safe for concurrent use; a fault armed with Inject applies to the next
// Update to start.
type Faulty struct {
	store ledger.Store
	mu    sync.Mutex
	fault Fault
	nth   int
}

// NewFaulty returns a Faulty store over s, injecting nothing until told.
func NewFaulty(s ledger.Store) *Faulty { return &Faulty{store: s} }

// Inject arms fault for the next Update; n is the write call to fail, from
// 1, for FailWrite.
func (f *Faulty) Inject(fault Fault, n int) {
	f.mu.Lock()
	f.fault, f.nth = fault, n
	f.mu.Unlock()
}

func (f *Faulty) take() (Fault, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fault, n := f.fault, f.nth
	f.fault, f.nth = NoFault, 0
	return fault, n
}

// Update implements ledger.Store, injecting the armed fault.
func (f *Faulty) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	fault, n := f.take()
	switch fault {
	case FailWrite:
		return f.store.Update(ctx, func(tx ledger.Tx) error {
			ft := &faultyTx{Tx: tx, left: n}
			return fn(withKeyLocker(ft, tx, ft.lockKey, ft.lockKeyDeferred))
		})
	case FailCommit:
		err := f.store.Update(ctx, func(tx ledger.Tx) error {
			if err := fn(tx); err != nil {
				return err
			}
			return ErrInjected
		})
		return err
	case LoseReply:
		if err := f.store.Update(ctx, fn); err != nil {
			return err
		}
		return ErrInjected
	}
	return f.store.Update(ctx, fn)
}

// View implements ledger.Store.
func (f *Faulty) View(ctx context.Context, fn func(ledger.ReadTx) error) error {
	return f.store.View(ctx, fn)
}

// faultyTx fails its left-th write call.
type faultyTx struct {
	ledger.Tx
	left int
}

func (t *faultyTx) fail() error {
	t.left--
	if t.left == 0 {
		return ErrInjected
	}
	return nil
}

func (t *faultyTx) Lock(ctx context.Context, ids []ledger.AccountID) error {
	if err := t.fail(); err != nil {
		return err
	}
	return t.Tx.Lock(ctx, ids)
}

// lockKey is LockKey, one write call, for a KeyLocker inner Tx.
func (t *faultyTx) lockKey(ctx context.Context, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
	if err := t.fail(); err != nil {
		return "", err
	}
	return t.Tx.(ledger.KeyLocker).LockKey(ctx, ids, key)
}

// lockKeyDeferred is LockKeyDeferred, one write call, for a KeyDeferrer
// inner Tx.
func (t *faultyTx) lockKeyDeferred(ctx context.Context, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
	if err := t.fail(); err != nil {
		return "", err
	}
	return t.Tx.(ledger.KeyDeferrer).LockKeyDeferred(ctx, ids, key)
}

func (t *faultyTx) CreateAccount(ctx context.Context, a ledger.Account) error {
	if err := t.fail(); err != nil {
		return err
	}
	return t.Tx.CreateAccount(ctx, a)
}

func (t *faultyTx) UpdateAccount(ctx context.Context, a ledger.Account) error {
	if err := t.fail(); err != nil {
		return err
	}
	return t.Tx.UpdateAccount(ctx, a)
}

func (t *faultyTx) AddBalance(ctx context.Context, id ledger.AccountID, asset ledger.Asset, posted, held int64) error {
	if err := t.fail(); err != nil {
		return err
	}
	return t.Tx.AddBalance(ctx, id, asset, posted, held)
}

func (t *faultyTx) InsertLot(ctx context.Context, l ledger.Lot) error {
	if err := t.fail(); err != nil {
		return err
	}
	return t.Tx.InsertLot(ctx, l)
}

func (t *faultyTx) AddLot(ctx context.Context, account ledger.AccountID, id ledger.LotID, d int64) error {
	if err := t.fail(); err != nil {
		return err
	}
	return t.Tx.AddLot(ctx, account, id, d)
}

func (t *faultyTx) InsertEntry(ctx context.Context, e *ledger.Entry, keys []string) error {
	if err := t.fail(); err != nil {
		return err
	}
	return t.Tx.InsertEntry(ctx, e, keys)
}

// lockRecorder records the order of lock calls, for the sorted-locking test.
type lockRecorder struct {
	ledger.Store
	mu    sync.Mutex
	calls [][]ledger.AccountID
}

func (r *lockRecorder) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	return r.Store.Update(ctx, func(tx ledger.Tx) error {
		rt := &recTx{Tx: tx, r: r}
		return fn(withKeyLocker(rt, tx, rt.lockKey, rt.lockKeyDeferred))
	})
}

type recTx struct {
	ledger.Tx
	r *lockRecorder
}

func (t *recTx) Lock(ctx context.Context, ids []ledger.AccountID) error {
	t.record(ids)
	return t.Tx.Lock(ctx, ids)
}

func (t *recTx) lockKey(ctx context.Context, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
	t.record(ids)
	return t.Tx.(ledger.KeyLocker).LockKey(ctx, ids, key)
}

func (t *recTx) lockKeyDeferred(ctx context.Context, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
	t.record(ids)
	return t.Tx.(ledger.KeyDeferrer).LockKeyDeferred(ctx, ids, key)
}

func (t *recTx) record(ids []ledger.AccountID) {
	t.r.mu.Lock()
	t.r.calls = append(t.r.calls, append([]ledger.AccountID(nil), ids...))
	t.r.mu.Unlock()
}

// deadline bounds a test that could deadlock.
const deadline = 20 * time.Second
