package rewards_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/cputime"
	"github.com/carbonkit/carbonkit/rewards"
)

const benchMembers = 1_000_000

// reportCPU reports the process CPU time per operation since start as
// cpu-ns/op. On a machine shared with other work ns/op is wall time, which
// includes waiting for a core; CPU time is what the operations cost, the
// collector's work on other threads included.
func reportCPU(b *testing.B, start time.Duration, ops int) {
	b.Helper()
	if ops > 0 && start > 0 {
		b.ReportMetric(float64(cputime.Process()-start)/float64(ops), "cpu-ns/op")
	}
}

// benchBoard returns a MemBoardStore whose board "b" has benchMembers
// members with scores spread over 0 to 100,000 (so there are many ties, as on
// a real board), and the members' IDs.
func benchBoard(b *testing.B) (*rewards.MemBoardStore, []carbon.UserID) {
	b.Helper()
	s := rewards.NewMemBoardStore()
	rng := rand.New(rand.NewPCG(1, 2))
	users := make([]carbon.UserID, benchMembers)
	ctx := context.Background()
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for i := range users {
		users[i] = carbon.UserID(appendUser(nil, i))
		key := rewards.EarningKey{Partner: "p", ActivityID: "seed-" + strconv.Itoa(i)}
		if _, err := s.Add(ctx, "b", users[i], key, carbon.Points(rng.IntN(100_000)+1), t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
			b.Fatal(err)
		}
	}
	return s, users
}

// BenchmarkBoardUpdate adds points (a tenth of them reversals) to random
// members of a 1,000,000-member board: the idempotency record, the score
// and the member's move in the order. Each member's ID is written afresh
// for its update, as a caller holds the ID of the activity it handles:
// picking it out of benchBoard's slice instead would charge the board two
// cache misses of the harness's own (the slice's entry and the string's
// bytes), about 0.4 µs on the machine in the README.
func BenchmarkBoardUpdate(b *testing.B) {
	s, users := benchBoard(b)
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	t0 := time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)
	buf := make([]byte, 0, 32)
	var ubuf [16]byte
	b.ReportAllocs()
	cpu, ops := cputime.Process(), 0
	i := 0
	for b.Loop() {
		ops++
		i++
		delta := carbon.Points(rng.IntN(50) + 1)
		if i%10 == 0 {
			delta = -delta
		}
		buf = strconv.AppendInt(append(buf[:0], "act-"...), int64(i), 10)
		key := rewards.EarningKey{Partner: "p", ActivityID: string(buf)}
		u := carbon.UserID(appendUser(ubuf[:0], rng.IntN(len(users))))
		if _, err := s.Add(ctx, "b", u, key, delta, t0.Add(time.Duration(i))); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, ops)
}

// BenchmarkBoardTop100 reads the first 100 standings, ranks included, of a
// 1,000,000-member board.
func BenchmarkBoardTop100(b *testing.B) {
	s, _ := benchBoard(b)
	ctx := context.Background()
	b.ReportAllocs()
	cpu, ops := cputime.Process(), 0
	for b.Loop() {
		ops++
		top, err := s.Range(ctx, "b", 0, 100)
		if err != nil || len(top) != 100 {
			b.Fatal(err, len(top))
		}
	}
	reportCPU(b, cpu, ops)
}

// BenchmarkBoardRank looks up a random member's standing (rank and
// position) on a 1,000,000-member board.
func BenchmarkBoardRank(b *testing.B) { benchRank(b, 0) }

// BenchmarkBoardRankNeighbours is BenchmarkBoardRank with 5 members above
// and below.
func BenchmarkBoardRankNeighbours(b *testing.B) { benchRank(b, 5) }

// benchRank looks up random members' standing with n neighbours each side.
func benchRank(b *testing.B, n int) {
	s, users := benchBoard(b)
	rng := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	var ubuf [16]byte
	b.ReportAllocs()
	cpu, ops := cputime.Process(), 0
	for b.Loop() {
		ops++
		u := carbon.UserID(appendUser(ubuf[:0], rng.IntN(len(users)))) // as in BenchmarkBoardUpdate
		if _, err := s.Around(ctx, "b", u, n); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu, ops)
}

// benchEarnings returns about n credits from a workload over 10,000 users.
func benchEarnings(n int) []rewards.Earning {
	var out []rewards.Earning
	for _, e := range newWorkload(99, n, 10_000).truth {
		if !e.Reversal {
			out = append(out, e)
		}
	}
	return out
}

// BenchmarkBadgesApply applies one earning to the badges of crossBadges
// (12 badges, 25 levels, every criterion kind) for a user among 10,000:
// what Earn pays for badges and mascot levels.
func BenchmarkBadgesApply(b *testing.B) {
	badges, err := rewards.NewBadges(rewards.NewMemBadgeStore(), crossBadges(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	benchApply(b, func(ctx context.Context, e rewards.Earning) error {
		_, err := badges.Apply(ctx, e)
		return err
	})
}

// BenchmarkBoardsApply applies one earning to three boards (national,
// regional, closed): what Earn pays for leaderboards.
func BenchmarkBoardsApply(b *testing.B) {
	clock := carbon.NewTestClock(workloadFrom.Add(24 * time.Hour))
	boards, err := rewards.NewBoards(rewards.NewMemBoardStore(), &rewards.BoardsOptions{Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range crossBoards(b) {
		if err := boards.Define(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
	benchApply(b, func(ctx context.Context, e rewards.Earning) error {
		e.CreditedAt = workloadFrom.Add(time.Hour)
		e.Points++ // a zero-point earning touches no board
		_, err := boards.Apply(ctx, e)
		return err
	})
}

// BenchmarkFootprintsApply applies one earning to a user's footprint.
func BenchmarkFootprintsApply(b *testing.B) {
	feet, err := rewards.NewFootprints(rewards.NewMemFootprintStore(), shanghai)
	if err != nil {
		b.Fatal(err)
	}
	benchApply(b, func(ctx context.Context, e rewards.Earning) error {
		_, err := feet.Apply(ctx, e)
		return err
	})
}

// benchApply calls apply with one of 200,000 earnings, each time under a
// new activity ID, and reports the CPU time per call.
func benchApply(b *testing.B, apply func(context.Context, rewards.Earning) error) {
	es := benchEarnings(200_000)
	ctx := context.Background()
	b.ReportAllocs()
	cpu, n := cputime.Process(), 0
	for b.Loop() {
		e := es[n%len(es)]
		e.ActivityID = "b" + strconv.Itoa(n)
		if err := apply(ctx, e); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportCPU(b, cpu, n)
}

// appendUser appends the ID of benchBoard's member n: "user-" and n in
// seven digits.
func appendUser(b []byte, n int) []byte {
	b = append(b, "user-"...)
	for d := 1_000_000; d > 0; d /= 10 {
		b = append(b, byte('0'+n/d%10))
	}
	return b
}

// BenchmarkRedemptionsExpiring asks a MemRedemptionStore that holds
// 200,000 resolved redemptions and 10 held ones for those due, as
// ExpireRedemptions does on every sweep: the answer should cost what the
// redemptions in flight cost, not the store's history.
func BenchmarkRedemptionsExpiring(b *testing.B) {
	ctx := context.Background()
	s := rewards.NewMemRedemptionStore()
	t0 := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for i := range 200_010 {
		r := rewards.Redemption{ID: "r-" + strconv.Itoa(i), User: "u", RewardID: "cup", Cost: 10,
			State: rewards.RedemptionFulfilled, Deadline: t0.Add(time.Minute), HeldAt: t0}
		if i%20_000 == 0 {
			r.State = rewards.RedemptionHeld
		}
		if _, _, err := s.InsertRedemption(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		due, err := s.Expiring(ctx, t0.Add(time.Hour), "", 100)
		if err != nil || len(due) != 11 {
			b.Fatalf("%d due, %v", len(due), err)
		}
	}
}
