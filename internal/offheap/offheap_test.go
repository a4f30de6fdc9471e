package offheap

import (
	"runtime"
	"testing"
	"time"
	"unsafe"
)

type rec struct {
	seq uint64
	n   uint32
}

func TestBlocksAreZeroedAlignedAndDisjoint(t *testing.T) {
	const maxBlock = 256 << 10
	a := New()
	var blocks [][]byte
	total := 0
	for i := 0; total < HeapBytes+3*RegionBytes/2; i++ {
		n := 1 + (i*7919)%maxBlock
		b := a.Bytes(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("Bytes(%d): len %d cap %d", n, len(b), cap(b))
		}
		for _, c := range b {
			if c != 0 {
				t.Fatalf("Bytes(%d) is not zeroed", n)
			}
		}
		if total >= HeapBytes && a.Mapped() > 0 {
			if p := uintptr(unsafe.Pointer(unsafe.SliceData(b))); p%align != 0 {
				t.Fatalf("block at %#x is not %d-byte aligned", p, align)
			}
		}
		b[0], b[n-1] = byte(i), byte(i)
		blocks = append(blocks, b)
		total += n
	}
	for i, b := range blocks {
		if b[0] != byte(i) || b[len(b)-1] != byte(i) {
			t.Fatalf("block %d was overwritten by another", i)
		}
	}
	// The block that crossed the heap budget came from the heap too.
	if a.Mapped() > 0 && (a.OffHeap() < total-HeapBytes-maxBlock || a.OffHeap() > a.Mapped()) {
		t.Fatalf("OffHeap = %d after %d bytes, %d of them past the heap budget, in %d bytes mapped", a.OffHeap(), total, total-HeapBytes, a.Mapped())
	}
	if runtime.GOOS == "linux" && a.Mapped() < RegionBytes {
		t.Fatalf("after %d bytes, Mapped = %d: want regions beyond the first %d bytes", total, a.Mapped(), HeapBytes)
	}
}

func TestMakeHoldsValues(t *testing.T) {
	a := New()
	a.Bytes(HeapBytes) // past the heap budget: the next blocks are mapped where the platform can
	s := Make[rec](a, 1000)
	if len(s) != 1000 {
		t.Fatalf("len %d", len(s))
	}
	for i := range s {
		if s[i] != (rec{}) {
			t.Fatalf("element %d not zeroed", i)
		}
		s[i] = rec{seq: uint64(i), n: uint32(i)}
	}
	for i, r := range s {
		if r.seq != uint64(i) || r.n != uint32(i) {
			t.Fatalf("element %d = %+v", i, r)
		}
	}
	if got := Make[rec](a, 0); len(got) != 0 {
		t.Fatalf("Make(0) has len %d", len(got))
	}
}

func TestRegionsUnmappedWhenUnreachable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no mapped regions on " + runtime.GOOS)
	}
	a := New()
	a.Bytes(HeapBytes)
	a.Bytes(1)
	regs := a.regs
	if regs == nil || len(regs.list) == 0 {
		t.Fatal("no region mapped past the heap budget")
	}
	a = nil
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		regs.mu.Lock()
		n := len(regs.list)
		regs.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("regions still mapped 10s after the Allocator became unreachable")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Mapped reports how many bytes of regions a has mapped (address space,
// not memory in use).
func (a *Allocator) Mapped() int {
	if a.regs == nil {
		return 0
	}
	a.regs.mu.Lock()
	defer a.regs.mu.Unlock()
	return len(a.regs.list) * RegionBytes
}
