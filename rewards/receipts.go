package rewards

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// ReceiptRecord is a stored receipt. A pending record is written before
// the credit is posted, and holds everything the ledger request is built
// from, so that a credit interrupted by a failure is completed by the next
// replay with exactly the original request (which the ledger's idempotency
// then recognises); it is completed with the entry once the credit
// commits.
type ReceiptRecord struct {
	Receipt Receipt `json:"receipt"`
	Pending bool    `json:"pending,omitempty"`
}

// ReceiptStore keeps one receipt per (partner, activity ID), for ever: it
// is how a replay finds the original credit. Implementations must be safe
// for concurrent use; rewardstest.RunReceiptStore checks one.
type ReceiptStore interface {
	// Receipt returns the record of partner's activity, and false if there
	// is none.
	Receipt(ctx context.Context, partner carbon.PartnerID, activityID string) (ReceiptRecord, bool, error)
	// InsertReceipt stores rec under its receipt's partner and activity ID
	// if no record is there, and returns it and true; otherwise it returns
	// the record already there and false, changing nothing. It returns an
	// error matching ErrInvalidArgument for an empty partner or activity.
	InsertReceipt(ctx context.Context, rec ReceiptRecord) (ReceiptRecord, bool, error)
	// CompleteReceipt records the entry and credit time of a pending
	// record and marks it complete. Completing a complete record changes
	// nothing; a missing one gets an error matching ErrInvalidArgument.
	CompleteReceipt(ctx context.Context, partner carbon.PartnerID, activityID string, entry ledger.EntryID, credited time.Time) error
	// DeletePendingReceipt removes a pending record (its credit definitely
	// failed). A complete or missing record is left as it is.
	DeletePendingReceipt(ctx context.Context, partner carbon.PartnerID, activityID string) error
}

// MemReceiptStore is the in-memory ReceiptStore, safe for concurrent use.
// It keeps every receipt ever written.
type MemReceiptStore struct {
	seed   maphash.Seed
	shards [64]receiptShard
}

type receiptShard struct {
	mu sync.RWMutex
	m  map[receiptKey]*ReceiptRecord
}

type receiptKey struct {
	partner  carbon.PartnerID
	activity string
}

// NewMemReceiptStore returns an empty MemReceiptStore.
func NewMemReceiptStore() *MemReceiptStore { return &MemReceiptStore{seed: maphash.MakeSeed()} }

func (s *MemReceiptStore) shard(k receiptKey) *receiptShard {
	// Any mix of the two IDs' hashes spreads the receipts; this one takes
	// two calls rather than a streaming hash's five.
	h := maphash.String(s.seed, k.activity) + 31*maphash.String(s.seed, string(k.partner))
	return &s.shards[h%uint64(len(s.shards))]
}

// Receipt implements ReceiptStore.
func (s *MemReceiptStore) Receipt(ctx context.Context, partner carbon.PartnerID, activityID string) (ReceiptRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return ReceiptRecord{}, false, err
	}
	k := receiptKey{partner, activityID}
	sh := s.shard(k)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	if r, ok := sh.m[k]; ok {
		return *r, true, nil
	}
	return ReceiptRecord{}, false, nil
}

// InsertReceipt implements ReceiptStore.
func (s *MemReceiptStore) InsertReceipt(ctx context.Context, rec ReceiptRecord) (ReceiptRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return ReceiptRecord{}, false, err
	}
	if rec.Receipt.Partner == "" || rec.Receipt.ActivityID == "" {
		return ReceiptRecord{}, false, newErr("MemReceiptStore.InsertReceipt", ErrInvalidArgument, "partner or activity id is empty")
	}
	k := receiptKey{rec.Receipt.Partner, rec.Receipt.ActivityID}
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.m[k]; ok {
		return *r, false, nil
	}
	if sh.m == nil {
		sh.m = map[receiptKey]*ReceiptRecord{}
	}
	rec.Receipt.Replayed = false
	sh.m[k] = &rec
	return rec, true, nil
}

// CompleteReceipt implements ReceiptStore.
func (s *MemReceiptStore) CompleteReceipt(ctx context.Context, partner carbon.PartnerID, activityID string, entry ledger.EntryID, credited time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := receiptKey{partner, activityID}
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r, ok := sh.m[k]
	switch {
	case !ok:
		return newErr("MemReceiptStore.CompleteReceipt", ErrInvalidArgument, fmt.Sprintf("no receipt for activity %q of partner %q", activityID, partner))
	case !r.Pending:
		return nil
	}
	// Readers copy the record under the lock and never keep the pointer,
	// so it is changed in place.
	r.Pending, r.Receipt.Entry, r.Receipt.CreditedAt = false, entry, credited
	return nil
}

// DeletePendingReceipt implements ReceiptStore.
func (s *MemReceiptStore) DeletePendingReceipt(ctx context.Context, partner carbon.PartnerID, activityID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := receiptKey{partner, activityID}
	sh := s.shard(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r, ok := sh.m[k]; ok && r.Pending {
		delete(sh.m, k)
	}
	return nil
}
