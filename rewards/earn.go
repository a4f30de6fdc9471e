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
// Errors (nothing changes): ErrInvalidActivity, ErrUnknownPartner,
// ErrNotLinked, ErrNoPolicy, ErrNotQuantifiable, ErrReplayMismatch,
// ErrOverflow, ErrStore (a programme store failed), ErrLedger (the ledger
// failed; the credit may be pending: repeat the call). ErrFollowUp comes
// with a valid receipt: the credit committed, but feeding a consumer or
// publishing failed; repeating the call completes it.
func (p *Programme) Earn(ctx context.Context, a carbon.Activity) (Receipt, error) {
	const op = "Programme.Earn"
	if err := a.Validate(); err != nil {
		return Receipt{}, &Error{Op: op, Kind: ErrInvalidActivity, Err: err}
	}
	pt, err := p.partner(ctx, op, a.Partner)
	if err != nil {
		return Receipt{}, err
	}
	fp := activityFingerprint(&a)
	mu := p.stripe("earn\x00" + string(a.Partner) + "\x00" + a.ID)
	mu.Lock()
	defer mu.Unlock()

	rec, found, err := p.receipts.Receipt(ctx, a.Partner, a.ID)
	if err != nil {
		return Receipt{}, storeErr(op, err)
	}
	if found {
		return p.replay(ctx, op, rec, fp)
	}
	if err := p.linked(ctx, op, a.User, pt.id); err != nil {
		return Receipt{}, err
	}
	r, err := p.quote(ctx, op, &a, fp)
	if err != nil {
		return Receipt{}, err
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
	return p.post(ctx, op, r)
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
	return r, p.follow(ctx, op, &r)
}

// quote computes what activity a earns, reserving its points in the cap
// counters: the receipt to post, without Entry and CreditedAt.
func (p *Programme) quote(ctx context.Context, op string, a *carbon.Activity, fp string) (Receipt, error) {
	pol := p.pols.at(a.OccurredAt)
	if pol == nil {
		return Receipt{}, newErr(op, ErrNoPolicy, fmt.Sprintf("no earn policy is in force at %s", a.OccurredAt.UTC().Format(time.RFC3339)))
	}
	res, err := p.reg.Quantify(*a)
	if err != nil {
		return Receipt{}, &Error{Op: op, Kind: ErrNotQuantifiable, Detail: fmt.Sprintf("activity %q of partner %q", a.ID, a.Partner), Err: err}
	}
	mg, err := ledger.MassAmount(res.ER, carbon.TowardZero)
	if err != nil {
		return Receipt{}, &Error{Op: op, Kind: ErrOverflow, Detail: fmt.Sprintf("reduction %s", res.ER), Err: err}
	}
	r := Receipt{ActivityID: a.ID, Partner: a.Partner, User: a.User, Scenario: a.Scenario, Region: a.Region,
		OccurredAt: a.OccurredAt.UTC(), Reduction: carbon.Grams(decimal.New(mg, -3)),
		Methodology: res.Ref(), ResultDigest: res.Digest, Policy: pol.Ref(), Multiplier: one, Fingerprint: fp}
	if c := pol.campaign(a); c != nil {
		r.Multiplier, r.Campaign = c.Multiplier, c.ID
	}
	if r.BasePoints, r.Uncapped, err = pol.points(r.Reduction, r.Multiplier); err != nil {
		return Receipt{}, &Error{Op: op, Kind: ErrOverflow, Detail: err.Error()}
	}
	r.Points = r.Uncapped
	if r.Uncapped == 0 {
		return r, nil
	}
	day := a.OccurredAt.In(p.loc).Format(time.DateOnly) + "/" + string(a.User)
	var limits [2]CapLimit
	n := 0
	if c := pol.scenarioCap(a.Scenario); c > 0 {
		limits[n] = CapLimit{Counter: day + "/" + string(a.Scenario), Limit: int64(c)}
		n++
	}
	if pol.DailyCap > 0 {
		limits[n] = CapLimit{Counter: day, Limit: int64(pol.DailyCap)}
		n++
	}
	if n == 0 {
		return r, nil
	}
	res2, err := p.caps.Reserve(ctx, capID(a.Partner, a.ID), fp, limits[:n], int64(r.Uncapped))
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
	req := earnRequest(&r)
	if len(req.Postings) > 0 {
		e, err := p.ledger.Post(ctx, req)
		if err != nil {
			if !definite(err) {
				return Receipt{}, ledgerErr(op, err, fmt.Sprintf("crediting activity %q of partner %q (pending: repeat the call)", r.ActivityID, r.Partner))
			}
			var errs []error
			if rerr := p.caps.Release(ctx, capID(r.Partner, r.ActivityID)); rerr != nil {
				errs = append(errs, rerr)
			}
			if derr := p.receipts.DeletePendingReceipt(ctx, r.Partner, r.ActivityID); derr != nil {
				errs = append(errs, derr)
			}
			if len(errs) > 0 {
				// The credit did not happen, but its reservation is left:
				// the user may get less, never more.
				return Receipt{}, storeErr(op, errors.Join(append(errs, err)...))
			}
			return Receipt{}, ledgerErr(op, err, fmt.Sprintf("crediting activity %q of partner %q", r.ActivityID, r.Partner),
				ledger.ErrAccountClosed, ErrNotLinked, ledger.ErrUnknownAccount, ErrNotLinked,
				ledger.ErrIdempotencyConflict, ErrReplayMismatch, ledger.ErrOverflow, ErrOverflow)
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
	return r, p.follow(ctx, op, &r)
}

// follow feeds a committed credit or reversal to the consumers and
// publishes its events.
func (p *Programme) follow(ctx context.Context, op string, r *Receipt) error {
	var errs []error
	var evbuf [4]Event
	events := receiptEvents(r, evbuf[:0])
	if r.Entry != "" {
		e := r.Earning()
		if p.badges != nil {
			res, err := p.badges.Apply(ctx, e)
			if err != nil {
				errs = append(errs, err)
			} else if res.Applied {
				events = badgeEvents(&res, r.CreditedAt, r.User, events)
			}
		}
		if p.boards != nil {
			if _, err := p.boards.Apply(ctx, e); err != nil {
				errs = append(errs, err)
			}
		}
		if p.footprint != nil {
			if _, err := p.footprint.Apply(ctx, e); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = p.publish(ctx, events, errs)
	return followUp(op, errs)
}

// ReverseEarning undoes the credit of partner's activity activityID with a
// ledger reversal under the idempotency key key (points and reduction taken
// back from the lots the credit made), and feeds the reversal to Badges,
// Boards (scores go down) and Footprints. Repeating the call with the same
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
	mu := p.stripe("earn\x00" + string(partnerID) + "\x00" + activityID)
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
	pol := make([]byte, 0, 96)
	pol = append(pol, r.Policy...)
	pol = append(pol, " base="...)
	pol = strconv.AppendInt(pol, int64(r.BasePoints), 10)
	pol = append(pol, " multiplier="...)
	pol = dec.Append(pol, r.Multiplier)
	if r.Campaign != "" {
		pol = append(pol, " campaign="...)
		pol = append(pol, r.Campaign...)
	}
	pol = append(pol, " uncapped="...)
	pol = strconv.AppendInt(pol, int64(r.Uncapped), 10)
	if r.Capped != CapNone {
		pol = append(pol, " capped="...)
		pol = append(pol, r.Capped...)
	}
	return map[string]string{
		metaKind: kindEarn, metaActivity: r.ActivityID, metaScenario: string(r.Scenario), metaRegion: string(r.Region),
		metaOccurred:    r.OccurredAt.UTC().Format(time.RFC3339Nano),
		metaMethodology: r.Methodology + " " + r.ResultDigest,
		metaPolicy:      string(pol),
		metaFingerprint: r.Fingerprint,
	}
}

// earnRequest is the ledger request that credits receipt r: a function of
// r alone, so that completing a pending credit repeats the original
// request exactly and the ledger's idempotency returns the original entry.
func earnRequest(r *Receipt) ledger.PostRequest {
	mg, _ := wholeMg(r.Reduction)
	issuance, child := ledger.IssuanceAccount(r.Partner), ledger.PartnerAccount(r.User, r.Partner)
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
	return "earn-" + subjectHash(string(partner), activityID)
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
	var buf [2*carbon.MaxIDLen + 16]byte
	b := buf[:0]
	for _, s := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
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
	b := make([]byte, 0, 256)
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	str("carbonkit.activity/v1")
	str(a.ID)
	str(string(a.Partner))
	str(string(a.User))
	str(string(a.Scenario))
	str(string(a.Region))
	b = binary.BigEndian.AppendUint64(b, uint64(a.OccurredAt.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(a.OccurredAt.Nanosecond()))
	names := make([]string, 0, len(a.Quantities)+len(a.Attributes))
	for k := range a.Quantities {
		names = append(names, k)
	}
	slices.Sort(names)
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	var num [64]byte
	for _, k := range names {
		q := a.Quantities[k]
		str(k)
		str(string(dec.Append(num[:0], q.Value())))
		str(string(q.Unit()))
	}
	names = names[:0]
	for k := range a.Attributes {
		names = append(names, k)
	}
	slices.Sort(names)
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	for _, k := range names {
		str(k)
		str(a.Attributes[k])
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}
