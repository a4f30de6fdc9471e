package memstore

import "github.com/carbonkit/carbonkit/internal/offheap"

// hashIndex maps 64-bit hashes to 64-bit values. It only stores and finds
// them: a hash may hold several values (two strings may share a hash), and
// its user tells, by comparing what each value stands for, which one it
// looks for.
//
// It is built for millions of entries whose hashes are random: extendible
// hashing over linear-probing tables. The top bits of a hash choose a
// directory slot, which names a table; the low bits choose the table slot
// a probe starts at. A table doubles until it reaches maxTableSlots; a full
// table then splits in two on the next top bit (the directory doubling
// when the table already used all of its bits), so that growing never
// rehashes more than one table and never copies the whole index. The
// tables hold no pointers and come from the store's offheap.Allocator: the
// collector has nothing to trace, and a lookup costs one cache miss, not a
// walk through heap objects.
//
// A hashIndex is not safe for concurrent use; the Store guards it with idx.
type hashIndex struct {
	mem     *offheap.Allocator
	dir     []uint32 // directory slot (a hash's top bits) → index into tabs
	shift   uint     // 64 − the directory's depth: a hash's slot is h >> shift
	tabs    []hashTable
	scratch []hslot // a splitting table's slots, reused from split to split
}

type hashTable struct {
	slots []hslot // len is a power of two; an empty slot has h == 0
	n     int     // slots in use
	depth uint    // top bits shared by every hash in the table
}

type hslot struct{ h, v uint64 }

const (
	// minTableSlots is a new index's table size.
	minTableSlots = 16
	// maxTableSlots bounds a table (512 KiB): a split rehashes one table,
	// which takes well under a millisecond.
	maxTableSlots = 1 << 15
	// A table grows when an insert would fill more than maxLoadNum/16 of
	// its slots: linear probing then stays short (about 5 slots on a miss
	// at the worst, less than two on average).
	maxLoadNum = 11
)

func newHashIndex(mem *offheap.Allocator) hashIndex {
	return hashIndex{
		mem:   mem,
		dir:   []uint32{0},
		shift: 64,
		tabs:  []hashTable{{slots: offheap.Make[hslot](mem, minTableSlots)}},
	}
}

// norm keeps 0 for empty slots.
func norm(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

func (x *hashIndex) table(h uint64) *hashTable { return &x.tabs[x.dir[h>>x.shift]] }

// find calls match with each value stored under h until match returns
// true, and returns that value.
func (x *hashIndex) find(h uint64, match func(v uint64) bool) (uint64, bool) {
	h = norm(h)
	t := x.table(h)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		switch {
		case s.h == 0:
			return 0, false
		case s.h == h && match(s.v):
			return s.v, true
		}
	}
}

// insert stores v under h. It does not look for values stored under h
// already: several may be.
func (x *hashIndex) insert(h, v uint64) {
	h = norm(h)
	ti := x.dir[h>>x.shift]
	for t := &x.tabs[ti]; (t.n+1)*16 > len(t.slots)*maxLoadNum; t = &x.tabs[ti] {
		x.grow(ti)
		ti = x.dir[h>>x.shift]
	}
	x.tabs[ti].put(h, v)
}

func (t *hashTable) put(h, v uint64) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].h != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = hslot{h, v}
	t.n++
}

// grow doubles table ti, or splits it once it is as large as a table
// gets. A split that would double the directory again and again (hashes
// that share all their top bits, which random hashes never do) is refused
// once the directory has 8 slots per table: the table doubles instead.
func (x *hashIndex) grow(ti uint32) {
	t := &x.tabs[ti]
	redir := t.depth == 64-x.shift
	if len(t.slots) < maxTableSlots || (redir && len(x.dir) >= 8*len(x.tabs)) {
		old := t.slots
		t.slots, t.n = offheap.Make[hslot](x.mem, 2*len(old)), 0
		for _, s := range old {
			if s.h != 0 {
				t.put(s.h, s.v)
			}
		}
		return
	}
	x.split(ti)
}

// split moves the hashes of table ti whose next top bit is 1 to a new
// table.
func (x *hashIndex) split(ti uint32) {
	t := &x.tabs[ti]
	if t.depth == 64-x.shift { // t uses every directory bit: double the directory
		dir := make([]uint32, 2*len(x.dir))
		for j := range dir {
			dir[j] = x.dir[j>>1]
		}
		x.dir, x.shift = dir, x.shift-1
	}
	depth := t.depth + 1
	// As large as t: a table grown past maxTableSlots (see grow) may move
	// more than maxTableSlots hashes to the new one.
	x.tabs = append(x.tabs, hashTable{slots: offheap.Make[hslot](x.mem, len(t.slots)), depth: depth})
	t = &x.tabs[ti] // append may have moved the tables
	t.depth = depth
	ni := uint32(len(x.tabs) - 1)
	// The directory slots of t whose bit at t's new depth is 1 now name the
	// new table.
	bit := 64 - x.shift - depth
	for j, tab := range x.dir {
		if tab == ti && (uint64(j)>>bit)&1 == 1 {
			x.dir[j] = ni
		}
	}
	x.scratch = append(x.scratch[:0], t.slots...)
	clear(t.slots)
	t.n = 0
	for _, s := range x.scratch {
		if s.h != 0 {
			x.table(s.h).put(s.h, s.v)
		}
	}
}
