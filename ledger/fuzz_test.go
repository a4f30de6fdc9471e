package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/ledger/storetest"
)

// kinds are the sentinels a rejected Post may match.
func postErrorKinds() []error {
	return []error{ledger.ErrInvalidRequest, ledger.ErrInvalidAmount, ledger.ErrUnbalanced, ledger.ErrUnknownAsset,
		ledger.ErrUnknownAccount, ledger.ErrAccountClosed, ledger.ErrInsufficientFunds, ledger.ErrOverflow,
		ledger.ErrIdempotencyConflict}
}

// FuzzPost posts arbitrary requests to a small ledger: Post must never
// panic, a rejected request must get a typed error and change nothing, and
// an accepted one must keep every invariant.
func FuzzPost(f *testing.F) {
	f.Add("k1", "0", "1", "PTS", int64(-5), int64(5), int64(0), "note", "x")
	f.Add("k2", "2", "1", "PTS", int64(-5), int64(5), int64(0), "", "")
	f.Add("k3", "0", "3", "CNY", int64(-1), int64(1), int64(0), "", "")
	f.Add("k4", "0", "1", "PTS", int64(-9223372036854775807), int64(9223372036854775807), int64(0), "", "")
	f.Add("k5", "0", "1", "PTS", int64(-3), int64(2), int64(1), "", "")
	f.Add("", "user x", "bank", "??", int64(0), int64(0), int64(0), "", "\xff")
	f.Add("k1", "0", "1", "PTS", int64(-6), int64(6), int64(0), "note", "x")
	f.Fuzz(func(t *testing.T, key, a1, a2, asset string, n1, n2, n3 int64, mk, mv string) {
		ctx := context.Background()
		s := memstore.New()
		l, err := ledger.New(s, &ledger.Options{Clock: carbon.NewTestClock(t0)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.OpenUser(ctx, "u"); err != nil {
			t.Fatal(err)
		}
		for _, p := range []carbon.PartnerID{"a", "b"} {
			if _, err := l.LinkPartner(ctx, "u", p); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := l.Post(ctx, ledger.PostRequest{Key: "k1", Postings: []ledger.Posting{
			{Account: ledger.IssuanceAccount("a"), Asset: ledger.Points, Amount: -10},
			{Account: ledger.PartnerAccount("u", "a"), Asset: ledger.Points, Amount: 10},
		}}); err != nil {
			t.Fatal(err)
		}
		known := map[string]ledger.AccountID{
			"0": ledger.IssuanceAccount("a"), "1": ledger.PartnerAccount("u", "a"),
			"2": ledger.PartnerAccount("u", "b"), "3": ledger.UserAccount("u"),
		}
		acct := func(s string) ledger.AccountID {
			if id, ok := known[s]; ok {
				return id
			}
			return ledger.AccountID(s)
		}
		ps := []ledger.Posting{{Account: acct(a1), Asset: ledger.Asset(asset), Amount: n1}, {Account: acct(a2), Asset: ledger.Asset(asset), Amount: n2}}
		if n3 != 0 {
			ps = append(ps, ledger.Posting{Account: known["2"], Asset: ledger.Asset(asset), Amount: n3})
		}
		var meta map[string]string
		if mk != "" || mv != "" {
			meta = map[string]string{mk: mv}
		}
		before, err := storetest.Snapshot(ctx, l, s)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Post(ctx, ledger.PostRequest{Key: key, Postings: ps, Metadata: meta})
		if err != nil {
			typed := false
			for _, k := range postErrorKinds() {
				typed = typed || errors.Is(err, k)
			}
			var le *ledger.Error
			if !typed || !errors.As(err, &le) {
				t.Fatalf("untyped error: %v", err)
			}
			after, serr := storetest.Snapshot(ctx, l, s)
			if serr != nil {
				t.Fatal(serr)
			}
			if after != before {
				t.Fatalf("rejected request (%v) changed the ledger", err)
			}
			return
		}
		if err := storetest.CheckInvariants(ctx, l, s); err != nil {
			t.Fatalf("accepted request broke an invariant: %v", err)
		}
	})
}
