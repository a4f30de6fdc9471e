package memstore

import "hash/maphash"

// keyIndex maps strings (entry IDs, unique keys) to the Seq of the entry
// that holds them, in memory the collector does not scan: the maps are keyed
// by a 64-bit hash and hold integers, and the strings themselves are copied
// into byte chunks, so that an index of millions of entries adds nothing to
// a collection's work. A hash shared by two strings is found out by
// comparing the stored text; the later string then goes to spill, an
// ordinary map that stays empty in practice.
//
// A keyIndex is not safe for concurrent use; the Store guards it with idx.
type keyIndex struct {
	seed  maphash.Seed
	slots map[uint64]uint32 // hash → 1 + index into refs (a store never holds 2³² keys: at ~640 bytes an entry that is terabytes)
	spill map[string]uint32 // strings whose hash another string has
	refs  pages[keyRef]
	text  arena
}

// keyRef is one indexed string: where its text is and what it maps to.
type keyRef struct {
	seq uint64
	at  uint64 // arena position
	n   uint32 // text length
}

func newKeyIndex() keyIndex {
	return keyIndex{seed: maphash.MakeSeed(), slots: make(map[uint64]uint32)}
}

// get returns the Seq indexed under s.
func (x *keyIndex) get(s string) (uint64, bool) {
	if i, ok := x.slots[maphash.String(x.seed, s)]; ok {
		if r := x.refs.at(int(i - 1)); x.text.equal(r.at, r.n, s) {
			return r.seq, true
		}
		if i, ok := x.spill[s]; ok {
			return x.refs.at(int(i - 1)).seq, true
		}
	}
	return 0, false
}

// put indexes s (which must not be indexed yet) under seq.
func (x *keyIndex) put(s string, seq uint64) {
	x.refs.append(keyRef{seq: seq, at: x.text.add(s), n: uint32(len(s))})
	i := uint32(x.refs.len())
	h := maphash.String(x.seed, s)
	if _, taken := x.slots[h]; !taken {
		x.slots[h] = i
		return
	}
	if x.spill == nil {
		x.spill = make(map[string]uint32)
	}
	x.spill[s] = i
}

// arena stores strings back to back in chunks that hold no pointers.
type arena struct {
	chunks [][]byte
}

// chunkSize is an arena chunk's usual size: large enough that chunks are
// few, small enough that a fresh store does not reserve much.
const chunkSize = 256 << 10

// add copies s into the arena and returns its position: the chunk's index
// in the upper 32 bits, the offset in it in the lower.
func (a *arena) add(s string) uint64 { return arenaAdd(a, s) }

// arenaAdd is add for a string or a byte slice.
func arenaAdd[S ~string | ~[]byte](a *arena, s S) uint64 {
	n := len(a.chunks)
	if n == 0 || cap(a.chunks[n-1])-len(a.chunks[n-1]) < len(s) {
		a.chunks = append(a.chunks, make([]byte, 0, max(chunkSize, len(s))))
		n++
	}
	c := &a.chunks[n-1]
	at := uint64(n-1)<<32 | uint64(len(*c))
	*c = append(*c, s...)
	return at
}

// bytes returns the n bytes at position at. They never change.
func (a *arena) bytes(at uint64, n uint32) []byte {
	off := uint32(at)
	return a.chunks[at>>32][off : off+n : off+n]
}

// equal reports whether the text at position at, n bytes long, is s.
func (a *arena) equal(at uint64, n uint32, s string) bool {
	if int(n) != len(s) {
		return false
	}
	return string(a.bytes(at, n)) == s // compared without a copy
}

// pages is an append-only sequence stored in fixed-size pages, so that
// growing it never copies what it holds: a store of millions of entries
// would otherwise copy its whole index each time a slice outgrew itself.
type pages[T any] struct {
	pages [][]T
	n     int
}

// pageSize is the number of elements in a page.
const pageSize = 4096

func (p *pages[T]) len() int { return p.n }

func (p *pages[T]) append(v T) {
	if p.n%pageSize == 0 {
		p.pages = append(p.pages, make([]T, pageSize))
	}
	p.pages[p.n/pageSize][p.n%pageSize] = v
	p.n++
}

// at returns element i, which must be below len.
func (p *pages[T]) at(i int) T { return p.pages[i/pageSize][i%pageSize] }
