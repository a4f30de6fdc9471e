// Package storetest is the conformance suite for ledger.Store
// implementations, in the manner of go-cloud's drivertest: a Store passes
// when
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) ledger.Store { return newStore(t) })
//	}
//
// passes. The suite checks the Store contracts directly (unique keys,
// account creation, locks, rollback, overflow, isolation of reads) and
// through a Ledger: atomicity when the store fails in the middle of an
// operation or at commit (with Faulty, a fault-injecting wrapper), sorted
// locking without deadlock, concurrent writers, idempotency and spend races,
// and after every step the invariants of CheckInvariants.
//
// Simulate is the ledger's deterministic simulation: a seeded random
// workload, with injected faults, whose every reply is checked against a
// reference model. The ledger runs it over memstore; any Store can run it
// the same way. Faulty, CheckInvariants and Snapshot are exported for other
// tests.
package storetest
