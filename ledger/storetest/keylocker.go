package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
)

// KeyLocking wraps s so that its transactions implement ledger.KeyLocker
// by calling Lock and then Key: the Ledger then takes the path it takes
// over a store that looks keys up with its locks, and a suite run over
// KeyLocking(s) tests that path on any store.
func KeyLocking(s ledger.Store) ledger.Store { return keyLocking{s} }

type keyLocking struct{ ledger.Store }

func (s keyLocking) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	return s.Store.Update(ctx, func(tx ledger.Tx) error { return fn(keyLockingTx{tx}) })
}

type keyLockingTx struct{ ledger.Tx }

func (t keyLockingTx) LockKey(ctx context.Context, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
	if err := t.Lock(ctx, ids); err != nil {
		return "", err
	}
	id, err := t.Key(ctx, key)
	if errors.Is(err, ledger.ErrNotFound) {
		return "", nil
	}
	return id, err
}

// keyFunc is the signature of LockKey and LockKeyDeferred.
type keyFunc = func(context.Context, []ledger.AccountID, string) (ledger.EntryID, error)

// withKeyLocker returns w, a wrapper of inner, as a ledger.KeyLocker too
// when inner is one, lockKey being w's LockKey; and as a
// ledger.KeyDeferrer when inner is one, lockKeyDeferred being w's
// LockKeyDeferred. A wrapper so keeps the path the Ledger takes over the
// store it wraps.
func withKeyLocker(w ledger.Tx, inner ledger.Tx, lockKey, lockKeyDeferred keyFunc) ledger.Tx {
	switch inner.(type) {
	case ledger.KeyDeferrer:
		return keyDeferrerTx{keyLockerTx{w, lockKey}, lockKeyDeferred}
	case ledger.KeyLocker:
		return keyLockerTx{w, lockKey}
	}
	return w
}

type keyLockerTx struct {
	ledger.Tx
	lockKey keyFunc
}

func (t keyLockerTx) LockKey(ctx context.Context, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
	return t.lockKey(ctx, ids, key)
}

type keyDeferrerTx struct {
	keyLockerTx
	lockKeyDeferred keyFunc
}

func (t keyDeferrerTx) LockKeyDeferred(ctx context.Context, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
	return t.lockKeyDeferred(ctx, ids, key)
}

// testLockKey checks LockKey, for a store whose transactions implement
// ledger.KeyLocker: it locks as Lock does, finds a committed key, and sees
// a key committed by the transaction whose lock it waited for.
func testLockKey(t *testing.T, newStore func(t *testing.T) ledger.Store) {
	ctx := context.Background()
	s := newStore(t)
	a := ledger.Account{ID: "merchant a"}
	if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	isKeyLocker := false
	if err := s.Update(ctx, func(tx ledger.Tx) error { _, isKeyLocker = tx.(ledger.KeyLocker); return nil }); err != nil {
		t.Fatal(err)
	}
	if !isKeyLocker {
		t.Skip("the store's transactions are not ledger.KeyLockers")
	}
	lockKey := func(tx ledger.Tx, ids []ledger.AccountID, key string) (ledger.EntryID, error) {
		return tx.(ledger.KeyLocker).LockKey(ctx, ids, key)
	}
	entry := func(id string) *ledger.Entry {
		return &ledger.Entry{ID: ledger.EntryID(id), Kind: ledger.KindTransfer, Recorded: time.Unix(1, 0).UTC(),
			Postings: []ledger.Posting{{Account: a.ID, Asset: ledger.Points, Amount: 1}, {Account: a.ID, Asset: ledger.Points, Amount: -1}}}
	}

	err := s.Update(ctx, func(tx ledger.Tx) error {
		_, err := lockKey(tx, []ledger.AccountID{"merchant nobody"}, "k:x")
		return err
	})
	if !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("LockKey of a missing account: %v, want ErrNotFound", err)
	}
	err = s.Update(ctx, func(tx ledger.Tx) error {
		id, err := lockKey(tx, []ledger.AccountID{a.ID}, "k:one")
		if err != nil || id != "" {
			return fmt.Errorf("LockKey of a free key = %q, %v; want \"\", nil", id, err)
		}
		return tx.InsertEntry(ctx, entry("e1"), []string{"k:one"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx ledger.Tx) error {
		id, err := lockKey(tx, []ledger.AccountID{a.ID}, "k:one")
		if err != nil || id != "e1" {
			return fmt.Errorf("LockKey of a committed key = %q, %v; want e1", id, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A LockKey that waits for the lock sees the key the holder commits.
	locked, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Update(ctx, func(tx ledger.Tx) error {
			if err := tx.Lock(ctx, []ledger.AccountID{a.ID}); err != nil {
				close(locked)
				return err
			}
			if err := tx.InsertEntry(ctx, entry("e2"), []string{"k:two"}); err != nil {
				close(locked)
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	second := make(chan ledger.EntryID, 1)
	secondErr := make(chan error, 1)
	go func() {
		secondErr <- s.Update(ctx, func(tx ledger.Tx) error {
			id, err := lockKey(tx, []ledger.AccountID{a.ID}, "k:two")
			second <- id
			return err
		})
	}()
	time.Sleep(20 * time.Millisecond) // let the second transaction reach the lock and wait
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-secondErr:
		if err != nil {
			t.Fatal(err)
		}
		if id := <-second; id != "e2" {
			t.Fatalf("LockKey after waiting for the lock = %q, want e2 (committed by the holder)", id)
		}
	case <-time.After(deadline):
		t.Fatal("LockKey still waiting after the lock was released")
	}
}
