package rewards_test

import (
	"context"
	"fmt"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
)

// A badge with two levels, loaded from JSON, awarded as earnings arrive.
func ExampleBadges() {
	ctx := context.Background()
	defs, err := rewards.ParseBadges([]byte(`[
	  {"id": "box-reuser", "title": "Box reuser", "levels": [
	    {"kind": "actions", "scenario": "logistics.box-reuse", "min": 2},
	    {"kind": "actions", "scenario": "logistics.box-reuse", "min": 3}]}]`))
	if err != nil {
		fmt.Println(err)
		return
	}
	badges, err := rewards.NewBadges(rewards.NewMemBadgeStore(), defs, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2026, 4, 22, 9, 0, 0, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		res, err := badges.Apply(ctx, rewards.Earning{
			ActivityID: fmt.Sprintf("box-%d", i), Partner: "cainiao", User: "u-42",
			Scenario: "logistics.box-reuse", Region: carbon.Zhejiang,
			OccurredAt: at, CreditedAt: at, Points: 40, Reduction: carbon.GramsInt(37),
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, a := range res.Awards {
			fmt.Printf("box %d: awarded %s level %d\n", i, a.Badge, a.Level)
		}
		if res.After.Level.Number > res.Before.Level.Number {
			fmt.Printf("box %d: mascot grew to %s\n", i, res.After.Level.Name)
		}
	}
	prog, _ := badges.Progress(ctx, "u-42")
	fmt.Printf("%s: %d of %d levels, complete %v\n", prog[0].Badge, prog[0].Awarded, prog[0].Levels, prog[0].Complete)
	// Output:
	// box 2: awarded box-reuser level 1
	// box 3: awarded box-reuser level 2
	// box 3: mascot grew to Sprout
	// box-reuser: 2 of 2 levels, complete true
}

// A regional campaign board: competition ranks, a user's neighbours, and the
// snapshot frozen at close.
func ExampleBoards() {
	ctx := context.Background()
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	week, _ := rewards.LocalWindow(shanghai, "2026-04-22", "2026-04-28")
	clock := carbon.NewTestClock(week.Start)
	boards, _ := rewards.NewBoards(rewards.NewMemBoardStore(), &rewards.BoardsOptions{Clock: clock})
	if err := boards.Define(ctx, rewards.Board{ID: "earth-week-gd", Window: week, Region: carbon.Guangdong}); err != nil {
		fmt.Println(err)
		return
	}
	for i, s := range []struct {
		user   carbon.UserID
		points carbon.Points
	}{{"amy", 50}, {"bo", 80}, {"chen", 50}, {"dan", 20}} {
		at := week.Start.Add(time.Duration(i+1) * time.Hour)
		clock.Set(at)
		_, err := boards.Apply(ctx, rewards.Earning{
			ActivityID: fmt.Sprintf("e%d", i), Partner: "eleme", User: s.user, Scenario: "food.no-cutlery",
			Region: carbon.Guangdong, OccurredAt: at, CreditedAt: at, Points: s.points,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
	}
	top, _ := boards.Top(ctx, "earth-week-gd", 10)
	for _, s := range top {
		fmt.Printf("%d. %s %d\n", s.Rank, s.User, s.Score)
	}
	me, _ := boards.Rank(ctx, "earth-week-gd", "chen", 1)
	fmt.Printf("chen is #%d, behind %s, ahead of %s\n", me.Member.Rank, me.Above[0].User, me.Below[0].User)

	clock.Set(week.End)
	snap, _ := boards.Snapshot(ctx, "earth-week-gd", 1)
	fmt.Printf("frozen at %s with %d members; winner %s\n", snap.FrozenAt.In(shanghai).Format(time.DateTime), snap.Members, snap.Top[0].User)
	// Output:
	// 1. bo 80
	// 2. amy 50
	// 2. chen 50
	// 4. dan 20
	// chen is #2, behind amy, ahead of dan
	// frozen at 2026-04-29 00:00:00 with 4 members; winner bo
}
