package offheap_test

import (
	"fmt"

	"github.com/carbonkit/carbonkit/internal/offheap"
)

// A store keeps fixed-size, pointer-free records in blocks from its
// Allocator, and keeps the Allocator for as long as it keeps the blocks.
func Example() {
	type span struct {
		at uint64
		n  uint32
	}
	a := offheap.New()
	spans := offheap.Make[span](a, 4096)
	spans[0] = span{at: 64, n: 285}
	fmt.Println(len(spans), spans[0].n)
	// Output: 4096 285
}
