package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// testReadAccount checks ReadAccount and ReadBalance, for a store that
// implements ledger.AccountReader: they answer what a View's Account and
// Balance answer, for an account open, credited, closed by a commit, and
// missing, while commits run, and a cancelled context gets an error.
func testReadAccount(t *testing.T, s ledger.Store) {
	r, ok := s.(ledger.AccountReader)
	if !ok {
		t.Skip("the store is not a ledger.AccountReader")
	}
	ctx := context.Background()
	l, err := ledger.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	const u, p = carbon.UserID("u-1"), carbon.PartnerID("food")
	if _, err := l.OpenUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LinkPartner(ctx, u, p); err != nil {
		t.Fatal(err)
	}
	child := ledger.PartnerAccount(u, p)
	check := func(id ledger.AccountID) {
		t.Helper()
		var want ledger.Account
		wantErr := s.View(ctx, func(tx ledger.ReadTx) error {
			var err error
			want, err = tx.Account(ctx, id)
			return err
		})
		got, err := r.ReadAccount(ctx, id)
		switch {
		case wantErr != nil:
			if !errors.Is(wantErr, ledger.ErrNotFound) || !errors.Is(err, ledger.ErrNotFound) {
				t.Fatalf("ReadAccount(%s): %v; View: %v", id, err, wantErr)
			}
		case err != nil || got != want:
			t.Fatalf("ReadAccount(%s) = %+v, %v; View: %+v", id, got, err, want)
		}
	}
	checkBalance := func(id ledger.AccountID, asset ledger.Asset) {
		t.Helper()
		var want ledger.Balance
		wantErr := s.View(ctx, func(tx ledger.ReadTx) error {
			var err error
			want, err = tx.Balance(ctx, id, asset)
			return err
		})
		got, err := r.ReadBalance(ctx, id, asset)
		switch {
		case wantErr != nil:
			if !errors.Is(wantErr, ledger.ErrNotFound) || !errors.Is(err, ledger.ErrNotFound) {
				t.Fatalf("ReadBalance(%s, %s): %v; View: %v", id, asset, err, wantErr)
			}
		case err != nil || got != want:
			t.Fatalf("ReadBalance(%s, %s) = %+v, %v; View: %+v", id, asset, got, err, want)
		}
	}
	check(ledger.UserAccount(u))
	check(child)
	check(ledger.PartnerAccount("u-9", p))
	issuance := ledger.IssuanceAccount(p)
	if _, err := l.OpenAccount(ctx, issuance, ledger.DefaultPolicy(ledger.KindIssuance)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Post(ctx, ledger.PostRequest{Key: "credit", Postings: []ledger.Posting{
		{Account: issuance, Asset: ledger.Points, Amount: -7}, {Account: child, Asset: ledger.Points, Amount: 7}}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []ledger.AccountID{child, issuance, ledger.UserAccount(u), ledger.PartnerAccount("u-9", p)} {
		checkBalance(id, ledger.Points)
		checkBalance(id, ledger.CO2e)
	}
	if b, err := r.ReadBalance(ctx, child, ledger.Points); err != nil || b.Posted != 7 {
		t.Fatalf("ReadBalance of the credited account: %+v, %v", b, err)
	}
	if _, err := l.UnlinkPartner(ctx, u, p); err != nil {
		t.Fatal(err)
	}
	check(child)
	if a, err := r.ReadAccount(ctx, child); err != nil || !a.Closed {
		t.Fatalf("ReadAccount after the unlink: %+v, %v", a, err)
	}

	// Read while commits create accounts and close them (for the race
	// detector): every answer is one a View could have given.
	done := make(chan struct{})
	var reads sync.WaitGroup
	reads.Add(1)
	go func() {
		defer reads.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, id := range []ledger.AccountID{child, ledger.PartnerAccount(u, "mall")} {
				if a, err := r.ReadAccount(ctx, id); err != nil && !errors.Is(err, ledger.ErrNotFound) || err == nil && a.ID != id {
					t.Errorf("ReadAccount(%s) = %+v, %v", id, a, err)
					return
				}
				if b, err := r.ReadBalance(ctx, id, ledger.Points); err != nil && !errors.Is(err, ledger.ErrNotFound) || err == nil && b.Posted != 7 && id == child {
					t.Errorf("ReadBalance(%s) = %+v, %v", id, b, err)
					return
				}
			}
		}
	}()
	for i := range 50 {
		if i%2 == 0 {
			_, err = l.LinkPartner(ctx, u, "mall")
		} else {
			_, err = l.UnlinkPartner(ctx, u, "mall")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	reads.Wait()

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.ReadAccount(cancelled, child); err == nil {
		t.Fatal("ReadAccount with a cancelled context: no error")
	}
	if _, err := r.ReadBalance(cancelled, child, ledger.Points); err == nil {
		t.Fatal("ReadBalance with a cancelled context: no error")
	}
}
