package rewards

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRankTreeAgainstSortedSlice drives the B-tree and a sorted slice with the
// same random inserts and removals, checking every query against the slice
// and the subtree counts against a recount.
func TestRankTreeAgainstSortedSlice(t *testing.T) {
	t.Parallel() // CPU-bound under the race detector: run beside the rest
	for _, tc := range []struct {
		name       string
		ops, users int
		scores     int64
	}{
		{name: "small dense ties", ops: 20000, users: 50, scores: 5},
		{name: "deep tree", ops: 30000, users: 5000, scores: 1000},
		{name: "grow then drain", ops: 30000, users: 3000, scores: 1 << 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(tc.ops)))
			var tree rankTree
			var model []entry
			current := map[string]entry{}
			ids := map[string]uint32{}
			cmp := func(a, b entry) int {
				switch {
				case a.before(&b, tree.names):
					return -1
				case b.before(&a, tree.names):
					return 1
				}
				return 0
			}
			for op := 0; op < tc.ops; op++ {
				user := "u" + strconv.Itoa(rng.IntN(tc.users))
				drain := tc.name == "grow then drain" && op > tc.ops/2
				if old, ok := current[user]; ok {
					tree.remove(old)
					i, found := slices.BinarySearchFunc(model, old, cmp)
					require.True(t, found)
					model = slices.Delete(model, i, i+1)
					delete(current, user)
					if drain {
						continue
					}
				} else if drain {
					continue
				}
				id, ok := ids[user]
				if !ok {
					id = uint32(len(tree.names))
					ids[user] = id
					tree.names = append(tree.names, user)
				}
				e := entry{score: rng.Int64N(tc.scores) - tc.scores/2, at: rng.Int64N(10), id: id}
				tree.insert(e)
				i, _ := slices.BinarySearchFunc(model, e, cmp)
				model = slices.Insert(model, i, e)
				current[user] = e
				if op%(tc.ops/4) == 0 {
					checkTree(t, &tree, model)
				}
			}
			checkTree(t, &tree, model)
		})
	}
}

func checkTree(t *testing.T, tree *rankTree, model []entry) {
	t.Helper()
	require.Equal(t, len(model), tree.Len())
	if tree.root != nil {
		require.Equal(t, tree.Len(), checkSizes(t, tree.root, true))
	}
	var got []entry
	tree.ascend(0, func(pos int, e entry) bool {
		require.Equal(t, len(got), pos)
		got = append(got, e)
		return true
	})
	if len(model) == 0 {
		require.Empty(t, got)
		return
	}
	require.Len(t, got, len(model))
	for i, e := range model {
		if got[i] != e {
			t.Fatalf("position %d: got %+v, want %+v", i, got[i], e)
		}
		if i%3 != 0 {
			continue
		}
		if n := tree.countBefore(&e); n != i {
			t.Fatalf("countBefore(%+v) = %d, want %d", e, n, i)
		}
		higher := 0
		for higher < len(model) && model[higher].score > e.score {
			higher++
		}
		if pos, h := tree.place(&e); pos != i || h != higher {
			t.Fatalf("place(%+v) = %d, %d, want %d, %d", e, pos, h, i, higher)
		}
	}
	for _, skip := range []int{0, 1, len(model) / 2, len(model) - 1, len(model), len(model) + 5} {
		var page []entry
		tree.ascend(skip, func(pos int, e entry) bool {
			page = append(page, e)
			return len(page) < 10
		})
		want := model[min(skip, len(model)):min(skip+10, len(model))]
		if len(want) == 0 {
			require.Empty(t, page)
		} else {
			require.Equal(t, want, page)
		}
	}
}

func checkSizes(t *testing.T, n *rankNode, root bool) int {
	t.Helper()
	if !root {
		require.GreaterOrEqual(t, n.n, minEntries)
	}
	require.LessOrEqual(t, n.n, maxEntries)
	size := n.n
	if !n.leaf {
		for i := 0; i <= n.n; i++ {
			require.NotNil(t, n.children[i])
			require.Equal(t, n.sizes[i], checkSizes(t, n.children[i], false))
			size += n.sizes[i]
		}
		for i := n.n + 1; i <= maxEntries; i++ {
			require.Nil(t, n.children[i], "an unused slot holds no child")
		}
	}
	return size
}
