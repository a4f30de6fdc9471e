package memstore

import (
	"cmp"
	"math/rand/v2"
	"time"
)

// treap is an ordered set of records by ID, each with a time key, that
// finds the records with a key at or before some time, in ID order after a
// cursor, in time proportional to the answer: each node keeps the earliest
// key of its subtree, so a query skips every subtree with nothing due.
// Expiring (accounts by their earliest expiring lot) and PendingHolds
// (holds by deadline) ask exactly that, page by page with an ID cursor, and
// a structure ordered by time instead would have to gather and sort every
// due record again for each page. It is not safe for concurrent use; each
// Store treap has the mutex noted on its field.
type treap[K cmp.Ordered, V any] struct {
	root *tnode[K, V]
	n    int
}

type tnode[K cmp.Ordered, V any] struct {
	id   K
	v    V
	key  time.Time
	min  time.Time // earliest key in the subtree
	prio uint64    // random heap priority, which keeps the tree balanced
	l, r *tnode[K, V]
}

// fix recomputes n.min from n and its children.
func (n *tnode[K, V]) fix() {
	n.min = n.key
	if n.l != nil && n.l.min.Before(n.min) {
		n.min = n.l.min
	}
	if n.r != nil && n.r.min.Before(n.min) {
		n.min = n.r.min
	}
}

// split splits t into the nodes with IDs below id and the rest.
func split[K cmp.Ordered, V any](t *tnode[K, V], id K) (l, r *tnode[K, V]) {
	if t == nil {
		return nil, nil
	}
	if t.id < id {
		t.r, r = split(t.r, id)
		t.fix()
		return t, r
	}
	l, t.l = split(t.l, id)
	t.fix()
	return l, t
}

// merge joins a and b, every ID in a below every ID in b.
func merge[K cmp.Ordered, V any](a, b *tnode[K, V]) *tnode[K, V] {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.prio > b.prio:
		a.r = merge(a.r, b)
		a.fix()
		return a
	}
	b.l = merge(a, b.l)
	b.fix()
	return b
}

func remove[K cmp.Ordered, V any](t *tnode[K, V], id K) (*tnode[K, V], bool) {
	if t == nil {
		return nil, false
	}
	var ok bool
	switch c := cmp.Compare(id, t.id); {
	case c < 0:
		t.l, ok = remove(t.l, id)
	case c > 0:
		t.r, ok = remove(t.r, id)
	default:
		return merge(t.l, t.r), true
	}
	if ok {
		t.fix()
	}
	return t, ok
}

// insert adds n, whose ID must not be in the set, and returns it.
func (s *treap[K, V]) insert(n *tnode[K, V]) *tnode[K, V] {
	n.l, n.r = nil, nil
	n.prio = rand.Uint64()
	n.fix()
	l, r := split(s.root, n.id)
	s.root = merge(merge(l, n), r)
	s.n++
	return n
}

// remove removes the node with ID id, if any.
func (s *treap[K, V]) remove(id K) {
	var ok bool
	s.root, ok = remove(s.root, id)
	if ok {
		s.n--
	}
}

// collect appends to out, in ID order, the values of up to limit nodes
// with IDs above after and keys at or before asOf.
func (s *treap[K, V]) collect(after K, asOf time.Time, limit int, out []V) []V {
	if limit <= 0 {
		return out
	}
	return s.root.collect(after, asOf, len(out)+limit, out)
}

func (n *tnode[K, V]) collect(after K, asOf time.Time, end int, out []V) []V {
	for n != nil && len(out) < end && !n.min.After(asOf) {
		if n.id <= after {
			n = n.r // the left subtree is all at or before the cursor
			continue
		}
		out = n.l.collect(after, asOf, end, out)
		if len(out) < end && !n.key.After(asOf) {
			out = append(out, n.v)
		}
		n = n.r
	}
	return out
}
