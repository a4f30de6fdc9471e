package rewards

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// AddReward adds r to the catalog and opens its payee's account in the
// ledger. Adding the same reward again does nothing. It returns a
// *ValidationError matching ErrInvalidReward for a malformed reward, an
// *Error matching ErrInvalidReward for a different reward under an ID
// already used, ErrStore or ErrLedger. A reward refused as malformed or
// as defined differently opens no account.
func (p *Programme) AddReward(ctx context.Context, r Reward) error {
	const op = "Programme.AddReward"
	if err := r.Validate(); err != nil {
		return err
	}
	// The catalog is checked before the payee's account is opened, so
	// that a refused reward leaves the ledger as it was; the stripe keeps
	// a concurrent AddReward of the same ID in this process from slipping
	// in between.
	mu := p.stripe("reward", r.ID)
	mu.Lock()
	defer mu.Unlock()
	conflict := func() error {
		return newErr(op, ErrInvalidReward, fmt.Sprintf("reward %q is already defined differently", r.ID))
	}
	if old, found, err := p.catalog.Reward(ctx, r.ID); err != nil {
		return storeErr(op, err)
	} else if found && !old.Equal(r) {
		return conflict()
	}
	if _, err := p.ledger.OpenAccount(ctx, r.payee(), ledger.BalancePolicy{}); err != nil {
		return ledgerErr(op, err, "opening "+string(r.payee()), ledger.ErrAccountExists, ErrInvalidReward)
	}
	old, _, err := p.catalog.PutReward(ctx, r)
	if err != nil {
		return storeErr(op, err)
	}
	if !old.Equal(r) {
		return conflict()
	}
	return nil
}

// Rewards returns the catalog, by reward ID. Errors: ErrStore.
func (p *Programme) Rewards(ctx context.Context) ([]Reward, error) {
	rs, err := p.catalog.Rewards(ctx)
	return rs, storeErr("Programme.Rewards", err)
}

// RedemptionState is where a redemption stands.
type RedemptionState string

// The redemption states.
const (
	// RedemptionPending: recorded, its points and stock not yet known to
	// be held (a failure interrupted Redeem; repeating it completes it).
	RedemptionPending RedemptionState = "pending"
	// RedemptionHeld: points held and a unit of stock reserved, awaiting
	// the host's Fulfil or Cancel.
	RedemptionHeld RedemptionState = "held"
	// RedemptionFulfilled: the host delivered; the points were spent.
	RedemptionFulfilled RedemptionState = "fulfilled"
	// RedemptionVoided: cancelled (or its hold expired); the points went
	// back to the lots they came from and the unit back to the stock.
	RedemptionVoided RedemptionState = "voided"
)

// RedeemRequest asks for one unit of a reward for a user.
type RedeemRequest struct {
	// Key is the caller's idempotency key, and the redemption's ID: a
	// carbon identifier (printable ASCII, no spaces, at most 128 bytes).
	Key      string        `json:"key"`
	User     carbon.UserID `json:"user"`
	RewardID string        `json:"reward_id"`
}

// Redemption is a redemption and where it stands.
type Redemption struct {
	ID       string           `json:"id"` // the request's Key
	User     carbon.UserID    `json:"user"`
	RewardID string           `json:"reward_id"`
	Partner  carbon.PartnerID `json:"partner,omitempty"` // the mall, for a partner-scoped reward
	Cost     carbon.Points    `json:"cost"`
	State    RedemptionState  `json:"state"`
	// Hold is the ledger hold reserving the points; Resolution the entry
	// that committed or voided it.
	Hold       ledger.EntryID `json:"hold,omitempty"`
	Resolution ledger.EntryID `json:"resolution,omitempty"`
	// Deadline is when the hold expires (zero: never).
	Deadline   time.Time `json:"deadline,omitempty"`
	HeldAt     time.Time `json:"held_at,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitempty"`
	// Replayed is set when the call was a replay.
	Replayed bool `json:"replayed,omitempty"`
}

// RedemptionStore keeps redemptions by ID. Implementations must be safe
// for concurrent use; rewardstest.RunRedemptionStore checks one.
type RedemptionStore interface {
	// InsertRedemption stores r if no redemption has its ID, returning it
	// and true; otherwise it returns the one there and false, changing
	// nothing.
	InsertRedemption(ctx context.Context, r Redemption) (Redemption, bool, error)
	// Redemption returns redemption id, and false if there is none.
	Redemption(ctx context.Context, id string) (Redemption, bool, error)
	// UpdateRedemption replaces the stored redemption with r's ID by r; a
	// missing one gets an error matching ErrUnknownRedemption.
	UpdateRedemption(ctx context.Context, r Redemption) error
	// DeleteRedemption removes a pending redemption (its hold definitely
	// failed); any other is left as it is.
	DeleteRedemption(ctx context.Context, id string) error
	// Expiring returns up to limit held redemptions whose Deadline is not
	// zero and at or before asOf, with IDs greater than after, in ID order.
	Expiring(ctx context.Context, asOf time.Time, after string, limit int) ([]Redemption, error)
}

// MemRedemptionStore is the in-memory RedemptionStore, safe for concurrent
// use. It keeps every redemption, and apart the IDs of those held with a
// deadline, so that Expiring reads the redemptions in flight, not every
// one ever made.
type MemRedemptionStore struct {
	mu sync.RWMutex
	m  map[string]Redemption
	// held holds the IDs of the held redemptions with a deadline: the only
	// ones Expiring may return.
	held map[string]struct{}
}

// NewMemRedemptionStore returns an empty MemRedemptionStore.
func NewMemRedemptionStore() *MemRedemptionStore {
	return &MemRedemptionStore{m: map[string]Redemption{}, held: map[string]struct{}{}}
}

// put stores r, keeping held up to date. s.mu must be held.
func (s *MemRedemptionStore) put(r Redemption) {
	r.Replayed = false
	s.m[r.ID] = r
	if r.State == RedemptionHeld && !r.Deadline.IsZero() {
		s.held[r.ID] = struct{}{}
	} else {
		delete(s.held, r.ID)
	}
}

// InsertRedemption implements RedemptionStore.
func (s *MemRedemptionStore) InsertRedemption(ctx context.Context, r Redemption) (Redemption, bool, error) {
	if err := ctx.Err(); err != nil {
		return Redemption{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[r.ID]; ok {
		return old, false, nil
	}
	s.put(r)
	r.Replayed = false
	return r, true, nil
}

// Redemption implements RedemptionStore.
func (s *MemRedemptionStore) Redemption(ctx context.Context, id string) (Redemption, bool, error) {
	if err := ctx.Err(); err != nil {
		return Redemption{}, false, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.m[id]
	return r, ok, nil
}

// UpdateRedemption implements RedemptionStore.
func (s *MemRedemptionStore) UpdateRedemption(ctx context.Context, r Redemption) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[r.ID]; !ok {
		return newErr("MemRedemptionStore.UpdateRedemption", ErrUnknownRedemption, fmt.Sprintf("redemption %q", r.ID))
	}
	s.put(r)
	return nil
}

// DeleteRedemption implements RedemptionStore.
func (s *MemRedemptionStore) DeleteRedemption(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.m[id]; ok && r.State == RedemptionPending {
		delete(s.m, id) // a pending redemption is not in held
	}
	return nil
}

// Expiring implements RedemptionStore. It reads the held redemptions with
// a deadline only.
func (s *MemRedemptionStore) Expiring(ctx context.Context, asOf time.Time, after string, limit int) ([]Redemption, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit < 0 {
		return nil, newErr("MemRedemptionStore.Expiring", ErrInvalidArgument, fmt.Sprintf("limit %d is negative", limit))
	}
	s.mu.RLock()
	var out []Redemption
	for id := range s.held {
		if r := s.m[id]; id > after && !r.Deadline.After(asOf) {
			out = append(out, r)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Redemption) int { return strings.Compare(a.ID, b.ID) })
	return out[:min(limit, len(out))], nil
}

// Redeem holds a reward's cost in the user's points (ledger.HoldSpend: at
// the parent for a parent-scoped reward, from the partner's child alone
// for a mall reward) and reserves one unit of its stock, within its
// per-user limit, atomically against every concurrent Redeem: the stock
// is never oversold and the limit never exceeded. The host then delivers
// and calls Fulfil, or Cancel; or, with ProgrammeOptions.Fulfiller set,
// Redeem calls it and fulfils or voids the redemption itself.
//
// Redeem is idempotent per Key: the same request again returns the
// redemption as it now stands (Replayed set); the same Key for another
// user or reward gets ErrReplayMismatch.
//
// Errors (nothing changes): ErrInvalidArgument (a malformed key, user or
// reward ID), ErrUnknownReward, ErrWindowClosed, ErrNotLinked (no account
// for the user, or for the mall's partner), ErrOutOfStock,
// ErrLimitReached, ErrInsufficientPoints, ErrReplayMismatch, ErrStore,
// ErrLedger (the hold may be pending: repeat the call). ErrFulfilment
// comes with the voided redemption: the Fulfiller failed. ErrFollowUp comes
// with a valid redemption: only publishing failed.
func (p *Programme) Redeem(ctx context.Context, req RedeemRequest) (Redemption, error) {
	const op = "Programme.Redeem"
	if err := errors.Join(carbon.ValidateID("key", req.Key), req.User.Validate(), carbon.ValidateID("reward", req.RewardID)); err != nil {
		return Redemption{}, &Error{Op: op, Kind: ErrInvalidArgument, Err: err}
	}
	mu := p.stripe("redeem", req.Key)
	mu.Lock()
	defer mu.Unlock()
	if old, found, err := p.redemptions.Redemption(ctx, req.Key); err != nil {
		return Redemption{}, storeErr(op, err)
	} else if found {
		return p.redeemReplay(ctx, op, old, req)
	}
	rw, found, err := p.catalog.Reward(ctx, req.RewardID)
	switch {
	case err != nil:
		return Redemption{}, storeErr(op, err)
	case !found:
		return Redemption{}, newErr(op, ErrUnknownReward, fmt.Sprintf("reward %q is not in the catalog", req.RewardID))
	}
	now := p.clock.Now()
	if rw.Window != (Window{}) && !rw.Window.Contains(now) {
		return Redemption{}, newErr(op, ErrWindowClosed, fmt.Sprintf("reward %q is available %s, not at %s", rw.ID, rw.Window, now.UTC().Format(time.RFC3339)))
	}
	if rw.Partner != "" {
		if err := p.linked(ctx, op, req.User, rw.Partner); err != nil {
			return Redemption{}, err
		}
	} else if _, err := p.ledger.Account(ctx, ledger.UserAccount(req.User)); err != nil {
		return Redemption{}, ledgerErr(op, err, fmt.Sprintf("user %q", req.User), ledger.ErrUnknownAccount, ErrNotLinked)
	}
	rd := Redemption{ID: req.Key, User: req.User, RewardID: rw.ID, Partner: rw.Partner, Cost: rw.Cost, State: RedemptionPending}
	if p.holdTimeout > 0 {
		rd.Deadline = now.Add(p.holdTimeout).UTC().Round(0)
	}
	stored, inserted, err := p.redemptions.InsertRedemption(ctx, rd)
	if err != nil {
		return Redemption{}, storeErr(op, err)
	}
	if !inserted {
		return p.redeemReplay(ctx, op, stored, req)
	}
	rd, err = p.hold(ctx, op, rd, rw)
	if (err != nil && !errors.Is(err, ErrFollowUp)) || p.fulfiller == nil {
		return rd, err
	}
	// Held, even if publishing that failed: deliver.
	return p.deliver(ctx, op, rd, err)
}

// deliver has the Fulfiller deliver held redemption rd, then commits it,
// or voids it if delivery failed. followUp, the hold's ErrFollowUp if any,
// is returned if nothing else goes wrong.
func (p *Programme) deliver(ctx context.Context, op string, rd Redemption, followUp error) (Redemption, error) {
	if ferr := p.fulfiller(ctx, rd); ferr != nil {
		v, err := p.void(ctx, op, rd)
		if err != nil && !errors.Is(err, ErrFollowUp) {
			return rd, errors.Join(&Error{Op: op, Kind: ErrFulfilment, Detail: fmt.Sprintf("redemption %q", rd.ID), Err: ferr}, err)
		}
		return v, &Error{Op: op, Kind: ErrFulfilment, Detail: fmt.Sprintf("redemption %q was voided", rd.ID), Err: ferr}
	}
	out, err := p.fulfil(ctx, op, rd)
	if err == nil {
		err = followUp
	}
	return out, err
}

func (p *Programme) redeemReplay(ctx context.Context, op string, rd Redemption, req RedeemRequest) (Redemption, error) {
	if rd.User != req.User || rd.RewardID != req.RewardID {
		return Redemption{}, newErr(op, ErrReplayMismatch, fmt.Sprintf("key %q was used to redeem %q for user %q", rd.ID, rd.RewardID, rd.User))
	}
	if rd.State == RedemptionPending {
		rw, found, err := p.catalog.Reward(ctx, rd.RewardID)
		switch {
		case err != nil:
			return Redemption{}, storeErr(op, err)
		case !found:
			return Redemption{}, newErr(op, ErrUnknownReward, fmt.Sprintf("reward %q is not in the catalog", rd.RewardID))
		}
		return p.hold(ctx, op, rd, rw)
	}
	if rd.State == RedemptionHeld && p.fulfiller != nil {
		// The first call held it, but did not see it delivered and
		// committed (a publish, the delivery's commit or the process
		// failed): the repeat finishes the job.
		return p.deliver(ctx, op, rd, nil)
	}
	rd.Replayed = true
	return rd, nil
}

// hold reserves the stock and holds the points of a pending redemption,
// undoing both when the hold definitely fails.
func (p *Programme) hold(ctx context.Context, op string, rd Redemption, rw Reward) (Redemption, error) {
	forget := func(cause error) error {
		errs := []error{p.catalog.Release(ctx, rw.ID, rd.ID), p.redemptions.DeleteRedemption(ctx, rd.ID)}
		if err := errors.Join(errs...); err != nil {
			// Refused, but what the redemption reserved is not all undone:
			// an ErrStore, whatever the refusal was, so that the caller
			// repeats the call, which refuses it again and undoes the rest.
			return &Error{Op: op, Kind: ErrStore, Detail: fmt.Sprintf("redemption %q was refused, but undoing its reservation failed: repeat the call", rd.ID),
				Err: errors.Join(err, cause)}
		}
		return cause
	}
	if err := p.catalog.Reserve(ctx, rw.ID, rd.User, rd.ID, rw.Stock, rw.PerUser); err != nil {
		return Redemption{}, forget(storeErr(op, err))
	}
	h, err := p.ledger.HoldSpend(ctx, ledger.Spend{
		Key: "redeem-" + subjectHash(rd.ID), User: rd.User, Partner: rw.Partner, Asset: ledger.Points,
		Amount: int64(rw.Cost), To: rw.payee(), Deadline: rd.Deadline,
		Metadata: map[string]string{metaKind: "redeem", "redemption": rd.ID, "reward": rw.ID},
	})
	if err != nil {
		if !definite(err) {
			return Redemption{}, ledgerErr(op, err, fmt.Sprintf("holding redemption %q (pending: repeat the call)", rd.ID))
		}
		return Redemption{}, forget(ledgerErr(op, err, fmt.Sprintf("holding %d points for redemption %q", rw.Cost, rd.ID),
			ledger.ErrInsufficientFunds, ErrInsufficientPoints, ledger.ErrUnknownAccount, ErrNotLinked,
			ledger.ErrIdempotencyConflict, ErrReplayMismatch))
	}
	rd.State, rd.Hold, rd.HeldAt = RedemptionHeld, h.ID, h.Recorded
	if err := p.redemptions.UpdateRedemption(ctx, rd); err != nil {
		// Held in the ledger; a replay of Redeem records it.
		return rd, &Error{Op: op, Kind: ErrFollowUp, Detail: "recording the hold", Err: err}
	}
	return rd, followUp(op, p.publish(ctx, []Event{redemptionEvent(EventRedemptionHeld, &rd, rd.HeldAt)}, nil))
}

// Fulfil commits a held redemption: the points are spent (paid to the
// reward's payee) and the unit stays taken. Fulfilling a fulfilled
// redemption returns it (Replayed set). Errors: ErrInvalidArgument,
// ErrUnknownRedemption, ErrRedemptionFinal (it was voided, or its hold
// expired: it is then voided and its stock returned), ErrOverflow (the
// payee's balance would leave int64: the redemption stays held), ErrStore,
// ErrLedger; ErrFollowUp with a valid redemption when only publishing
// failed.
func (p *Programme) Fulfil(ctx context.Context, id string) (Redemption, error) {
	const op = "Programme.Fulfil"
	rd, unlock, err := p.resolvable(ctx, op, id)
	if err != nil {
		return rd, err
	}
	defer unlock()
	switch rd.State {
	case RedemptionFulfilled:
		rd.Replayed = true
		return rd, nil
	case RedemptionVoided:
		return Redemption{}, newErr(op, ErrRedemptionFinal, fmt.Sprintf("redemption %q was voided", id))
	}
	return p.fulfil(ctx, op, rd)
}

// fulfil commits a held redemption; the caller holds its stripe.
func (p *Programme) fulfil(ctx context.Context, op string, rd Redemption) (Redemption, error) {
	id := rd.ID
	e, err := p.ledger.Commit(ctx, ledger.CommitRequest{Key: "fulfil-" + subjectHash(id), Hold: rd.Hold,
		Metadata: map[string]string{metaKind: "redeem.fulfil", "redemption": id}})
	switch {
	case errors.Is(err, ledger.ErrHoldExpired) || errors.Is(err, ledger.ErrHoldFinalised):
		v, verr := p.void(ctx, op, rd)
		if verr != nil && !errors.Is(verr, ErrFollowUp) {
			return Redemption{}, verr
		}
		if v.State == RedemptionFulfilled {
			return v, verr
		}
		return Redemption{}, &Error{Op: op, Kind: ErrRedemptionFinal, Detail: fmt.Sprintf("the hold of redemption %q expired: it was voided", id), Err: err}
	case err != nil:
		return Redemption{}, ledgerErr(op, err, fmt.Sprintf("committing redemption %q", id))
	}
	rd.State, rd.Resolution, rd.ResolvedAt = RedemptionFulfilled, e.ID, e.Recorded
	if err := p.redemptions.UpdateRedemption(ctx, rd); err != nil {
		return rd, &Error{Op: op, Kind: ErrFollowUp, Detail: "recording the fulfilment", Err: err}
	}
	return rd, followUp(op, p.publish(ctx, []Event{redemptionEvent(EventRedemptionFulfilled, &rd, rd.ResolvedAt)}, nil))
}

// Cancel voids a held redemption: the ledger returns its points to the
// lots they came from and the unit goes back to the stock. Cancelling a
// voided redemption returns it (Replayed set). Errors: ErrInvalidArgument,
// ErrUnknownRedemption, ErrRedemptionFinal (it was fulfilled), ErrStore,
// ErrLedger; ErrFollowUp with a valid redemption when only publishing
// failed.
func (p *Programme) Cancel(ctx context.Context, id string) (Redemption, error) {
	const op = "Programme.Cancel"
	rd, unlock, err := p.resolvable(ctx, op, id)
	if err != nil {
		return rd, err
	}
	defer unlock()
	switch rd.State {
	case RedemptionVoided:
		rd.Replayed = true
		return rd, nil
	case RedemptionFulfilled:
		return Redemption{}, newErr(op, ErrRedemptionFinal, fmt.Sprintf("redemption %q was fulfilled", id))
	}
	v, err := p.void(ctx, op, rd)
	if err == nil && v.State == RedemptionFulfilled {
		return Redemption{}, newErr(op, ErrRedemptionFinal, fmt.Sprintf("redemption %q was fulfilled", id))
	}
	return v, err
}

// resolvable returns redemption id, held (completing a pending one), with
// its stripe locked: the caller calls unlock.
func (p *Programme) resolvable(ctx context.Context, op, id string) (Redemption, func(), error) {
	if err := carbon.ValidateID("redemption", id); err != nil {
		return Redemption{}, nil, &Error{Op: op, Kind: ErrInvalidArgument, Err: err}
	}
	mu := p.stripe("redeem", id)
	mu.Lock()
	rd, found, err := p.redemptions.Redemption(ctx, id)
	switch {
	case err != nil:
		mu.Unlock()
		return Redemption{}, nil, storeErr(op, err)
	case !found:
		mu.Unlock()
		return Redemption{}, nil, newErr(op, ErrUnknownRedemption, fmt.Sprintf("redemption %q", id))
	}
	if rd.State == RedemptionPending {
		if rd, err = p.redeemReplay(ctx, op, rd, RedeemRequest{Key: rd.ID, User: rd.User, RewardID: rd.RewardID}); err != nil && !errors.Is(err, ErrFollowUp) {
			mu.Unlock()
			return Redemption{}, nil, err
		}
	}
	return rd, mu.Unlock, nil
}

// void voids a redemption's hold (or finds how it was resolved), returns
// its stock, and records the outcome.
func (p *Programme) void(ctx context.Context, op string, rd Redemption) (Redemption, error) {
	e, err := p.ledger.Void(ctx, ledger.VoidRequest{Key: "void-" + subjectHash(rd.ID), Hold: rd.Hold,
		Metadata: map[string]string{metaKind: "redeem.void", "redemption": rd.ID}})
	if errors.Is(err, ledger.ErrHoldFinalised) {
		// Resolved already: expired (a void), or committed by a Fulfil
		// whose record was lost.
		st, serr := p.ledger.HoldStatus(ctx, rd.Hold)
		if serr != nil {
			return Redemption{}, ledgerErr(op, serr, "")
		}
		if e, err = p.ledger.Entry(ctx, st.ResolvedBy); err != nil {
			return Redemption{}, ledgerErr(op, err, "")
		}
		if e.Kind == ledger.KindCommit {
			rd.State, rd.Resolution, rd.ResolvedAt = RedemptionFulfilled, e.ID, e.Recorded
			if err := p.redemptions.UpdateRedemption(ctx, rd); err != nil {
				return rd, &Error{Op: op, Kind: ErrFollowUp, Detail: "recording the fulfilment", Err: err}
			}
			return rd, nil
		}
	} else if err != nil {
		return Redemption{}, ledgerErr(op, err, fmt.Sprintf("voiding redemption %q", rd.ID))
	}
	if err := p.catalog.Release(ctx, rd.RewardID, rd.ID); err != nil {
		return Redemption{}, storeErr(op, err)
	}
	rd.State, rd.Resolution, rd.ResolvedAt = RedemptionVoided, e.ID, e.Recorded
	if err := p.redemptions.UpdateRedemption(ctx, rd); err != nil {
		return rd, &Error{Op: op, Kind: ErrFollowUp, Detail: "recording the void", Err: err}
	}
	return rd, followUp(op, p.publish(ctx, []Event{redemptionEvent(EventRedemptionVoided, &rd, rd.ResolvedAt)}, nil))
}

// ExpireRedemptions voids every held redemption whose hold deadline
// (ProgrammeOptions.HoldTimeout) is at or before asOf, returning its
// points and its unit of stock, and returns them. A host runs it
// periodically, beside (or instead of) the ledger's ExpireHolds. A
// redemption fulfilled meanwhile is skipped. Errors: ErrInvalidArgument for
// a zero asOf, ErrStore, ErrLedger; on an error the redemptions already
// voided are returned with it. ErrFollowUp (publishing failed) does not
// stop the sweep and is returned at its end.
func (p *Programme) ExpireRedemptions(ctx context.Context, asOf time.Time) ([]Redemption, error) {
	const op = "Programme.ExpireRedemptions"
	if asOf.IsZero() {
		return nil, newErr(op, ErrInvalidArgument, "as-of time is zero")
	}
	var out []Redemption
	var follow []error
	after := ""
	for {
		page, err := p.redemptions.Expiring(ctx, asOf, after, 100)
		if err != nil {
			return out, storeErr(op, err)
		}
		if len(page) == 0 {
			return out, followUp(op, follow)
		}
		for _, r := range page {
			after = r.ID
			rd, unlock, err := p.resolvable(ctx, op, r.ID)
			if err != nil {
				return out, err
			}
			if rd.State != RedemptionHeld {
				unlock()
				continue
			}
			v, err := p.void(ctx, op, rd)
			unlock()
			switch {
			case errors.Is(err, ErrFollowUp):
				follow = append(follow, err)
			case err != nil:
				return out, err
			}
			if v.State == RedemptionVoided {
				out = append(out, v)
			}
		}
	}
}

func redemptionEvent(t EventType, rd *Redemption, at time.Time) Event {
	c := *rd
	return Event{ID: string(t) + "/" + rd.ID, Type: t, At: at, User: rd.User, Redemption: &c}
}
