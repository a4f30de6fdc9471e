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
	// caller compares). It returns an error matching ErrInvalidArgument,
	// changing nothing, for an empty id, a negative want, a limit that is
	// not positive or an empty counter, or a counter listed twice.
	Reserve(ctx context.Context, id, fingerprint string, limits []CapLimit, want int64) (CapReservation, error)
	// Release takes a reservation's grant back out of its counters and
	// forgets it, so id may be reserved afresh. Releasing an unknown id
	// does nothing.
	Release(ctx context.Context, id string) error
	// Used returns how much of counter is taken (zero for one never used).
	Used(ctx context.Context, counter string) (int64, error)
}

// CapSettler is implemented by a CapStore that can forget a reservation
// whose credit is final. Once a credit has committed and its receipt is
// complete, the Programme answers every replay from the receipt and never
// reserves or releases that id again, so the record need not be kept: a
// CapStore that implements CapSettler keeps one only while its credit is
// in flight. The Programme calls Settle after it completes a receipt
// (MemCapStore implements it; a host's store need not).
type CapSettler interface {
	// Settle forgets reservation id and leaves its grant in its counters
	// for good: a later Release of id does nothing, and a later Reserve
	// of id is a new reservation. Settling an unknown id does nothing.
	Settle(ctx context.Context, id string) error
}

// MemCapStore is the in-memory CapStore: counters and reservations in
// sharded maps, safe for concurrent use. It implements CapSettler, so it
// keeps a reservation only while its credit is in flight (or left pending
// by a failure). It keeps every day's counters, because an activity of any
// past day may still arrive; a host that runs it for years drops old days
// by starting afresh at a day boundary, or uses a store of its own.
type MemCapStore struct {
	seed   maphash.Seed
	shards [capShards]capShard
}

const capShards = 64

type capShard struct {
	mu           sync.Mutex
	counters     map[string]*capCounter
	reservations map[string]memReservation
	// more holds, by reservation ID, the counters past the first two of a
	// reservation that drew on more (the Programme never does).
	more map[string][]*capCounter
}

// capCounter is a counter: its name, and how much of it is taken.
type capCounter struct {
	name string
	used int64
}

// memReservation is a CapReservation as kept: without its ID (the map's
// key), and with the counters it added to, to take the grant back out of.
// It is small, for it is kept for every capped activity.
type memReservation struct {
	fingerprint     string
	wanted, granted int64
	limitedBy       string
	counters        [2]*capCounter // the first two; more in capShard.more
}

func (r *memReservation) reservation(id string) CapReservation {
	return CapReservation{ID: id, Fingerprint: r.fingerprint, Wanted: r.wanted, Granted: r.granted, LimitedBy: r.limitedBy}
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
	for i, l := range limits {
		if l.Limit <= 0 || l.Counter == "" {
			return CapReservation{}, newErr("MemCapStore.Reserve", ErrInvalidArgument, fmt.Sprintf("limit %d on counter %q is not positive", l.Limit, l.Counter))
		}
		// Each counter once, so that the grant, within every limit, is
		// added to each counter once (limits are few: the Programme's
		// are two).
		for _, m := range limits[:i] {
			if m.Counter == l.Counter {
				return CapReservation{}, newErr("MemCapStore.Reserve", ErrInvalidArgument, fmt.Sprintf("counter %q is listed twice", l.Counter))
			}
		}
	}
	// Lock the reservation's shard and every counter's, once each, in
	// index order.
	var shardBuf, ofBuf [4]int
	idShard := s.shardOf(id)
	of := ofBuf[:0] // the shard of each limit's counter
	for _, l := range limits {
		of = append(of, s.shardOf(l.Counter))
	}
	shards := append(append(shardBuf[:0], idShard), of...)
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
	rs := &s.shards[idShard]
	if r, ok := rs.reservations[id]; ok {
		return r.reservation(id), nil
	}
	r := memReservation{fingerprint: fingerprint, wanted: want, granted: want}
	var cbuf [4]*capCounter
	cs := cbuf[:0] // each limit's counter, nil for one never used
	for i, l := range limits {
		c := s.shards[of[i]].counters[l.Counter]
		cs = append(cs, c)
		var used int64
		if c != nil {
			used = c.used
		}
		if left := l.Limit - used; left < r.granted {
			r.granted = max(left, 0)
			r.limitedBy = l.Counter
		}
	}
	if r.granted > 0 {
		var more []*capCounter
		for i, l := range limits {
			c := cs[i]
			if c == nil {
				sh := &s.shards[of[i]]
				if sh.counters == nil {
					sh.counters = map[string]*capCounter{}
				}
				c = &capCounter{name: l.Counter}
				sh.counters[l.Counter] = c
			}
			// granted is at most Limit - used for this counter, listed
			// once, so used stays at most Limit: this cannot overflow.
			c.used += r.granted
			if i < len(r.counters) {
				r.counters[i] = c
			} else {
				more = append(more, c)
			}
		}
		if more != nil {
			if rs.more == nil {
				rs.more = map[string][]*capCounter{}
			}
			rs.more[id] = more
		}
	}
	if rs.reservations == nil {
		rs.reservations = map[string]memReservation{}
	}
	rs.reservations[id] = r
	return r.reservation(id), nil
}

// Release implements CapStore.
func (s *MemCapStore) Release(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rs := &s.shards[s.shardOf(id)]
	rs.mu.Lock()
	r, ok := rs.reservations[id]
	more := rs.more[id]
	if ok {
		delete(rs.reservations, id)
		delete(rs.more, id)
	}
	rs.mu.Unlock()
	// Counters only ever grow under Reserve's locks and shrink here by what
	// this reservation added, so taking each counter's lock alone is enough.
	for _, c := range append(r.counters[:], more...) {
		if c == nil {
			continue
		}
		sh := &s.shards[s.shardOf(c.name)]
		sh.mu.Lock()
		if c.used -= r.granted; c.used == 0 && sh.counters[c.name] == c {
			delete(sh.counters, c.name)
		}
		sh.mu.Unlock()
	}
	return nil
}

// Settle implements CapSettler.
func (s *MemCapStore) Settle(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rs := &s.shards[s.shardOf(id)]
	rs.mu.Lock()
	delete(rs.reservations, id)
	delete(rs.more, id)
	rs.mu.Unlock()
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
	if c := sh.counters[counter]; c != nil {
		return c.used, nil
	}
	return 0, nil
}
