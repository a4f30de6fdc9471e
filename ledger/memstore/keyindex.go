package memstore

import (
	"encoding/binary"
	"hash/maphash"

	"github.com/carbonkit/carbonkit/internal/offheap"
)

// keyIndex maps unique keys to the Seq of the entry that holds them, in
// memory the collector does not scan: a hashIndex from each key's 64-bit
// hash to a record in an arena that holds the Seq and the key's text. A
// hash shared by two keys is told apart by the text.
//
// A keyIndex is not safe for concurrent use; the Store guards it with idx.
type keyIndex struct {
	seed maphash.Seed
	tab  hashIndex
	recs arena // per key: Seq (8 bytes), text length (4), text
}

const keyRecHeader = 12

func newKeyIndex(mem *offheap.Allocator, seed maphash.Seed) keyIndex {
	return keyIndex{seed: seed, tab: newHashIndex(mem), recs: arena{mem: mem}}
}

// get returns the Seq indexed under s.
func (x *keyIndex) get(s string) (uint64, bool) {
	return x.getHashed(maphash.String(x.seed, s), s)
}

func (x *keyIndex) getHashed(h uint64, s string) (uint64, bool) {
	at, ok := x.tab.find(h, func(at uint64) bool { return string(x.text(at)) == s })
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint64(x.recs.bytes(at, 8)), true
}

// put indexes s (which must not be indexed yet) under seq.
func (x *keyIndex) put(s string, seq uint64) { x.putHashed(maphash.String(x.seed, s), s, seq) }

func (x *keyIndex) putHashed(h uint64, s string, seq uint64) {
	var hdr [keyRecHeader]byte
	binary.LittleEndian.PutUint64(hdr[:8], seq)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(len(s)))
	x.tab.insert(h, x.recs.add2(hdr[:], s))
}

// text returns the text of the record at at.
func (x *keyIndex) text(at uint64) []byte {
	n := binary.LittleEndian.Uint32(x.recs.bytes(at+8, 4))
	return x.recs.bytes(at+keyRecHeader, n)
}

// arena stores byte strings back to back in chunks that hold no pointers,
// from the store's offheap.Allocator. A string never straddles two chunks.
type arena struct {
	mem    *offheap.Allocator
	chunks [][]byte
}

// chunkSize is an arena chunk's usual size: large enough that chunks are
// few, small enough that a fresh store does not reserve much.
const chunkSize = 256 << 10

// add copies b into the arena and returns its position: the chunk's index
// in the upper 32 bits, the offset in it in the lower.
func (a *arena) add(b []byte) uint64 { return a.add2(b, "") }

// add2 copies b and then s into the arena, back to back, and returns the
// position of the first byte.
func (a *arena) add2(b []byte, s string) uint64 {
	need := len(b) + len(s)
	n := len(a.chunks)
	if n == 0 || cap(a.chunks[n-1])-len(a.chunks[n-1]) < need {
		a.chunks = append(a.chunks, a.mem.Bytes(max(chunkSize, need))[:0])
		n++
	}
	c := &a.chunks[n-1]
	at := uint64(n-1)<<32 | uint64(len(*c))
	*c = append(append(*c, b...), s...)
	return at
}

// bytes returns the n bytes at position at. They never change, and must
// not outlive the Store: copy what a caller keeps.
func (a *arena) bytes(at uint64, n uint32) []byte {
	off := uint32(at)
	return a.chunks[at>>32][off : off+n : off+n]
}

// pages is an append-only sequence stored in fixed-size pages, so that
// growing it never copies what it holds: a store of millions of entries
// would otherwise copy its whole index each time a slice outgrew itself.
// T must hold no pointers: pages come from the store's offheap.Allocator.
type pages[T any] struct {
	mem   *offheap.Allocator
	pages [][]T
	n     int
}

// pageSize is the number of elements in a page.
const pageSize = 4096

func (p *pages[T]) len() int { return p.n }

func (p *pages[T]) append(v T) {
	if p.n%pageSize == 0 {
		p.pages = append(p.pages, offheap.Make[T](p.mem, pageSize))
	}
	p.pages[p.n/pageSize][p.n%pageSize] = v
	p.n++
}

// at returns element i, which must be below len.
func (p *pages[T]) at(i int) T { return p.pages[i/pageSize][i%pageSize] }

// set replaces element i, which must be below len.
func (p *pages[T]) set(i int, v T) { p.pages[i/pageSize][i%pageSize] = v }
