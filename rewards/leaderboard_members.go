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
//
// A slot holds a user ID of up to memberNameLen bytes itself, as bytes, so
// that the slots hold no pointers: the collector skips the table, tens of
// megabytes on a board of a million members, instead of scanning it on
// every cycle. A longer ID is compared with the tree's names (the entry's
// id indexes them), at the cost of one more load.
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
	e    entry
	n    uint8               // the user ID's length, or longName
	name [memberNameLen]byte // the user ID, when it fits
}

// memberNameLen is the longest user ID a slot holds itself: the slot is then
// 48 bytes, as it would be holding a string. longName marks a longer one.
const (
	memberNameLen = 15
	longName      = 255
)

// is reports whether s is user's slot, given the tree's names.
func (s *memberSlot) is(user carbon.UserID, names []string) bool {
	if s.n == longName {
		return names[s.e.id] == string(user)
	}
	return int(s.n) == len(user) && string(s.name[:s.n]) == string(user)
}

func newMemberTable() memberTable { return memberTable{seed: maphash.MakeSeed()} }

func (m *memberTable) hash(user carbon.UserID) uint64 {
	if h := maphash.String(m.seed, string(user)); h != 0 {
		return h
	}
	return 1 // zero marks an empty slot
}

// find returns user's entry, or nil if user is not a member; names are the
// tree's. The pointer is good until the next add.
func (m *memberTable) find(user carbon.UserID, names []string) *entry {
	return m.findHashed(user, m.hash(user), names)
}

// peek loads the slot where a lookup of hash h starts and returns its
// hash, for nothing but the load (see keySet.peek).
func (m *memberTable) peek(h uint64) uint64 {
	t := &m.tables[h>>56]
	if len(t.slots) == 0 {
		return 0
	}
	return t.slots[int(h)&(len(t.slots)-1)].hash
}

// findHashed is find given user's hash, h.
func (m *memberTable) findHashed(user carbon.UserID, h uint64, names []string) *entry {
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
		if s.hash == h && s.is(user, names) {
			return &s.e
		}
	}
}

// add adds user, who must not be a member, with entry e; a user ID longer
// than memberNameLen must already be the tree's names[e.id].
func (m *memberTable) add(user carbon.UserID, e entry) {
	h := m.hash(user)
	t := &m.tables[h>>56]
	// Keep the table at most three quarters full, so probes stay short.
	if (t.used+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	s := memberSlot{hash: h, e: e, n: longName}
	if len(user) <= memberNameLen {
		s.n = uint8(copy(s.name[:], user))
	}
	t.put(s)
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
