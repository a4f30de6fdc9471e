package rewards

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
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
// It keeps every receipt ever written, for ever, so it keeps each one
// encoded (storedReceipt) in large byte chunks, indexed by a table of plain
// integers: about 250 bytes a receipt, with no allocation to store one and
// nothing for the collector to scan. Records come back with their times in
// UTC. Besides what every ReceiptStore refuses, InsertReceipt refuses with
// ErrInvalidArgument an entry ID over 65,535 bytes and a reduction or
// multiplier of more than 1,000 digits or with an exponent beyond ±1,000
// (no quantified reduction comes near either).
type MemReceiptStore struct {
	seed   maphash.Seed
	shards [receiptShards]receiptShard
}

// receiptShards is the number of shards, each with its own lock; a hash's
// top receiptShardBits bits pick the shard, and its low bits the slot in
// the shard's table.
const (
	receiptShardBits = 6
	receiptShards    = 1 << receiptShardBits
)

type receiptShard struct {
	mu   sync.RWMutex
	tab  keyTable   // by key hash; a slot's ref is where its record is in recs
	recs byteChunks // the encoded records
	buf  []byte     // scratch for encoding a record, under mu
}

// NewMemReceiptStore returns an empty MemReceiptStore.
func NewMemReceiptStore() *MemReceiptStore { return &MemReceiptStore{seed: maphash.MakeSeed()} }

// hash returns the hash of partner's activity ID, never zero (an empty
// slot), and its shard.
func (s *MemReceiptStore) hash(partner carbon.PartnerID, activityID string) (uint64, *receiptShard) {
	// Any mix of the two IDs' hashes spreads the receipts (the record
	// tells keys apart); this one takes two calls rather than a streaming
	// hash's five.
	h := maphash.String(s.seed, activityID) + 31*maphash.String(s.seed, string(partner))
	if h == 0 {
		h = 1
	}
	return h, &s.shards[h>>(64-receiptShardBits)]
}

// Receipt implements ReceiptStore.
func (s *MemReceiptStore) Receipt(ctx context.Context, partner carbon.PartnerID, activityID string) (ReceiptRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return ReceiptRecord{}, false, err
	}
	h, sh := s.hash(partner, activityID)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	rec, ok := sh.find(h, partner, activityID)
	if !ok {
		return ReceiptRecord{}, false, nil
	}
	out, err := rec.decode()
	if err != nil {
		return ReceiptRecord{}, false, err
	}
	return out, true, nil
}

// InsertReceipt implements ReceiptStore.
func (s *MemReceiptStore) InsertReceipt(ctx context.Context, rec ReceiptRecord) (ReceiptRecord, bool, error) {
	if err := ctx.Err(); err != nil {
		return ReceiptRecord{}, false, err
	}
	r := &rec.Receipt
	if r.Partner == "" || r.ActivityID == "" {
		return ReceiptRecord{}, false, newErr("MemReceiptStore.InsertReceipt", ErrInvalidArgument, "partner or activity id is empty")
	}
	if len(r.Entry) > maxEntryLen {
		return ReceiptRecord{}, false, newErr("MemReceiptStore.InsertReceipt", ErrInvalidArgument, fmt.Sprintf("entry id of %d bytes is longer than %d", len(r.Entry), maxEntryLen))
	}
	if !dec.InRange(r.Reduction.Grams()) || !dec.InRange(r.Multiplier) {
		return ReceiptRecord{}, false, newErr("MemReceiptStore.InsertReceipt", ErrInvalidArgument, "reduction or multiplier needs more than 1000 digits written out, or an exponent beyond ±1000")
	}
	h, sh := s.hash(r.Partner, r.ActivityID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, slot := sh.lookup(h, r.Partner, r.ActivityID)
	if old != nil {
		out, err := old.decode()
		return out, false, err
	}
	r.Replayed = false
	sh.buf = appendReceiptRecord(sh.buf[:0], &rec, len(r.Entry))
	sh.put(h, slot, sh.recs.store(sh.buf))
	return rec, true, nil
}

// CompleteReceipt implements ReceiptStore.
func (s *MemReceiptStore) CompleteReceipt(ctx context.Context, partner carbon.PartnerID, activityID string, entry ledger.EntryID, credited time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(entry) > maxEntryLen {
		return newErr("MemReceiptStore.CompleteReceipt", ErrInvalidArgument, fmt.Sprintf("entry id of %d bytes is longer than %d", len(entry), maxEntryLen))
	}
	h, sh := s.hash(partner, activityID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rec, slot := sh.lookup(h, partner, activityID)
	switch {
	case rec == nil:
		return newErr("MemReceiptStore.CompleteReceipt", ErrInvalidArgument, fmt.Sprintf("no receipt for activity %q of partner %q", activityID, partner))
	case !rec.pending():
		return nil
	}
	if rec.complete(entry, credited) {
		// Readers decode under the lock and keep no bytes, so the record
		// changes in place.
		return nil
	}
	// The entry ID is longer than the room the record left for it.
	full, err := rec.decode()
	if err != nil {
		return err
	}
	full.Pending, full.Receipt.Entry, full.Receipt.CreditedAt = false, entry, credited
	sh.buf = appendReceiptRecord(sh.buf[:0], &full, len(entry))
	sh.tab.slots[slot].ref = sh.recs.store(sh.buf)
	return nil
}

// DeletePendingReceipt implements ReceiptStore.
func (s *MemReceiptStore) DeletePendingReceipt(ctx context.Context, partner carbon.PartnerID, activityID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h, sh := s.hash(partner, activityID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if rec, slot := sh.lookup(h, partner, activityID); rec != nil && rec.pending() {
		// A credit that definitely failed (an unlinked user's, say) leaves
		// nothing behind: not its slot, and not its bytes when it is the
		// shard's latest record, as it usually is.
		sh.recs.unstore(sh.tab.slots[slot].ref)
		sh.tab.remove(slot)
	}
	return nil
}

// find returns the record of partner's activity ID, whose hash is h, and
// true; or false if the shard has none.
func (sh *receiptShard) find(h uint64, partner carbon.PartnerID, activityID string) (storedReceipt, bool) {
	rec, _ := sh.lookup(h, partner, activityID)
	return rec, rec != nil
}

// lookup returns the record of partner's activity ID, whose hash is h, and
// its slot; or nil and the empty slot where it would go (-1 if the table
// has no slots).
func (sh *receiptShard) lookup(h uint64, partner carbon.PartnerID, activityID string) (storedReceipt, int) {
	t := &sh.tab
	if len(t.slots) == 0 {
		return nil, -1
	}
	mask := len(t.slots) - 1
	for i := int(h) & mask; ; i = (i + 1) & mask {
		switch t.slots[i].hash {
		case 0:
			return nil, i
		case h:
			if rec := storedReceipt(sh.recs.load(t.slots[i].ref)); rec.is(partner, activityID) {
				return rec, i
			}
		}
	}
}

// put indexes the record at ref under hash h, in slot (the empty slot
// lookup returned).
func (sh *receiptShard) put(h uint64, slot int, ref uint64) {
	t := &sh.tab
	// At most three quarters full, so that probes stay short.
	if slot < 0 || (t.used+1)*4 > len(t.slots)*3 {
		t.grow()
		mask := len(t.slots) - 1
		for slot = int(h) & mask; t.slots[slot].hash != 0; slot = (slot + 1) & mask {
		}
	}
	t.slots[slot] = keySlot{hash: h, ref: ref}
	t.used++
}
