package rewards

import (
	"errors"
	"strings"
)

// Sentinel errors. Every error this package returns matches one of them with
// errors.Is; errors.As gives an *Error with the operation and the detail, or a
// *ValidationError listing every problem of an Earning or a definition. The
// set is append-only.
var (
	// ErrInvalidEarning: an Earning failed validation (a malformed ID, a zero
	// time, points of the wrong sign for a credit or a reversal).
	ErrInvalidEarning = errors.New("rewards: invalid earning")
	// ErrInvalidBadge: a badge definition, in Go or in JSON, is malformed;
	// the error is a *ValidationError naming each problem with its JSON path.
	ErrInvalidBadge = errors.New("rewards: invalid badge definition")
	// ErrInvalidBoard: a leaderboard definition is malformed.
	ErrInvalidBoard = errors.New("rewards: invalid board definition")
	// ErrInvalidLevels: a mascot level scale is malformed.
	ErrInvalidLevels = errors.New("rewards: invalid level scale")
	// ErrInvalidArgument: an argument out of range (a negative count, a nil
	// store, a nil time zone, an inverted month range).
	ErrInvalidArgument = errors.New("rewards: invalid argument")
	// ErrBoardExists: a board defined again with a different definition.
	ErrBoardExists = errors.New("rewards: board already defined differently")
	// ErrUnknownBoard: a board ID that was never defined.
	ErrUnknownBoard = errors.New("rewards: unknown board")
	// ErrBoardOpen: a snapshot asked for before the board's window (and
	// grace period) has closed.
	ErrBoardOpen = errors.New("rewards: board still open")
	// ErrBoardFrozen: returned by a BoardStore for an Add to a frozen board.
	// Boards.Apply treats it as the board having closed and never returns it.
	ErrBoardFrozen = errors.New("rewards: board frozen")
	// ErrNotMember: a rank asked for a user who has no score on the board.
	ErrNotMember = errors.New("rewards: user not on board")
	// ErrOverflow: a score, total or balance that would not fit in int64.
	// Nothing changes.
	ErrOverflow = errors.New("rewards: overflow")
	// ErrStore: a store failed for a reason of its own (I/O, a cancelled
	// context). Whether the change was applied is unknown; applying the same
	// Earning again is safe, since every store is idempotent per EarningKey.
	// The *Error unwraps to the store's error.
	ErrStore = errors.New("rewards: store failed")

	// The Programme's errors (earning, redemption, donation).

	// ErrInvalidActivity: an activity failed validation; the *Error unwraps
	// to the carbon.ValidationError naming every problem. An activity valid
	// in itself but dated outside the times an Earning can carry (1900 to
	// 2199 in UTC) gets an *Error whose detail names the time.
	ErrInvalidActivity = errors.New("rewards: invalid activity")
	// ErrNotQuantifiable: no methodology in force quantifies the activity
	// (unknown scenario, outside every version's validity, a condition not
	// met); the *Error unwraps to the methodology package's error.
	ErrNotQuantifiable = errors.New("rewards: activity not quantifiable")
	// ErrNoPolicy: no earn policy is in force at the activity's time.
	ErrNoPolicy = errors.New("rewards: no earn policy in force")
	// ErrInvalidPolicy: an earn policy or campaign is malformed.
	ErrInvalidPolicy = errors.New("rewards: invalid earn policy")
	// ErrUnknownPartner: a partner that was never registered with the
	// programme.
	ErrUnknownPartner = errors.New("rewards: unknown partner")
	// ErrNotLinked: the user has no open child account for the partner
	// (never opened, never linked, or unlinked). The programme never opens
	// or links accounts itself: the host links them explicitly.
	ErrNotLinked = errors.New("rewards: user not linked to partner")
	// ErrReplayMismatch: an activity ID (or an idempotency key) reused with
	// a different request. Nothing changes.
	ErrReplayMismatch = errors.New("rewards: key reused with a different request")
	// ErrUnknownActivity: a reversal of an activity that was never credited.
	ErrUnknownActivity = errors.New("rewards: unknown activity")
	// ErrAlreadyReversed: a reversal, under a new key, of an activity whose
	// credit was already reversed.
	ErrAlreadyReversed = errors.New("rewards: already reversed")
	// ErrUnknownReward: a reward ID that is not in the catalog.
	ErrUnknownReward = errors.New("rewards: unknown reward")
	// ErrInvalidReward: a catalog reward definition is malformed, or one
	// defined again differently.
	ErrInvalidReward = errors.New("rewards: invalid reward")
	// ErrOutOfStock: a redemption of a reward whose stock is all reserved or
	// used.
	ErrOutOfStock = errors.New("rewards: out of stock")
	// ErrLimitReached: a redemption beyond the reward's per-user limit.
	ErrLimitReached = errors.New("rewards: per-user limit reached")
	// ErrWindowClosed: a redemption outside the reward's availability
	// window.
	ErrWindowClosed = errors.New("rewards: outside the availability window")
	// ErrInsufficientPoints: the user's available points do not cover the
	// cost. The *Error unwraps to the ledger's ErrInsufficientFunds.
	ErrInsufficientPoints = errors.New("rewards: insufficient points")
	// ErrUnknownRedemption: a redemption ID the programme never issued.
	ErrUnknownRedemption = errors.New("rewards: unknown redemption")
	// ErrRedemptionFinal: a fulfilment or cancellation of a redemption that
	// was already resolved the other way.
	ErrRedemptionFinal = errors.New("rewards: redemption already resolved")
	// ErrFulfilment: the programme's Fulfiller failed to deliver a
	// redemption, which was voided: its points and stock were returned.
	// The *Error unwraps to the Fulfiller's error.
	ErrFulfilment = errors.New("rewards: fulfilment failed")
	// ErrUnknownSponsor: a donation naming a sponsor the programme does not
	// know.
	ErrUnknownSponsor = errors.New("rewards: unknown sponsor")
	// ErrBudgetExhausted: the sponsor's budget cannot pay the red packet.
	// Nothing changes: no points are donated.
	ErrBudgetExhausted = errors.New("rewards: sponsor budget exhausted")
	// ErrLedger: the ledger failed for a reason of its own (a store
	// failure, a conflict after retries). Whether the write committed is
	// unknown: repeating the call with the same key is safe. The *Error
	// unwraps to the ledger's error.
	ErrLedger = errors.New("rewards: ledger failed")
	// ErrFollowUp: the call's own state committed (the credit, the hold,
	// the donation) and the returned value is valid, but feeding badges,
	// boards or footprints, or publishing events, failed. Repeating the
	// call with the same request completes the follow-ups (every consumer
	// is idempotent), and Programme.Resync re-derives them from the ledger.
	ErrFollowUp = errors.New("rewards: follow-up after commit failed")
)

// Error is the error this package's methods return for everything but
// validation. It matches its Kind with errors.Is and unwraps to Err (a store
// error, when there is one).
type Error struct {
	Op     string // the method, "Boards.Top"
	Kind   error  // one of the package's sentinels
	Detail string // what was wrong with which value, lower case
	Err    error  // the underlying error, if any
}

// Error implements error: `rewards: Boards.Top: invalid argument: k -1 is outside 0 to 1000`.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("rewards: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Kind.Error(), "rewards: "))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil && e.Err != e.Kind {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is reports whether target is e's Kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Problem is one thing wrong with a value under validation.
type Problem struct {
	// Path locates the bad value in JSON path notation, rooted at "$":
	// "$.points", "$[2].levels[0].min". For a Go definition the path is the
	// one its JSON encoding would have.
	Path string
	// Msg says what was wrong with the value, naming it.
	Msg string
}

// String formats the problem as "path: message".
func (p Problem) String() string { return p.Path + ": " + p.Msg }

// ValidationError lists every problem found in one value (an Earning, a set
// of badge definitions, a board, a level scale), in the order found. It
// matches its Kind (ErrInvalidEarning, ErrInvalidBadge, ErrInvalidBoard or
// ErrInvalidLevels) with errors.Is.
type ValidationError struct {
	Kind     error
	Problems []Problem
}

// Error lists the problems, separated by semicolons.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return e.Kind.Error() + ": " + strings.Join(parts, "; ")
}

// Is reports whether target is e's Kind.
func (e *ValidationError) Is(target error) bool { return target == e.Kind }

// problems accumulates validation problems; err returns nil when there are
// none.
type problems struct {
	kind error
	list []Problem
}

func (p *problems) add(path, msg string) { p.list = append(p.list, Problem{Path: path, Msg: msg}) }

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Kind: p.kind, Problems: p.list}
}

func newErr(op string, kind error, detail string) *Error {
	return &Error{Op: op, Kind: kind, Detail: detail}
}

// storeErr wraps an error a store returned for the method op. Errors that
// already carry a rewards kind keep it (and their detail); the sentinels a
// store may return become that kind; anything else is ErrStore.
func storeErr(op string, err error) error {
	if err == nil {
		return nil // before re, which errors.As makes escape: no allocation
	}
	var re *Error
	switch {
	case errors.As(err, &re):
		return &Error{Op: op, Kind: re.Kind, Detail: re.Detail, Err: re.Err}
	}
	for _, kind := range []error{ErrBoardFrozen, ErrNotMember, ErrOverflow, ErrInvalidArgument,
		ErrReplayMismatch, ErrOutOfStock, ErrLimitReached, ErrUnknownReward, ErrUnknownRedemption, ErrRedemptionFinal} {
		if errors.Is(err, kind) {
			return &Error{Op: op, Kind: kind, Err: err}
		}
	}
	return &Error{Op: op, Kind: ErrStore, Err: err}
}
