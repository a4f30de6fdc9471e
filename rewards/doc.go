// Package rewards is carbonkit's carbon-points programme: what a user earns
// for low-carbon actions, and what they get for it. This part of the package
// keeps the outcomes that are derived from earning alone: badges with levels,
// mascot levels, campaign leaderboards and footprint reports.
//
// All of them are fed one value, the Earning: a credit of points and CO2e to
// a user for one activity, or the reversal of one. Spending never produces an
// Earning, so it never lowers a badge's progress, a mascot level or a score.
// Each consumer applies a given EarningKey at most once, so a host may feed
// the same Earning again after a crash or a retry:
//
//	e := rewards.Earning{ActivityID: "order-1001", Partner: "eleme", User: "u-42",
//		Scenario: "food.no-cutlery", Region: carbon.Guangdong,
//		OccurredAt: occurred, CreditedAt: credited,
//		Points: 40, Reduction: carbon.GramsInt(37)}
//
//	res, err := badges.Apply(ctx, e)   // res.Awards, res.Before/After mascot level
//	updated, err := boards.Apply(ctx, e) // the boards whose score changed
//	_, err = footprints.Apply(ctx, e)
//
// Badges (NewBadges) awards badge levels from a closed set of criteria
// kinds: thresholds on points, reduction, actions, distinct scenarios or
// partners and day streaks in a stated time zone; a first action in a
// scenario; anything counted within a campaign window; all-of and any-of.
// Definitions come from Go values or from JSON (ParseBadges), which is read
// strictly and reports every problem with its JSON path. Each level is
// awarded once per user, ever, even under concurrent evaluation; awards are
// never revoked, while progress (Badges.Progress) follows reversals down.
// Mascot levels (LevelScale) follow lifetime points earned.
//
// Boards (NewBoards) keeps leaderboards, one per campaign window and region
// (or national). Members are ordered by score, then by who reached it first,
// then by user ID, with competition ranks (1, 2, 2, 4): Top, Page, Rank with
// neighbours, Count, and a Snapshot that is frozen when the board closes.
//
// Footprints (NewFootprints) sums each user's reductions, points and actions
// by month (in a stated time zone), scenario and partner, and reports them
// over a range of months.
//
// Each keeps its per-user or per-board state behind a small store interface
// (BadgeStore, BoardStore, FootprintStore) that a host may implement over its
// own database; the in-memory implementations (NewMemBadgeStore,
// NewMemBoardStore, NewMemFootprintStore) are production-grade defaults, and
// package rewardstest is the conformance suite every implementation must
// pass. Badges, Boards, Footprints and the in-memory stores are safe for
// concurrent use.
//
// Every error matches one of the package's Err sentinels with errors.Is;
// errors.As gives an *Error (operation, kind, detail) or a *ValidationError
// (every problem, with its path). A call refused for bad input changes
// nothing, and no caller input makes the package panic.
package rewards
