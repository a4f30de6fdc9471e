package rewardstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

// RunBadgeStore checks that the stores newStore returns keep the
// rewards.BadgeStore contract: an empty state for a new user, atomic and
// idempotent updates, nothing stored when fn fails, copies on Load, and
// serialised concurrent updates (so that rewards.Badges awards once).
func RunBadgeStore(t *testing.T, newStore func(t *testing.T) rewards.BadgeStore) {
	t.Run("NewUserIsEmpty", func(t *testing.T) {
		s := newStore(t)
		st, err := s.Load(ctx(), "u1")
		require.NoError(t, err)
		require.Empty(t, st.Awards())
		require.JSONEq(t, `{}`, mustJSON(t, st))
	})

	t.Run("UpdateStoresStateAndKey", func(t *testing.T) {
		s := newStore(t)
		want := sampleState(t, 1)
		calls := 0
		ok, err := s.Update(ctx(), "u1", key(1), func(st *rewards.BadgeState) error {
			calls++
			*st = *want.Clone()
			return nil
		})
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, 1, calls)
		got, err := s.Load(ctx(), "u1")
		require.NoError(t, err)
		require.JSONEq(t, mustJSON(t, want), mustJSON(t, got))

		// The same key again does not call fn.
		ok, err = s.Update(ctx(), "u1", key(1), func(*rewards.BadgeState) error {
			calls++
			return nil
		})
		require.NoError(t, err)
		require.False(t, ok)
		require.Equal(t, 1, calls)

		// Users are separate.
		other, err := s.Load(ctx(), "u2")
		require.NoError(t, err)
		require.Empty(t, other.Awards())
	})

	t.Run("UpdateSeesStoredState", func(t *testing.T) {
		s := newStore(t)
		first := sampleState(t, 1)
		_, err := s.Update(ctx(), "u1", key(1), func(st *rewards.BadgeState) error { *st = *first.Clone(); return nil })
		require.NoError(t, err)
		_, err = s.Update(ctx(), "u1", key(2), func(st *rewards.BadgeState) error {
			require.JSONEq(t, mustJSON(t, first), mustJSON(t, st))
			return nil
		})
		require.NoError(t, err)
	})

	t.Run("FailedUpdateChangesNothing", func(t *testing.T) {
		s := newStore(t)
		before := sampleState(t, 1)
		_, err := s.Update(ctx(), "u1", key(1), func(st *rewards.BadgeState) error { *st = *before.Clone(); return nil })
		require.NoError(t, err)
		boom := errors.New("boom")
		ok, err := s.Update(ctx(), "u1", key(2), func(st *rewards.BadgeState) error {
			*st = *sampleState(t, 2)
			return boom
		})
		require.ErrorIs(t, err, boom)
		require.False(t, ok)
		got, err := s.Load(ctx(), "u1")
		require.NoError(t, err)
		require.JSONEq(t, mustJSON(t, before), mustJSON(t, got))
		// The key of the failed update was not recorded.
		ok, err = s.Update(ctx(), "u1", key(2), func(*rewards.BadgeState) error { return nil })
		require.NoError(t, err)
		require.True(t, ok)
	})

	t.Run("LoadReturnsACopy", func(t *testing.T) {
		s := newStore(t)
		want := sampleState(t, 1)
		_, err := s.Update(ctx(), "u1", key(1), func(st *rewards.BadgeState) error { *st = *want.Clone(); return nil })
		require.NoError(t, err)
		got, err := s.Load(ctx(), "u1")
		require.NoError(t, err)
		*got = *sampleState(t, 2)
		again, err := s.Load(ctx(), "u1")
		require.NoError(t, err)
		require.JSONEq(t, mustJSON(t, want), mustJSON(t, again))
	})

	t.Run("ConcurrentEvaluationsAwardOnce", func(t *testing.T) {
		s := newStore(t)
		b, err := rewards.NewBadges(s, []rewards.Badge{{
			ID: "regular", Title: "Regular",
			Levels: []rewards.Criterion{{Kind: rewards.KindActions, Min: 50}, {Kind: rewards.KindActions, Min: 150}},
		}}, nil)
		require.NoError(t, err)
		const workers, perWorker = 16, 25
		var wg sync.WaitGroup
		results := make(chan rewards.BadgeResult, workers*perWorker*2)
		errs := make(chan error, workers*perWorker*2)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perWorker; i++ {
					// Each earning is applied by two workers: once only counts.
					n := (w/2)*perWorker + i
					r, err := b.Apply(context.Background(), earning("u1", n, 1))
					if err != nil {
						errs <- err
						continue
					}
					results <- r
				}
			}()
		}
		wg.Wait()
		close(results)
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		applied, awards := 0, map[int]int{}
		for r := range results {
			if r.Applied {
				applied++
			}
			for _, a := range r.Awards {
				awards[a.Level]++
			}
		}
		require.Equal(t, workers*perWorker/2, applied)
		require.Equal(t, map[int]int{1: 1, 2: 1}, awards, "each level awarded exactly once")
		prog, err := b.Progress(ctx(), "u1")
		require.NoError(t, err)
		require.Equal(t, int64(workers*perWorker/2), prog[0].Measure.Current)
		stored, err := b.Awards(ctx(), "u1")
		require.NoError(t, err)
		require.Len(t, stored, 2)
	})
}

// sampleState returns a distinct, non-empty state for each n, built through
// the state's JSON form.
func sampleState(t *testing.T, n int) *rewards.BadgeState {
	t.Helper()
	var st rewards.BadgeState
	doc := fmt.Sprintf(`{"counters":{"points":{"points":%d},"days tz=UTC":{"days":{"20000":1,"20001":%d}}},
		"awards":[{"user":"u1","badge":"b%d","level":1,"awarded_at":"2026-04-22T08:00:00Z",
		"earning":{"partner":"p1","activity_id":"a%d"}}]}`, n*10, n, n, n)
	require.NoError(t, json.Unmarshal([]byte(doc), &st))
	return &st
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
