package rewardstest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

// RunBoardStore checks that the stores newStore returns keep the
// rewards.BoardStore contract: order, competition ranks, positions, reached
// times, idempotency, zero deltas, overflow and bad arguments changing
// nothing, offsets, limits and neighbourhoods larger than the board,
// freezing, independence of boards, and concurrent adds.
func RunBoardStore(t *testing.T, newStore func(t *testing.T) rewards.BoardStore) {
	t.Run("EmptyBoard", func(t *testing.T) {
		s := newStore(t)
		n, err := s.Count(ctx(), "b")
		require.NoError(t, err)
		require.Zero(t, n)
		page, err := s.Range(ctx(), "b", 0, 10)
		require.NoError(t, err)
		require.Empty(t, page)
		_, err = s.Around(ctx(), "b", "u1", 2)
		require.ErrorIs(t, err, rewards.ErrNotMember)
		frozen, err := s.FrozenAt(ctx(), "b")
		require.NoError(t, err)
		require.True(t, frozen.IsZero())
	})

	t.Run("OrderAndCompetitionRanks", func(t *testing.T) {
		s := newStore(t)
		// u3 reaches 50 first, then u2, then u4 and u5 at once; u1 leads.
		add(t, s, "b", "u1", 1, 70, at(4))
		add(t, s, "b", "u3", 2, 50, at(1))
		add(t, s, "b", "u2", 3, 50, at(2))
		add(t, s, "b", "u5", 4, 50, at(3))
		add(t, s, "b", "u4", 5, 50, at(3))
		add(t, s, "b", "u6", 6, 10, at(0))
		page, err := s.Range(ctx(), "b", 0, 10)
		require.NoError(t, err)
		requireStandings(t, []want{
			{"u1", 70, 1, at(4)}, {"u3", 50, 2, at(1)}, {"u2", 50, 2, at(2)},
			{"u4", 50, 2, at(3)}, {"u5", 50, 2, at(3)}, {"u6", 10, 6, at(0)},
		}, page, 0)

		mid, err := s.Range(ctx(), "b", 3, 2)
		require.NoError(t, err)
		requireStandings(t, []want{{"u4", 50, 2, at(3)}, {"u5", 50, 2, at(3)}}, mid, 3)

		past, err := s.Range(ctx(), "b", 6, 5)
		require.NoError(t, err)
		require.Empty(t, past)

		// Offsets and limits past any board's size are fine.
		all, err := s.Range(ctx(), "b", 0, math.MaxInt)
		require.NoError(t, err)
		require.Equal(t, page, all)
		tail, err := s.Range(ctx(), "b", 5, math.MaxInt)
		require.NoError(t, err)
		requireStandings(t, []want{{"u6", 10, 6, at(0)}}, tail, 5)
		far, err := s.Range(ctx(), "b", math.MaxInt, math.MaxInt)
		require.NoError(t, err)
		require.Empty(t, far)

		n, err := s.Count(ctx(), "b")
		require.NoError(t, err)
		require.Equal(t, 6, n)
	})

	t.Run("ReachedAtIsLatestChange", func(t *testing.T) {
		s := newStore(t)
		add(t, s, "b", "u1", 1, 10, at(5))
		add(t, s, "b", "u1", 2, 10, at(3)) // applied late: the score was still reached at 5
		add(t, s, "b", "u2", 3, 20, at(4))
		page, err := s.Range(ctx(), "b", 0, 10)
		require.NoError(t, err)
		requireStandings(t, []want{{"u2", 20, 1, at(4)}, {"u1", 20, 1, at(5)}}, page, 0)

		// A reversal subtracts and is itself a change of score.
		rev := rewards.EarningKey{Partner: "p1", ActivityID: "a3", Reversal: true}
		ok, err := s.Add(ctx(), "b", "u2", rev, -15, at(9))
		require.NoError(t, err)
		require.True(t, ok)
		page, err = s.Range(ctx(), "b", 0, 10)
		require.NoError(t, err)
		requireStandings(t, []want{{"u1", 20, 1, at(5)}, {"u2", 5, 2, at(9)}}, page, 0)
	})

	t.Run("RepeatedKeyAndZeroDeltaChangeNothing", func(t *testing.T) {
		s := newStore(t)
		add(t, s, "b", "u1", 1, 10, at(1))
		ok, err := s.Add(ctx(), "b", "u1", key(1), 10, at(2))
		require.NoError(t, err)
		require.False(t, ok)
		ok, err = s.Add(ctx(), "b", "u2", key(2), 0, at(2))
		require.NoError(t, err)
		require.False(t, ok)
		page, err := s.Range(ctx(), "b", 0, 10)
		require.NoError(t, err)
		requireStandings(t, []want{{"u1", 10, 1, at(1)}}, page, 0)
	})

	t.Run("OverflowChangesNothing", func(t *testing.T) {
		s := newStore(t)
		add(t, s, "b", "u1", 1, math.MaxInt64, at(1))
		ok, err := s.Add(ctx(), "b", "u1", key(2), 1, at(2))
		require.ErrorIs(t, err, rewards.ErrOverflow)
		require.False(t, ok)
		page, err := s.Range(ctx(), "b", 0, 10)
		require.NoError(t, err)
		requireStandings(t, []want{{"u1", math.MaxInt64, 1, at(1)}}, page, 0)
		// The refused key was not recorded.
		add(t, s, "b", "u1", 2, -1, at(3))
	})

	t.Run("Around", func(t *testing.T) {
		s := newStore(t)
		for i := 0; i < 10; i++ {
			add(t, s, "b", carbon.UserID(fmt.Sprintf("u%d", i)), i, carbon.Points(100-i*10), at(i))
		}
		for _, tc := range []struct {
			name         string
			user         carbon.UserID
			n            int
			above, below []carbon.UserID
		}{
			{"top", "u0", 2, nil, []carbon.UserID{"u1", "u2"}},
			{"middle", "u5", 2, []carbon.UserID{"u3", "u4"}, []carbon.UserID{"u6", "u7"}},
			{"bottom", "u9", 3, []carbon.UserID{"u6", "u7", "u8"}, nil},
			{"near top", "u1", 3, []carbon.UserID{"u0"}, []carbon.UserID{"u2", "u3", "u4"}},
			{"alone", "u4", 0, nil, nil},
			{"everyone", "u3", math.MaxInt, []carbon.UserID{"u0", "u1", "u2"}, []carbon.UserID{"u4", "u5", "u6", "u7", "u8", "u9"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				nb, err := s.Around(ctx(), "b", tc.user, tc.n)
				require.NoError(t, err)
				require.Equal(t, tc.user, nb.Member.User)
				require.Equal(t, nb.Member.Position+1, nb.Member.Rank)
				require.Equal(t, tc.above, users(nb.Above))
				require.Equal(t, tc.below, users(nb.Below))
				for i, st := range nb.Above {
					require.Equal(t, nb.Member.Position-len(nb.Above)+i, st.Position)
				}
				for i, st := range nb.Below {
					require.Equal(t, nb.Member.Position+1+i, st.Position)
				}
			})
		}
		_, err := s.Around(ctx(), "b", "nobody", 1)
		require.ErrorIs(t, err, rewards.ErrNotMember)
	})

	t.Run("BadArgumentsAreRefused", func(t *testing.T) {
		s := newStore(t)
		add(t, s, "b", "u1", 1, 10, at(1))
		_, err := s.Add(ctx(), "b", "", key(2), 5, at(2))
		require.ErrorIs(t, err, rewards.ErrInvalidArgument)
		_, err = s.Add(ctx(), "b", "u2", key(3), 5, time.Time{})
		require.ErrorIs(t, err, rewards.ErrInvalidArgument)
		n, err := s.Count(ctx(), "b")
		require.NoError(t, err)
		require.Equal(t, 1, n)
		_, err = s.Range(ctx(), "b", -1, 10)
		require.ErrorIs(t, err, rewards.ErrInvalidArgument)
		_, err = s.Range(ctx(), "b", 0, -1)
		require.ErrorIs(t, err, rewards.ErrInvalidArgument)
		_, err = s.Around(ctx(), "b", "u1", -1)
		require.ErrorIs(t, err, rewards.ErrInvalidArgument)
	})

	t.Run("FreezeMakesBoardImmutable", func(t *testing.T) {
		s := newStore(t)
		add(t, s, "b", "u1", 1, 10, at(1))
		first, err := s.Freeze(ctx(), "b", at(100))
		require.NoError(t, err)
		require.True(t, first.Equal(at(100)))
		again, err := s.Freeze(ctx(), "b", at(200))
		require.NoError(t, err)
		require.True(t, again.Equal(at(100)), "a second freeze keeps the first time")
		got, err := s.FrozenAt(ctx(), "b")
		require.NoError(t, err)
		require.True(t, got.Equal(at(100)))

		_, err = s.Add(ctx(), "b", "u2", key(2), 5, at(2))
		require.ErrorIs(t, err, rewards.ErrBoardFrozen)
		_, err = s.Add(ctx(), "b", "u1", key(1), 5, at(2))
		require.ErrorIs(t, err, rewards.ErrBoardFrozen)
		page, err := s.Range(ctx(), "b", 0, 10)
		require.NoError(t, err)
		requireStandings(t, []want{{"u1", 10, 1, at(1)}}, page, 0)

		// A board frozen before anyone scored is an empty frozen board.
		_, err = s.Freeze(ctx(), "never", at(100))
		require.NoError(t, err)
		_, err = s.Add(ctx(), "never", "u1", key(1), 5, at(2))
		require.ErrorIs(t, err, rewards.ErrBoardFrozen)
	})

	t.Run("BoardsAreIndependent", func(t *testing.T) {
		s := newStore(t)
		add(t, s, "b1", "u1", 1, 10, at(1))
		add(t, s, "b2", "u1", 1, 30, at(1)) // the same key on another board
		_, err := s.Freeze(ctx(), "b1", at(50))
		require.NoError(t, err)
		add(t, s, "b2", "u2", 2, 40, at(2))
		p1, err := s.Range(ctx(), "b1", 0, 10)
		require.NoError(t, err)
		requireStandings(t, []want{{"u1", 10, 1, at(1)}}, p1, 0)
		p2, err := s.Range(ctx(), "b2", 0, 10)
		require.NoError(t, err)
		requireStandings(t, []want{{"u2", 40, 1, at(2)}, {"u1", 30, 2, at(1)}}, p2, 0)
	})

	t.Run("ConcurrentAdds", func(t *testing.T) {
		s := newStore(t)
		const workers, perWorker, users = 8, 200, 13
		var wg sync.WaitGroup
		errs := make(chan error, workers*perWorker)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perWorker; i++ {
					// Every worker adds the same keys: each applies once.
					n := i
					u := carbon.UserID(fmt.Sprintf("u%d", n%users))
					if _, err := s.Add(context.Background(), "b", u, key(n), carbon.Points(n%7+1), at(n)); err != nil {
						errs <- err
					}
					if _, err := s.Range(context.Background(), "b", 0, 5); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		wantScore := map[carbon.UserID]carbon.Points{}
		for n := 0; n < perWorker; n++ {
			wantScore[carbon.UserID(fmt.Sprintf("u%d", n%users))] += carbon.Points(n%7 + 1)
		}
		page, err := s.Range(ctx(), "b", 0, users+1)
		require.NoError(t, err)
		require.Len(t, page, users)
		for _, st := range page {
			require.Equal(t, wantScore[st.User], st.Score, "user %s", st.User)
		}
	})
}

type want struct {
	user  carbon.UserID
	score carbon.Points
	rank  int
	at    time.Time
}

func add(t *testing.T, s rewards.BoardStore, board rewards.BoardID, user carbon.UserID, n int, delta carbon.Points, when time.Time) {
	t.Helper()
	ok, err := s.Add(ctx(), board, user, key(n), delta, when)
	require.NoError(t, err)
	require.True(t, ok)
}

func requireStandings(t *testing.T, want []want, got []rewards.Standing, offset int) {
	t.Helper()
	require.Len(t, got, len(want))
	for i, w := range want {
		g := got[i]
		require.Equal(t, w.user, g.User, "position %d", offset+i)
		require.Equal(t, w.score, g.Score, "user %s", w.user)
		require.Equal(t, w.rank, g.Rank, "user %s", w.user)
		require.Equal(t, offset+i, g.Position, "user %s", w.user)
		require.True(t, w.at.Equal(g.ReachedAt), "user %s reached at %s, want %s", w.user, g.ReachedAt, w.at)
	}
}

func users(ss []rewards.Standing) []carbon.UserID {
	var out []carbon.UserID
	for _, s := range ss {
		out = append(out, s.User)
	}
	return out
}
