package rewards_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/rewards"
	"github.com/shopspring/decimal"
)

var (
	shanghai     = mustZone("Asia/Shanghai")
	scenarios    = []carbon.Scenario{"food.no-cutlery", "logistics.box-reuse", "transport.metro", "secondhand.resale", "energy.ev-charging", "retail.bring-bag"}
	partners     = []carbon.PartnerID{"eleme", "cainiao", "metro", "xianyu", "mall"}
	regions      = []carbon.Region{carbon.Guangdong, carbon.Beijing, carbon.Zhejiang, carbon.Shanghai}
	workloadFrom = time.Date(2026, 4, 1, 0, 0, 0, 0, shanghai)
)

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// workload is a seeded random feed of earnings: the feed in order (with
// repeats), and the truth (the feed without repeats).
type workload struct {
	feed  []rewards.Earning
	truth []rewards.Earning
	users []carbon.UserID
}

// newWorkload generates n earnings over users users from seed. About 5% are
// reversals of an earlier credit, about 1% of the feed repeats an earlier
// item, a third of the traffic comes from 5% of the users, credits are
// reported up to two hours late, and CreditedAt only moves forward.
func newWorkload(seed uint64, n, users int) *workload {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w := &workload{feed: make([]rewards.Earning, 0, n+n/50), truth: make([]rewards.Earning, 0, n)}
	for i := 0; i < users; i++ {
		w.users = append(w.users, carbon.UserID(fmt.Sprintf("u%04d", i)))
	}
	hot := max(users/20, 1)
	now := workloadFrom
	var credits []int // indexes in truth of credits not yet reversed
	for len(w.truth) < n {
		now = now.Add(time.Duration(rng.IntN(60)) * time.Second)
		switch r := rng.IntN(100); {
		case r < 1 && len(w.feed) > 0:
			w.feed = append(w.feed, w.feed[rng.IntN(len(w.feed))])
			continue
		case r < 6 && len(credits) > 0:
			j := rng.IntN(len(credits))
			orig := w.truth[credits[j]]
			credits[j] = credits[len(credits)-1]
			credits = credits[:len(credits)-1]
			rev, err := orig.Reverse(now)
			if err != nil {
				panic(err)
			}
			w.feed = append(w.feed, rev)
			w.truth = append(w.truth, rev)
			continue
		}
		u := rng.IntN(users)
		if rng.IntN(3) == 0 {
			u = rng.IntN(hot)
		}
		e := rewards.Earning{
			ActivityID: fmt.Sprintf("act-%d", len(w.truth)),
			Partner:    partners[rng.IntN(len(partners))],
			User:       w.users[u],
			Scenario:   scenarios[rng.IntN(len(scenarios))],
			Region:     regions[rng.IntN(len(regions))],
			OccurredAt: now.Add(-time.Duration(rng.IntN(7200)) * time.Second),
			CreditedAt: now,
			Points:     carbon.Points(rng.IntN(40)),
			Reduction:  carbon.Grams(decimal.New(rng.Int64N(100_000), -3)),
		}
		credits = append(credits, len(w.truth))
		w.feed = append(w.feed, e)
		w.truth = append(w.truth, e)
	}
	return w
}
