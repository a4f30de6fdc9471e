package rewards

import "math"

// rankTree is an order-statistic B-tree of board entries: a B-tree (after
// github.com/google/btree) in which every node also holds the number of
// entries under each of its children, so that insertion, removal,
// rank-of-entry and entry-at-rank are all O(log n), and walking k entries
// from any position is O(log n + k).
//
// The layout is for cache misses, which are what an operation on a board of
// a million members costs: a node holds up to 63 entries, so such a board is
// about four levels deep and its top two levels stay in cache; a node is one
// allocation with its keys stored column by column, so that a search scans
// the scores alone (8 adjacent cache lines, see find) and counting positions
// reads the child sizes without visiting the children. Leaves, nearly all
// the nodes, have no child arrays at all (see rankNode), which keeps a
// large board's leaves in about half the memory and so more of them in
// cache.
//
// Entries name their users by a number (an index in names) rather than by
// the ID itself, so that the tree holds no pointers but its nodes' children
// (and each internal node's pointer to its own child arrays):
// the collector has almost nothing to scan in it, and moving entries needs
// no write barriers. Entries are unique (a user appears once). A rankTree is
// not safe for concurrent use; memBoard guards it.
type rankTree struct {
	root    *rankNode
	size    int
	height  int      // levels of nodes: 1 for a root that is a leaf
	names   []string // user IDs by entry.id; the caller appends to it
	touched int64    // what move's touch loaded, kept so that the loads are not optimised away
}

// entry is one member's position: ordered by score descending, then by the
// time the score was reached ascending, then by user ID ascending.
type entry struct {
	score int64
	at    int64  // Unix nanoseconds
	id    uint32 // the user, as an index in rankTree.names
}

// before reports whether a sorts before b on the board; names resolves
// their users (it is consulted only for equal scores and times).
func (a *entry) before(b *entry, names []string) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	if a.at != b.at {
		return a.at < b.at
	}
	return names[a.id] < names[b.id]
}

// A node holds at most maxEntries entries and, unless it is the root, at
// least minEntries. The minimum is a quarter of the maximum rather than the
// textbook half so that a node just split (two halves of 31) or just merged
// (at most 31) is far from both limits: at half, a remove and an insert in
// the same place would merge and split the same nodes over and over.
const (
	maxEntries = 63
	minEntries = 15
)

// rankNode is a node of a rankTree. An internal node with n entries has n+1
// children, in its innerPart; a leaf has none, and no innerPart (nil): a
// leaf is 1.3 KB where it would be 2.3 KB with child arrays. newNode
// allocates an internal node together with its innerPart, in one block.
type rankNode struct {
	n          int
	leaf       bool
	*innerPart // nil for a leaf
	scores     [maxEntries]int64
	ats        [maxEntries]int64
	ids        [maxEntries]uint32
}

// innerPart is what an internal node has beyond a leaf.
type innerPart struct {
	sizes    [maxEntries + 1]int // sizes[i] is the number of entries under children[i]
	children [maxEntries + 1]*rankNode
}

// innerNode is the allocation of an internal node.
type innerNode struct {
	rankNode
	innerPart
}

// newNode returns an empty leaf, or an empty internal node.
func newNode(leaf bool) *rankNode {
	if leaf {
		return &rankNode{leaf: true}
	}
	x := &innerNode{}
	x.rankNode.innerPart = &x.innerPart
	return &x.rankNode
}

// Len returns the number of entries.
func (t *rankTree) Len() int { return t.size }

// insert adds e, which must not be present.
func (t *rankTree) insert(e entry) {
	t.size++
	if t.root == nil {
		t.root = newNode(true)
		t.root.insertEntry(0, e)
		t.height = 1
		return
	}
	if t.root.n >= maxEntries {
		old := t.root
		mid, right, rightSize := old.split(maxEntries / 2)
		t.root = newNode(false)
		t.root.n = 1
		t.height++
		t.root.set(0, mid)
		t.root.children[0], t.root.sizes[0] = old, t.size-1-1-rightSize
		t.root.children[1], t.root.sizes[1] = right, rightSize
	}
	t.root.insert(e, t.names)
}

// remove deletes e, which must be present.
func (t *rankTree) remove(e entry) {
	if t.root == nil {
		return
	}
	t.size--
	t.root.remove(&e, false, t.names)
	if t.root.n == 0 {
		if t.root.leaf {
			t.root = nil
		} else {
			t.root = t.root.children[0]
		}
		t.height--
	}
}

// countBefore returns the number of entries that sort before e (e need not
// be present).
func (t *rankTree) countBefore(e *entry) int {
	if t.root == nil {
		return 0
	}
	return t.root.countBefore(e, t.names)
}

// place returns the number of entries that sort before e, which must be
// present, and the number with a higher score than e's: its position and
// its competition rank less one. It descends once for both, splitting only
// where the two paths part, which on a large board is near the leaves.
func (t *rankTree) place(e *entry) (pos, higher int) {
	least := entry{score: e.score, at: math.MinInt64} // sorts before every entry with e's score
	n, names := t.root, t.names
	for n != nil {
		j := n.findScore(e.score)
		i := n.findTie(j, e, names)
		pos += i
		higher += j
		if n.leaf {
			return pos, higher
		}
		for k, s := range n.sizes[:i] {
			pos += s
			if k < j {
				higher += s
			}
		}
		if j < i {
			// The paths part: the rest of the count of higher scores is
			// in child j, the rest of e's position below here.
			return t.finishPlace(n, i, e, pos), higher + n.children[j].countBefore(&least, names)
		}
		if i < n.n && n.equal(i, e) {
			// e is here; child i, before it, may still hold higher scores.
			return pos + n.sizes[i], higher + n.children[i].countBefore(&least, names)
		}
		n = n.children[i]
	}
	return pos, higher
}

// finishPlace completes place's count of e's position from child i of n.
func (t *rankTree) finishPlace(n *rankNode, i int, e *entry, pos int) int {
	if i < n.n && n.equal(i, e) {
		return pos + n.sizes[i]
	}
	return pos + n.children[i].countBefore(e, t.names)
}

// countBefore returns the number of entries in n's subtree that sort before
// e.
func (n *rankNode) countBefore(e *entry, names []string) int {
	count := 0
	for {
		i := n.find(e, names)
		count += i
		if n.leaf {
			return count
		}
		for _, s := range n.sizes[:i] {
			count += s
		}
		if i < n.n && n.equal(i, e) {
			return count + n.sizes[i]
		}
		n = n.children[i]
	}
}

// ascend calls fn on entries in board order starting at position skip,
// until fn returns false or the entries run out.
func (t *rankTree) ascend(skip int, fn func(pos int, e entry) bool) {
	if t.root == nil || skip >= t.size {
		return
	}
	pos := skip
	t.root.ascend(&skip, func(e entry) bool {
		ok := fn(pos, e)
		pos++
		return ok
	})
}

func (n *rankNode) get(i int) entry { return entry{score: n.scores[i], at: n.ats[i], id: n.ids[i]} }

func (n *rankNode) set(i int, e entry) { n.scores[i], n.ats[i], n.ids[i] = e.score, e.at, e.id }

// before reports whether entry i sorts before e.
func (n *rankNode) before(i int, e *entry, names []string) bool {
	if s := n.scores[i]; s != e.score {
		return s > e.score
	}
	if a := n.ats[i]; a != e.at {
		return a < e.at
	}
	return names[n.ids[i]] < names[e.id]
}

func (n *rankNode) equal(i int, e *entry) bool {
	return n.ids[i] == e.id && n.scores[i] == e.score && n.ats[i] == e.at
}

// find returns the index of the first entry in n that does not sort before e.
//
// It scans rather than bisects: the scores of a node are 8 adjacent cache
// lines, and a scan's loads do not depend on each other, so the processor
// fetches the lines in parallel, where a binary search waits for each of its
// probes in turn. On a board too large for the cache that is most of the
// cost of a lookup.
func (n *rankNode) find(e *entry, names []string) int {
	return n.findTie(n.findScore(e.score), e, names)
}

// findTie is find given i, the index of the first entry whose score is not
// above e's (findScore), so that a caller needing both scans the higher
// scores once.
func (n *rankNode) findTie(i int, e *entry, names []string) int {
	for i < n.n && n.scores[i] == e.score && n.before(i, e, names) {
		i++
	}
	return i
}

// findScore returns the index of the first entry in n whose score is not
// above score.
func (n *rankNode) findScore(score int64) int {
	i := 0
	for i < n.n && n.scores[i] > score {
		i++
	}
	return i
}

// insertEntry inserts e at index i of n's entries.
func (n *rankNode) insertEntry(i int, e entry) {
	copy(n.scores[i+1:n.n+1], n.scores[i:n.n])
	copy(n.ats[i+1:n.n+1], n.ats[i:n.n])
	copy(n.ids[i+1:n.n+1], n.ids[i:n.n])
	n.set(i, e)
	n.n++
}

// removeEntry removes and returns entry i of n.
func (n *rankNode) removeEntry(i int) entry {
	e := n.get(i)
	copy(n.scores[i:n.n-1], n.scores[i+1:n.n])
	copy(n.ats[i:n.n-1], n.ats[i+1:n.n])
	copy(n.ids[i:n.n-1], n.ids[i+1:n.n])
	n.n--
	return e
}

// insertChild inserts child c of size at index i, with count children
// present before.
func (n *rankNode) insertChild(i, count int, c *rankNode, size int) {
	copy(n.children[i+1:count+1], n.children[i:count])
	copy(n.sizes[i+1:count+1], n.sizes[i:count])
	n.children[i], n.sizes[i] = c, size
}

// removeChild removes child i, with count children present before, and
// returns it with its size.
func (n *rankNode) removeChild(i, count int) (*rankNode, int) {
	c, size := n.children[i], n.sizes[i]
	copy(n.children[i:count-1], n.children[i+1:count])
	copy(n.sizes[i:count-1], n.sizes[i+1:count])
	n.children[count-1], n.sizes[count-1] = nil, 0
	return c, size
}

// size returns the number of entries in n's subtree.
func (n *rankNode) size() int {
	s := n.n
	if !n.leaf {
		for _, c := range n.sizes[:n.n+1] {
			s += c
		}
	}
	return s
}

// split moves the entries after i (and their children) into a new node and
// returns entry i, the new node and its size; n keeps the entries before i.
func (n *rankNode) split(i int) (entry, *rankNode, int) {
	mid := n.get(i)
	right := newNode(n.leaf)
	right.n = n.n - i - 1
	copy(right.scores[:], n.scores[i+1:n.n])
	copy(right.ats[:], n.ats[i+1:n.n])
	copy(right.ids[:], n.ids[i+1:n.n])
	if !n.leaf {
		copy(right.children[:], n.children[i+1:n.n+1])
		copy(right.sizes[:], n.sizes[i+1:n.n+1])
		clear(n.children[i+1 : n.n+1])
		clear(n.sizes[i+1 : n.n+1])
	}
	n.n = i
	return mid, right, right.size()
}

func (n *rankNode) insert(e entry, names []string) {
	for !n.leaf {
		i := n.find(&e, names)
		if n.children[i].n >= maxEntries {
			mid, right, rightSize := n.children[i].split(maxEntries / 2)
			n.insertChild(i+1, n.n+1, right, rightSize)
			n.insertEntry(i, mid)
			n.sizes[i] -= rightSize + 1
			if mid.before(&e, names) {
				i++
			}
		}
		n.sizes[i]++
		n = n.children[i]
	}
	n.insertEntry(n.find(&e, names), e)
}

// remove deletes e (or, with max, the last entry) from n's subtree and
// returns it. The entry must be present. Before descending into a child it
// makes sure the child has more than minEntries, so that the removal never
// has to walk back up.
func (n *rankNode) remove(e *entry, max bool, names []string) entry {
	for {
		var i int
		found := false
		if max {
			i = n.n
			if n.leaf {
				i--
			}
		} else {
			i = n.find(e, names)
			found = i < n.n && n.equal(i, e)
		}
		if n.leaf {
			return n.removeEntry(i)
		}
		if n.children[i].n <= minEntries {
			n.grow(i)
			continue // the entries moved: look again
		}
		n.sizes[i]--
		child := n.children[i]
		if found {
			out := n.get(i)
			n.set(i, child.remove(nil, true, names))
			return out
		}
		n = child
	}
}

// grow gives child i more than minEntries, by rotating an entry from a
// sibling through n or by merging it with a sibling.
func (n *rankNode) grow(i int) {
	switch {
	case i > 0 && n.children[i-1].n > minEntries:
		child, left := n.children[i], n.children[i-1]
		moved := 1
		if !child.leaf {
			c, size := left.removeChild(left.n, left.n+1)
			child.insertChild(0, child.n+1, c, size)
			moved += size
		}
		child.insertEntry(0, n.get(i-1))
		n.set(i-1, left.removeEntry(left.n-1))
		n.sizes[i-1] -= moved
		n.sizes[i] += moved
	case i < n.n && n.children[i+1].n > minEntries:
		child, right := n.children[i], n.children[i+1]
		moved := 1
		if !child.leaf {
			c, size := right.removeChild(0, right.n+1)
			child.insertChild(child.n+1, child.n+1, c, size)
			moved += size
		}
		child.insertEntry(child.n, n.get(i))
		n.set(i, right.removeEntry(0))
		n.sizes[i+1] -= moved
		n.sizes[i] += moved
	default:
		if i >= n.n {
			i--
		}
		child, right := n.children[i], n.children[i+1]
		child.insertEntry(child.n, n.get(i))
		copy(child.scores[child.n:], right.scores[:right.n])
		copy(child.ats[child.n:], right.ats[:right.n])
		copy(child.ids[child.n:], right.ids[:right.n])
		if !child.leaf {
			copy(child.children[child.n:], right.children[:right.n+1])
			copy(child.sizes[child.n:], right.sizes[:right.n+1])
		}
		child.n += right.n
		_, rightSize := n.removeChild(i+1, n.n+1)
		n.sizes[i] += 1 + rightSize
		n.removeEntry(i)
	}
}

// ascend walks n's subtree in order, first skipping *skip entries by whole
// subtrees where it can. It returns false when fn stopped the walk.
func (n *rankNode) ascend(skip *int, fn func(entry) bool) bool {
	if n.leaf {
		if *skip >= n.n {
			*skip -= n.n
			return true
		}
		for i := *skip; i < n.n; i++ {
			if !fn(n.get(i)) {
				return false
			}
		}
		*skip = 0
		return true
	}
	for i := 0; i <= n.n; i++ {
		if *skip >= n.sizes[i] {
			*skip -= n.sizes[i]
		} else if !n.children[i].ascend(skip, fn) {
			return false
		}
		if i < n.n {
			if *skip > 0 {
				*skip--
				continue
			}
			if !fn(n.get(i)) {
				return false
			}
		}
	}
	return true
}

// maxDepth bounds the depth move records. A tree of minimum fanout
// minEntries+1 is at most 9 levels deep for 2^32 entries, the most a board
// holds.
const maxDepth = 16

// move replaces entry old, which must be present, with next, which must not
// be: a member's move to a new score. It is remove and insert in one.
//
// A move descends to two leaves, and on a large board each is a string of
// cache misses: it walks both paths in one loop, loading every line of both
// leaves before searching either (touch), so that the processor waits for
// all those misses at once, and records the paths. When neither leaf
// would underflow or overflow and old is in a leaf, as on all but a few
// moves, it then changes the two leaves and the counts along the recorded
// paths, without descending again; otherwise it removes and inserts from
// the root, over nodes the walk has brought into cache.
func (t *rankTree) move(old, next *entry) {
	var pathA, pathB [maxDepth]*rankNode
	var idxA, idxB [maxDepth]int
	na, nb, names := t.root, t.root, t.names
	d := 0
	for ; ; d++ {
		if d >= t.height-1 {
			// The leaves: the levels above, a few nodes per leaf's
			// worth, stay in cache or near it.
			t.touched += na.touch() + nb.touch()
		}
		i, j := na.find(old, names), nb.find(next, names)
		pathA[d], idxA[d], pathB[d], idxB[d] = na, i, nb, j
		if na.leaf || nb.leaf || d+1 == maxDepth {
			break
		}
		if i < na.n && na.equal(i, old) {
			break // old is in an internal node: no fast path
		}
		na, nb = na.children[i], nb.children[j]
	}
	la, lb, i, j := pathA[d], pathB[d], idxA[d], idxB[d]
	switch {
	case la.leaf && la == lb:
		// One leaf: the paths are the same, so are the counts above.
		if j > i {
			j-- // next's place once old is out
		}
		la.removeEntry(i)
		la.insertEntry(j, *next)
	case la.leaf && lb.leaf && la.n > minEntries && lb.n < maxEntries:
		la.removeEntry(i)
		lb.insertEntry(j, *next)
		for k := range d {
			pathA[k].sizes[idxA[k]]--
			pathB[k].sizes[idxB[k]]++
		}
	default:
		t.remove(*old)
		t.insert(*next)
	}
}

// touch loads a word of every cache line of n's keys and returns their sum,
// for nothing but the loads: the searches and shifts that follow then find
// the lines in cache, or on their way. A search alone would wait for one
// line after another, a shift's lines only after the search.
func (n *rankNode) touch() int64 {
	var x int64
	for i := 0; i < maxEntries; i += 8 { // 8 int64s to a 64-byte line
		x += n.scores[i] + n.ats[i]
	}
	for i := 0; i < maxEntries; i += 16 {
		x += int64(n.ids[i])
	}
	return x
}
