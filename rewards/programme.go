package rewards

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/carbonkit/carbonkit/methodology"
)

// ProgrammeOptions configures a Programme. The zero value, and a nil
// *ProgrammeOptions, mean the defaults; each store left nil gets its
// in-memory default, and each consumer left nil (Badges, Boards,
// Footprints, Publisher) is not used.
type ProgrammeOptions struct {
	// Clock tells the time for availability windows and events. Default:
	// carbon.SystemClock(). (Entries are timed by the ledger's own clock.)
	Clock carbon.Clock
	// TimeZone is the zone whose calendar days the daily caps count in, by
	// each activity's OccurredAt. Default: UTC.
	TimeZone *time.Location
	// Policies are the earn policy versions; Earn refuses an activity
	// that occurred before the first one takes effect (ErrNoPolicy).
	Policies []EarnPolicy
	// Partners are registered at construction, as by RegisterPartner.
	Partners []carbon.PartnerID
	// Sponsors fund red packets for donations (see Sponsor).
	Sponsors []Sponsor
	// Charity names the charity account donations go to
	// (ledger.CharityAccount(Charity)). Default: "donations".
	Charity string
	// MaxActivityAge, if not zero, is how long after it occurred, by
	// Clock, an activity may still be credited; MaxActivityLead, if not
	// zero, how far ahead of Clock its OccurredAt may be (a reporter's
	// clock running fast). Earn refuses a new activity outside them with
	// ErrInvalidActivity; a replay of one credited before is answered
	// whatever its age. The daily caps count by the day an activity
	// occurred, so a host that takes OccurredAt from its callers should
	// set both: otherwise every other day, past or future, has a fresh
	// cap. Default: no bound.
	MaxActivityAge, MaxActivityLead time.Duration
	// HoldTimeout, if not zero, is how long a redemption's hold may stay
	// pending before the ledger's ExpireHolds voids it (its stock is then
	// returned by Cancel, or by ExpireRedemptions). Default: none.
	HoldTimeout time.Duration

	// Fulfiller, if set, delivers each new redemption from within Redeem,
	// once its points and stock are held: Redeem then commits it when
	// Fulfiller returns nil, and voids it (points and stock returned) when
	// it returns an error, which Redeem reports as ErrFulfilment. A Redeem
	// repeated while its redemption is still held (the first call failed
	// after the hold, or its process stopped) calls Fulfiller again and
	// goes on the same way: so Fulfiller must deliver a redemption once,
	// however many times it is called with its ID. Otherwise the
	// redemption stays held until the host calls Fulfil or Cancel, or its
	// hold expires. Nil: the host calls Fulfil or Cancel itself.
	Fulfiller func(ctx context.Context, rd Redemption) error

	// Badges, Boards and Footprints are fed every credit and reversal
	// after it commits.
	Badges     *Badges
	Boards     *Boards
	Footprints *Footprints
	// Publisher receives the programme's events after the state they
	// describe has committed.
	Publisher Publisher

	// The programme's own stores.
	Caps        CapStore
	Receipts    ReceiptStore
	Catalog     CatalogStore
	Redemptions RedemptionStore
}

// Programme is a carbon-points programme: it turns partners' activities
// into points through a methodology registry and a ledger, keeps the
// reward catalog and redemptions, pays red packets for donations, and
// feeds badges, leaderboards and footprints. It is safe for concurrent
// use by any number of goroutines.
//
// The ledger is the record of truth: every credit, reversal, redemption
// and donation is one ledger entry whose metadata says why, and every
// badge, score and footprint can be recomputed from the ledger's history
// (EarningFromEntry, Resync).
type Programme struct {
	reg    *methodology.Registry
	ledger *ledger.Ledger
	clock  carbon.Clock
	loc    *time.Location
	pols   policySet

	badges    *Badges
	boards    *Boards
	footprint *Footprints
	publisher Publisher

	caps        CapStore
	receipts    ReceiptStore
	catalog     CatalogStore
	redemptions RedemptionStore

	charity     ledger.AccountID
	sponsors    map[string]Sponsor
	holdTimeout time.Duration
	// maxAge and maxLead are ProgrammeOptions.MaxActivityAge and
	// MaxActivityLead.
	maxAge, maxLead time.Duration
	fulfiller       func(ctx context.Context, rd Redemption) error

	mu       sync.Mutex                                    // serialises RegisterPartner
	partners atomic.Pointer[map[carbon.PartnerID]*partner] // copy on write

	// methodologyRefs holds the "ID@version" of the methodologies seen,
	// so that each receipt shares one string rather than building its
	// own: copy on write, few and never removed.
	methodologyRefs atomic.Pointer[[]methodologyRef]

	// stripes serialise the calls of this process on one idempotency
	// subject (a partner's activity, a redemption key), so that a replay
	// waits for the original to finish instead of racing it.
	seed    maphash.Seed
	stripes [256]sync.Mutex
}

// methodologyRef is a methodology's "ID@version".
type methodologyRef struct{ id, version, ref string }

// maxMethodologyRefs bounds methodologyRefs; past it, refs are built afresh.
const maxMethodologyRefs = 64

// methodologyRef returns res.Ref(), from methodologyRefs when it is there.
func (p *Programme) methodologyRef(res *methodology.Brief) string {
	var refs []methodologyRef
	rp := p.methodologyRefs.Load()
	if rp != nil {
		refs = *rp
	}
	for i := range refs {
		if refs[i].id == res.MethodologyID && refs[i].version == res.Version {
			return refs[i].ref
		}
	}
	ref := res.Ref()
	if len(refs) < maxMethodologyRefs {
		// A concurrent writer may win, and this one's ref waits for the
		// next call: the cache only saves allocations.
		next := append(refs[:len(refs):len(refs)], methodologyRef{id: res.MethodologyID, version: res.Version, ref: ref})
		p.methodologyRefs.CompareAndSwap(rp, &next)
	}
	return ref
}

// partner is a registered partner. ready is set once its issuance account
// is known to be open in the ledger.
type partner struct {
	id       carbon.PartnerID
	issuance ledger.AccountID // ledger.IssuanceAccount(id)
	ready    atomic.Bool
}

func newPartner(id carbon.PartnerID) *partner {
	return &partner{id: id, issuance: ledger.IssuanceAccount(id)}
}

// NewProgramme returns a Programme over the methodology registry reg and
// the ledger l. It returns an *Error matching ErrInvalidArgument for a nil
// reg or l, a malformed partner, charity or hold timeout, a
// *ValidationError matching ErrInvalidPolicy for a malformed or duplicated
// policy, and an *Error matching ErrInvalidArgument for a sponsor listed
// twice or malformed (including a name its funding account cannot take,
// see Sponsor).
func NewProgramme(reg *methodology.Registry, l *ledger.Ledger, opts *ProgrammeOptions) (*Programme, error) {
	const op = "NewProgramme"
	switch {
	case reg == nil:
		return nil, newErr(op, ErrInvalidArgument, "methodology registry is nil")
	case l == nil:
		return nil, newErr(op, ErrInvalidArgument, "ledger is nil")
	}
	var o ProgrammeOptions
	if opts != nil {
		o = *opts
	}
	pols, err := newPolicySet(o.Policies)
	if err != nil {
		return nil, err
	}
	p := &Programme{reg: reg, ledger: l, clock: o.Clock, loc: o.TimeZone, pols: pols,
		badges: o.Badges, boards: o.Boards, footprint: o.Footprints, publisher: o.Publisher,
		caps: o.Caps, receipts: o.Receipts, catalog: o.Catalog, redemptions: o.Redemptions,
		holdTimeout: o.HoldTimeout, maxAge: o.MaxActivityAge, maxLead: o.MaxActivityLead, fulfiller: o.Fulfiller, seed: maphash.MakeSeed(), sponsors: map[string]Sponsor{}}
	if p.clock == nil {
		p.clock = carbon.SystemClock()
	}
	if p.loc == nil {
		p.loc = time.UTC
	}
	if p.caps == nil {
		p.caps = NewMemCapStore()
	}
	if p.receipts == nil {
		p.receipts = NewMemReceiptStore()
	}
	if p.catalog == nil {
		p.catalog = NewMemCatalogStore()
	}
	if p.redemptions == nil {
		p.redemptions = NewMemRedemptionStore()
	}
	if o.MaxActivityAge < 0 || o.MaxActivityLead < 0 {
		return nil, newErr(op, ErrInvalidArgument, fmt.Sprintf("activity age %s or lead %s is negative", o.MaxActivityAge, o.MaxActivityLead))
	}
	if o.HoldTimeout < 0 {
		return nil, newErr(op, ErrInvalidArgument, fmt.Sprintf("hold timeout %s is negative", o.HoldTimeout))
	}
	charity := o.Charity
	if charity == "" {
		charity = "donations"
	}
	p.charity = ledger.CharityAccount(charity)
	if err := p.charity.Validate(); err != nil {
		return nil, &Error{Op: op, Kind: ErrInvalidArgument, Detail: fmt.Sprintf("charity %q", charity), Err: err}
	}
	for i, s := range o.Sponsors {
		if err := s.validate(); err != nil {
			return nil, &Error{Op: op, Kind: ErrInvalidArgument, Detail: fmt.Sprintf("sponsor %d: %s", i, err)}
		}
		if _, dup := p.sponsors[s.Name]; dup {
			return nil, newErr(op, ErrInvalidArgument, fmt.Sprintf("sponsor %q listed twice", s.Name))
		}
		p.sponsors[s.Name] = s
	}
	m := map[carbon.PartnerID]*partner{}
	for _, id := range o.Partners {
		if err := id.Validate(); err != nil {
			return nil, &Error{Op: op, Kind: ErrInvalidArgument, Detail: "partner", Err: err}
		}
		m[id] = newPartner(id)
	}
	p.partners.Store(&m)
	return p, nil
}

// Ledger returns the programme's ledger.
func (p *Programme) Ledger() *ledger.Ledger { return p.ledger }

// RegisterPartner registers partner id with the programme and opens its
// issuance account in the ledger (ledger.IssuanceAccount, unbounded
// overdraft: its negative balance is what the partner has issued). It is
// idempotent. It returns an *Error matching ErrInvalidArgument for a
// malformed id, or ErrLedger if the ledger fails (the partner is then not
// registered).
func (p *Programme) RegisterPartner(ctx context.Context, id carbon.PartnerID) error {
	const op = "Programme.RegisterPartner"
	if err := id.Validate(); err != nil {
		return &Error{Op: op, Kind: ErrInvalidArgument, Detail: "partner", Err: err}
	}
	pt := newPartner(id)
	if err := p.openIssuance(ctx, op, pt); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *p.partners.Load()
	if _, ok := old[id]; ok {
		old[id].ready.Store(true)
		return nil
	}
	m := make(map[carbon.PartnerID]*partner, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[id] = pt
	p.partners.Store(&m)
	return nil
}

// partner returns the registered partner id, its issuance account open,
// or an *Error matching ErrUnknownPartner.
func (p *Programme) partner(ctx context.Context, op string, id carbon.PartnerID) (*partner, error) {
	pt := (*p.partners.Load())[id]
	if pt == nil {
		return nil, newErr(op, ErrUnknownPartner, fmt.Sprintf("partner %q is not registered with the programme", id))
	}
	if !pt.ready.Load() {
		if err := p.openIssuance(ctx, op, pt); err != nil {
			return nil, err
		}
	}
	return pt, nil
}

// issuanceAccount returns the issuance account of partner id.
func (p *Programme) issuanceAccount(id carbon.PartnerID) ledger.AccountID {
	if pt := (*p.partners.Load())[id]; pt != nil {
		return pt.issuance
	}
	return ledger.IssuanceAccount(id)
}

func (p *Programme) openIssuance(ctx context.Context, op string, pt *partner) error {
	acct := pt.issuance
	if _, err := p.ledger.OpenAccount(ctx, acct, ledger.DefaultPolicy(ledger.KindIssuance)); err != nil {
		return &Error{Op: op, Kind: ErrLedger, Detail: "opening " + string(acct), Err: err}
	}
	pt.ready.Store(true)
	return nil
}

// linked checks that user u has an open child account for partner pt.
func (p *Programme) linked(ctx context.Context, op string, u carbon.UserID, pt carbon.PartnerID) error {
	return p.linkedAccount(ctx, op, ledger.PartnerAccount(u, pt), u, pt)
}

// linkedAccount is linked given the child account, acct.
func (p *Programme) linkedAccount(ctx context.Context, op string, acct ledger.AccountID, u carbon.UserID, pt carbon.PartnerID) error {
	a, err := p.ledger.Account(ctx, acct)
	switch {
	case errors.Is(err, ledger.ErrUnknownAccount):
		return &Error{Op: op, Kind: ErrNotLinked, Detail: fmt.Sprintf("user %q has no account for partner %q", u, pt), Err: err}
	case err != nil:
		return &Error{Op: op, Kind: ErrLedger, Err: err}
	case a.Closed:
		return newErr(op, ErrNotLinked, fmt.Sprintf("user %q unlinked partner %q", u, pt))
	}
	return nil
}

// stripe returns the lock serialising this process's calls on the subject
// that parts name together ("earn", partner, activity ID).
func (p *Programme) stripe(parts ...string) *sync.Mutex {
	var h uint64
	for _, s := range parts {
		h = 31*h + maphash.String(p.seed, s)
	}
	return &p.stripes[h%uint64(len(p.stripes))]
}

// ledgerErr wraps a ledger error for op: the ledger's refusals become
// the programme's kinds (as listed in kinds, ledger sentinel to rewards
// sentinel, and ledger.ErrOverflow, wherever it comes from, ErrOverflow),
// anything else ErrLedger. ErrLedger tells the caller the write may have
// committed, so a definite refusal must not become it.
func ledgerErr(op string, err error, detail string, kinds ...error) error {
	for i := 0; i+1 < len(kinds); i += 2 {
		if errors.Is(err, kinds[i]) {
			return &Error{Op: op, Kind: kinds[i+1], Detail: detail, Err: err}
		}
	}
	if errors.Is(err, ledger.ErrOverflow) {
		return &Error{Op: op, Kind: ErrOverflow, Detail: detail, Err: err}
	}
	return &Error{Op: op, Kind: ErrLedger, Detail: detail, Err: err}
}

// definite reports whether a ledger error means the write did not commit
// (the ledger refused it, or lost every retry), as opposed to a store
// failure after which it may have.
func definite(err error) bool {
	var le *ledger.Error
	return errors.As(err, &le) && le.Kind != ledger.ErrStore
}

// followUp wraps the errors of feeding consumers and publishing, if any.
func followUp(op string, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return &Error{Op: op, Kind: ErrFollowUp, Err: errors.Join(errs...)}
}

// publish hands events to the publisher, if there is one and there are
// events, adding its error to errs.
func (p *Programme) publish(ctx context.Context, events []Event, errs []error) []error {
	if p.publisher == nil || len(events) == 0 {
		return errs
	}
	if err := p.publisher.Publish(ctx, events); err != nil {
		errs = append(errs, fmt.Errorf("publisher: %w", err))
	}
	return errs
}
