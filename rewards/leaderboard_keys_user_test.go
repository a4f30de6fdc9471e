package rewards

import (
	"strconv"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
)

// addFor is hasFor and insert together, as the badge and footprint stores
// use them.
func (s *keySet) addFor(user carbon.UserID, k EarningKey) bool {
	dup, h, slot := s.hasFor(user, k)
	if !dup {
		s.insert(h, slot)
	}
	return !dup
}

// TestShardKeySetByUser checks a store shard's set of (user, key) pairs: a
// key applied for one user is not applied for another, and the encoding
// does not confuse where the user ends and the key begins.
func TestShardKeySetByUser(t *testing.T) {
	s := newShardKeySet()
	const n = 20_000
	for i := range n {
		u := carbon.UserID("u" + strconv.Itoa(i%97))
		k := EarningKey{Partner: "p", ActivityID: strconv.Itoa(i)}
		if !s.addFor(u, k) {
			t.Fatalf("%s %v reported present before it was added", u, k)
		}
	}
	for i := range n {
		u := carbon.UserID("u" + strconv.Itoa(i%97))
		k := EarningKey{Partner: "p", ActivityID: strconv.Itoa(i)}
		if s.addFor(u, k) {
			t.Fatalf("%s %v reported absent after it was added", u, k)
		}
		if dup, _, _ := s.hasFor(u+"x", k); dup {
			t.Fatalf("%v reported present for another user", k)
		}
		k.Reversal = true
		if dup, _, _ := s.hasFor(u, k); dup {
			t.Fatalf("%s %v reported present, never added", u, k)
		}
	}
	// "ab" + key "p"/"c..." must differ from "a" + key "bp"/"c...".
	if !s.addFor("ab", EarningKey{Partner: "p", ActivityID: "c1"}) || !s.addFor("a", EarningKey{Partner: "bp", ActivityID: "c1"}) {
		t.Fatal("a user's end confused with a partner's start")
	}
}
