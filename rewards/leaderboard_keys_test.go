package rewards

import (
	"strconv"
	"testing"

	"github.com/carbonkit/carbonkit/carbon"
)

// add is has and insert together, as MemBoardStore.Add uses them.
func (s *keySet) add(k EarningKey) bool {
	dup, h, slot := s.has(k)
	if !dup {
		s.insert(h, slot)
	}
	return !dup
}

func TestKeySetExact(t *testing.T) {
	s := newKeySet()
	const n = 50_000
	for i := range n {
		k := EarningKey{Partner: "p", ActivityID: strconv.Itoa(i), Reversal: i%3 == 0}
		if !s.add(k) {
			t.Fatalf("key %v reported present before it was added", k)
		}
	}
	for i := range n {
		k := EarningKey{Partner: "p", ActivityID: strconv.Itoa(i), Reversal: i%3 == 0}
		if s.add(k) {
			t.Fatalf("key %v reported absent after it was added", k)
		}
		k.Reversal = !k.Reversal
		if dup, _, _ := s.has(k); dup {
			t.Fatalf("key %v reported present, never added", k)
		}
		// The encoding must not confuse where the partner ends.
		if dup, _, _ := s.has(EarningKey{Partner: carbon.PartnerID("p" + strconv.Itoa(i)[:1]), ActivityID: strconv.Itoa(i)[1:], Reversal: i%3 == 0}); dup && len(strconv.Itoa(i)) > 1 {
			t.Fatalf("key %d confused with another partner's", i)
		}
	}
	long := EarningKey{Partner: "p", ActivityID: string(make([]byte, 3*keyChunk))}
	if !s.add(long) || s.add(long) {
		t.Fatal("a key longer than a chunk is not remembered exactly")
	}
}

// TestKeySetCollision forces a hash collision, which maphash makes too rare
// to meet by chance, and checks that the set still tells the keys apart.
func TestKeySetCollision(t *testing.T) {
	s := newKeySet()
	a := EarningKey{Partner: "p", ActivityID: "a"}
	b := EarningKey{Partner: "p", ActivityID: "b"}
	s.add(a)
	_, ha, _ := s.has(a)
	// Make a's slot hold b under a's hash, as if b had been added first with
	// the same hash.
	tab := &s.tables[ha>>56]
	for i := range tab.slots {
		if tab.slots[i].hash == ha {
			tab.slots[i].ref = s.store(encodeKey(nil, b))
		}
	}
	if dup, _, _ := s.has(a); dup {
		t.Fatal("a key is reported present because another has its hash")
	}
	if !s.add(a) {
		t.Fatal("a colliding key was not added")
	}
	if len(s.extra) != 1 {
		t.Fatalf("extra holds %d keys, want the colliding one", len(s.extra))
	}
	if s.add(a) {
		t.Fatal("a colliding key was added twice")
	}
	if dup, _, _ := s.has(EarningKey{Partner: "p", ActivityID: "c"}); dup {
		t.Fatal("a key never added is reported present")
	}
}
