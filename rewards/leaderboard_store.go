package rewards

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// BoardStore keeps leaderboard scores. Boards owns the rules (which earnings
// count on which board, when a board closes); a BoardStore only keeps ordered
// scores, idempotently. A board the store has never seen is empty and not
// frozen. Implementations must be safe for concurrent use; rewardstest.
// RunBoardStore checks one.
//
// Order and ranks are defined on Standing. Methods return an error matching
// ErrInvalidArgument for a negative offset, limit or n, and may return any
// error of their own (I/O, ctx.Err()), which Boards reports as ErrStore.
type BoardStore interface {
	// Add adds delta to user's score on board, making at the member's
	// ReachedAt if it is later than the current one; a user not yet on the
	// board joins with score delta. It returns applied=false and changes
	// nothing if key was already added to this board or delta is zero. It
	// returns an error matching ErrBoardFrozen if the board is frozen (for
	// any key: a frozen board need not remember keys), one matching
	// ErrOverflow if the score would leave int64, and one matching
	// ErrInvalidArgument for an empty user or a time outside 1900 to 2199;
	// in every error case nothing changes.
	Add(ctx context.Context, board BoardID, user carbon.UserID, key EarningKey, delta carbon.Points, at time.Time) (applied bool, err error)
	// Range returns up to limit standings from 0-based position offset, in
	// board order; fewer, or none, past the end (an offset or limit beyond
	// the board's size, up to math.MaxInt, is fine).
	Range(ctx context.Context, board BoardID, offset, limit int) ([]Standing, error)
	// Around returns user's standing with up to n standings above and below
	// it, all read at one instant (an n beyond the board's size, up to
	// math.MaxInt, returns every other member). It returns an error
	// matching ErrNotMember if user has no score on board.
	Around(ctx context.Context, board BoardID, user carbon.UserID, n int) (Neighbourhood, error)
	// Count returns the number of members of board.
	Count(ctx context.Context, board BoardID) (int, error)
	// Freeze makes board immutable from now on, recording at as its freeze
	// time, and returns the freeze time; freezing a frozen board changes
	// nothing and returns the time first recorded.
	Freeze(ctx context.Context, board BoardID, at time.Time) (time.Time, error)
	// FrozenAt returns the time board was frozen, or the zero time if it is
	// not.
	FrozenAt(ctx context.Context, board BoardID) (time.Time, error)
}

// BoardID names a leaderboard. It takes the form of a carbon identifier
// (carbon.ValidateID).
type BoardID string

// Standing is a member's place on a board.
//
// Members are ordered by Score descending, then by ReachedAt ascending (who
// got there first), then by User ascending, so the order is total and
// Position is unique. Rank is competition ranking by score alone: 1 plus the
// number of members with a strictly higher score, so equal scores share a
// rank (1, 2, 2, 4) while Position still breaks the tie.
type Standing struct {
	User      carbon.UserID `json:"user"`
	Score     carbon.Points `json:"score"`
	ReachedAt time.Time     `json:"reached_at"` // when the current score was reached, in UTC
	Rank      int           `json:"rank"`       // competition rank, from 1
	Position  int           `json:"position"`   // 0-based place in board order
}

// Neighbourhood is a member's standing with the members just above and
// below it, in board order.
type Neighbourhood struct {
	Member Standing   `json:"member"`
	Above  []Standing `json:"above"` // up to n members before Member, best first
	Below  []Standing `json:"below"` // up to n members after Member
}

// MemBoardStore is the in-memory BoardStore: an order-statistic B-tree per
// board, so that Add, Around and Count cost O(log n) and Range O(log n + k)
// for boards of millions of members. Each board has its own lock, so
// different boards never contend; reads of one board share it. It is safe for
// concurrent use. It remembers every EarningKey added to each board (about
// 40 bytes each beyond the IDs' lengths, see keySet) to make Add idempotent.
type MemBoardStore struct {
	// boards maps a BoardID to its *memBoard. A board is added once and
	// then only read, which is what sync.Map is for: finding one takes no
	// lock.
	boards sync.Map
}

type memBoard struct {
	mu       sync.RWMutex
	tree     rankTree
	members  memberTable // each member's entry in tree
	applied  keySet
	frozenAt time.Time
	peeked   uint64 // what the peeks of Add loaded, kept so that they are not optimised away
}

// NewMemBoardStore returns an empty MemBoardStore.
func NewMemBoardStore() *MemBoardStore { return &MemBoardStore{} }

// board returns the board with id, creating it if create is set; otherwise it
// returns nil for a board never written.
func (s *MemBoardStore) board(id BoardID, create bool) *memBoard {
	if b, ok := s.boards.Load(id); ok {
		return b.(*memBoard)
	}
	if !create {
		return nil
	}
	b, _ := s.boards.LoadOrStore(id, &memBoard{members: newMemberTable(), applied: newKeySet()})
	return b.(*memBoard)
}

// Add implements BoardStore.
func (s *MemBoardStore) Add(ctx context.Context, board BoardID, user carbon.UserID, key EarningKey, delta carbon.Points, at time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if user == "" || !inTimeRange(at) {
		return false, newErr("MemBoardStore.Add", ErrInvalidArgument, fmt.Sprintf("user %q at %s", user, at.Format(time.RFC3339)))
	}
	if delta == 0 {
		return false, nil
	}
	b := s.board(board, true)
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.frozenAt.IsZero() {
		return false, newErr("MemBoardStore.Add", ErrBoardFrozen, fmt.Sprintf("board %q frozen at %s", board, b.frozenAt.Format(time.RFC3339)))
	}
	// The key's slot and the member's are two cache misses on a large
	// board: load both before waiting for either.
	b.applied.encode(key)
	kh, mh := b.applied.hash(), b.members.hash(user)
	b.peeked += b.applied.peek(kh) + b.members.peek(mh)
	dup, slot := b.applied.lookup(kh)
	if dup {
		return false, nil
	}
	var old entry
	cur := b.members.findHashed(user, mh, b.tree.names)
	member := cur != nil
	if member {
		old = *cur
	}
	score, err := carbon.Points(old.score).Add(delta)
	if err != nil {
		return false, &Error{Op: "MemBoardStore.Add", Kind: ErrOverflow, Detail: fmt.Sprintf("score of user %q on board %q", user, board), Err: err}
	}
	next := entry{score: int64(score), at: at.UnixNano(), id: old.id}
	if member {
		next.at = max(old.at, next.at)
		b.tree.move(&old, &next)
		*cur = next
	} else {
		if len(b.tree.names) == math.MaxUint32 {
			return false, newErr("MemBoardStore.Add", ErrOverflow, fmt.Sprintf("board %q has %d members, the most it can hold", board, len(b.tree.names)))
		}
		next.id = uint32(len(b.tree.names))
		b.tree.names = append(b.tree.names, string(user))
		b.tree.insert(next)
		b.members.add(user, next)
	}
	b.applied.insert(kh, slot)
	return true, nil
}

// Range implements BoardStore.
func (s *MemBoardStore) Range(ctx context.Context, board BoardID, offset, limit int) ([]Standing, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if offset < 0 || limit < 0 {
		return nil, newErr("MemBoardStore.Range", ErrInvalidArgument, fmt.Sprintf("offset %d or limit %d is negative", offset, limit))
	}
	b := s.board(board, false)
	if b == nil || limit == 0 {
		return nil, nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.standings(offset, limit), nil
}

// Around implements BoardStore.
func (s *MemBoardStore) Around(ctx context.Context, board BoardID, user carbon.UserID, n int) (Neighbourhood, error) {
	if err := ctx.Err(); err != nil {
		return Neighbourhood{}, err
	}
	if n < 0 {
		return Neighbourhood{}, newErr("MemBoardStore.Around", ErrInvalidArgument, fmt.Sprintf("n %d is negative", n))
	}
	notMember := func() error {
		return newErr("MemBoardStore.Around", ErrNotMember, fmt.Sprintf("user %q on board %q", user, board))
	}
	b := s.board(board, false)
	if b == nil {
		return Neighbourhood{}, notMember()
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	ep := b.members.find(user, b.tree.names)
	if ep == nil {
		return Neighbourhood{}, notMember()
	}
	e := *ep
	pos, higher := b.tree.place(&e)
	if n == 0 {
		// No neighbours: the member's own entry and rank are all there is
		// to read, without walking the tree.
		// The caller named the member, so its ID need not be read from
		// names, a likely cache miss on a large board.
		return Neighbourhood{Member: standingOf(user, pos, &e, higher+1)}, nil
	}
	// No more neighbours than members: pos-from+1+n then cannot overflow,
	// however large the n asked for.
	n = min(n, b.tree.Len())
	from := max(0, pos-n)
	all := b.standings(from, pos-from+1+n)
	return Neighbourhood{Member: all[pos-from], Above: all[:pos-from], Below: all[pos-from+1:]}, nil
}

// Count implements BoardStore.
func (s *MemBoardStore) Count(ctx context.Context, board BoardID) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b := s.board(board, false)
	if b == nil {
		return 0, nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.tree.Len(), nil
}

// Freeze implements BoardStore.
func (s *MemBoardStore) Freeze(ctx context.Context, board BoardID, at time.Time) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	if at.IsZero() {
		return time.Time{}, newErr("MemBoardStore.Freeze", ErrInvalidArgument, fmt.Sprintf("freeze time of board %q is zero", board))
	}
	b := s.board(board, true)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.frozenAt.IsZero() {
		b.frozenAt = at
		// A frozen board refuses every key (Add checks before it looks
		// one up), so free them.
		b.applied = keySet{}
	}
	return b.frozenAt, nil
}

// FrozenAt implements BoardStore.
func (s *MemBoardStore) FrozenAt(ctx context.Context, board BoardID) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	b := s.board(board, false)
	if b == nil {
		return time.Time{}, nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.frozenAt, nil
}

// standings returns up to limit standings from offset with their ranks. The
// caller holds b.mu.
func (b *memBoard) standings(offset, limit int) []Standing {
	if offset >= b.tree.Len() {
		return nil
	}
	out := make([]Standing, 0, min(limit, b.tree.Len()-offset))
	b.tree.ascend(offset, func(pos int, e entry) bool {
		rank := pos + 1 // the first of its score
		switch {
		case len(out) > 0 && int64(out[len(out)-1].Score) == e.score:
			rank = out[len(out)-1].Rank
		case len(out) == 0 && pos > 0:
			rank = b.rankOf(e.score)
		}
		out = append(out, b.standing(pos, &e, rank))
		return len(out) < limit
	})
	return out
}

// rankOf returns the competition rank of score: 1 plus the number of
// members with a higher one. The caller holds b.mu.
func (b *memBoard) rankOf(score int64) int {
	// The least entry with this score sorts before every member with it, so
	// the entries before it are exactly those with higher scores.
	return b.tree.countBefore(&entry{score: score, at: math.MinInt64}) + 1
}

func (b *memBoard) standing(pos int, e *entry, rank int) Standing {
	return standingOf(carbon.UserID(b.tree.names[e.id]), pos, e, rank)
}

func standingOf(user carbon.UserID, pos int, e *entry, rank int) Standing {
	return Standing{
		User:      user,
		Score:     carbon.Points(e.score),
		ReachedAt: time.Unix(0, e.at).UTC(),
		Rank:      rank,
		Position:  pos,
	}
}
