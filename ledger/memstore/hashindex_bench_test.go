package memstore

import (
	"math/rand/v2"
	"testing"

	"github.com/carbonkit/carbonkit/internal/offheap"
)

// BenchmarkHashIndex measures a miss (a lookup of a hash never stored,
// Post's usual case) and an insert in an index of 2M values.
func BenchmarkHashIndex(b *testing.B) {
	x := newHashIndex(offheap.New())
	r := rand.New(rand.NewPCG(1, 2))
	for i := range uint64(2 << 20) {
		x.insert(r.Uint64(), i)
	}
	b.Run("Miss", func(b *testing.B) {
		for range b.N {
			if _, ok := x.find(r.Uint64(), func(uint64) bool { return true }); ok {
				b.Fatal("found")
			}
		}
	})
	b.Run("Insert", func(b *testing.B) {
		for i := range b.N {
			x.insert(r.Uint64(), uint64(i))
		}
	})
}
