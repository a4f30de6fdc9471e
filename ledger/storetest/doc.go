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
// Faulty, CheckInvariants and Snapshot are exported for other tests, such as
// the ledger's simulation.
package storetest
