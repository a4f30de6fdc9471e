package rewards

import (
	"context"
	"sync"

	"github.com/carbonkit/carbonkit/carbon"
)

// BadgeStore keeps each user's BadgeState. Badges owns every rule; the store
// makes each update atomic and idempotent, which is what makes awarding
// exactly-once: two concurrent Updates of one user must not both see the
// state before either. Implementations must be safe for concurrent use;
// rewardstest.RunBadgeStore checks one.
type BadgeStore interface {
	// Update runs fn on user's state as one atomic unit keyed by key. If key
	// was already applied for user, Update returns applied=false without
	// calling fn. Otherwise it calls fn with the user's current state (empty
	// for a user never updated): if fn returns nil, the changed state and key
	// are stored together and Update returns true; if fn returns an error,
	// nothing is stored and Update returns that error. A store may call fn
	// more than once (retrying a conflict), each time on a fresh copy of the
	// stored state, so fn must depend only on its argument. fn must not keep
	// the state after it returns.
	Update(ctx context.Context, user carbon.UserID, key EarningKey, fn func(*BadgeState) error) (applied bool, err error)
	// Load returns a copy of user's state, empty for a user never updated.
	Load(ctx context.Context, user carbon.UserID) (*BadgeState, error)
}

// MemBadgeStore is the in-memory BadgeStore. Users are spread over 64
// independently locked shards; updates of one user are serialised. It keeps
// every (user, EarningKey) applied (about 40 bytes each beyond the IDs'
// lengths) to make Update idempotent. It is safe for concurrent use.
type MemBadgeStore struct {
	shards [64]badgeShard
}

type badgeShard struct {
	mu      sync.Mutex
	users   map[carbon.UserID]*BadgeState
	applied keySet  // (user, key) pairs applied, for every user of the shard
	undo    journal // reused by every update under mu
}

// NewMemBadgeStore returns an empty MemBadgeStore.
func NewMemBadgeStore() *MemBadgeStore { return &MemBadgeStore{} }

func (s *MemBadgeStore) shard(user carbon.UserID) *badgeShard {
	// FNV-1a: cheap, and stable across processes (unlike maphash).
	h := uint32(2166136261)
	for i := 0; i < len(user); i++ {
		h = (h ^ uint32(user[i])) * 16777619
	}
	return &s.shards[h%uint32(len(s.shards))]
}

// Update implements BadgeStore. fn runs on the live state, under the user's
// shard lock, with every change journalled so that it is undone if fn
// fails: no copy of the state is made.
func (s *MemBadgeStore) Update(ctx context.Context, user carbon.UserID, key EarningKey, fn func(*BadgeState) error) (bool, error) {
	return s.update(ctx, user, key, fn, nil)
}

// update is Update, running run.apply rather than fn when run is set:
// Badges calls it so, which spares it making a function value of the run
// (and so allocating the run).
func (s *MemBadgeStore) update(ctx context.Context, user carbon.UserID, key EarningKey, fn func(*BadgeState) error, run *badgeRun) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	sh := s.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.applied.tables == nil {
		sh.applied = newShardKeySet()
	}
	dup, kh, slot := sh.applied.hasFor(user, key)
	if dup {
		return false, nil
	}
	st := sh.users[user]
	created := st == nil
	if created {
		st = &BadgeState{}
	}
	saved := *st
	sh.undo.reset()
	st.undo = &sh.undo
	committed := false
	defer func() {
		// On an error, or a panic in fn, put the state back as it was.
		if !committed {
			sh.undo.rollback(&saved)
			*st = saved
		}
		st.undo = nil
		sh.undo.reset()
	}()
	var err error
	if run != nil {
		err = run.apply(st)
	} else {
		err = fn(st)
	}
	if err != nil {
		return false, err
	}
	committed = true
	if created {
		if sh.users == nil {
			sh.users = map[carbon.UserID]*BadgeState{}
		}
		sh.users[user] = st
	}
	// Nothing else touched sh.applied since hasFor, as insert requires.
	sh.applied.insert(kh, slot)
	return true, nil
}

// Load implements BadgeStore.
func (s *MemBadgeStore) Load(ctx context.Context, user carbon.UserID) (*BadgeState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sh := s.shard(user)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if st := sh.users[user]; st != nil {
		return st.Clone(), nil
	}
	return &BadgeState{}, nil
}
