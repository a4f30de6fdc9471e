//go:build unix

package rewards_test

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used (user and system, all
// threads, the collector's included), so that a benchmark can report what an
// operation costs in CPU even on a machine shared with other work, where
// ns/op measures wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
