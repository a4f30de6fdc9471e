package rewards

import (
	"hash/maphash"

	"github.com/carbonkit/carbonkit/carbon"
)

// memberTable maps a board's members to their entries in its tree. It is an
// open-addressed hash table whose slots hold the hash, the user ID and the
// entry together, so that finding a member costs one cache miss for the slot
// (a Go map reads a control word first, elsewhere), and an update writes
// the entry back through the pointer find returned instead of hashing and
// probing again. Like keySet it spreads members over tables that each grow
// on their own, so no insert rehashes the whole board. It is not safe for
// concurrent use; memBoard guards it.
type memberTable struct {
	seed   maphash.Seed
	tables [memberTables]memberShard // by the hash's top bits
}

const memberTables = 256

// memberShard is a linear-probing table; a slot with hash zero is empty
// (memberTable.hash never returns zero).
type memberShard struct {
	slots []memberSlot // len is a power of two, or zero
	used  int
}

type memberSlot struct {
	hash uint64
	user carbon.UserID
	e    entry
}

func newMemberTable() memberTable { return memberTable{seed: maphash.MakeSeed()} }

func (m *memberTable) hash(user carbon.UserID) uint64 {
	if h := maphash.String(m.seed, string(user)); h != 0 {
		return h
	}
	return 1 // zero marks an empty slot
}

// find returns user's entry, or nil if user is not a member. The pointer is
// good until the next add.
func (m *memberTable) find(user carbon.UserID) *entry {
	h := m.hash(user)
	t := &m.tables[h>>56]
	if len(t.slots) == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.hash == 0 {
			return nil
		}
		if s.hash == h && s.user == user {
			return &s.e
		}
	}
}

// add adds user, who must not be a member, with entry e.
func (m *memberTable) add(user carbon.UserID, e entry) {
	h := m.hash(user)
	t := &m.tables[h>>56]
	// Keep the table at most three quarters full, so probes stay short.
	if (t.used+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	t.put(memberSlot{hash: h, user: user, e: e})
	t.used++
}

func (t *memberShard) put(s memberSlot) {
	mask := len(t.slots) - 1
	i := int(s.hash) & mask
	for t.slots[i].hash != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// grow doubles t's slots (or makes its first), rehashing what it holds.
func (t *memberShard) grow() {
	old := t.slots
	t.slots = make([]memberSlot, max(16, 2*len(old)))
	for _, s := range old {
		if s.hash != 0 {
			t.put(s)
		}
	}
}
