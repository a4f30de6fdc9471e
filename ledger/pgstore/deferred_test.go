package pgstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
)

// knownEarner returns two Ledgers over two Stores on one schema (two
// processes), the first of which knows the user's child account: its next
// earn answers the lock from memory and locks at commit.
func knownEarner(t *testing.T) (l1, l2 *ledger.Ledger, s1 *Store, schema string) {
	t.Helper()
	ctx := context.Background()
	ls, ss, schema := sharedLedgers(t, 2, 2)
	s1 = ss[0]
	if _, err := ls[1].OpenUser(ctx, "u-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := ls[1].LinkPartner(ctx, "u-1", "food"); err != nil {
		t.Fatal(err)
	}
	if _, err := ls[0].Post(ctx, earnReq("warm-up", 1)); err != nil {
		t.Fatal(err)
	}
	if _, ok := s1.known.get(ledger.PartnerAccount("u-1", "food")); !ok {
		t.Fatal("the Store does not know the account it locked and credited")
	}
	return ls[0], ls[1], s1, schema
}

// An account closed by another process after this one last read it: the
// deferred lock finds it changed at commit, and the Ledger's retry, which
// locks for real, refuses the credit. Nothing is written.
func TestDeferredLockSeesAnAccountClosedElsewhere(t *testing.T) {
	ctx := context.Background()
	l1, l2, s1, _ := knownEarner(t)
	if _, err := l2.UnlinkPartner(ctx, "u-1", "food"); err != nil {
		t.Fatal(err)
	}
	if a, _ := s1.known.get(ledger.PartnerAccount("u-1", "food")); a.Closed {
		t.Fatal("the first Store learnt of the close: the test needs it not to")
	}
	_, err := l1.Post(ctx, earnReq("after-close", 5))
	if !errors.Is(err, ledger.ErrAccountClosed) {
		t.Fatalf("an earn to an account closed elsewhere: %v, want ErrAccountClosed", err)
	}
	b, err := l1.Balance(ctx, ledger.PartnerAccount("u-1", "food"), ledger.Points)
	if err != nil || b.Posted != 1 {
		t.Fatalf("balance %+v, %v; want the warm-up's 1 only", b, err)
	}
	if _, err := l1.EntryByKey(ctx, "after-close"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("entry under the refused key: %v, want ErrNotFound", err)
	}
}

// A replay through a Store that answers the key free without looking:
// the insert conflicts, and the retry returns the original entry; a
// replay with another body gets ErrIdempotencyConflict.
func TestDeferredKeyReplays(t *testing.T) {
	ctx := context.Background()
	l1, l2, _, _ := knownEarner(t)
	orig, err := l2.Post(ctx, earnReq("once", 5))
	if err != nil {
		t.Fatal(err)
	}
	again, err := l1.Post(ctx, earnReq("once", 5))
	if err != nil || again.ID != orig.ID {
		t.Fatalf("replay through the other Store: %v, %v; want entry %s", again.ID, err, orig.ID)
	}
	if _, err := l1.Post(ctx, earnReq("once", 6)); !errors.Is(err, ledger.ErrIdempotencyConflict) {
		t.Fatalf("replay with another body: %v, want ErrIdempotencyConflict", err)
	}
	b, err := l1.Balance(ctx, ledger.PartnerAccount("u-1", "food"), ledger.Points)
	if err != nil || b.Posted != 1+5 {
		t.Fatalf("balance %+v, %v; want 6 posted", b, err)
	}
}

// A row that another transaction holds: the deferred lock does not take it
// (SKIP LOCKED) and does not write past it; the earn waits for the holder,
// then commits once.
func TestDeferredLockWaitsForARowHeldElsewhere(t *testing.T) {
	ctx := context.Background()
	l1, _, _, schema := knownEarner(t)
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT 1 FROM `+schema+`.ledger_accounts WHERE id = $1 FOR UPDATE`, string(ledger.PartnerAccount("u-1", "food"))); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := l1.Post(ctx, earnReq("while-held", 5))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the earn returned (%v) while another transaction held the account's row", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the earn still waits after the holder committed")
	}
	b, err := l1.Balance(ctx, ledger.PartnerAccount("u-1", "food"), ledger.Points)
	if err != nil || b.Posted != 1+5 {
		t.Fatalf("balance %+v, %v; want 6 posted", b, err)
	}
}
