package rewards

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRankTreeMove drives the B-tree's move (a member's new score, as
// MemBoardStore.Add makes it) and a sorted slice with the same random
// moves, small and large, with ties of score and time, so that moves stay
// in one leaf, cross to another (the fast path) and meet full and sparse
// leaves and entries in internal nodes (the fallback); it checks every
// query against the slice and the subtree counts against a recount.
func TestRankTreeMove(t *testing.T) {
	t.Parallel() // CPU-bound under the race detector: run beside the rest
	for _, tc := range []struct {
		name          string
		members, ops  int
		scores, delta int64
	}{
		{name: "one leaf", members: 40, ops: 3000, scores: 20, delta: 5},
		{name: "small steps", members: 2000, ops: 6000, scores: 1000, delta: 30},
		{name: "large steps", members: 2000, ops: 6000, scores: 1 << 20, delta: 1 << 19},
		{name: "dense ties", members: 1500, ops: 6000, scores: 8, delta: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(tc.ops)))
			var tree rankTree
			var model []entry
			cmp := func(a, b entry) int {
				switch {
				case a.before(&b, tree.names):
					return -1
				case b.before(&a, tree.names):
					return 1
				}
				return 0
			}
			current := make([]entry, tc.members)
			for i := range current {
				tree.names = append(tree.names, "u"+strconv.Itoa(i))
				e := entry{score: rng.Int64N(tc.scores), at: rng.Int64N(4), id: uint32(i)}
				tree.insert(e)
				j, _ := slices.BinarySearchFunc(model, e, cmp)
				model = slices.Insert(model, j, e)
				current[i] = e
			}
			checkTree(t, &tree, model)
			for op := range tc.ops {
				u := rng.IntN(tc.members)
				old := current[u]
				next := old
				for next.score == old.score {
					next.score = old.score + rng.Int64N(2*tc.delta+1) - tc.delta
				}
				next.at = max(old.at, rng.Int64N(int64(4+op/100)))
				tree.move(&old, &next)
				i, found := slices.BinarySearchFunc(model, old, cmp)
				require.True(t, found)
				model = slices.Delete(model, i, i+1)
				j, _ := slices.BinarySearchFunc(model, next, cmp)
				model = slices.Insert(model, j, next)
				current[u] = next
				if op%(tc.ops/3) == 0 {
					checkTree(t, &tree, model)
					checkHeight(t, &tree)
				}
			}
			checkTree(t, &tree, model)
			checkHeight(t, &tree)
			for len(model) > 0 { // drain, the root collapsing level by level
				tree.remove(model[len(model)-1])
				model = model[:len(model)-1]
				if len(model)%500 == 0 {
					checkHeight(t, &tree)
				}
			}
			checkHeight(t, &tree)
		})
	}
}

// checkHeight checks the tree's record of its height against its leaves'
// depth.
func checkHeight(t *testing.T, tree *rankTree) {
	t.Helper()
	h := 0
	for n := tree.root; n != nil; h++ {
		if n.leaf {
			n = nil
		} else {
			n = n.children[0]
		}
	}
	require.Equal(t, h, tree.height)
}
