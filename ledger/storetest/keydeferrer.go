package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
)

// KeyDeferring wraps s so that its transactions implement
// ledger.KeyDeferrer in the laziest way the contract allows: LockKey is
// Lock and then Key, and LockKeyDeferred is Lock alone, answering every key
// free and leaving it to the commit (InsertEntry fails with ErrConflict on
// a taken key). A suite run over KeyDeferring(s) tests the Ledger's path
// over such a store on any store: a replay then conflicts once, and is
// answered on the retry.
func KeyDeferring(s ledger.Store) ledger.Store { return keyDeferring{s} }

type keyDeferring struct{ ledger.Store }

func (s keyDeferring) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	return s.Store.Update(ctx, func(tx ledger.Tx) error { return fn(keyDeferringTx{keyLockingTx{tx}}) })
}

type keyDeferringTx struct{ keyLockingTx }

func (t keyDeferringTx) LockKeyDeferred(ctx context.Context, ids []ledger.AccountID, _ string) (ledger.EntryID, error) {
	return "", t.Lock(ctx, ids)
}

// testLockKeyDeferred checks LockKeyDeferred, for a store whose
// transactions implement ledger.KeyDeferrer: it refuses a missing account,
// and a committed key is either answered or, answered free, fails the
// insert under it with ErrConflict. (A key taken while the transaction
// runs fails its insert as in "UniqueKeyWhileInFlight".)
func testLockKeyDeferred(t *testing.T, newStore func(t *testing.T) ledger.Store) {
	ctx := context.Background()
	s := newStore(t)
	a := ledger.Account{ID: "merchant a"}
	if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	isDeferrer := false
	if err := s.Update(ctx, func(tx ledger.Tx) error { _, isDeferrer = tx.(ledger.KeyDeferrer); return nil }); err != nil {
		t.Fatal(err)
	}
	if !isDeferrer {
		t.Skip("the store's transactions are not ledger.KeyDeferrers")
	}
	lockKey := func(tx ledger.Tx, id ledger.AccountID, key string) (ledger.EntryID, error) {
		return tx.(ledger.KeyDeferrer).LockKeyDeferred(ctx, []ledger.AccountID{id}, key)
	}
	entry := func(id string, acct ledger.AccountID) *ledger.Entry {
		return &ledger.Entry{ID: ledger.EntryID(id), Kind: ledger.KindTransfer, Recorded: time.Unix(1, 0).UTC(),
			Postings: []ledger.Posting{{Account: acct, Asset: ledger.Points, Amount: 1}, {Account: acct, Asset: ledger.Points, Amount: -1}}}
	}
	insertUnder := func(id, key string) error {
		return s.Update(ctx, func(tx ledger.Tx) error {
			got, err := lockKey(tx, a.ID, key)
			if err != nil {
				return err
			}
			if got != "" {
				return errAnswered{got}
			}
			return tx.InsertEntry(ctx, entry(id, a.ID), []string{key})
		})
	}

	err := s.Update(ctx, func(tx ledger.Tx) error {
		_, err := lockKey(tx, "merchant nobody", "k:x")
		return err
	})
	if !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("LockKeyDeferred of a missing account: %v, want ErrNotFound (at once or at commit)", err)
	}
	if err := insertUnder("e1", "k:one"); err != nil {
		t.Fatalf("an entry under a free key: %v", err)
	}
	// A committed key: answered, or the insert under it conflicts.
	var answered errAnswered
	switch err := insertUnder("e2", "k:one"); {
	case errors.As(err, &answered) && answered.id == "e1":
	case errors.Is(err, ledger.ErrConflict):
	default:
		t.Fatalf("an entry under a committed key: %v; want the key answered e1 or ErrConflict", err)
	}
	err = s.View(ctx, func(tx ledger.ReadTx) error {
		for key, want := range map[string]ledger.EntryID{"k:one": "e1"} {
			if got, err := tx.Key(ctx, key); err != nil || got != want {
				return errors.Join(err, errAnswered{got})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("after the conflict: %v; want k:one under e1", err)
	}
}

// errAnswered: LockKeyDeferred answered a key with an entry.
type errAnswered struct{ id ledger.EntryID }

func (e errAnswered) Error() string { return "answered " + string(e.id) }
