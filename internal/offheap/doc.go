// Package offheap gives carbonkit's in-memory stores memory for their large,
// long-lived, pointer-free data (encoded entries, index tables) outside the
// Go heap.
//
// Such data only grows, the collector has nothing to trace in it, and its
// cost is dominated by first writes to fresh memory and by TLB misses on
// random lookups. Both fall with 2 MiB pages: an Allocator maps its regions
// outside the heap and, on Linux, asks for transparent huge pages
// (madvise(MADV_HUGEPAGE), which the "madvise" THP mode that most
// distributions ship honours), so that a store of millions of entries takes
// one fault per 2 MiB instead of one per 4 KiB. Measured on a Firecracker
// guest: a first write to a fresh 4 KiB page cost about 12 µs; with huge
// pages, about 7 µs per 4 KiB of memory the guest had never touched and
// 0.3–0.4 µs per 4 KiB of memory it had; a dependent random read in 100 MB
// cost 170–190 ns against 210–265 ns.
//
// A small Allocator stays on the Go heap: only after it has handed out
// HeapBytes does it map regions, so that the thousands of short-lived
// stores a test suite makes never touch mmap. Elsewhere than Linux, and
// when mapping fails, every block comes from the Go heap.
//
// Blocks must not hold Go pointers (the collector does not see them), and
// must not be used once the Allocator is unreachable: its regions are then
// unmapped. Keep the Allocator reachable from whatever holds its blocks,
// and never hand a block, or a string or slice aliasing one, to a caller.
//
// The race detector does not see accesses to mapped memory. A store's code
// is the same whichever memory a block comes from, and small stores (those
// of most tests) use the heap, so -race still checks how a store guards
// its blocks.
package offheap
