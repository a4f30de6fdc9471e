// Package rewards is carbonkit's carbon-points programme: what a user earns
// for low-carbon actions, and what they get for it. A Programme wires a
// methodology registry, a ledger and the stores below: it credits
// activities (Earn), keeps the reward catalog and redemptions (Redeem,
// Fulfil, Cancel), pays red packets for donations (Donate), and feeds the
// outcomes that are derived from earning alone: badges with levels, mascot
// levels, campaign leaderboards and footprint reports.
//
// # The programme
//
// A host builds one Programme at start-up over its registry and ledger,
// registers its partners, links each user's child accounts in the ledger
// (the programme opens the accounts of partners, merchants, sponsors and
// the charity, as RegisterPartner, AddReward and FundSponsor say, but never
// a user's), and then reports activities as partners send them:
//
//	p, err := rewards.NewProgramme(methodology.Builtin(), l, &rewards.ProgrammeOptions{
//		TimeZone: shanghai,                    // daily caps count Shanghai days
//		Policies: []rewards.EarnPolicy{policy}, // points per gram, caps, campaigns
//		Partners: []carbon.PartnerID{"metro"},
//		Badges: badges, Boards: boards, Footprints: footprints,
//		Publisher: publisher,                  // events, after each commit
//	})
//	l.OpenUser(ctx, "u-42"); l.LinkPartner(ctx, "u-42", "metro")
//	r, err := p.Earn(ctx, activity)              // r.Points, r.Capped, r.Multiplier, r.Entry
//	p.ReverseEarning(ctx, "metro", activity.ID, "refund-7")
//	p.AddReward(ctx, reward)
//	rd, err := p.Redeem(ctx, rewards.RedeemRequest{Key: "rd-1", User: "u-42", RewardID: "coffee"})
//	p.Fulfil(ctx, rd.ID)                         // or p.Cancel(ctx, rd.ID)
//	p.FundSponsor(ctx, "fund-1", "acme", 500_00) // a sponsor in ProgrammeOptions.Sponsors: CNY 500.00
//	p.Donate(ctx, rewards.DonateRequest{Key: "dn-1", User: "u-42", Points: 100, Sponsor: "acme"})
//
// Earn quantifies the activity with the methodology in force at its
// OccurredAt, converts the reduction by the EarnPolicy in force then
// (rounded down; a campaign multiplier; daily caps per user and per user
// and scenario, in the programme's time zone) and posts ONE ledger entry:
// Points and CO2e (milligrams) from the partner's issuance account to the
// user's child account, with the methodology ID@version, the result digest,
// the policy and how the points came about, and the activity's
// fingerprint in its metadata. The same (partner, activity ID) is credited
// once, ever: a replay returns the original Receipt, a replay with another
// body is ErrReplayMismatch. A receipt is recorded (pending) before the
// posting and completed after it, and the posting is a function of the
// receipt alone, so a failure at any point is completed by the next replay
// and the ledger's idempotency never credits twice. Cap room is reserved
// before the posting and released only when the posting definitely failed:
// a crash in between leaves the user with less room, never more points.
//
// A cap that cuts an earning to zero still records its reduction in CO2e
// (the emission was avoided), and the receipt says which cap (Capped). A
// host's ledger expiry policy should return the zero time for ledger.CO2e
// and ledger.CNY: only points expire.
//
// Redeem holds the reward's cost (ledger.HoldSpend: at the parent, or in
// one partner's mall from that child alone) and reserves a unit of stock
// within the per-user limit, atomically against every concurrent Redeem;
// Fulfil commits the hold, Cancel voids it (the points go back to the lots
// they came from) and returns the unit; with ProgrammeOptions.Fulfiller
// set, Redeem delivers and resolves the redemption itself. A redemption
// whose hold times out (ProgrammeOptions.HoldTimeout) is voided, and its
// unit returned, by ExpireRedemptions. Donate moves points to the charity
// account and pays the sponsor's red packet (CNY, from a budget that may
// not go below zero) in one ledger entry, so a budget that cannot pay
// changes nothing (ErrBudgetExhausted).
//
// # Events and re-derivation
//
// After the state they describe has committed, the programme hands its
// outcomes to the host's Publisher as Events with stable type names
// (points.earned, points.capped, points.reversed, badge.awarded,
// level.reached, redemption.held, redemption.fulfilled, redemption.voided,
// donation.made, board.closed) and stable IDs. A consumer or publisher
// that fails never undoes the credit: the call returns its valid result
// with an error matching ErrFollowUp, and repeating the call completes the
// follow-ups (every consumer is idempotent; events may be delivered twice,
// and deduplicate on ID). Everything can be rebuilt from stored state: the
// ledger's change feed (ledger.Ledger.Changes) holds every credit and
// reversal, EarningFromEntry turns each back into its Earning, and
// Programme.Resync feeds them to the consumers again; awards and levels are
// read back with Badges.Awards and Badges.Level, redemptions from the
// RedemptionStore.
//
// # Derived outcomes
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
// Each keeps its state behind a small store interface (BadgeStore,
// BoardStore, FootprintStore, and the programme's CapStore, ReceiptStore,
// CatalogStore and RedemptionStore) that a host may implement over its own
// database; the in-memory implementations (NewMemBadgeStore, ...,
// NewMemRedemptionStore) are production-grade defaults, and package
// rewardstest is the conformance suite every implementation must pass.
// Programme, Badges, Boards, Footprints and the in-memory stores are safe
// for concurrent use.
//
// Every error matches one of the package's Err sentinels with errors.Is;
// errors.As gives an *Error (operation, kind, detail) or a *ValidationError
// (every problem, with its path). A call refused for bad input changes
// nothing, and no caller input makes the package panic.
package rewards
