package rewards

import (
	"context"
	"strconv"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// EventType names an event. The names and the JSON form of Event are
// stable: new types and fields may be added, none renamed or removed.
type EventType string

// The event types a Programme publishes.
const (
	// EventPointsEarned: an activity was credited (Receipt). A receipt
	// with Capped set also produces EventPointsCapped.
	EventPointsEarned EventType = "points.earned"
	// EventPointsCapped: a daily cap held an activity's points below what
	// the policy gave (Receipt; Receipt.Points may be zero).
	EventPointsCapped EventType = "points.capped"
	// EventPointsReversed: a credit was reversed (Receipt, with Reversal
	// set and negative amounts).
	EventPointsReversed EventType = "points.reversed"
	// EventBadgeAwarded: a badge level was awarded (Award).
	EventBadgeAwarded EventType = "badge.awarded"
	// EventLevelReached: the user's mascot reached a new level (Level).
	EventLevelReached EventType = "level.reached"
	// EventRedemptionHeld: points and stock were reserved (Redemption).
	EventRedemptionHeld EventType = "redemption.held"
	// EventRedemptionFulfilled: the host fulfilled a redemption and the
	// points were spent (Redemption).
	EventRedemptionFulfilled EventType = "redemption.fulfilled"
	// EventRedemptionVoided: a redemption was cancelled; its points and
	// stock were returned (Redemption).
	EventRedemptionVoided EventType = "redemption.voided"
	// EventDonationMade: points were donated and a red packet paid
	// (Donation).
	EventDonationMade EventType = "donation.made"
	// EventBoardClosed: a leaderboard closed and froze (Snapshot).
	EventBoardClosed EventType = "board.closed"
)

// Event is one outcome a host tells its users about. It is handed to the
// Publisher after the state it describes has committed. Exactly one of the
// pointer fields is set, according to Type.
//
// ID is stable: the same outcome always gets the same ID (the type and
// the subject: "points.earned/eleme/order-1001",
// "badge.awarded/u-42/streak/2"), so a consumer deduplicates on it when an
// event is delivered again (a retried call republishes its events).
type Event struct {
	ID   string        `json:"id"`
	Type EventType     `json:"type"`
	At   time.Time     `json:"at"` // when the described state committed
	User carbon.UserID `json:"user,omitempty"`

	Receipt    *Receipt     `json:"receipt,omitempty"`
	Award      *Award       `json:"award,omitempty"`
	Level      *LevelStatus `json:"level,omitempty"`
	Redemption *Redemption  `json:"redemption,omitempty"`
	Donation   *Donation    `json:"donation,omitempty"`
	Snapshot   *Snapshot    `json:"snapshot,omitempty"`
}

// Publisher takes a Programme's events to the host's transport (a message
// queue, push notifications, an outbox table). Publish is called after the
// state the events describe has committed, from the goroutine of the call
// that committed it; it may be called concurrently. An error is reported to
// that call's caller as ErrFollowUp and never undoes anything: events can be
// re-derived from stored state (see Programme.Resync and the package
// documentation).
type Publisher interface {
	Publish(ctx context.Context, events []Event) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, events []Event) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, events []Event) error { return f(ctx, events) }

func receiptEvents(r *Receipt, out []Event) []Event {
	subject := string(r.Partner) + "/" + r.ActivityID
	switch {
	case r.Reversal:
		return append(out, Event{ID: string(EventPointsReversed) + "/" + subject, Type: EventPointsReversed, At: r.CreditedAt, User: r.User, Receipt: r})
	case r.Points > 0 || r.Capped == "":
		out = append(out, Event{ID: string(EventPointsEarned) + "/" + subject, Type: EventPointsEarned, At: r.CreditedAt, User: r.User, Receipt: r})
	}
	if r.Capped != "" {
		out = append(out, Event{ID: string(EventPointsCapped) + "/" + subject, Type: EventPointsCapped, At: r.CreditedAt, User: r.User, Receipt: r})
	}
	return out
}

func badgeEvents(res *BadgeResult, at time.Time, user carbon.UserID, out []Event) []Event {
	for i := range res.Awards {
		a := &res.Awards[i]
		out = append(out, Event{ID: string(EventBadgeAwarded) + "/" + string(a.User) + "/" + string(a.Badge) + "/" + strconv.Itoa(a.Level),
			Type: EventBadgeAwarded, At: a.AwardedAt, User: a.User, Award: a})
	}
	if res.After.Level.Number > res.Before.Level.Number {
		lv := res.After
		out = append(out, Event{ID: string(EventLevelReached) + "/" + string(user) + "/" + strconv.Itoa(lv.Level.Number),
			Type: EventLevelReached, At: at, User: user, Level: &lv})
	}
	return out
}

// Resync re-derives the consumers' state from the ledger: it reads up to
// limit (1 to 1000) entries of the change feed after sequence number after,
// rebuilds the Earning of each credit and reversal the programme posted
// (EarningFromEntry), feeds it to Badges, Boards and Footprints (which
// ignore what they have already applied), publishes the awards and levels
// that this produced, and returns the sequence number to resume from (after
// itself when the feed has nothing more). A host runs it after a failure
// reported as ErrFollowUp, or from 0 to rebuild a lost consumer store.
// Errors: ErrInvalidArgument for a limit out of range, ErrLedger, and the
// consumers' errors (ErrStore...) wrapped as ErrFollowUp with the sequence
// number reached so far.
//
// An entry of the programme's kinds that does not make a valid Earning
// (EarningFromEntry's error) stops Resync before it, with ErrFollowUp
// naming its sequence number, every time: Earn posts none, but an older
// version of this package credited activities dated outside 1900 to 2199,
// and another writer may post anything. No consumer can record such an
// entry; a host skips it by resuming after its sequence number.
func (p *Programme) Resync(ctx context.Context, after uint64, limit int) (uint64, error) {
	const op = "Programme.Resync"
	if limit < 1 || limit > 1000 {
		return after, newErr(op, ErrInvalidArgument, "limit "+strconv.Itoa(limit)+" is outside 1 to 1000")
	}
	es, err := p.ledger.Changes(ctx, after, limit)
	if err != nil {
		return after, ledgerErr(op, err, "")
	}
	var events []Event
	for _, e := range es {
		ern, ok, err := EarningFromEntry(e)
		if err != nil {
			return after, &Error{Op: op, Kind: ErrFollowUp, Detail: "entry " + strconv.FormatUint(e.Seq, 10), Err: err}
		}
		if ok {
			var errs []error
			if p.badges != nil {
				res, err := p.badges.Apply(ctx, ern)
				if err != nil {
					errs = append(errs, err)
				} else if res.Applied {
					events = badgeEvents(&res, ern.CreditedAt, ern.User, events)
				}
			}
			if p.boards != nil {
				if _, err := p.boards.Apply(ctx, ern); err != nil {
					errs = append(errs, err)
				}
			}
			if p.footprint != nil {
				if _, err := p.footprint.Apply(ctx, ern); err != nil {
					errs = append(errs, err)
				}
			}
			if len(errs) > 0 {
				_ = p.publish(ctx, events, nil)
				return after, followUp(op, errs)
			}
		}
		after = e.Seq
	}
	return after, followUp(op, p.publish(ctx, events, nil))
}

// CloseBoards snapshots every board of the programme's Boards that has
// closed (its window and grace period over, by the Boards' clock) with its
// top k standings, freezing it if needed, and publishes board.closed for
// each board this call froze. It returns the snapshots of every closed
// board. Errors: ErrInvalidArgument (no Boards, or k outside 0 to
// MaxPage), the Boards' errors, and ErrFollowUp (with the snapshots) when
// only publishing failed: Snapshot re-derives a missed event.
func (p *Programme) CloseBoards(ctx context.Context, k int) ([]Snapshot, error) {
	const op = "Programme.CloseBoards"
	switch {
	case p.boards == nil:
		return nil, newErr(op, ErrInvalidArgument, "the programme has no boards")
	case k < 0 || k > MaxPage:
		// Checked here, not only by Snapshot: while no board has closed,
		// Snapshot is never called.
		return nil, newErr(op, ErrInvalidArgument, "k "+strconv.Itoa(k)+" is outside 0 to "+strconv.Itoa(MaxPage))
	}
	var out []Snapshot
	var events []Event
	now := p.boards.clock.Now()
	for _, b := range p.boards.Definitions() {
		if now.Before(b.ClosesAt()) {
			continue
		}
		was, err := p.boards.store.FrozenAt(ctx, b.ID)
		if err != nil {
			return out, storeErr(op, err)
		}
		s, err := p.boards.Snapshot(ctx, b.ID, k)
		if err != nil {
			return out, err
		}
		out = append(out, s)
		if was.IsZero() {
			sc := s
			events = append(events, Event{ID: string(EventBoardClosed) + "/" + string(b.ID), Type: EventBoardClosed, At: s.FrozenAt, Snapshot: &sc})
		}
	}
	return out, followUp(op, p.publish(ctx, events, nil))
}
