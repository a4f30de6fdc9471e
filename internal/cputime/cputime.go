// Package cputime reads the CPU time the process has used, so that
// carbonkit's benchmarks can report what an operation costs in CPU alongside
// ns/op, which measures wall time and swells on a machine shared with other
// work.
package cputime

import "time"

// Process returns the user and system CPU time the process has used, all
// threads included (the garbage collector's too), or 0 where the platform
// does not say.
func Process() time.Duration { return process() }
