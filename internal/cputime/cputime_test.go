package cputime_test

import (
	"runtime"
	"testing"

	"github.com/carbonkit/carbonkit/internal/cputime"
)

func TestProcessAdvancesWithWork(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no rusage on " + runtime.GOOS)
	}
	before := cputime.Process()
	x := uint64(1)
	for cputime.Process()-before < 2_000_000 { // 2ms of CPU, whatever the clock granularity
		for range 100_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 {
		t.Log(x) // keep the loop
	}
	if got := cputime.Process() - before; got <= 0 {
		t.Fatalf("cpu time did not advance: %v", got)
	}
}
