package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/ledger"
)

// SimOptions configures Simulate.
type SimOptions struct {
	// Seed seeds the workload: the same seed over an equivalent store makes
	// the same calls and expects the same replies. Zero means 1.
	Seed uint64
	// Ops is the number of operations to run. Zero means 10,000.
	Ops int
	// Replay, if set, is printed with the seed and the failing operation's
	// number when the simulation fails, to tell how to replay it (for
	// example "go test ./ledger -run TestSimulation"); Simulate appends
	// " -sim.seed=N -sim.ops=M".
	Replay string
}

const simExpiry = 30 * 24 * time.Hour

// simStart is the simulated clock's start.
var simStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Simulate runs a seeded random workload through a Ledger over the store
// newStore returns (wrapped in a Faulty that injects failed commits, lost
// replies and mid-operation failures into about one call in eleven), and
// checks every reply, the balances and lots of every account an operation
// touched, and the feed entries it added, against a simple reference model;
// every 2,500 operations and at the end it checks every account and
// CheckInvariants. The store must be empty and see no other writer; entry
// IDs are derived from the seed, so the store's own sealing lag does not
// matter as long as Changes shows a call's entries once the call returns.
func Simulate(t *testing.T, newStore func(t *testing.T) ledger.Store, opts SimOptions) {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Ops <= 0 {
		opts.Ops = 10_000
	}
	s := newSim(t, newStore(t), opts)
	s.run()
}

// The reference model: plain maps and slices, points only.
type mLot struct {
	id               ledger.LotID
	amount, rem      int64
	expires, created time.Time
	seq              int
}

type mAcct struct {
	posted, held int64
	lots         []*mLot // in consumption order
	seq          int
	closed       bool
	policy       ledger.BalancePolicy
}

type mHold struct {
	e       ledger.Entry
	pending bool
}

type past struct {
	id   ledger.EntryID
	call func() (ledger.Entry, error)
}

type sim struct {
	t     *testing.T
	seed  uint64
	ops   int
	i     int
	rng   *rand.Rand
	ctx   context.Context
	l     *ledger.Ledger
	store ledger.Store
	f     *Faulty
	clock *carbon.TestClock

	accts     map[ledger.AccountID]*mAcct
	users     []carbon.UserID
	kids      map[carbon.UserID][]carbon.PartnerID
	entries   []ledger.Entry // committed transfers, commits, expiries, reversals, holds
	reversed  map[ledger.EntryID]bool
	holds     []*mHold
	keyed     []past
	keys      int
	seq       uint64
	head      ledger.Hash
	sealer    *ledger.Sealer
	touched   []ledger.AccountID
	replayCmd string
	faults    [4]int
	stats     map[string]*[2]int // per operation: succeeded, refused
}

var simPartners = []carbon.PartnerID{"food", "metro", "resale", "mall", "bike", "cafe"}

func newSim(t *testing.T, store ledger.Store, opts SimOptions) *sim {
	seed, ops := opts.Seed, opts.Ops
	s := &sim{t: t, seed: seed, ops: ops, rng: rand.New(rand.NewPCG(seed, 0x5eed)), ctx: context.Background(),
		clock: carbon.NewTestClock(simStart), accts: map[ledger.AccountID]*mAcct{}, kids: map[carbon.UserID][]carbon.PartnerID{},
		reversed: map[ledger.EntryID]bool{}, sealer: ledger.NewSealer(), stats: map[string]*[2]int{}, replayCmd: opts.Replay}
	s.f = NewFaulty(store)
	s.store = s.f
	n := 0
	l, err := ledger.New(s.f, &ledger.Options{Clock: s.clock, Expiry: ledger.ExpireAfter(simExpiry),
		NewID: func() string { n++; return fmt.Sprintf("s%d-%06d", seed, n) }})
	if err != nil {
		t.Fatal(err)
	}
	s.l = l
	if _, err := l.OpenAccount(s.ctx, shop, ledger.BalancePolicy{}); err != nil {
		t.Fatal(err)
	}
	s.accts[shop] = &mAcct{}
	return s
}

func (s *sim) fatalf(format string, args ...any) {
	s.t.Helper()
	msg := fmt.Sprintf("seed %d, operation %d: %s", s.seed, s.i, fmt.Sprintf(format, args...))
	if s.replayCmd != "" {
		msg += fmt.Sprintf("\nreplay: %s -sim.seed=%d -sim.ops=%d", s.replayCmd, s.seed, s.i+1)
	}
	s.t.Fatal(msg)
}

func (s *sim) run() {
	for s.i = 0; s.i < s.ops; s.i++ {
		if s.rng.IntN(4) == 0 {
			s.clock.Advance(time.Duration(s.rng.IntN(12*60)) * time.Minute)
		}
		s.touched = s.touched[:0]
		s.step()
		s.verify(s.touched)
		if s.i%2500 == 2499 {
			s.verifyAll()
		}
	}
	s.verifyAll()
	names := make([]string, 0, len(s.stats))
	for n := range s.stats {
		names = append(names, n)
	}
	slices.Sort(names)
	msg := ""
	for _, n := range names {
		msg += fmt.Sprintf(" %s %d/%d", n, s.stats[n][0], s.stats[n][1])
	}
	s.t.Logf("ok/refused:%s; faults: commit %d, lost reply %d, mid-write %d; feed %d entries",
		msg, s.faults[FailCommit], s.faults[LoseReply], s.faults[FailWrite], s.seq)
}

func (s *sim) key() string {
	s.keys++
	return "k" + strconv.Itoa(s.keys)
}

func (s *sim) step() {
	switch r := s.rng.IntN(100); {
	case r < 3 || len(s.users) == 0:
		s.openUser()
	case r < 8:
		s.link()
	case r < 10:
		s.unlink()
	case r < 38:
		s.earn()
	case r < 50:
		s.spend(false)
	case r < 60:
		s.spend(true)
	case r < 68:
		s.commit()
	case r < 73:
		s.void()
	case r < 81:
		s.reverse()
	case r < 84:
		s.expire()
	case r < 87:
		s.expireHolds()
	case r < 95:
		s.replay()
	default:
		s.conflict()
	}
}

// do runs one call, possibly under an injected fault, and checks its error
// against want. On success apply updates the model; wantNew is how many
// feed entries the call must add.
func (s *sim) do(name string, want error, call func() (ledger.Entry, error), apply func(ledger.Entry), wantNew int) {
	s.t.Helper()
	fault := NoFault
	switch r := s.rng.IntN(100); {
	case r < 3:
		fault = FailCommit
	case r < 6:
		fault = LoseReply
	case r < 9:
		fault = FailWrite
	}
	s.faults[fault]++
	st := s.stats[name]
	if st == nil {
		st = new([2]int)
		s.stats[name] = st
	}
	if want == nil {
		st[0]++
	} else {
		st[1]++
	}
	if fault != NoFault {
		s.f.Inject(fault, 1+s.rng.IntN(6))
		e, err := call()
		s.f.Inject(NoFault, 0)
		switch {
		case fault == LoseReply && want == nil && err == nil:
			// The call ran no transaction (Expire with nothing due).
			apply(e)
			s.checkFeed(name, wantNew)
			return
		case fault == LoseReply && want == nil:
			if !errors.Is(err, ErrInjected) {
				s.fatalf("%s with a lost reply: %v", name, err)
			}
			// Committed: the retry must return the original, changing
			// nothing more.
		case err == nil && want != nil:
			s.fatalf("%s under fault %d succeeded, want %v", name, fault, want)
		case err == nil && fault == FailWrite:
			// Fewer writes than the fault's index: it simply succeeded.
			apply(e)
			s.checkFeed(name, wantNew)
			return
		case err != nil && !errors.Is(err, ErrInjected) && !errors.Is(err, want):
			s.fatalf("%s under fault %d: %v, want %v or an injected fault", name, fault, err, want)
		default:
			s.checkFeed(name+" (failed)", 0)
			s.verify(s.touched)
		}
	}
	e, err := call()
	switch {
	case want == nil && err != nil:
		s.fatalf("%s: %v", name, err)
	case want != nil && !errors.Is(err, want):
		s.fatalf("%s: got %v, want %v", name, err, want)
	case err == nil:
		apply(e)
		s.checkFeed(name, wantNew)
		return
	}
	s.checkFeed(name+" (refused)", 0)
}

// checkFeed verifies the feed entries added since the last check: their
// number, sequence and hashes.
func (s *sim) checkFeed(name string, want int) {
	s.t.Helper()
	es, err := s.l.Changes(s.ctx, s.seq, 1000)
	if err != nil {
		s.fatalf("changes: %v", err)
	}
	if len(es) != want {
		s.fatalf("%s added %d feed entries, want %d", name, len(es), want)
	}
	for _, e := range es {
		c := e
		s.sealer.Seal(&c, s.seq+1, s.head)
		if e.Seq != s.seq+1 || e.PrevHash != s.head || c.Hash != e.Hash {
			s.fatalf("feed entry %d (%s) does not follow from %d", e.Seq, e.ID, s.seq)
		}
		s.seq, s.head = e.Seq, e.Hash
	}
}

func (s *sim) touch(ids ...ledger.AccountID) { s.touched = append(s.touched, ids...) }

func (s *sim) acct(id ledger.AccountID) *mAcct { return s.accts[id] }

func (s *sim) pickUser() carbon.UserID { return s.users[s.rng.IntN(len(s.users))] }

func (s *sim) pickPartner() carbon.PartnerID { return simPartners[s.rng.IntN(len(simPartners))] }

func (s *sim) openUser() {
	u := carbon.UserID("u" + strconv.Itoa(len(s.users)))
	if len(s.users) >= 12 {
		u = s.pickUser() // opening again does nothing
	}
	s.touch(ledger.UserAccount(u))
	s.do("OpenUser", nil, func() (ledger.Entry, error) {
		_, err := s.l.OpenUser(s.ctx, u)
		return ledger.Entry{}, err
	}, func(ledger.Entry) {
		if s.accts[ledger.UserAccount(u)] == nil {
			s.accts[ledger.UserAccount(u)] = &mAcct{}
			s.users = append(s.users, u)
		}
	}, 0)
}

func (s *sim) link() {
	u, p := s.pickUser(), s.pickPartner()
	id := ledger.PartnerAccount(u, p)
	s.touch(id)
	s.do("LinkPartner", nil, func() (ledger.Entry, error) {
		_, err := s.l.LinkPartner(s.ctx, u, p)
		return ledger.Entry{}, err
	}, func(ledger.Entry) {
		if s.accts[ledger.IssuanceAccount(p)] == nil {
			s.accts[ledger.IssuanceAccount(p)] = &mAcct{policy: ledger.DefaultPolicy(ledger.KindIssuance)}
		}
		if a := s.accts[id]; a != nil {
			a.closed = false
			return
		}
		s.accts[id] = &mAcct{}
		s.kids[u] = append(s.kids[u], p)
		slices.Sort(s.kids[u])
	}, 0)
}

func (s *sim) unlink() {
	u, p := s.pickUser(), s.pickPartner()
	id := ledger.PartnerAccount(u, p)
	var want error
	if s.accts[id] == nil {
		want = ledger.ErrUnknownAccount
	}
	s.touch(id)
	s.do("UnlinkPartner", want, func() (ledger.Entry, error) {
		_, err := s.l.UnlinkPartner(s.ctx, u, p)
		return ledger.Entry{}, err
	}, func(ledger.Entry) { s.accts[id].closed = true }, 0)
}

func (s *sim) earn() {
	u, p := s.pickUser(), s.pickPartner()
	id, iss := ledger.PartnerAccount(u, p), ledger.IssuanceAccount(p)
	n := 1 + s.rng.Int64N(50)
	var want error
	switch a := s.accts[id]; {
	case a == nil || s.accts[iss] == nil:
		want = ledger.ErrUnknownAccount
	case a.closed:
		want = ledger.ErrAccountClosed
	}
	s.touch(id, iss)
	req := ledger.PostRequest{Key: s.key(), Postings: []ledger.Posting{
		{Account: iss, Asset: ledger.Points, Amount: -n}, {Account: id, Asset: ledger.Points, Amount: n}}}
	call := func() (ledger.Entry, error) { return s.l.Post(s.ctx, req) }
	s.do("Earn", want, call, func(e ledger.Entry) {
		s.acct(iss).posted -= n
		s.credit(id, ledger.LotID{Entry: e.ID, Posting: 1}, n, e.Recorded)
		s.committed(e, call)
	}, 1)
}

func (s *sim) committed(e ledger.Entry, call func() (ledger.Entry, error)) {
	s.entries = append(s.entries, e)
	if call != nil {
		s.keyed = append(s.keyed, past{id: e.ID, call: call})
	}
}

// credit adds a lot to a user account in the model.
func (s *sim) credit(id ledger.AccountID, lot ledger.LotID, n int64, created time.Time) {
	a := s.acct(id)
	a.posted += n
	a.seq++
	l := &mLot{id: lot, amount: n, rem: n, expires: created.Add(simExpiry), created: created, seq: a.seq}
	i := len(a.lots)
	for i > 0 && lotOrder(a.lots[i-1], l) > 0 {
		i--
	}
	a.lots = slices.Insert(a.lots, i, l)
}

func lotOrder(a, b *mLot) int {
	if c := a.expires.Compare(b.expires); c != 0 {
		return c
	}
	if c := a.created.Compare(b.created); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// take consumes n from an account's lots after skipping skip units and the
// lot exclude.
func (s *sim) take(id ledger.AccountID, n, skip int64, exclude ledger.LotID) {
	for _, l := range s.acct(id).lots {
		if n == 0 {
			return
		}
		if l.rem == 0 || l.id == exclude {
			continue
		}
		r := l.rem
		if skip >= r {
			skip -= r
			continue
		}
		r -= skip
		skip = 0
		t := min(r, n)
		l.rem -= t
		n -= t
	}
	if n != 0 {
		s.fatalf("model: lots of %s short by %d", id, n)
	}
}

func (s *sim) sources(u carbon.UserID) []ledger.AccountID {
	out := []ledger.AccountID{ledger.UserAccount(u)}
	for _, p := range s.kids[u] {
		out = append(out, ledger.PartnerAccount(u, p))
	}
	return out
}

type mCand struct {
	src     int
	lot     *mLot
	amount  int64
	expires time.Time
	created time.Time
}

// checkAllocate holds Ledger.Allocate, asked before a spend of n at u's
// parent, to the model's allocation of that spend: takes from srcs, or
// none if ok is false.
func (s *sim) checkAllocate(u carbon.UserID, n int64, srcs []ledger.AccountID, takes []int64, ok bool) {
	if s.accts[ledger.UserAccount(u)] == nil {
		return // never opened: the spend's own error is checked
	}
	got, err := s.l.Allocate(s.ctx, u, ledger.Points, n, nil)
	if !ok {
		if !errors.Is(err, ledger.ErrInsufficientFunds) {
			s.fatalf("Allocate %d at %s: %v, model: insufficient funds", n, u, err)
		}
		return
	}
	var want []ledger.Posting
	for i, t := range takes {
		if t > 0 {
			want = append(want, ledger.Posting{Account: srcs[i], Asset: ledger.Points, Amount: -t})
		}
	}
	if err != nil || !slices.Equal(got, want) {
		s.fatalf("Allocate %d at %s: %v, %v; model allocates %v", n, u, got, err, want)
	}
}

// allocate returns what a spend at the parent takes from each source,
// soonest-expiring first, and the lots it takes from.
func (s *sim) allocate(u carbon.UserID, n int64) ([]int64, []mCand, bool) {
	srcs := s.sources(u)
	var cands []mCand
	for i, id := range srcs {
		a := s.acct(id)
		skip := a.held
		for _, l := range a.lots {
			if l.rem == 0 {
				continue
			}
			r := l.rem
			if skip >= r {
				skip -= r
				continue
			}
			r -= skip
			skip = 0
			cands = append(cands, mCand{src: i, lot: l, amount: r, expires: l.expires, created: l.created})
		}
	}
	slices.SortStableFunc(cands, func(a, b mCand) int {
		if c := a.expires.Compare(b.expires); c != 0 {
			return c
		}
		return a.created.Compare(b.created)
	})
	takes := make([]int64, len(srcs))
	var used []mCand
	for _, c := range cands {
		if n == 0 {
			break
		}
		t := min(c.amount, n)
		n -= t
		takes[c.src] += t
		c.amount = t
		used = append(used, c)
	}
	return takes, used, n == 0
}

func (s *sim) spend(hold bool) {
	u := s.pickUser()
	atParent := s.rng.IntN(2) == 0
	var p carbon.PartnerID
	if !atParent {
		p = s.pickPartner()
	}
	n := 1 + s.rng.Int64N(60)
	var deadline time.Time
	if hold && s.rng.IntN(2) == 0 {
		deadline = s.clock.Now().Add(time.Duration(1+s.rng.IntN(180)) * time.Minute)
	}
	req := ledger.Spend{Key: s.key(), User: u, Partner: p, Asset: ledger.Points, Amount: n, To: shop, Deadline: deadline}
	var want error
	var takes []int64
	var used []mCand
	srcs := s.sources(u)
	s.touch(srcs...)
	s.touch(shop)
	if atParent {
		var ok bool
		takes, used, ok = s.allocate(u, n)
		if !ok {
			want = ledger.ErrInsufficientFunds
		}
		s.checkAllocate(u, n, srcs, takes, ok)
	} else {
		a := s.accts[ledger.PartnerAccount(u, p)]
		switch {
		case a == nil:
			want = ledger.ErrUnknownAccount
		case a.posted-a.held < n:
			want = ledger.ErrInsufficientFunds
		}
	}
	call := func() (ledger.Entry, error) { return s.l.Spend(s.ctx, req) }
	name := "Spend"
	if hold {
		name = "HoldSpend"
		call = func() (ledger.Entry, error) { return s.l.HoldSpend(s.ctx, req) }
	}
	s.do(name, want, call, func(e ledger.Entry) {
		// The ledger's postings must be the model's allocation.
		var wantPs []ledger.Posting
		if atParent {
			for i, t := range takes {
				if t > 0 {
					wantPs = append(wantPs, ledger.Posting{Account: srcs[i], Asset: ledger.Points, Amount: -t})
				}
			}
		} else {
			wantPs = append(wantPs, ledger.Posting{Account: ledger.PartnerAccount(u, p), Asset: ledger.Points, Amount: -n})
		}
		wantPs = append(wantPs, ledger.Posting{Account: shop, Asset: ledger.Points, Amount: n})
		if !slices.Equal(e.Postings, wantPs) {
			s.fatalf("%s postings %v, model allocates %v", name, e.Postings, wantPs)
		}
		for _, ps := range wantPs[:len(wantPs)-1] {
			a := s.acct(ps.Account)
			if hold {
				a.held -= ps.Amount
				continue
			}
			if !atParent {
				s.take(ps.Account, -ps.Amount, a.held, ledger.LotID{})
			}
			a.posted += ps.Amount
		}
		if !hold {
			for _, c := range used {
				c.lot.rem -= c.amount
			}
			s.acct(shop).posted += n
			s.committed(e, call)
			return
		}
		s.holds = append(s.holds, &mHold{e: e, pending: true})
		s.committed(e, call)
	}, 1)
}

func (s *sim) pickHold() *mHold {
	if len(s.holds) == 0 {
		return nil
	}
	// Mostly pending holds, sometimes a resolved one.
	for range 4 {
		h := s.holds[s.rng.IntN(len(s.holds))]
		if h.pending {
			return h
		}
	}
	return s.holds[s.rng.IntN(len(s.holds))]
}

func (s *sim) commit() {
	h := s.pickHold()
	if h == nil {
		s.openUser()
		return
	}
	credit := h.e.Postings[len(h.e.Postings)-1].Amount
	amount := int64(0)
	if s.rng.IntN(2) == 0 {
		amount = 1 + s.rng.Int64N(credit+3)
	}
	var want error
	switch {
	case !h.pending:
		want = ledger.ErrHoldFinalised
	case !h.e.Deadline.IsZero() && s.clock.Now().After(h.e.Deadline):
		want = ledger.ErrHoldExpired
	case amount > credit:
		want = ledger.ErrCommitExceedsHold
	}
	for _, p := range h.e.Postings {
		s.touch(p.Account)
	}
	req := ledger.CommitRequest{Key: s.key(), Hold: h.e.ID, Amount: amount}
	call := func() (ledger.Entry, error) { return s.l.Commit(s.ctx, req) }
	s.do("Commit", want, call, func(e ledger.Entry) {
		left := amount
		if left == 0 {
			left = credit
		}
		total := left
		for _, p := range h.e.Postings {
			if p.Amount > 0 {
				continue
			}
			a := s.acct(p.Account)
			a.held += p.Amount
			t := min(-p.Amount, left)
			left -= t
			if t > 0 {
				s.take(p.Account, t, 0, ledger.LotID{})
				a.posted -= t
			}
		}
		s.acct(shop).posted += total
		h.pending = false
		s.committed(e, call)
	}, 1)
}

func (s *sim) void() {
	h := s.pickHold()
	if h == nil {
		s.openUser()
		return
	}
	var want error
	if !h.pending {
		want = ledger.ErrHoldFinalised
	}
	for _, p := range h.e.Postings {
		s.touch(p.Account)
	}
	req := ledger.VoidRequest{Key: s.key(), Hold: h.e.ID}
	call := func() (ledger.Entry, error) { return s.l.Void(s.ctx, req) }
	s.do("Void", want, call, func(e ledger.Entry) {
		s.release(h)
		s.keyed = append(s.keyed, past{id: e.ID, call: call})
	}, 1)
}

func (s *sim) release(h *mHold) {
	for _, p := range h.e.Postings {
		if p.Amount < 0 {
			s.acct(p.Account).held += p.Amount
		}
	}
	h.pending = false
}

func (s *sim) reverse() {
	if len(s.entries) == 0 {
		s.openUser()
		return
	}
	x := s.entries[s.rng.IntN(len(s.entries))]
	var want error
	switch {
	case x.Kind == ledger.KindReversal:
		want = ledger.ErrReversalOfReversal
	case x.Kind == ledger.KindHold:
		want = ledger.ErrNotReversible
	case s.reversed[x.ID]:
		want = ledger.ErrAlreadyReversed
	default:
		for _, p := range x.Postings {
			if p.Amount <= 0 {
				continue
			}
			a := s.acct(p.Account)
			if a.policy.Unbounded() {
				continue
			}
			if a.posted-a.held < p.Amount {
				want = ledger.ErrInsufficientFunds
			}
		}
	}
	for _, p := range x.Postings {
		s.touch(p.Account)
	}
	req := ledger.ReverseRequest{Key: s.key(), Entry: x.ID}
	call := func() (ledger.Entry, error) { return s.l.Reverse(s.ctx, req) }
	s.do("Reverse", want, call, func(e ledger.Entry) {
		for i, p := range x.Postings {
			a := s.acct(p.Account)
			if p.Amount > 0 && p.Account.IsUser() {
				need := p.Amount
				own := ledger.LotID{Entry: x.ID, Posting: i}
				for _, l := range a.lots {
					if l.id == own {
						t := min(l.rem, need)
						l.rem -= t
						need -= t
					}
				}
				if need > 0 {
					s.take(p.Account, need, a.held, own)
				}
			}
			a.posted -= p.Amount
		}
		for _, u := range x.Lots {
			for _, l := range s.acct(u.Account).lots {
				if l.id == u.Lot {
					l.rem += u.Amount
				}
			}
		}
		s.reversed[x.ID] = true
		s.committed(e, call)
	}, 1)
}

func (s *sim) expire() {
	now := s.clock.Now()
	// The model's expiry, computed before the call.
	type plan struct {
		id  ledger.AccountID
		amt int64
	}
	var plans []plan
	for id, a := range s.accts {
		if !id.IsUser() {
			continue
		}
		var sum int64
		for _, l := range a.lots {
			if l.expires.After(now) {
				break
			}
			sum += l.rem
		}
		if amt := sum - a.held; amt > 0 {
			plans = append(plans, plan{id, amt})
		}
		s.touch(id)
	}
	s.touch(ledger.BreakageAccount())
	s.do("Expire", nil, func() (ledger.Entry, error) {
		_, err := s.l.Expire(s.ctx, now)
		return ledger.Entry{}, err
	}, func(ledger.Entry) {
		if s.accts[ledger.BreakageAccount()] == nil && len(plans) > 0 {
			s.accts[ledger.BreakageAccount()] = &mAcct{}
		}
		for _, p := range plans {
			a := s.acct(p.id)
			left := p.amt
			var expired []*mLot
			for _, l := range a.lots {
				if l.expires.After(now) {
					break
				}
				expired = append(expired, l)
			}
			for i := len(expired) - 1; i >= 0 && left > 0; i-- {
				t := min(expired[i].rem, left)
				expired[i].rem -= t
				left -= t
			}
			a.posted -= p.amt
			s.acct(ledger.BreakageAccount()).posted += p.amt
		}
	}, len(plans))
	// Expiry entries are reversible; fetch them from the feed.
	es, _ := s.l.Changes(s.ctx, s.seq-uint64(len(plans)), len(plans)+1)
	for _, e := range es {
		if e.Kind == ledger.KindExpiry {
			s.entries = append(s.entries, e)
		}
	}
}

func (s *sim) expireHolds() {
	now := s.clock.Now()
	var due []*mHold
	for _, h := range s.holds {
		if h.pending && !h.e.Deadline.IsZero() && !h.e.Deadline.After(now) {
			due = append(due, h)
			for _, p := range h.e.Postings {
				s.touch(p.Account)
			}
		}
	}
	s.do("ExpireHolds", nil, func() (ledger.Entry, error) {
		_, err := s.l.ExpireHolds(s.ctx, now)
		return ledger.Entry{}, err
	}, func(ledger.Entry) {
		for _, h := range due {
			s.release(h)
		}
	}, len(due))
}

// replay repeats an earlier successful request: same key, same body.
func (s *sim) replay() {
	if len(s.keyed) == 0 {
		s.earn()
		return
	}
	p := s.keyed[s.rng.IntN(len(s.keyed))]
	s.do("Replay", nil, p.call, func(e ledger.Entry) {
		if e.ID != p.id {
			s.fatalf("replay returned entry %s, the original was %s", e.ID, p.id)
		}
	}, 0)
}

// conflict reuses an earlier key with a different request.
func (s *sim) conflict() {
	if len(s.keyed) == 0 || len(s.users) == 0 {
		s.earn()
		return
	}
	p := s.keyed[s.rng.IntN(len(s.keyed))]
	e, err := s.l.Entry(s.ctx, p.id)
	if err != nil {
		s.fatalf("entry %s: %v", p.id, err)
	}
	s.do("Conflict", ledger.ErrIdempotencyConflict, func() (ledger.Entry, error) {
		return s.l.Post(s.ctx, ledger.PostRequest{Key: e.Key, Postings: []ledger.Posting{
			{Account: ledger.IssuanceAccount("food"), Asset: ledger.Points, Amount: -1},
			{Account: ledger.PartnerAccount(s.pickUser(), "food"), Asset: ledger.Points, Amount: 1}}})
	}, func(ledger.Entry) { s.fatalf("a reused key was accepted") }, 0)
}

// verify compares the accounts named with the model.
func (s *sim) verify(ids []ledger.AccountID) {
	s.t.Helper()
	for _, id := range ids {
		a := s.accts[id]
		b, err := s.l.Balance(s.ctx, id, ledger.Points)
		if a == nil {
			if !errors.Is(err, ledger.ErrUnknownAccount) {
				s.fatalf("account %s: %+v, %v; the model has no such account", id, b, err)
			}
			continue
		}
		if err != nil {
			s.fatalf("balance of %s: %v", id, err)
		}
		if b.Posted != a.posted || b.Held != a.held {
			s.fatalf("account %s: ledger %+v, model posted %d held %d", id, b, a.posted, a.held)
		}
		if !id.IsUser() {
			continue
		}
		lots, err := s.l.Lots(s.ctx, id, ledger.Points)
		if err != nil {
			s.fatalf("lots of %s: %v", id, err)
		}
		i := 0
		for _, ml := range a.lots {
			if ml.rem == 0 {
				continue
			}
			if i >= len(lots) || lots[i].ID != ml.id || lots[i].Remaining != ml.rem || !lots[i].Expires.Equal(ml.expires) {
				s.fatalf("lots of %s: ledger %v, model lot %d is %s with %d", id, lots, i, ml.id, ml.rem)
			}
			i++
		}
		if i != len(lots) {
			s.fatalf("lots of %s: ledger has %d, model %d", id, len(lots), i)
		}
	}
}

func (s *sim) verifyAll() {
	s.t.Helper()
	ids := make([]ledger.AccountID, 0, len(s.accts))
	for id := range s.accts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s.verify(ids)
	if err := CheckInvariants(s.ctx, s.l, s.store); err != nil {
		s.fatalf("invariants: %v", err)
	}
}
