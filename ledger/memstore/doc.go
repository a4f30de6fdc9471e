// Package memstore is the in-memory ledger.Store, carbonkit's embedded
// default: production-grade, not a mock, for a host that keeps its ledger in
// process (and snapshots it its own way) or for tests.
//
//	l, err := ledger.New(memstore.New(), nil)
//
// Concurrency is fine-grained: each account has its own transaction lock
// (taken in sorted ID order, held for one ledger operation) and its own data
// mutex; a commit checks every buffered write before applying any, so a
// transaction commits whole or not at all. An entry's ID and unique keys
// are claimed at commit: of two transactions with one key the first to
// commit wins and the other's commit fails with ledger.ErrConflict (the
// Ledger then retries and finds the winner's entry). Entries are sealed (sequence
// number and hash) at commit, in commit order. A View sees a consistent snapshot: it excludes
// commits while it runs, which keeps reads short and cheap but makes them
// serialise with the apply phase of commits.
//
// Memory: an open user with a parent and four children and no history costs
// about 850 bytes (TestMemoryPerUser holds it under 1 KiB). History is kept
// for ever: an earn-style entry costs about 540 bytes with its indexes and
// its lot (BenchmarkMemoryPerEntry). Entries are kept in their binary form
// (ledger.Entry.AppendBinary) in pointer-free memory, and the ID and key
// indexes hold no pointers either (extendible hash tables of integers, and
// for the Ledger's own entry IDs, a prefix and a counter, arrays indexed by
// the counter, where a new ID lands next to the last), so a large history
// adds little to a garbage collection's work; reads decode what they
// return, so an entry a read returns is the caller's own.
//
// Past its first 4 MiB, that memory is mapped outside the Go heap, on Linux
// with transparent huge pages where the system allows them (the "madvise"
// mode most distributions ship): a store of millions of entries then takes
// one page fault per 2 MiB rather than per 4 KiB, and its index lookups
// miss the TLB less. runtime.MemStats does not count it; the process's
// resident size does. It is unmapped when the Store is garbage collected.
//
// An account keeps the lots of each asset apart, and the lots that hold
// something apart from the spent ones (kept, for a reversal may refill
// them): a spend reads the lots that hold something, soonest-expiring
// first, and the reversal of a credit finds its lot from the newest end,
// so both cost the same after ten thousand earns as after ten
// (BenchmarkSpendAfterHistory, BenchmarkReverseAfterHistory). Reversing
// an old spend searches the spent lots, newest first.
//
// Expiring and PendingHolds read indexes that commits keep (user accounts
// by their earliest expiring lot, pending holds by deadline, each in ID
// order), so a page costs about what it returns, not the size of the store:
// ledger.Expire over 100,000 users, 1% of them due, takes milliseconds
// (BenchmarkExpire). An account whose expired lots are all held stays a
// candidate, checked and skipped on each call, until the hold resolves.
//
// Known limits: the data is lost with the process.
package memstore
