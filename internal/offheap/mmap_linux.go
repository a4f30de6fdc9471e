package offheap

import (
	"syscall"
	"unsafe"
)

// hugePage is the size of a transparent huge page on amd64 and arm64.
const hugePage = 2 << 20

// mapRegion maps anonymous memory and returns n bytes of it (n a multiple
// of hugePage) aligned to hugePage, so that all of them can be backed by
// huge pages, with the advice that asks for them; whole is the mapping, for
// unmapRegion. It returns nils if the mapping fails.
func mapRegion(n int) (use, whole []byte) {
	whole, err := syscall.Mmap(-1, 0, n+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, nil
	}
	skip := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(whole))) % hugePage); r != 0 {
		skip = hugePage - r
	}
	use = whole[skip : skip+n : skip+n]
	// A kernel without THP refuses the advice; the memory is good anyway.
	_ = syscall.Madvise(use, madvHugePage)
	return use, whole
}

// madvHugePage is MADV_HUGEPAGE, which package syscall does not name.
const madvHugePage = 14

func unmapRegion(whole []byte) { _ = syscall.Munmap(whole) }
