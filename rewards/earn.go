package rewards

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/shopspring/decimal"
)

// Cap names the daily cap that held a credit below what the policy gave.
type Cap string

// The caps.
const (
	CapNone     Cap = ""         // not capped
	CapDaily    Cap = "daily"    // the user's daily cap over all scenarios
	CapScenario Cap = "scenario" // the user's daily cap in the scenario
)

// Receipt says what an activity was credited and why: the reduction the
// methodology found, the points the policy gave for it, the multiplier and
// caps that changed them, and the ledger entry that holds them. A
// reversal's receipt (ReverseEarning) has Reversal set, its own Entry and
// CreditedAt, and Points and Reduction negated.
//
// Receipt holds decimals and masses and must not be compared with ==.
type Receipt struct {
	ActivityID string           `json:"activity_id"`
	Partner    carbon.PartnerID `json:"partner"`
	User       carbon.UserID    `json:"user"`
	Scenario   carbon.Scenario  `json:"scenario"`
	Region     carbon.Region    `json:"region"`
	OccurredAt time.Time        `json:"occurred_at"`

	// Entry is the ledger entry that credited (or reversed) the points and
	// the reduction; empty when there was nothing to post (a zero
	// reduction). CreditedAt is the entry's Recorded time.
	Entry      ledger.EntryID `json:"entry,omitempty"`
	CreditedAt time.Time      `json:"credited_at"`

	// Points is what was credited; Reduction the CO2e recorded, a whole
	// number of milligrams (the ledger's scale).
	Points    carbon.Points `json:"points"`
	Reduction carbon.Mass   `json:"reduction"`

	// Methodology ("ID@version") quantified the activity; ResultDigest is
	// its Result.Digest, with which anyone can Verify the figure.
	Methodology  string `json:"methodology"`
	ResultDigest string `json:"result_digest"`
	// Policy ("ID@version") converted the reduction: BasePoints at its
	// rate, then Multiplier (1 outside any campaign; Campaign names the
	// campaign) gave Uncapped, which Capped (if set) lowered to Points.
	Policy     string          `json:"policy"`
	BasePoints carbon.Points   `json:"base_points"`
	Multiplier decimal.Decimal `json:"multiplier"`
	Campaign   string          `json:"campaign,omitempty"`
	Uncapped   carbon.Points   `json:"uncapped"`
	Capped     Cap             `json:"capped,omitempty"`

	// Fingerprint is the SHA-256 (hex) of the activity's canonical
	// encoding: a replay must match it.
	Fingerprint string `json:"fingerprint"`
	// Reversal marks a reversal's receipt.
	Reversal bool `json:"reversal,omitempty"`
	// Replayed is set when the call was a replay and the receipt is the
	// original one.
	Replayed bool `json:"replayed,omitempty"`
}

// Earning returns the Earning the receipt records, as fed to badges,
// boards and footprints.
func (r *Receipt) Earning() Earning {
	return Earning{ActivityID: r.ActivityID, Partner: r.Partner, User: r.User, Scenario: r.Scenario,
		Region: r.Region, OccurredAt: r.OccurredAt, CreditedAt: r.CreditedAt, Points: r.Points,
		Reduction: r.Reduction, Reversal: r.Reversal}
}

// Earn credits an activity: it validates it, checks that its partner is
// registered and the user linked to it, quantifies it with the methodology
// in force at its OccurredAt, converts the reduction to points by the earn
// policy in force then (rate, campaign multiplier, daily caps) and posts
// one ledger entry crediting the user's child account for the partner,
// from the partner's issuance account, with the points and the reduction
// (ledger.CO2e, milligrams). Then it feeds Badges, Boards and Footprints
// and publishes the events.
//
// The same (Partner, ID) is credited once, ever: a replay returns the
// original receipt (Replayed set) and feeds the consumers again (which
// ignore what they have seen), whatever concurrent callers do. A replay
// whose activity differs in any field gets ErrReplayMismatch.
//
// A credit that a cap cuts to zero still records its reduction (the CO2e
// was avoided); a zero reduction posts nothing and returns a receipt
// without an Entry.
//
// Errors (nothing changes): ErrInvalidActivity (also for an OccurredAt
// outside 1900 to 2199 in UTC, the times an Earning can carry, or, for a
// new activity, outside ProgrammeOptions.MaxActivityAge and
// MaxActivityLead),
// ErrUnknownPartner, ErrNotLinked, ErrNoPolicy, ErrNotQuantifiable,
// ErrReplayMismatch, ErrOverflow, ErrStore (a programme store failed),
// ErrLedger (the ledger failed; the credit may be pending: repeat the
// call). ErrFollowUp comes with a valid receipt: the credit committed, but
// feeding a consumer, publishing or settling the cap reservation
// (CapSettler) failed; repeating the call completes it, and publishes the
// credit's events again (the same IDs): its points, and the badges it
// awarded, but not a level it reached, which Badges.Level tells.
func (p *Programme) Earn(ctx context.Context, a carbon.Activity) (Receipt, error) {
	const op = "Programme.Earn"
	if err := a.Validate(); err != nil {
		return Receipt{}, &Error{Op: op, Kind: ErrInvalidActivity, Err: err}
	}
	if !inTimeRange(a.OccurredAt) {
		// The credit's Earning would carry this time, and every consumer
		// (Badges, Boards, Footprints, Resync) would refuse it for good.
		return Receipt{}, newErr(op, ErrInvalidActivity, fmt.Sprintf("occurred_at %s is outside %s, the times an Earning can carry",
			a.OccurredAt.Format(time.RFC3339Nano), timeRange))
	}
	pt, err := p.partner(ctx, op, a.Partner)
	if err != nil {
		return Receipt{}, err
	}
	fp := activityFingerprint(&a)
	mu := p.stripe("earn", string(a.Partner), a.ID)
	mu.Lock()
	defer mu.Unlock()

	rec, found, err := p.receipts.Receipt(ctx, a.Partner, a.ID)
	if err != nil {
		return Receipt{}, storeErr(op, err)
	}
	if found {
		return p.replay(ctx, op, rec, fp)
	}
	if err := p.inWindow(op, a.OccurredAt); err != nil {
		return Receipt{}, err
	}
	r, err := p.quote(ctx, op, &a, fp)
	if err != nil {
		return Receipt{}, err
	}
	child := ledger.PartnerAccount(a.User, pt.id)
	if r.Uncapped == 0 && r.Reduction.IsZero() {
		// Nothing to post, so the ledger will not check the user's link
		// (which the credit's own entry does, in its transaction: a
		// separate read first would cost a PostgreSQL store a round trip
		// per earn). Nothing is reserved yet.
		if err := p.linkedAccount(ctx, op, child, a.User, pt.id); err != nil {
			return Receipt{}, err
		}
	}
	stored, inserted, err := p.receipts.InsertReceipt(ctx, ReceiptRecord{Receipt: r, Pending: true})
	if err != nil {
		// Whether it was stored is unknown; the cap reservation stays (a
		// retry finds it), so the user may get less, never more.
		return Receipt{}, storeErr(op, err)
	}
	if !inserted {
		// Another process got there first.
		return p.replay(ctx, op, stored, fp)
	}
	return p.postTo(ctx, op, r, pt.issuance, child)
}

// inWindow refuses, with ErrInvalidActivity, an activity that occurred at
// at, longer than MaxActivityAge ago or further than MaxActivityLead ahead
// by the programme's clock.
func (p *Programme) inWindow(op string, at time.Time) error {
	if p.maxAge == 0 && p.maxLead == 0 {
		return nil
	}
	now := p.clock.Now()
	switch {
	case p.maxAge > 0 && now.Sub(at) > p.maxAge:
		return newErr(op, ErrInvalidActivity, fmt.Sprintf("occurred_at %s is more than %s before now (%s): too late to credit",
			at.Format(time.RFC3339Nano), p.maxAge, now.Format(time.RFC3339Nano)))
	case p.maxLead > 0 && at.Sub(now) > p.maxLead:
		return newErr(op, ErrInvalidActivity, fmt.Sprintf("occurred_at %s is more than %s after now (%s)",
			at.Format(time.RFC3339Nano), p.maxLead, now.Format(time.RFC3339Nano)))
	}
	return nil
}

// replay answers a repeated activity from its stored receipt, completing a
// credit left pending by an earlier failure.
func (p *Programme) replay(ctx context.Context, op string, rec ReceiptRecord, fp string) (Receipt, error) {
	if rec.Receipt.Fingerprint != fp {
		return Receipt{}, newErr(op, ErrReplayMismatch, fmt.Sprintf("activity %q of partner %q was credited with fingerprint %s, not %s",
			rec.Receipt.ActivityID, rec.Receipt.Partner, short(rec.Receipt.Fingerprint), short(fp)))
	}
	if rec.Pending {
		return p.post(ctx, op, rec.Receipt)
	}
	r := rec.Receipt
	r.Replayed = true
	if err := p.follow(ctx, op, &r); err != nil {
		return r, err
	}
	return r, p.settle(ctx, op, &r)
}

// settle lets a CapSettler forget the cap reservation of a completed
// receipt, once its consumers are fed (replays are answered from the
// receipt from now on). A failure is a follow-up error: the credit stands,
// and repeating the call settles it.
func (p *Programme) settle(ctx context.Context, op string, r *Receipt) error {
	cs, ok := p.caps.(CapSettler)
	if !ok || r.Uncapped == 0 {
		return nil
	}
	if err := cs.Settle(ctx, capID(r.Partner, r.ActivityID)); err != nil {
		return &Error{Op: op, Kind: ErrFollowUp, Detail: "settling the cap reservation", Err: err}
	}
	return nil
}

// quote computes what activity a earns, reserving its points in the cap
// counters: the receipt to post, without Entry and CreditedAt.
func (p *Programme) quote(ctx context.Context, op string, a *carbon.Activity, fp string) (Receipt, error) {
	pol := p.pols.at(a.OccurredAt)
	if pol == nil {
		return Receipt{}, newErr(op, ErrNoPolicy, fmt.Sprintf("no earn policy is in force at %s", a.OccurredAt.UTC().Format(time.RFC3339)))
	}
	res, err := p.reg.QuantifyBrief(*a)
	if err != nil {
		return Receipt{}, &Error{Op: op, Kind: ErrNotQuantifiable, Detail: fmt.Sprintf("activity %q of partner %q", a.ID, a.Partner), Err: err}
	}
	mg, err := massMg(res.ER)
	if err != nil {
		return Receipt{}, &Error{Op: op, Kind: ErrOverflow, Detail: fmt.Sprintf("reduction %s", res.ER), Err: err}
	}
	r := Receipt{ActivityID: a.ID, Partner: a.Partner, User: a.User, Scenario: a.Scenario, Region: a.Region,
		OccurredAt: a.OccurredAt.UTC(), Reduction: carbon.Grams(decimal.New(mg, -3)),
		Methodology: p.methodologyRef(&res), ResultDigest: res.Digest, Policy: pol.ref, Multiplier: one, Fingerprint: fp}
	if c := pol.campaign(a); c != nil {
		r.Multiplier, r.Campaign = c.Multiplier, c.ID
	}
	if r.BasePoints, r.Uncapped, err = pol.pointsMg(mg, r.Reduction, r.Multiplier); err != nil {
		return Receipt{}, &Error{Op: op, Kind: ErrOverflow, Detail: err.Error()}
	}
	r.Points = r.Uncapped
	if r.Uncapped == 0 {
		return r, nil
	}
	scenarioCap := pol.scenarioCap(a.Scenario)
	if scenarioCap <= 0 && pol.DailyCap <= 0 {
		return r, nil
	}
	// The counters are "day/user" and "day/user/scenario": one string
	// holds both.
	var buf [64]byte
	b := appendDate(buf[:0], a.OccurredAt.In(p.loc))
	b = append(b, '/')
	b = append(b, a.User...)
	nDay := len(b)
	if scenarioCap > 0 {
		b = append(b, '/')
		b = append(b, a.Scenario...)
	}
	counters := string(b)
	day := counters[:nDay]
	var limits [2]CapLimit
	n := 0
	if scenarioCap > 0 {
		limits[n] = CapLimit{Counter: counters, Limit: int64(scenarioCap)}
		n++
	}
	if pol.DailyCap > 0 {
		limits[n] = CapLimit{Counter: day, Limit: int64(pol.DailyCap)}
		n++
	}
	var res2 CapReservation
	if mc, ok := p.caps.(*MemCapStore); ok {
		// Called directly, Reserve lets limits stay on the stack.
		res2, err = mc.Reserve(ctx, capID(a.Partner, a.ID), fp, limits[:n], int64(r.Uncapped))
	} else {
		res2, err = p.caps.Reserve(ctx, capID(a.Partner, a.ID), fp, slices.Clone(limits[:n]), int64(r.Uncapped))
	}
	if err != nil {
		return Receipt{}, storeErr(op, err)
	}
	if res2.Fingerprint != fp {
		return Receipt{}, newErr(op, ErrReplayMismatch, fmt.Sprintf("activity %q of partner %q is being credited with another body", a.ID, a.Partner))
	}
	r.Points = carbon.Points(res2.Granted)
	switch res2.LimitedBy {
	case "":
	case day:
		r.Capped = CapDaily
	default:
		r.Capped = CapScenario
	}
	return r, nil
}

// post posts a quoted receipt to the ledger and completes it. On a
// definite failure it releases the cap reservation and forgets the
// receipt, so that nothing changes; on an uncertain one it leaves both,
// and a retry finishes the job.
func (p *Programme) post(ctx context.Context, op string, r Receipt) (Receipt, error) {
	return p.postTo(ctx, op, r, p.issuanceAccount(r.Partner), ledger.PartnerAccount(r.User, r.Partner))
}

// postTo is post given the accounts of the credit: the partner's issuance
// account and the user's child account.
func (p *Programme) postTo(ctx context.Context, op string, r Receipt, issuance, child ledger.AccountID) (Receipt, error) {
	req := earnRequest(&r, issuance, child)
	if len(req.Postings) > 0 {
		e, err := p.ledger.Post(ctx, req)
		if err != nil {
			if !definite(err) {
				return Receipt{}, ledgerErr(op, err, fmt.Sprintf("crediting activity %q of partner %q (pending: repeat the call)", r.ActivityID, r.Partner))
			}
			// The receipt goes first: while it is pending, a retry posts it
			// with the points it quoted, and only its reservation counts
			// them in the caps. So the reservation is released only once
			// the receipt is gone; if either fails, the reservation is
			// left, and the user may get less, never more.
			if derr := p.receipts.DeletePendingReceipt(ctx, r.Partner, r.ActivityID); derr != nil {
				return Receipt{}, storeErr(op, errors.Join(derr, err))
			}
			if rerr := p.caps.Release(ctx, capID(r.Partner, r.ActivityID)); rerr != nil {
				return Receipt{}, storeErr(op, errors.Join(rerr, err))
			}
			if errors.Is(err, ledger.ErrAccountClosed) || errors.Is(err, ledger.ErrUnknownAccount) {
				// The partner's issuance account is open (partner), so the
				// account refused is the user's.
				return Receipt{}, &Error{Op: op, Kind: ErrNotLinked, Detail: fmt.Sprintf("user %q has no open account for partner %q", r.User, r.Partner), Err: err}
			}
			return Receipt{}, ledgerErr(op, err, fmt.Sprintf("crediting activity %q of partner %q", r.ActivityID, r.Partner),
				ledger.ErrIdempotencyConflict, ErrReplayMismatch)
		}
		r.Entry, r.CreditedAt = e.ID, e.Recorded
	} else {
		r.CreditedAt = p.clock.Now().UTC().Round(0)
	}
	if err := p.receipts.CompleteReceipt(ctx, r.Partner, r.ActivityID, r.Entry, r.CreditedAt); err != nil {
		// The credit committed; the receipt stays pending, and a replay
		// completes it from the ledger.
		return r, &Error{Op: op, Kind: ErrFollowUp, Detail: "completing the receipt", Err: err}
	}
	if err := p.follow(ctx, op, &r); err != nil {
		return r, err
	}
	return r, p.settle(ctx, op, &r)
}

// follow feeds a committed credit or reversal to the consumers and
// publishes its events.
func (p *Programme) follow(ctx context.Context, op string, r *Receipt) error {
	var errs []error
	var events []Event
	// Events are built only for a publisher to take: without one there
	// is nobody to tell.
	publish := p.publisher != nil
	if publish {
		// The events point at a copy, so that r can stay on its caller's
		// stack when there is no publisher.
		rc := new(Receipt)
		*rc = *r
		var buf [4]Event
		events = receiptEvents(rc, buf[:0])
	}
	if r.Entry != "" && (p.badges != nil || p.boards != nil || p.footprint != nil) {
		e := r.Earning()
		if e.Validate() != nil {
			// Each consumer reports the invalid Earning as its own Apply
			// does.
			return p.feed(ctx, op, &e, events, errs)
		}
		// Validated once here for all three, rather than by each Apply.
		if p.badges != nil {
			res, err := p.badges.apply(ctx, &e, publish)
			switch {
			case err != nil:
				errs = append(errs, err)
			case !publish:
			case res.Applied:
				events = badgeEvents(&res, r.CreditedAt, r.User, events)
			case r.Replayed:
				// Applied by an earlier call, whose publishing may have
				// failed: tell of the badges it awarded again.
				events, errs = p.awardEvents(ctx, &e, events, errs)
			}
		}
		if p.boards != nil {
			if _, err := p.boards.apply(ctx, &e, false); err != nil {
				errs = append(errs, err)
			}
		}
		if p.footprint != nil {
			if _, err := p.footprint.apply(ctx, &e); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = p.publish(ctx, events, errs)
	return followUp(op, errs)
}

// awardEvents appends the events of the badge levels e awarded when it was
// applied: the same events, with the same IDs, that its first feed built.
// (Its level change is not kept, so a repeat cannot tell of it again.)
func (p *Programme) awardEvents(ctx context.Context, e *Earning, events []Event, errs []error) ([]Event, []error) {
	awards, err := p.badges.Awards(ctx, e.User)
	if err != nil {
		return events, append(errs, err)
	}
	mine := BadgeResult{Awards: awards[:0]}
	for _, a := range awards {
		if a.Earning == e.Key() {
			mine.Awards = append(mine.Awards, a)
		}
	}
	return badgeEvents(&mine, e.CreditedAt, e.User, events), errs
}

// feed is follow's tail through the consumers' public Apply methods.
func (p *Programme) feed(ctx context.Context, op string, e *Earning, events []Event, errs []error) error {
	if p.badges != nil {
		res, err := p.badges.Apply(ctx, *e)
		if err != nil {
			errs = append(errs, err)
		} else if res.Applied && p.publisher != nil {
			events = badgeEvents(&res, e.CreditedAt, e.User, events)
		}
	}
	if p.boards != nil {
		if _, err := p.boards.Apply(ctx, *e); err != nil {
			errs = append(errs, err)
		}
	}
	if p.footprint != nil {
		if _, err := p.footprint.Apply(ctx, *e); err != nil {
			errs = append(errs, err)
		}
	}
	errs = p.publish(ctx, events, errs)
	return followUp(op, errs)
}

// ReverseEarning undoes the credit of partner's activity activityID with a
// ledger reversal under the idempotency key key (points and reduction taken
// back from the lots the credit made), and feeds the reversal to Badges,
// Boards (scores go down) and Footprints, after the credit itself if an
// earlier feed of it failed. Repeating the call with the same
// key returns the same reversal; another key gets ErrAlreadyReversed. The
// cap room the credit used is not given back. Errors (nothing changes):
// ErrInvalidArgument (a malformed partner, activity ID or key, or an
// activity that credited nothing), ErrUnknownActivity,
// ErrAlreadyReversed, ErrInsufficientPoints (the credited points were
// spent), ErrReplayMismatch (key used for another request), ErrStore,
// ErrLedger; ErrFollowUp with a valid receipt as in Earn.
func (p *Programme) ReverseEarning(ctx context.Context, partnerID carbon.PartnerID, activityID, key string) (Receipt, error) {
	const op = "Programme.ReverseEarning"
	if err := errors.Join(partnerID.Validate(), carbon.ValidateID("activity", activityID), carbon.ValidateID("key", key)); err != nil {
		return Receipt{}, &Error{Op: op, Kind: ErrInvalidArgument, Err: err}
	}
	mu := p.stripe("earn", string(partnerID), activityID)
	mu.Lock()
	defer mu.Unlock()
	rec, found, err := p.receipts.Receipt(ctx, partnerID, activityID)
	switch {
	case err != nil:
		return Receipt{}, storeErr(op, err)
	case !found:
		return Receipt{}, newErr(op, ErrUnknownActivity, fmt.Sprintf("activity %q of partner %q was never credited", activityID, partnerID))
	}
	r := rec.Receipt
	if rec.Pending {
		if r, err = p.post(ctx, op, r); err != nil && !errors.Is(err, ErrFollowUp) {
			return Receipt{}, err
		}
	}
	if r.Entry == "" {
		return Receipt{}, newErr(op, ErrInvalidArgument, fmt.Sprintf("activity %q of partner %q credited nothing to reverse", activityID, partnerID))
	}
	// The consumers must see the credit before its reversal, as a rebuild
	// from the ledger does: badges are awarded in order and never revoked.
	// A credit whose feed failed (ErrFollowUp) and was not repeated is fed
	// now; each consumer applies an earning once, so a credit fed before
	// changes nothing, and only what it newly awards is published.
	if ce := r.Earning(); ce.Validate() == nil {
		if err := p.feed(ctx, op, &ce, nil, nil); err != nil {
			return Receipt{}, &Error{Op: op, Kind: ErrStore, Detail: fmt.Sprintf("feeding the credit of activity %q before its reversal failed: repeat the call", activityID), Err: err}
		}
	}
	meta := earnMeta(&r)
	meta[metaKind] = kindEarnReversal
	e, err := p.ledger.Reverse(ctx, ledger.ReverseRequest{Key: key, Entry: r.Entry, Metadata: meta})
	if err != nil {
		return Receipt{}, ledgerErr(op, err, fmt.Sprintf("reversing activity %q of partner %q", activityID, partnerID),
			ledger.ErrAlreadyReversed, ErrAlreadyReversed, ledger.ErrInsufficientFunds, ErrInsufficientPoints,
			ledger.ErrIdempotencyConflict, ErrReplayMismatch)
	}
	r.Reversal, r.Replayed, r.Entry, r.CreditedAt = true, false, e.ID, e.Recorded
	r.Points, r.Reduction = -r.Points, r.Reduction.Neg()
	return r, p.follow(ctx, op, &r)
}

// Metadata of the programme's earn entries: eight keys, so that the map
// stays small. Every value a reader needs to rebuild the Earning
// (EarningFromEntry) and to audit the figure is here; the amounts, the
// user and the partner are the postings to the user's child account.
//
//	rewards.kind   "earn" or "earn.reversal"
//	activity       the partner's activity ID
//	scenario       the activity's scenario
//	region         the activity's region
//	occurred_at    the activity's time, RFC 3339 in UTC
//	methodology    "ID@version" of the methodology, then its result digest
//	policy         "ID@version" of the earn policy, then how the points
//	               came about: "base=89 multiplier=1.5 campaign=gd
//	               uncapped=133 capped=daily"
//	fingerprint    SHA-256 of the activity's canonical encoding
const (
	metaKind         = "rewards.kind"
	kindEarn         = "earn"
	kindEarnReversal = "earn.reversal"
	metaActivity     = "activity"
	metaScenario     = "scenario"
	metaRegion       = "region"
	metaOccurred     = "occurred_at"
	metaMethodology  = "methodology"
	metaPolicy       = "policy"
	metaFingerprint  = "fingerprint"
)

func earnMeta(r *Receipt) map[string]string {
	// The three values built here are parts of one string: one allocation
	// rather than three.
	var buf [512]byte
	b := appendRFC3339Nano(buf[:0], r.OccurredAt.UTC())
	nOccurred := len(b)
	b = append(b, r.Methodology...)
	b = append(b, ' ')
	b = append(b, r.ResultDigest...)
	nMethodology := len(b)
	b = append(b, r.Policy...)
	b = append(b, " base="...)
	b = strconv.AppendInt(b, int64(r.BasePoints), 10)
	b = append(b, " multiplier="...)
	b = dec.Append(b, r.Multiplier)
	if r.Campaign != "" {
		b = append(b, " campaign="...)
		b = append(b, r.Campaign...)
	}
	b = append(b, " uncapped="...)
	b = strconv.AppendInt(b, int64(r.Uncapped), 10)
	if r.Capped != CapNone {
		b = append(b, " capped="...)
		b = append(b, r.Capped...)
	}
	vals := string(b)
	return map[string]string{
		metaKind: kindEarn, metaActivity: r.ActivityID, metaScenario: string(r.Scenario), metaRegion: string(r.Region),
		metaOccurred:    vals[:nOccurred],
		metaMethodology: vals[nOccurred:nMethodology],
		metaPolicy:      vals[nMethodology:],
		metaFingerprint: r.Fingerprint,
	}
}

// earnRequest is the ledger request that credits receipt r from issuance,
// the partner's issuance account, to child, the user's child account (the
// caller has them at hand): a function of r alone, so that completing a
// pending credit repeats the original request exactly and the ledger's
// idempotency returns the original entry.
func earnRequest(r *Receipt, issuance, child ledger.AccountID) ledger.PostRequest {
	mg, _ := wholeMg(r.Reduction)
	ps := make([]ledger.Posting, 0, 4)
	if r.Points > 0 {
		ps = append(ps, ledger.Posting{Account: issuance, Asset: ledger.Points, Amount: -int64(r.Points)},
			ledger.Posting{Account: child, Asset: ledger.Points, Amount: int64(r.Points)})
	}
	if mg > 0 {
		ps = append(ps, ledger.Posting{Account: issuance, Asset: ledger.CO2e, Amount: -mg},
			ledger.Posting{Account: child, Asset: ledger.CO2e, Amount: mg})
	}
	return ledger.PostRequest{Key: EarnKey(r.Partner, r.ActivityID), Postings: ps, Metadata: earnMeta(r)}
}

// EarnKey returns the ledger idempotency key of the credit of partner's
// activity: "earn-" and 64 hex digits of a SHA-256 of both IDs, so that it
// fits the ledger's key limit whatever the IDs' lengths.
func EarnKey(partner carbon.PartnerID, activityID string) string {
	const prefix = "earn-"
	var buf [len(prefix) + 2*sha256.Size]byte
	copy(buf[:], prefix)
	sum := subjectSum(string(partner), activityID)
	hex.Encode(buf[len(prefix):], sum[:])
	return string(buf[:])
}

// capID returns the cap reservation ID of partner's activity: the
// partner's length, then both IDs, which is unambiguous.
func capID(partner carbon.PartnerID, activityID string) string {
	b := make([]byte, 0, 4+len(partner)+len(activityID))
	b = strconv.AppendInt(b, int64(len(partner)), 10)
	b = append(b, ':')
	b = append(b, partner...)
	b = append(b, activityID...)
	return string(b)
}

func subjectHash(parts ...string) string {
	sum := subjectSum(parts...)
	return hex.EncodeToString(sum[:])
}

// subjectSum is the SHA-256 of parts, each prefixed with its length.
func subjectSum(parts ...string) [sha256.Size]byte {
	var buf [2*carbon.MaxIDLen + 16]byte
	b := buf[:0]
	for _, s := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return sha256.Sum256(b)
}

// EarningFromEntry returns the Earning that a Programme's credit or
// reversal entry records, and true; for any other entry (a redemption, a
// donation, an expiry, another writer's), false. The amounts are the
// entry's postings to the user's child account; the rest is its
// metadata. It is how badges, boards and footprints are rebuilt from the
// ledger's history (Changes). An entry of the programme's kind with
// malformed metadata returns false and an error.
func EarningFromEntry(e ledger.Entry) (Earning, bool, error) {
	kind := e.Metadata[metaKind]
	if kind != kindEarn && kind != kindEarnReversal {
		return Earning{}, false, nil
	}
	if (kind == kindEarn) != (e.Kind == ledger.KindTransfer) || (kind == kindEarnReversal) != (e.Kind == ledger.KindReversal) {
		return Earning{}, false, nil
	}
	m := e.Metadata
	occurred, err := time.Parse(time.RFC3339Nano, m[metaOccurred])
	if err != nil {
		return Earning{}, false, fmt.Errorf("rewards: entry %s: occurred_at: %w", e.ID, err)
	}
	out := Earning{ActivityID: m[metaActivity], Scenario: carbon.Scenario(m[metaScenario]), Region: carbon.Region(m[metaRegion]),
		OccurredAt: occurred, CreditedAt: e.Recorded, Reversal: kind == kindEarnReversal, Reduction: carbon.GramsInt(0)}
	for _, ps := range e.Postings {
		if ps.Account.Kind() != ledger.KindPartner {
			continue
		}
		if out.User == "" {
			out.User, out.Partner = ps.Account.User(), ps.Account.Partner()
		} else if out.User != ps.Account.User() || out.Partner != ps.Account.Partner() {
			return Earning{}, false, fmt.Errorf("rewards: entry %s posts to two child accounts", e.ID)
		}
		switch ps.Asset {
		case ledger.Points:
			out.Points = carbon.Points(ps.Amount)
		case ledger.CO2e:
			out.Reduction = carbon.Grams(decimal.New(ps.Amount, -3))
		}
	}
	if err := out.Validate(); err != nil {
		return Earning{}, false, fmt.Errorf("rewards: entry %s: %w", e.ID, err)
	}
	return out, true, nil
}

// activityFingerprint returns the SHA-256 (hex) of a's canonical
// encoding: every field length-prefixed, the time in UTC nanoseconds,
// quantities and attributes by name, decimals in plain notation without
// trailing zeros, so that equal activities (after a JSON round trip, in
// any zone) give equal fingerprints and different ones different.
func activityFingerprint(a *carbon.Activity) string {
	// On the stack for a usual activity: the encoding, the sorted names
	// and the digest, so that the digest's hex is the one allocation.
	var buf [512]byte
	b := buf[:0]
	b = appendField(b, "carbonkit.activity/v1")
	b = appendField(b, a.ID)
	b = appendField(b, string(a.Partner))
	b = appendField(b, string(a.User))
	b = appendField(b, string(a.Scenario))
	b = appendField(b, string(a.Region))
	b = binary.BigEndian.AppendUint64(b, uint64(a.OccurredAt.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(a.OccurredAt.Nanosecond()))
	var nameBuf [8]string
	names := nameBuf[:0]
	for k := range a.Quantities {
		names = append(names, k)
	}
	slices.Sort(names)
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	var num [64]byte
	for _, k := range names {
		q := a.Quantities[k]
		b = appendField(b, k)
		v := dec.Append(num[:0], q.Value())
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
		b = appendField(b, string(q.Unit()))
	}
	names = names[:0]
	for k := range a.Attributes {
		names = append(names, k)
	}
	slices.Sort(names)
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	for _, k := range names {
		b = appendField(b, k)
		b = appendField(b, a.Attributes[k])
	}
	sum := sha256.Sum256(b)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// appendField appends s to b, prefixed with its length.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// massMg returns m in whole milligrams, rounded toward zero, as
// ledger.MassAmount does (whose error it returns for a mass beyond
// int64), without its decimal arithmetic in the usual case.
func massMg(m carbon.Mass) (int64, error) {
	if c, exp, ok := smallDecimal(m.Grams()); ok {
		if mg, ok := scaleInt(c, int64(exp)+3, false); ok {
			return mg, nil
		}
	}
	return ledger.MassAmount(m, carbon.TowardZero)
}

// appendDate appends t's date as time.DateOnly formats it.
func appendDate(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	if y < 1000 || y > 9999 {
		return t.AppendFormat(b, time.DateOnly)
	}
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(m), 2)
	b = append(b, '-')
	return appendDigits(b, d, 2)
}

// appendRFC3339Nano appends t as t.Format(time.RFC3339Nano) does, for a
// time in UTC.
func appendRFC3339Nano(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if y < 1000 || y > 9999 || t.Location() != time.UTC {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	h, mi, s := t.Clock()
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	if ns := t.Nanosecond(); ns != 0 {
		// Nine digits, trailing zeros dropped.
		n := 9
		for ns%10 == 0 {
			ns /= 10
			n--
		}
		b = append(b, '.')
		b = appendDigits(b, ns, n)
	}
	return append(b, 'Z')
}

// appendDigits appends v, which is not negative, as n decimal digits with
// leading zeros (more if v needs them).
func appendDigits(b []byte, v, n int) []byte {
	var d [20]byte
	i := len(d)
	for v > 0 || n > 0 {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		n--
	}
	return append(b, d[i:]...)
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
