package rewards

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
)

// CapLimit is one counter a cap reservation draws on, and its limit: a
// user's points on one local day, overall or in one scenario.
type CapLimit struct {
	Counter string `json:"counter"` // "2026-04-22/u-42" or "2026-04-22/u-42/transport.metro"
	Limit   int64  `json:"limit"`   // more than zero
}

// CapReservation is what a CapStore granted to one activity.
type CapReservation struct {
	// ID is the reservation's key: one per credited activity.
	ID string `json:"id"`
	// Fingerprint is the caller's fingerprint of the request the
	// reservation was made for, so a replay with another body is caught.
	Fingerprint string `json:"fingerprint"`
	// Wanted is what was asked for, Granted what the counters allowed.
	Wanted  int64 `json:"wanted"`
	Granted int64 `json:"granted"`
	// LimitedBy is the counter that held the grant below Wanted, "" if
	// none did (the first such counter in the order given).
	LimitedBy string `json:"limited_by,omitempty"`
}

// CapStore keeps the daily cap counters. The Programme reserves an
// activity's points in the counters before it posts them and releases the
// reservation only when the posting definitely failed, so the counters
// never undercount what was credited (a crash between the two leaves a
// reservation without a credit: the user may get less, never more).
// Implementations must be safe for concurrent use;
// rewardstest.RunCapStore checks one.
type CapStore interface {
	// Reserve grants id min(want, Limit - used) over every limit (never
	// below zero), adds the grant to each counter and records it under id,
	// atomically: two concurrent reservations never both take the last of
	// a counter. If id was reserved before, Reserve changes nothing and
	// returns the original reservation (whatever its fingerprint: the
	// caller compares). It returns an error matching ErrInvalidArgument
	// for an empty id, a negative want, or a limit that is not positive.
	Reserve(ctx context.Context, id, fingerprint string, limits []CapLimit, want int64) (CapReservation, error)
	// Release takes a reservation's grant back out of its counters and
	// forgets it, so id may be reserved afresh. Releasing an unknown id
	// does nothing.
	Release(ctx context.Context, id string) error
	// Used returns how much of counter is taken (zero for one never used).
	Used(ctx context.Context, counter string) (int64, error)
}

// MemCapStore is the in-memory CapStore: counters and reservations in
// sharded maps, safe for concurrent use. It keeps every reservation (one
// small record per capped activity) and every day's counters; a host that
// runs it for years drops old days by starting afresh at a day boundary,
// or uses a store of its own.
type MemCapStore struct {
	seed   maphash.Seed
	shards [capShards]capShard
}

const capShards = 64

type capShard struct {
	mu           sync.Mutex
	counters     map[string]int64
	reservations map[string]memReservation
}

type memReservation struct {
	CapReservation
	counters []string
}

// NewMemCapStore returns an empty MemCapStore.
func NewMemCapStore() *MemCapStore { return &MemCapStore{seed: maphash.MakeSeed()} }

// shardOf returns the shard that holds a counter or a reservation. Reserve
// locks every shard it touches in index order, so reservations never
// deadlock.
func (s *MemCapStore) shardOf(key string) int {
	return int(maphash.String(s.seed, key) % capShards)
}

// Reserve implements CapStore.
func (s *MemCapStore) Reserve(ctx context.Context, id, fingerprint string, limits []CapLimit, want int64) (CapReservation, error) {
	if err := ctx.Err(); err != nil {
		return CapReservation{}, err
	}
	switch {
	case id == "":
		return CapReservation{}, newErr("MemCapStore.Reserve", ErrInvalidArgument, "reservation id is empty")
	case want < 0:
		return CapReservation{}, newErr("MemCapStore.Reserve", ErrInvalidArgument, fmt.Sprintf("want %d is negative", want))
	}
	for _, l := range limits {
		if l.Limit <= 0 || l.Counter == "" {
			return CapReservation{}, newErr("MemCapStore.Reserve", ErrInvalidArgument, fmt.Sprintf("limit %d on counter %q is not positive", l.Limit, l.Counter))
		}
	}
	// Lock the reservation's shard and every counter's, once each, in
	// index order.
	var shardBuf [4]int
	shards := append(shardBuf[:0], s.shardOf(id))
	for _, l := range limits {
		shards = append(shards, s.shardOf(l.Counter))
	}
	slices.Sort(shards)
	shards = slices.Compact(shards)
	for _, i := range shards {
		s.shards[i].mu.Lock()
	}
	defer func() {
		for _, i := range shards {
			s.shards[i].mu.Unlock()
		}
	}()
	rs := &s.shards[s.shardOf(id)]
	if r, ok := rs.reservations[id]; ok {
		return r.CapReservation, nil
	}
	r := memReservation{CapReservation: CapReservation{ID: id, Fingerprint: fingerprint, Wanted: want, Granted: want}}
	for _, l := range limits {
		left := l.Limit - s.shards[s.shardOf(l.Counter)].counters[l.Counter]
		if left < r.Granted {
			r.Granted = max(left, 0)
			r.LimitedBy = l.Counter
		}
	}
	if r.Granted > 0 {
		r.counters = make([]string, len(limits))
		for i, l := range limits {
			sh := &s.shards[s.shardOf(l.Counter)]
			if sh.counters == nil {
				sh.counters = map[string]int64{}
			}
			sh.counters[l.Counter] += r.Granted // at most Limit: cannot overflow
			r.counters[i] = l.Counter
		}
	}
	if rs.reservations == nil {
		rs.reservations = map[string]memReservation{}
	}
	rs.reservations[id] = r
	return r.CapReservation, nil
}

// Release implements CapStore.
func (s *MemCapStore) Release(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rs := &s.shards[s.shardOf(id)]
	rs.mu.Lock()
	r, ok := rs.reservations[id]
	if ok {
		delete(rs.reservations, id)
	}
	rs.mu.Unlock()
	// Counters only ever grow under Reserve's locks and shrink here by what
	// this reservation added, so taking each counter's lock alone is enough.
	for _, c := range r.counters {
		sh := &s.shards[s.shardOf(c)]
		sh.mu.Lock()
		if sh.counters[c] -= r.Granted; sh.counters[c] == 0 {
			delete(sh.counters, c)
		}
		sh.mu.Unlock()
	}
	return nil
}

// Used implements CapStore.
func (s *MemCapStore) Used(ctx context.Context, counter string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	sh := &s.shards[s.shardOf(counter)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.counters[counter], nil
}
