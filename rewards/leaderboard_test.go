package rewards_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/stretchr/testify/require"
)

// newBoards returns Boards over a fresh MemBoardStore with a test clock at
// now and the given boards defined.
func newBoards(t *testing.T, now time.Time, defs ...rewards.Board) (*rewards.Boards, *carbon.TestClock) {
	t.Helper()
	clock := carbon.NewTestClock(now)
	b, err := rewards.NewBoards(rewards.NewMemBoardStore(), &rewards.BoardsOptions{Clock: clock})
	require.NoError(t, err)
	for _, d := range defs {
		require.NoError(t, b.Define(context.Background(), d))
	}
	return b, clock
}

func scores(t *testing.T, b *rewards.Boards, id rewards.BoardID) map[carbon.UserID]carbon.Points {
	t.Helper()
	top, err := b.Top(context.Background(), id, rewards.MaxPage)
	require.NoError(t, err)
	out := map[carbon.UserID]carbon.Points{}
	for _, s := range top {
		out[s.User] = s.Score
	}
	return out
}

func TestBoardDefine(t *testing.T) {
	ctx := context.Background()
	week := mustWindow(t, "2026-04-22", "2026-04-28")
	b, _ := newBoards(t, week.Start)
	for _, tc := range []struct {
		name  string
		board rewards.Board
		paths []string
	}{
		{"bad id", rewards.Board{ID: "earth week", Window: week}, []string{"$.id"}},
		{"zero window", rewards.Board{ID: "b"}, []string{"$.window.start", "$.window.end"}},
		{"inverted window", rewards.Board{ID: "b", Window: rewards.Window{Start: week.End, End: week.Start}}, []string{"$.window"}},
		{"unknown region", rewards.Board{ID: "b", Window: week, Region: "CN-XX"}, []string{"$.region"}},
		{"negative grace", rewards.Board{ID: "b", Window: week, Grace: -time.Second}, []string{"$.grace"}},
		{"long grace", rewards.Board{ID: "b", Window: week, Grace: rewards.MaxGrace + 1}, []string{"$.grace"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := b.Define(ctx, tc.board)
			require.ErrorIs(t, err, rewards.ErrInvalidBoard)
			var ve *rewards.ValidationError
			require.True(t, errors.As(err, &ve))
			var paths []string
			for _, p := range ve.Problems {
				paths = append(paths, p.Path)
			}
			require.Equal(t, tc.paths, paths)
			require.Empty(t, b.Definitions(), "a refused board is not defined")
		})
	}

	good := rewards.Board{ID: "earth-week", Window: week, Region: carbon.Guangdong}
	require.NoError(t, b.Define(ctx, good))
	require.NoError(t, b.Define(ctx, good), "defining the same board again is a no-op")
	other := good
	other.Region = ""
	require.ErrorIs(t, b.Define(ctx, other), rewards.ErrBoardExists)
	got, err := b.Board("earth-week")
	require.NoError(t, err)
	require.True(t, got.Equal(good))
	_, err = b.Board("nope")
	require.ErrorIs(t, err, rewards.ErrUnknownBoard)

	_, err = rewards.NewBoards(nil, nil)
	require.ErrorIs(t, err, rewards.ErrInvalidArgument)
}

func TestBoardWhatCounts(t *testing.T) {
	ctx := context.Background()
	week := mustWindow(t, "2026-04-22", "2026-04-28")
	national := rewards.Board{ID: "national", Window: week, Grace: time.Hour}
	gd := rewards.Board{ID: "gd", Window: week, Region: carbon.Guangdong}
	in := week.Start.Add(time.Hour)
	for _, tc := range []struct {
		name               string
		earning            rewards.Earning
		national, regional bool
	}{
		{"inside, in region", credit("a", "u1", 5, in), true, true},
		{"other region", func() rewards.Earning { e := credit("a", "u1", 5, in); e.Region = carbon.Beijing; return e }(), true, false},
		{"at window start", credit("a", "u1", 5, week.Start), true, true},
		{"just before start", credit("a", "u1", 5, week.Start.Add(-time.Nanosecond)), false, false},
		{"at window end", credit("a", "u1", 5, week.End), false, false},
		{"last minute, credited in grace", credit("a", "u1", 5, week.End.Add(-time.Second)), true, false},
		{"credited after grace", func() rewards.Earning {
			e := credit("a", "u1", 5, in)
			e.CreditedAt = week.End.Add(time.Hour)
			return e
		}(), false, false},
		{"zero points", credit("a", "u1", 0, in), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, clock := newBoards(t, in, national, gd)
			clock.Set(tc.earning.CreditedAt)
			applied, err := b.Apply(ctx, tc.earning)
			require.NoError(t, err)
			var want []rewards.BoardID
			if tc.national {
				want = append(want, "national")
			}
			if tc.regional {
				want = append(want, "gd")
			}
			require.Equal(t, want, applied)
			require.Equal(t, tc.national, scores(t, b, "national")["u1"] == 5)
			require.Equal(t, tc.regional, scores(t, b, "gd")["u1"] == 5)
		})
	}
}

func TestBoardReversalsAndRepeats(t *testing.T) {
	ctx := context.Background()
	week := mustWindow(t, "2026-04-22", "2026-04-28")
	b, clock := newBoards(t, week.Start, rewards.Board{ID: "w", Window: week})
	e1 := credit("a1", "u1", 30, week.Start.Add(time.Hour))
	e2 := credit("a2", "u2", 20, week.Start.Add(2*time.Hour))
	for _, e := range []rewards.Earning{e1, e2, e1} { // e1 twice: counted once
		clock.Set(e.CreditedAt)
		_, err := b.Apply(ctx, e)
		require.NoError(t, err)
	}
	require.Equal(t, map[carbon.UserID]carbon.Points{"u1": 30, "u2": 20}, scores(t, b, "w"))

	rev, err := e1.Reverse(week.Start.Add(3 * time.Hour))
	require.NoError(t, err)
	clock.Set(rev.CreditedAt)
	for range 2 {
		_, err = b.Apply(ctx, rev)
		require.NoError(t, err)
	}
	top, err := b.Top(ctx, "w", 10)
	require.NoError(t, err)
	require.Len(t, top, 2)
	require.Equal(t, rewards.Standing{User: "u2", Score: 20, ReachedAt: e2.CreditedAt.UTC(), Rank: 1, Position: 0}, top[0])
	require.Equal(t, rewards.Standing{User: "u1", Score: 0, ReachedAt: rev.CreditedAt.UTC(), Rank: 2, Position: 1}, top[1],
		"a member reversed to zero stays on the board")

	// Bad input changes nothing.
	bad := credit("a3", "", 100, week.Start.Add(time.Hour))
	_, err = b.Apply(ctx, bad)
	require.ErrorIs(t, err, rewards.ErrInvalidEarning)
	require.Equal(t, map[carbon.UserID]carbon.Points{"u1": 0, "u2": 20}, scores(t, b, "w"))
}

func TestBoardCloseAndSnapshot(t *testing.T) {
	ctx := context.Background()
	week := mustWindow(t, "2026-04-22", "2026-04-28")
	board := rewards.Board{ID: "w", Window: week, Grace: time.Hour}
	b, clock := newBoards(t, week.Start, board)
	lastMinute := credit("a1", "u1", 30, week.End.Add(-time.Minute))
	clock.Set(lastMinute.CreditedAt)
	_, err := b.Apply(ctx, lastMinute)
	require.NoError(t, err)

	_, err = b.Snapshot(ctx, "w", 10)
	require.ErrorIs(t, err, rewards.ErrBoardOpen)

	// In the grace period, a late report still counts.
	late := credit("a2", "u2", 50, week.End.Add(-time.Minute))
	late.CreditedAt = week.End.Add(30 * time.Minute)
	clock.Set(late.CreditedAt)
	_, err = b.Apply(ctx, late)
	require.NoError(t, err)

	// At close the board freezes: nothing changes it afterwards, not even an
	// earning credited before the close that arrives after it, or a reversal.
	clock.Set(board.ClosesAt())
	snap, err := b.Snapshot(ctx, "w", 10)
	require.NoError(t, err)
	require.True(t, snap.FrozenAt.Equal(board.ClosesAt()))
	require.Equal(t, 2, snap.Members)
	require.Equal(t, []carbon.UserID{"u2", "u1"}, []carbon.UserID{snap.Top[0].User, snap.Top[1].User})

	delayed := credit("a3", "u3", 99, week.End.Add(-time.Hour))
	applied, err := b.Apply(ctx, delayed)
	require.NoError(t, err)
	require.Empty(t, applied)
	rev, err := late.Reverse(board.ClosesAt().Add(time.Hour))
	require.NoError(t, err)
	clock.Set(rev.CreditedAt)
	applied, err = b.Apply(ctx, rev)
	require.NoError(t, err)
	require.Empty(t, applied)

	again, err := b.Snapshot(ctx, "w", 10)
	require.NoError(t, err)
	require.Equal(t, snap, again)
	nb, err := b.Rank(ctx, "w", "u1", 1)
	require.NoError(t, err)
	require.Equal(t, 2, nb.Member.Rank)
	require.Equal(t, "u2", string(nb.Above[0].User))
}

func TestBoardFreezesOnFirstCallAfterClose(t *testing.T) {
	ctx := context.Background()
	week := mustWindow(t, "2026-04-22", "2026-04-28")
	store := rewards.NewMemBoardStore()
	clock := carbon.NewTestClock(week.End)
	b, err := rewards.NewBoards(store, &rewards.BoardsOptions{Clock: clock})
	require.NoError(t, err)
	require.NoError(t, b.Define(ctx, rewards.Board{ID: "w", Window: week}))
	n, err := b.Count(ctx, "w")
	require.NoError(t, err)
	require.Zero(t, n)
	at, err := store.FrozenAt(ctx, "w")
	require.NoError(t, err)
	require.True(t, at.Equal(week.End), "a read after close froze the board")
}

func TestBoardBadArguments(t *testing.T) {
	ctx := context.Background()
	week := mustWindow(t, "2026-04-22", "2026-04-28")
	b, _ := newBoards(t, week.Start, rewards.Board{ID: "w", Window: week})
	_, err := b.Apply(ctx, credit("a1", "u1", 5, week.Start))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"top negative", func() error { _, err := b.Top(ctx, "w", -1); return err }, rewards.ErrInvalidArgument},
		{"top too many", func() error { _, err := b.Top(ctx, "w", rewards.MaxPage+1); return err }, rewards.ErrInvalidArgument},
		{"page negative offset", func() error { _, err := b.Page(ctx, "w", -1, 5); return err }, rewards.ErrInvalidArgument},
		{"rank negative", func() error { _, err := b.Rank(ctx, "w", "u1", -1); return err }, rewards.ErrInvalidArgument},
		{"rank too many", func() error { _, err := b.Rank(ctx, "w", "u1", rewards.MaxPage+1); return err }, rewards.ErrInvalidArgument},
		{"rank not member", func() error { _, err := b.Rank(ctx, "w", "u9", 1); return err }, rewards.ErrNotMember},
		{"unknown board top", func() error { _, err := b.Top(ctx, "x", 1); return err }, rewards.ErrUnknownBoard},
		{"unknown board rank", func() error { _, err := b.Rank(ctx, "x", "u1", 1); return err }, rewards.ErrUnknownBoard},
		{"unknown board count", func() error { _, err := b.Count(ctx, "x"); return err }, rewards.ErrUnknownBoard},
		{"unknown board snapshot", func() error { _, err := b.Snapshot(ctx, "x", 1); return err }, rewards.ErrUnknownBoard},
		{"snapshot negative", func() error { _, err := b.Snapshot(ctx, "w", -1); return err }, rewards.ErrInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			require.ErrorIs(t, err, tc.want)
			require.Regexp(t, `^rewards: Boards\.[A-Za-z]+: `, err.Error())
		})
	}
	require.Equal(t, map[carbon.UserID]carbon.Points{"u1": 5}, scores(t, b, "w"))

	// Each message names the argument of its own call (the first is the
	// example in Error's doc).
	_, err = b.Top(ctx, "w", -1)
	require.EqualError(t, err, "rewards: Boards.Top: invalid argument: k -1 is outside 0 to 1000")
	_, err = b.Page(ctx, "w", -1, 5)
	require.EqualError(t, err, "rewards: Boards.Page: invalid argument: offset -1 is negative")
	_, err = b.Page(ctx, "w", 0, rewards.MaxPage+1)
	require.EqualError(t, err, "rewards: Boards.Page: invalid argument: limit 1001 is outside 0 to 1000")
}

// TestBoardConcurrentUpdates applies earnings from 8 goroutines (each
// earning twice, from two goroutines) while others read, then checks every
// score against the sum of the earnings.
func TestBoardConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	week := mustWindow(t, "2026-04-22", "2026-04-28")
	b, _ := newBoards(t, week.Start.Add(time.Hour), rewards.Board{ID: "w", Window: week}, rewards.Board{ID: "gd", Window: week, Region: carbon.Guangdong})
	const writers, perWriter, users = 8, 300, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+1)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				n := (w/2)*perWriter + i
				e := credit(fmt.Sprintf("a%d", n), carbon.UserID(fmt.Sprintf("u%02d", n%users)), carbon.Points(n%9+1), week.Start.Add(time.Duration(n)*time.Second))
				if _, err := b.Apply(ctx, e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := b.Top(ctx, "w", 10); err != nil {
				errs <- err
				return
			}
			if _, err := b.Rank(ctx, "w", "u01", 2); err != nil && !errors.Is(err, rewards.ErrNotMember) {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	want := map[carbon.UserID]carbon.Points{}
	for n := 0; n < writers/2*perWriter; n++ {
		want[carbon.UserID(fmt.Sprintf("u%02d", n%users))] += carbon.Points(n%9 + 1)
	}
	require.Equal(t, want, scores(t, b, "w"))
	require.Equal(t, want, scores(t, b, "gd"))
}
