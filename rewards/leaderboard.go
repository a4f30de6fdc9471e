package rewards

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
)

// MaxPage is the most standings one call of Top, Page or Rank returns (for
// Rank: on each side). A host exporting a whole frozen board pages through
// it.
const MaxPage = 1000

// MaxGrace is the longest grace period a Board may have.
const MaxGrace = 30 * 24 * time.Hour

// Board defines a leaderboard: a campaign window, optionally one region.
//
// An Earning counts on the board when its OccurredAt is inside Window, its
// Region is the board's (any region, for a national board), it was credited
// before ClosesAt (Window.End plus Grace, the time allowed for late
// reports), its Points are not zero, and it arrives before the board is
// frozen. A member's score is the sum of the Points of the earnings that
// count, reversals subtracting (a member reversed back to zero, or below,
// stays on the board); ReachedAt is the latest CreditedAt among them, so
// the order does not depend on the order earnings arrive in.
//
// The board freezes at the first call to Boards that sees the clock at or
// after ClosesAt (or when the host calls Snapshot then): its standings are a
// snapshot from then on and never change. Earnings that arrive later,
// reversals included, are ignored by the board (they still count everywhere
// else).
type Board struct {
	ID     BoardID       `json:"id"`
	Window Window        `json:"window"`
	Region carbon.Region `json:"region,omitempty"` // empty for a national board
	Grace  time.Duration `json:"grace,omitempty"`  // 0 to MaxGrace
}

// ClosesAt returns the time after which no earning is added: Window.End
// plus Grace.
func (b Board) ClosesAt() time.Time { return b.Window.End.Add(b.Grace) }

// Validate returns nil or a *ValidationError (matching ErrInvalidBoard)
// naming every problem: a malformed ID, an empty or zero window, an unknown
// region, a negative or too long grace period.
func (b Board) Validate() error {
	p := problems{kind: ErrInvalidBoard}
	idProblem(&p, "$.id", carbon.ValidateID("board", string(b.ID)))
	b.Window.check(&p, "$.window")
	if b.Region != "" && !b.Region.Valid() {
		p.add("$.region", fmt.Sprintf("%q is not an ISO 3166-2:CN province-level code", string(b.Region)))
	}
	if b.Grace < 0 || b.Grace > MaxGrace {
		p.add("$.grace", fmt.Sprintf("grace %s is outside 0 to %s", b.Grace, MaxGrace))
	}
	return p.err()
}

// Equal reports whether b and c define the same board.
func (b Board) Equal(c Board) bool {
	return b.ID == c.ID && b.Window.Equal(c.Window) && b.Region == c.Region && b.Grace == c.Grace
}

// Snapshot is a closed board: its definition, when it froze, how many
// members it has and the first of them. The standings do not change after
// the board froze; Boards.Page and Boards.Rank read the rest of them.
type Snapshot struct {
	Board    Board      `json:"board"`
	FrozenAt time.Time  `json:"frozen_at"`
	Members  int        `json:"members"`
	Top      []Standing `json:"top"`
}

// BoardsOptions configures Boards. The zero value (or nil) means defaults.
type BoardsOptions struct {
	// Clock tells when a board has closed; nil means carbon.SystemClock().
	Clock carbon.Clock
}

// Boards keeps a programme's leaderboards: their definitions, and their
// scores in a BoardStore. It is safe for concurrent use.
type Boards struct {
	store BoardStore
	clock carbon.Clock

	mu   sync.Mutex               // serialises Define
	defs atomic.Pointer[boardSet] // copy on write: readers never lock
}

// boardSet is an immutable set of board definitions.
type boardSet struct {
	list []*boardDef
	byID map[BoardID]*boardDef
}

type boardDef struct {
	Board
	closesAt time.Time   // Board.ClosesAt()
	frozen   atomic.Bool // known frozen in the store
}

// counts reports whether e is in d's window and region and was credited
// before the board closes.
func (d *boardDef) counts(e *Earning) bool {
	return (d.Region == "" || d.Region == e.Region) && d.Window.Contains(e.OccurredAt) &&
		e.CreditedAt.Before(d.closesAt)
}

// NewBoards returns Boards over store, with no boards defined. It returns an
// *Error matching ErrInvalidArgument if store is nil.
func NewBoards(store BoardStore, opts *BoardsOptions) (*Boards, error) {
	if store == nil {
		return nil, newErr("NewBoards", ErrInvalidArgument, "store is nil")
	}
	b := &Boards{store: store, clock: carbon.SystemClock()}
	if opts != nil && opts.Clock != nil {
		b.clock = opts.Clock
	}
	b.defs.Store(&boardSet{byID: map[BoardID]*boardDef{}})
	return b, nil
}

// Define adds a board. Defining the same board again does nothing; defining
// a different one under an existing ID returns an *Error matching
// ErrBoardExists. A malformed board gets a *ValidationError matching
// ErrInvalidBoard. Boards keeps definitions in memory: a host with several
// processes defines its boards in each (the scores are shared through the
// store).
func (b *Boards) Define(ctx context.Context, board Board) error {
	if err := board.Validate(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.defs.Load()
	if d, ok := old.byID[board.ID]; ok {
		if d.Equal(board) {
			return nil
		}
		return newErr("Boards.Define", ErrBoardExists, fmt.Sprintf("board %q is defined as %s", board.ID, describeBoard(d.Board)))
	}
	next := &boardSet{list: make([]*boardDef, len(old.list), len(old.list)+1), byID: make(map[BoardID]*boardDef, len(old.byID)+1)}
	copy(next.list, old.list)
	for id, d := range old.byID {
		next.byID[id] = d
	}
	d := &boardDef{Board: board, closesAt: board.ClosesAt()}
	next.list = append(next.list, d)
	next.byID[board.ID] = d
	b.defs.Store(next)
	return nil
}

// Board returns the definition of board id, or an *Error matching
// ErrUnknownBoard.
func (b *Boards) Board(id BoardID) (Board, error) {
	d, err := b.def("Boards.Board", id)
	if err != nil {
		return Board{}, err
	}
	return d.Board, nil
}

// Definitions returns every defined board, in the order defined.
func (b *Boards) Definitions() []Board {
	defs := b.defs.Load().list
	out := make([]Board, len(defs))
	for i, d := range defs {
		out[i] = d.Board
	}
	return out
}

// Apply adds e to every open board it counts on (see Board) and returns the
// IDs of the boards whose store took it. An Earning with zero Points changes
// no board. Applying the same EarningKey again changes nothing. An invalid
// Earning gets a *ValidationError matching ErrInvalidEarning and changes
// nothing; a store failure returns an *Error matching ErrStore (or
// ErrOverflow) after the boards before it in definition order took e:
// applying e again completes the rest.
func (b *Boards) Apply(ctx context.Context, e Earning) ([]BoardID, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return b.apply(ctx, &e, true)
}

// apply is Apply for a valid e; without ids it returns no IDs (nor
// allocates their slice), as the Programme needs none.
func (b *Boards) apply(ctx context.Context, e *Earning, ids bool) ([]BoardID, error) {
	const op = "Boards.Apply"
	if e.Points == 0 {
		return nil, nil
	}
	list := b.defs.Load().list
	if len(list) == 0 {
		return nil, nil
	}
	now := b.clock.Now()
	var applied []BoardID
	for _, d := range list {
		if d.frozen.Load() || !d.counts(e) {
			continue
		}
		if !now.Before(d.closesAt) {
			if err := b.freeze(ctx, op, d); err != nil {
				return applied, err
			}
			continue
		}
		ok, err := b.store.Add(ctx, d.ID, e.User, e.Key(), e.Points, e.CreditedAt)
		switch {
		case errors.Is(err, ErrBoardFrozen):
			d.frozen.Store(true)
		case err != nil:
			return applied, storeErr(op, err)
		case ok && ids:
			applied = append(applied, d.ID)
		}
	}
	return applied, nil
}

// Top returns the first k standings of board id (fewer if it has fewer
// members). It returns an *Error matching ErrUnknownBoard, or
// ErrInvalidArgument for k outside 0 to MaxPage.
func (b *Boards) Top(ctx context.Context, id BoardID, k int) ([]Standing, error) {
	const op = "Boards.Top"
	if k < 0 || k > MaxPage {
		return nil, newErr(op, ErrInvalidArgument, fmt.Sprintf("k %d is outside 0 to %d", k, MaxPage))
	}
	return b.page(ctx, op, id, 0, k)
}

// Page returns up to limit standings of board id from 0-based position
// offset. It returns an *Error matching ErrUnknownBoard, or
// ErrInvalidArgument for a negative offset or a limit outside 0 to MaxPage.
func (b *Boards) Page(ctx context.Context, id BoardID, offset, limit int) ([]Standing, error) {
	return b.page(ctx, "Boards.Page", id, offset, limit)
}

func (b *Boards) page(ctx context.Context, op string, id BoardID, offset, limit int) ([]Standing, error) {
	switch {
	case offset < 0:
		return nil, newErr(op, ErrInvalidArgument, fmt.Sprintf("offset %d is negative", offset))
	case limit < 0 || limit > MaxPage:
		return nil, newErr(op, ErrInvalidArgument, fmt.Sprintf("limit %d is outside 0 to %d", limit, MaxPage))
	}
	d, err := b.open(ctx, op, id)
	if err != nil {
		return nil, err
	}
	out, err := b.store.Range(ctx, d.ID, offset, limit)
	return out, storeErr(op, err)
}

// Rank returns user's standing on board id with up to n members above and
// below. It returns an *Error matching ErrUnknownBoard, ErrNotMember for a
// user with no score on the board, or ErrInvalidArgument for n outside 0 to
// MaxPage.
func (b *Boards) Rank(ctx context.Context, id BoardID, user carbon.UserID, n int) (Neighbourhood, error) {
	const op = "Boards.Rank"
	if n < 0 || n > MaxPage {
		return Neighbourhood{}, newErr(op, ErrInvalidArgument, fmt.Sprintf("n %d is outside 0 to %d", n, MaxPage))
	}
	d, err := b.open(ctx, op, id)
	if err != nil {
		return Neighbourhood{}, err
	}
	out, err := b.store.Around(ctx, d.ID, user, n)
	return out, storeErr(op, err)
}

// Count returns the number of members of board id, or an *Error matching
// ErrUnknownBoard.
func (b *Boards) Count(ctx context.Context, id BoardID) (int, error) {
	const op = "Boards.Count"
	d, err := b.open(ctx, op, id)
	if err != nil {
		return 0, err
	}
	n, err := b.store.Count(ctx, d.ID)
	return n, storeErr(op, err)
}

// Snapshot freezes board id if it has closed and not yet frozen, and returns
// its snapshot with the first k standings. Before the board closes it
// returns an *Error matching ErrBoardOpen; it also returns ErrUnknownBoard,
// or ErrInvalidArgument for k outside 0 to MaxPage.
func (b *Boards) Snapshot(ctx context.Context, id BoardID, k int) (Snapshot, error) {
	const op = "Boards.Snapshot"
	if k < 0 || k > MaxPage {
		return Snapshot{}, newErr(op, ErrInvalidArgument, fmt.Sprintf("k %d is outside 0 to %d", k, MaxPage))
	}
	d, err := b.open(ctx, op, id)
	if err != nil {
		return Snapshot{}, err
	}
	at, err := b.store.FrozenAt(ctx, d.ID)
	if err != nil {
		return Snapshot{}, storeErr(op, err)
	}
	if at.IsZero() {
		return Snapshot{}, newErr(op, ErrBoardOpen, fmt.Sprintf("board %q closes at %s", id, d.ClosesAt().Format(time.RFC3339)))
	}
	s := Snapshot{Board: d.Board, FrozenAt: at}
	if s.Members, err = b.store.Count(ctx, d.ID); err != nil {
		return Snapshot{}, storeErr(op, err)
	}
	if s.Top, err = b.store.Range(ctx, d.ID, 0, k); err != nil {
		return Snapshot{}, storeErr(op, err)
	}
	return s, nil
}

// open returns board id's definition, freezing the board first if it has
// closed.
func (b *Boards) open(ctx context.Context, op string, id BoardID) (*boardDef, error) {
	d, err := b.def(op, id)
	if err != nil {
		return nil, err
	}
	if !d.frozen.Load() && !b.clock.Now().Before(d.ClosesAt()) {
		if err := b.freeze(ctx, op, d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// freeze freezes d in the store as of its closing time.
func (b *Boards) freeze(ctx context.Context, op string, d *boardDef) error {
	if _, err := b.store.Freeze(ctx, d.ID, d.ClosesAt()); err != nil {
		return storeErr(op, err)
	}
	d.frozen.Store(true)
	return nil
}

func (b *Boards) def(op string, id BoardID) (*boardDef, error) {
	if d, ok := b.defs.Load().byID[id]; ok {
		return d, nil
	}
	return nil, newErr(op, ErrUnknownBoard, fmt.Sprintf("board %q", id))
}

func describeBoard(b Board) string {
	region := string(b.Region)
	if region == "" {
		region = "national"
	}
	return fmt.Sprintf("%s %s grace %s", region, b.Window, b.Grace)
}
