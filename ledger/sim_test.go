package ledger_test

import (
	"flag"
	"strconv"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/ledger/memstore"
	"github.com/carbonkit/carbonkit/ledger/storetest"
)

// The simulation replays with: go test ./ledger -run TestSimulation
// -sim.seed=N [-sim.ops=M].
var (
	simSeed = flag.Uint64("sim.seed", 0, "run the simulation with this seed only (0: the default seeds)")
	simOps  = flag.Int("sim.ops", 0, "operations per seed (0: the default)")
)

const (
	simSeeds      = 8
	simOpsPerSeed = 12_500 // 100,000 in all
)

// TestSimulation runs storetest.Simulate, a seeded random workload checked
// against a reference model, over a memstore behind a fault-injecting
// wrapper.
func TestSimulation(t *testing.T) {
	simulate(t, "TestSimulation$", simSeeds, func() ledger.Store { return memstore.New() })
}

// TestSimulationKeyLocking runs the simulation over a memstore whose
// transactions are ledger.KeyLockers (storetest.KeyLocking): the Ledger
// then looks idempotency keys up with its locks.
func TestSimulationKeyLocking(t *testing.T) {
	simulate(t, "TestSimulationKeyLocking", 2, func() ledger.Store { return storetest.KeyLocking(memstore.New()) })
}

// TestSimulationKeyDeferring runs the simulation over a memstore whose
// transactions are ledger.KeyDeferrers that never look a key up on a
// write's first try (storetest.KeyDeferring): every replay conflicts once
// and must still return the original entry, or ErrIdempotencyConflict.
func TestSimulationKeyDeferring(t *testing.T) {
	simulate(t, "TestSimulationKeyDeferring", 3, func() ledger.Store { return storetest.KeyDeferring(memstore.New()) })
}

func simulate(t *testing.T, name string, nseeds int, newStore func() ledger.Store) {
	ops := simOpsPerSeed
	if testing.Short() {
		ops = 2_000
	}
	if *simOps > 0 {
		ops = *simOps
	}
	seeds := []uint64{}
	if *simSeed != 0 {
		seeds = append(seeds, *simSeed)
	} else {
		for i := range nseeds {
			seeds = append(seeds, uint64(i+1))
		}
	}
	total := 0
	start := time.Now()
	for _, seed := range seeds {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			t.Parallel()
			storetest.Simulate(t, func(*testing.T) ledger.Store { return newStore() },
				storetest.SimOptions{Seed: seed, Ops: ops, Replay: "go test ./ledger -run '" + name + "'"})
		})
		total += ops
	}
	t.Cleanup(func() { t.Logf("simulated %d operations over %d seeds in %v", total, len(seeds), time.Since(start)) })
}
