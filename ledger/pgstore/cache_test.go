package pgstore

import (
	"strconv"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// The account cache holds at most its limit, keeps the accounts in use
// however many others pass through, and forgets dropped ones in both
// generations.
func TestAccountCacheKeepsWhatIsUsed(t *testing.T) {
	c := accountCache{limit: 100}
	acct := func(i int) ledger.Account {
		return ledger.Account{ID: ledger.PartnerAccount(carbonUser(i), "food")}
	}
	has := func(a ledger.Account) bool {
		t.Helper()
		got, ok := c.get(a.ID)
		if ok && got != a {
			t.Fatalf("%s: got %+v", a.ID, got)
		}
		return ok
	}
	hot := []ledger.Account{acct(-1), acct(-2), acct(-3)}
	c.put(hot...)
	for i := range 10_000 {
		c.put(acct(i))
		if n := c.len(); n > 100 {
			t.Fatalf("%d accounts kept, limit 100", n)
		}
		if i%10 == 0 {
			for _, a := range hot {
				if !has(a) {
					t.Fatalf("hot account %s lost after %d others", a.ID, i)
				}
			}
		}
	}
	if has(acct(0)) {
		t.Fatal("an account unused for generations is kept")
	}
	if !has(acct(9_999)) {
		t.Fatal("the latest account is lost")
	}

	// An account found in the old generation moves to the new one, and a
	// drop removes it from either.
	c.put(acct(20_000))
	for i := range 50 {
		c.put(acct(30_000 + i)) // acct(20_000) is old now
	}
	if _, ok := c.old[acct(20_000).ID]; !ok {
		t.Fatal("the account did not age")
	}
	if !has(acct(20_000)) {
		t.Fatal("an old account is lost")
	}
	if _, ok := c.cur[acct(20_000).ID]; !ok {
		t.Fatal("an old account found did not move to the new generation")
	}
	c.drop(string(acct(20_000).ID), string(acct(30_000).ID))
	if has(acct(20_000)) || has(acct(30_000)) {
		t.Fatal("a dropped account is kept")
	}
}

func carbonUser(i int) carbon.UserID { return carbon.UserID("u" + strconv.Itoa(i)) }

// len returns how many accounts c holds.
func (c *accountCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
