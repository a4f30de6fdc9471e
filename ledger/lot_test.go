package ledger_test

import (
	"slices"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
)

// TestCompareLots sorts lots given in reverse of the documented order and
// checks that CompareLots restores it, and that it is antisymmetric.
func TestCompareLots(t *testing.T) {
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	lot := func(acct string, expires, created time.Time) ledger.Lot {
		return ledger.Lot{Account: ledger.AccountID(acct), Expires: expires, Created: created}
	}
	want := []ledger.Lot{
		lot("user:b", t0.Add(time.Hour), t0.Add(2*time.Second)), // soonest expiry, created last
		lot("user:a", t0.Add(2*time.Hour), t0),                  // later expiry
		lot("user:b", t0.Add(2*time.Hour), t0),                  // same expiry and creation: by account
		lot("user:a", t0.Add(2*time.Hour), t0.Add(time.Second)), // same expiry, created later
		lot("user:a", time.Time{}, t0),                          // never expires: after every lot that does
		lot("user:a", time.Time{}, t0.Add(time.Second)),
	}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortStableFunc(got, ledger.CompareLots)
	if !slices.EqualFunc(got, want, func(a, b ledger.Lot) bool { return ledger.CompareLots(a, b) == 0 && a.Account == b.Account }) {
		t.Fatalf("sorted:\n%v\nwant:\n%v", got, want)
	}
	for i := range want {
		for j := range want {
			c, d := ledger.CompareLots(want[i], want[j]), ledger.CompareLots(want[j], want[i])
			if c != -d || (i == j) != (c == 0) || (i < j) != (c < 0) {
				t.Fatalf("CompareLots(%d, %d) = %d, reversed %d", i, j, c, d)
			}
		}
	}
}
