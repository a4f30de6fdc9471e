package offheap

import (
	"runtime"
	"sync"
	"unsafe"
)

// HeapBytes is how much an Allocator hands out from the Go heap before it
// maps regions of its own.
const HeapBytes = 4 << 20

// RegionBytes is the size of a mapped region: a multiple of the 2 MiB huge
// page. Untouched parts of a region cost address space only.
const RegionBytes = 64 << 20

// align is the alignment of every block: a cache line.
const align = 64

// Allocator hands out zeroed blocks that live as long as it does. It is not
// safe for concurrent use: its owner guards it.
type Allocator struct {
	heap int    // bytes handed out from the Go heap
	used int    // bytes handed out from regions, alignment included
	cur  []byte // the unused rest of the newest region
	regs *regions
}

// regions are an Allocator's mapped regions, unmapped by a cleanup once the
// Allocator is unreachable.
type regions struct {
	mu   sync.Mutex
	list [][]byte
}

// New returns an empty Allocator.
func New() *Allocator { return new(Allocator) }

// Bytes returns a zeroed block of n bytes, aligned to 64 bytes, whose
// length and capacity are n.
func (a *Allocator) Bytes(n int) []byte {
	if n <= 0 {
		return nil
	}
	if a.heap < HeapBytes || n > RegionBytes/4 {
		a.heap += n
		return make([]byte, n)
	}
	size := (n + align - 1) &^ (align - 1)
	if len(a.cur) < size {
		r, whole := mapRegion(RegionBytes)
		if r == nil {
			a.heap += n
			return make([]byte, n)
		}
		if a.regs == nil {
			a.regs = new(regions)
			runtime.AddCleanup(a, (*regions).unmap, a.regs)
		}
		a.regs.mu.Lock()
		a.regs.list = append(a.regs.list, whole)
		a.regs.mu.Unlock()
		a.cur = r
	}
	b := a.cur[:n:n]
	a.cur = a.cur[size:]
	a.used += size
	return b
}

// Make returns a zeroed slice of n values of T from a. T must hold no
// pointers (no pointer, string, slice, map, chan, func or interface, at any
// depth): the collector would not see them.
func Make[T any](a *Allocator, n int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if n <= 0 || size == 0 {
		return make([]T, n)
	}
	if a.heap < HeapBytes {
		a.heap += n * size
		return make([]T, n)
	}
	b := a.Bytes(n * size)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// OffHeap reports how many bytes a has handed out from its regions: memory
// that runtime.MemStats does not count.
func (a *Allocator) OffHeap() int { return a.used }

func (r *regions) unmap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.list {
		unmapRegion(b)
	}
	r.list = nil
}
