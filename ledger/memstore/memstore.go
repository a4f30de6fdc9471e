package memstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/carbonkit/carbonkit/internal/offheap"
	"github.com/carbonkit/carbonkit/ledger"
)

// Store is an in-memory ledger.Store. It is safe for concurrent use.
//
// Locking, from outermost to innermost:
//
//   - each account's lock (Tx.Lock), held for a whole transaction, taken in
//     ID order;
//   - commitMu: shared by every commit while it applies its writes,
//     exclusive for a View, so a View sees whole transactions only;
//   - each account's mu, guarding its balances, lots and history, taken in
//     ID order during a commit, alone during a read;
//   - idx, guarding the entry, key and hold indexes and the feed, which
//     commits seal in order; and, at the same level, expMu, guarding the
//     expiry index. Neither is taken while holding the other. A commit
//     holds idx from claiming its entries' IDs and keys to sealing them;
//   - accMu, guarding the account map, taken alone or inside idx.
//
// No goroutine waits for an outer lock while holding an inner one, and each
// level is taken in one order, so the store cannot deadlock.
type Store struct {
	commitMu sync.RWMutex

	accMu    sync.RWMutex // guards accounts (the map, not the accounts)
	accounts map[ledger.AccountID]*account

	idx     sync.Mutex
	mem     *offheap.Allocator                   // the memory of ids, keys, feed and data
	seed    maphash.Seed                         // of ids and keys
	ids     idIndex                              // entry ID → Seq (the ID is in the entry's binary form)
	keys    keyIndex                             // unique keys → Seq
	pending treap[ledger.EntryID, *ledger.Entry] // holds with a deadline, unresolved, keyed by deadline
	feed    pages[span]                          // where each entry's binary form is, by Seq - 1
	data    arena                                // the entries' binary forms
	last    ledger.Hash                          // the last sealed entry's Hash
	enc     []byte                               // scratch for sealing
	sealer  *ledger.Sealer

	// expMu guards expiring, the user accounts that hold a non-empty lot
	// with an expiry, keyed by the earliest such expiry: the only
	// accounts Expiring can return. A commit that changes an account's
	// lots updates it, with the account's mu held, so that Expiring reads
	// it instead of every account.
	expMu    sync.Mutex
	expiring treap[ledger.AccountID, *account]

	txs sync.Pool
}

// span locates an entry's binary form in Store.data. Entries are kept as
// bytes, not as *ledger.Entry: millions of them then hold no pointer for
// the collector to trace, and take about a third of the memory. Reads
// decode them.
type span struct {
	at uint64
	n  uint32
}

// account is one account. Its fields other than lock are guarded by mu;
// meta.ID never changes.
type account struct {
	lock sync.Mutex // the transaction lock (Tx.Lock)
	mu   sync.Mutex
	meta ledger.Account
	d    *accountData // nil until the account holds anything
}

// accountData is allocated on first use, so that an idle account costs
// little.
type accountData struct {
	bals []balance
	// lots holds the lots of each asset apart, so that reading one
	// asset's never passes another's: an account credited points and CO2e
	// by every earn holds as many of each, and its CO2e lots, never spent,
	// would otherwise keep every spent points lot in front of a spend.
	lots []lotList
	seq  uint64 // lots inserted, for insertion order
	// hist holds the Seq of each entry in the account's history: an index
	// into the feed rather than a pointer, so that the collector need not
	// scan it.
	hist history
	kids []*account // a parent's children, in ID order
	// exp is the account's node in Store.expiring, or nil when it is not
	// there. Its key is written only with both the account's mu and
	// expMu held, so a commit holding mu can read it to see whether the
	// index needs a change at all (usually not) without taking expMu.
	exp *tnode[ledger.AccountID, *account]
}

type balance struct {
	asset        ledger.Asset
	posted, held int64
}

// New returns an empty Store.
func New() *Store {
	mem, seed := offheap.New(), maphash.MakeSeed()
	s := &Store{
		accounts: make(map[ledger.AccountID]*account),
		mem:      mem,
		seed:     seed,
		ids:      newIDIndex(mem, seed),
		keys:     newKeyIndex(mem, seed),
		feed:     pages[span]{mem: mem},
		data:     arena{mem: mem},
		sealer:   ledger.NewSealer(),
	}
	s.txs.New = func() any { return &tx{s: s} }
	return s
}

// Update implements ledger.Store.
func (s *Store) Update(ctx context.Context, fn func(ledger.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := s.txs.Get().(*tx)
	t.write = true
	defer s.release(t)
	if err := fn(t); err != nil {
		return err // nothing was applied; release forgets the writes
	}
	return t.commit()
}

// View implements ledger.Store.
func (s *Store) View(ctx context.Context, fn func(ledger.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t := s.txs.Get().(*tx)
	defer s.release(t)
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return fn(t)
}

// ReadAccount implements ledger.AccountReader: the account's metadata,
// read under its own lock (a commit changes it under that lock), without
// the View's exclusion of every commit.
func (s *Store) ReadAccount(ctx context.Context, id ledger.AccountID) (ledger.Account, error) {
	a, err := s.readable(ctx, id)
	if err != nil {
		return ledger.Account{}, err
	}
	a.mu.Lock()
	m := a.meta
	a.mu.Unlock()
	return m, nil
}

// ReadBalance implements ledger.AccountReader, as ReadAccount does.
func (s *Store) ReadBalance(ctx context.Context, id ledger.AccountID, asset ledger.Asset) (ledger.Balance, error) {
	a, err := s.readable(ctx, id)
	if err != nil {
		return ledger.Balance{}, err
	}
	return a.balance(asset), nil
}

// readable returns account id for a read outside a View.
func (s *Store) readable(ctx context.Context, id ledger.AccountID) (*account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := s.get(id)
	if a == nil {
		return nil, notFound("account " + strconv.Quote(string(id)))
	}
	return a, nil
}

func (s *Store) release(t *tx) {
	for _, a := range t.locked {
		a.lock.Unlock()
	}
	t.reset()
	s.txs.Put(t)
}

func (s *Store) get(id ledger.AccountID) *account {
	s.accMu.RLock()
	a := s.accounts[id]
	s.accMu.RUnlock()
	return a
}

// acct returns the account with ID id, or nil. Accounts are never removed,
// so a transaction remembers those it has found: one write looks the same
// two or three up a dozen times, and a scan of a short list costs less than
// the map under accMu.
func (t *tx) acct(id ledger.AccountID) *account {
	for _, x := range t.seen {
		if x.id == id {
			return x.a
		}
	}
	a := t.s.get(id)
	if a != nil && len(t.seen) < maxSeen {
		t.seen = append(t.seen, seenAccount{id: id, a: a})
	}
	return a
}

// maxSeen bounds the accounts a transaction remembers, so that a read
// walking every account does not scan an ever longer list.
const maxSeen = 8

func notFound(what string) error {
	return &notFoundError{what}
}

type notFoundError struct{ what string }

func (e *notFoundError) Error() string { return "memstore: " + e.what + " not found" }
func (e *notFoundError) Unwrap() error { return ledger.ErrNotFound }

func conflict(what string) error { return &conflictError{what} }

type conflictError struct{ what string }

func (e *conflictError) Error() string { return "memstore: conflict: " + e.what }
func (e *conflictError) Unwrap() error { return ledger.ErrConflict }

// tx is a transaction: reads go to the shared state, writes are buffered
// until commit.
type tx struct {
	s      *Store
	write  bool
	locked []*account

	creates []ledger.Account
	updates []ledger.Account
	deltas  []delta
	newLots []ledger.Lot
	lotAdds []lotAdd
	inserts []insert
	keyBuf  []string // the inserts' keys
	touched []*account
	sorted  []ledger.AccountID // a View's snapshot of account IDs, sorted
	seen    []seenAccount      // accounts looked up, for acct
}

// seenAccount is an account a transaction has looked up, with its ID (which
// never changes, so it can be compared without the account's mu).
type seenAccount struct {
	id ledger.AccountID
	a  *account
}

// insert is an entry a transaction inserts, with its unique keys.
type insert struct {
	e    *ledger.Entry
	keys []string
}

type delta struct {
	id           ledger.AccountID
	asset        ledger.Asset
	posted, held int64
}

type lotAdd struct {
	account ledger.AccountID
	id      ledger.LotID
	delta   int64
}

func (t *tx) reset() {
	s := t.s
	clear(t.locked)
	clear(t.creates)
	clear(t.updates)
	clear(t.deltas)
	clear(t.newLots)
	clear(t.lotAdds)
	clear(t.inserts)
	clear(t.keyBuf)
	clear(t.touched)
	clear(t.seen)
	*t = tx{s: s, locked: t.locked[:0], creates: t.creates[:0], updates: t.updates[:0], deltas: t.deltas[:0],
		newLots: t.newLots[:0], lotAdds: t.lotAdds[:0], inserts: t.inserts[:0], keyBuf: t.keyBuf[:0], touched: t.touched[:0],
		seen: t.seen[:0]}
}

// Lock implements ledger.Tx.
func (t *tx) Lock(_ context.Context, ids []ledger.AccountID) error {
	if len(t.locked) > 0 {
		return errString("memstore: Lock called twice in one transaction")
	}
	sorted := ids
	if !slices.IsSorted(ids) {
		sorted = slices.Sorted(slices.Values(ids))
	}
	var prev ledger.AccountID
	for i, id := range sorted {
		if i > 0 && id == prev {
			continue
		}
		prev = id
		a := t.acct(id)
		if a == nil {
			return notFound("account " + strconv.Quote(string(id)))
		}
		a.lock.Lock()
		t.locked = append(t.locked, a)
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

// CreateAccount implements ledger.Tx.
func (t *tx) CreateAccount(_ context.Context, a ledger.Account) error {
	if t.acct(a.ID) != nil {
		return conflict("account " + strconv.Quote(string(a.ID)) + " exists")
	}
	t.creates = append(t.creates, a)
	return nil
}

// UpdateAccount implements ledger.Tx.
func (t *tx) UpdateAccount(_ context.Context, a ledger.Account) error {
	if t.acct(a.ID) == nil {
		return notFound("account " + strconv.Quote(string(a.ID)))
	}
	t.updates = append(t.updates, a)
	return nil
}

// AddBalance implements ledger.Tx.
func (t *tx) AddBalance(_ context.Context, id ledger.AccountID, asset ledger.Asset, posted, held int64) error {
	t.deltas = append(t.deltas, delta{id: id, asset: asset, posted: posted, held: held})
	return nil
}

// InsertLot implements ledger.Tx.
func (t *tx) InsertLot(_ context.Context, l ledger.Lot) error {
	t.newLots = append(t.newLots, l)
	return nil
}

// AddLot implements ledger.Tx.
func (t *tx) AddLot(_ context.Context, account ledger.AccountID, id ledger.LotID, d int64) error {
	t.lotAdds = append(t.lotAdds, lotAdd{account: account, id: id, delta: d})
	return nil
}

// InsertEntry implements ledger.Tx. The entry's ID and keys are claimed at
// commit: of two transactions in flight with the same key the first to
// commit wins and the other's commit fails with ledger.ErrConflict. (The
// Ledger looks a key up before it builds the entry, so checking here too
// would only repeat that lookup.)
func (t *tx) InsertEntry(_ context.Context, e *ledger.Entry, keys []string) error {
	n := len(t.keyBuf)
	t.keyBuf = append(t.keyBuf, keys...)
	t.inserts = append(t.inserts, insert{e: e, keys: t.keyBuf[n:len(t.keyBuf):len(t.keyBuf)]})
	return nil
}

// taken returns ErrConflict if the entry ID or one of the keys belongs to a
// committed entry. Call with idx held.
func (s *Store) taken(id ledger.EntryID, keys []string) error {
	if _, ok := s.seqOf(id); ok {
		return conflict("entry id " + strconv.Quote(string(id)) + " is taken")
	}
	for _, k := range keys {
		if _, ok := s.keys.get(k); ok {
			return conflict("key " + strconv.Quote(k) + " is taken")
		}
	}
	return nil
}

// claim checks that the transaction's entries can take their IDs and keys:
// none taken by a committed entry or by another entry of the transaction.
// Call with idx held.
func (t *tx) claim() error {
	for i, in := range t.inserts {
		if err := t.s.taken(in.e.ID, in.keys); err != nil {
			return err
		}
		for _, prev := range t.inserts[:i] {
			if prev.e.ID == in.e.ID {
				return conflict("entry id " + strconv.Quote(string(in.e.ID)) + " is inserted twice")
			}
			for _, k := range in.keys {
				if slices.Contains(prev.keys, k) {
					return conflict("key " + strconv.Quote(k) + " is inserted twice")
				}
			}
		}
		for j, k := range in.keys {
			if slices.Contains(in.keys[:j], k) {
				return conflict("key " + strconv.Quote(k) + " is given twice")
			}
		}
	}
	return nil
}

// commit checks every buffered write, then applies them all.
func (t *tx) commit() error {
	s := t.s
	s.commitMu.RLock()
	defer s.commitMu.RUnlock()

	// New accounts are built aside; they join the map, if no one else
	// created them meanwhile, once every other write has been checked.
	var created []*account
	for _, c := range t.creates {
		if slices.ContainsFunc(created, func(a *account) bool { return a.meta.ID == c.ID }) {
			continue
		}
		created = append(created, &account{meta: c})
	}
	find := func(id ledger.AccountID) *account {
		for _, a := range created {
			if a.meta.ID == id {
				return a
			}
		}
		return t.acct(id)
	}

	// Every account whose data changes, locked in ID order.
	touch := func(id ledger.AccountID) error {
		for _, a := range t.touched {
			if a.meta.ID == id {
				return nil
			}
		}
		a := find(id)
		if a == nil {
			return notFound("account " + strconv.Quote(string(id)))
		}
		t.touched = append(t.touched, a)
		return nil
	}
	for _, c := range created {
		if p := c.meta.ID.Parent(); p != "" {
			if err := touch(p); err != nil {
				return err
			}
		}
	}
	for _, u := range t.updates {
		if err := touch(u.ID); err != nil {
			return err
		}
	}
	for _, d := range t.deltas {
		if err := touch(d.id); err != nil {
			return err
		}
	}
	for _, l := range t.newLots {
		if err := touch(l.Account); err != nil {
			return err
		}
	}
	for _, l := range t.lotAdds {
		if err := touch(l.account); err != nil {
			return err
		}
	}
	for _, in := range t.inserts {
		for _, p := range in.e.Postings {
			if err := touch(p.Account); err != nil {
				return err
			}
		}
	}
	slices.SortFunc(t.touched, func(a, b *account) int { return cmp.Compare(a.meta.ID, b.meta.ID) })
	for _, a := range t.touched {
		a.mu.Lock()
	}
	defer func() {
		for _, a := range t.touched {
			a.mu.Unlock()
		}
	}()

	if err := t.check(find); err != nil {
		// Of two transactions with one key the first to commit wins and
		// the other fails with ErrConflict, whatever else its writes would
		// break, as that may be the winner's doing.
		s.idx.Lock()
		cerr := t.claim()
		s.idx.Unlock()
		if cerr != nil {
			return cerr
		}
		return err
	}
	// idx is held from the claim of the entries' IDs and keys to their
	// sealing, so that no other commit takes them in between.
	s.idx.Lock()
	sealed := false
	defer func() {
		if !sealed {
			s.idx.Unlock()
		}
	}()
	if err := t.claim(); err != nil {
		return err
	}

	if len(created) > 0 {
		s.accMu.Lock()
		for _, a := range created {
			if _, ok := s.accounts[a.meta.ID]; ok {
				s.accMu.Unlock()
				return conflict("account " + strconv.Quote(string(a.meta.ID)) + " exists")
			}
		}
		for _, a := range created {
			s.accounts[a.meta.ID] = a
		}
		s.accMu.Unlock()
	}

	// Apply. Nothing below can fail.
	if len(created) > 0 {
		for _, a := range created {
			if p := a.meta.ID.Parent(); p != "" {
				pa := find(p)
				d := pa.data()
				i, _ := slices.BinarySearchFunc(d.kids, a.meta.ID, func(k *account, id ledger.AccountID) int { return cmp.Compare(k.meta.ID, id) })
				d.kids = slices.Insert(d.kids, i, a)
			}
		}
	}
	for _, u := range t.updates {
		find(u.ID).meta = u
	}
	for _, d := range t.deltas {
		b := find(d.id).data().balance(d.asset)
		b.posted += d.posted
		b.held += d.held
	}
	for _, l := range t.newLots {
		find(l.Account).data().insertLot(l)
	}
	for _, l := range t.lotAdds {
		ll, x := find(l.account).data().findLot(l.id) // found by check
		ll.add(x, l.delta)
	}
	for _, in := range t.inserts {
		e := in.e
		seq := uint64(s.feed.len()) + 1
		s.enc = s.sealer.SealAppend(s.enc[:0], e, seq, s.last)
		s.last = e.Hash
		s.feed.append(span{at: s.data.add(s.enc), n: uint32(len(s.enc))})
		s.ids.insert(e.ID, seq)
		for _, k := range in.keys {
			s.keys.put(k, seq)
		}
		switch {
		case e.Kind == ledger.KindHold && !e.Deadline.IsZero():
			s.pending.remove(e.ID) // IDs are unique; this keeps the set a set regardless
			s.pending.insert(&tnode[ledger.EntryID, *ledger.Entry]{id: e.ID, v: e, key: e.Deadline})
		case e.Kind == ledger.KindCommit || e.Kind == ledger.KindVoid:
			s.pending.remove(e.Ref)
		}
	}
	s.idx.Unlock()
	sealed = true
	if len(t.newLots) > 0 || len(t.lotAdds) > 0 {
		t.reindex()
	}
	// Sealed, the entries have their Seq for the histories; the accounts'
	// mu, still held, keeps readers out until they are complete.
	for _, in := range t.inserts {
		e := in.e
		for j, p := range e.Postings {
			if slices.ContainsFunc(e.Postings[:j], func(q ledger.Posting) bool { return q.Account == p.Account }) {
				continue
			}
			d := find(p.Account).data()
			d.hist.append(e.Seq)
		}
	}
	return nil
}

// reindex brings the expiry index up to date for the accounts whose lots
// the transaction changed. Call with the touched accounts' mu held, after
// the lots are applied.
func (t *tx) reindex() {
	type change struct {
		a   *account
		key time.Time
		in  bool
	}
	var buf [4]change
	changes := buf[:0]
	for _, a := range t.touched {
		if a.d == nil || !a.meta.ID.IsUser() {
			continue // Expiring returns users only
		}
		key, in := a.d.earliestExpiry()
		if cur := a.d.exp; (cur != nil) == in && (!in || cur.key.Equal(key)) {
			continue
		}
		changes = append(changes, change{a: a, key: key, in: in})
	}
	if len(changes) == 0 {
		return
	}
	s := t.s
	s.expMu.Lock()
	for _, c := range changes {
		d := c.a.d
		if d.exp != nil {
			s.expiring.remove(c.a.meta.ID)
		}
		if !c.in {
			d.exp = nil
			continue
		}
		n := d.exp
		if n == nil {
			n = &tnode[ledger.AccountID, *account]{id: c.a.meta.ID, v: c.a}
		}
		n.key = c.key
		d.exp = s.expiring.insert(n)
	}
	s.expMu.Unlock()
}

// earliestExpiry returns the earliest expiry of the account's non-empty
// lots, and whether it has one that expires: the expiry of the lot at the
// head of some asset's lots (each ordered by expiry, those that never
// expire last), so every lot that expiring counts expires no earlier. An
// account is a candidate for Expiring(asOf) only if this is at or before
// asOf.
func (d *accountData) earliestExpiry() (time.Time, bool) {
	var first time.Time
	for i := range d.lots {
		if live := d.lots[i].live(); len(live) > 0 {
			if e := live[0].expires(); !e.IsZero() && (first.IsZero() || e.Before(first)) {
				first = e
			}
		}
	}
	return first, !first.IsZero()
}

// check validates every balance delta and lot change against the current
// state, as they would accumulate, without applying any.
func (t *tx) check(find func(ledger.AccountID) *account) error {
	type sum struct {
		id           ledger.AccountID
		asset        ledger.Asset
		posted, held int64
	}
	var buf [8]sum
	sums := buf[:0]
	for _, d := range t.deltas {
		i := slices.IndexFunc(sums, func(s sum) bool { return s.id == d.id && s.asset == d.asset })
		if i < 0 {
			var cur balance
			if a := find(d.id); a.d != nil {
				if b := a.d.find(d.asset); b != nil {
					cur = *b
				}
			}
			sums = append(sums, sum{id: d.id, asset: d.asset, posted: cur.posted, held: cur.held})
			i = len(sums) - 1
		}
		var ok1, ok2 bool
		sums[i].posted, ok1 = add(sums[i].posted, d.posted)
		sums[i].held, ok2 = add(sums[i].held, d.held)
		if !ok1 || !ok2 {
			return &overflowError{id: d.id, asset: d.asset}
		}
	}
	for i, l := range t.lotAdds {
		a := find(l.account)
		var cur, amount int64
		found := false
		if a.d != nil {
			if _, x := a.d.findLot(l.id); x != nil {
				cur, amount, found = x.remaining, x.amount, true
			}
		}
		if !found {
			return notFound("lot " + l.id.String())
		}
		for _, m := range t.lotAdds[:i] {
			if m.id == l.id {
				cur += m.delta
			}
		}
		if r := cur + l.delta; r < 0 || r > amount {
			return errString("memstore: lot " + l.id.String() + " would hold " + strconv.FormatInt(r, 10) + " of " + strconv.FormatInt(amount, 10))
		}
	}
	return nil
}

type overflowError struct {
	id    ledger.AccountID
	asset ledger.Asset
}

func (e *overflowError) Error() string {
	return "memstore: balance of " + strconv.Quote(string(e.id)) + " in " + string(e.asset) + " would overflow"
}
func (e *overflowError) Unwrap() error { return ledger.ErrOverflow }

func add(a, b int64) (int64, bool) {
	s := a + b
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

// entry decodes the entry with Seq seq. Call with idx held.
func (s *Store) entry(seq uint64) (*ledger.Entry, error) {
	e := new(ledger.Entry)
	if err := e.UnmarshalBinary(s.binary(seq)); err != nil {
		return nil, err // the store wrote what it reads: not reached
	}
	return e, nil
}

// binary returns the binary form of the entry with Seq seq, in the arena.
// Call with idx held.
func (s *Store) binary(seq uint64) []byte {
	sp := s.feed.at(int(seq - 1))
	return s.data.bytes(sp.at, sp.n)
}

// seqOf returns the Seq of the entry with ID id. Call with idx held.
func (s *Store) seqOf(id ledger.EntryID) (uint64, bool) {
	return s.ids.find(id, func(seq uint64) bool {
		return string(binaryID(s.binary(seq))) == string(id)
	})
}

// binaryID returns the entry ID in b, an entry's binary form (see
// ledger.Entry.AppendBinary): after the previous hash, the encoding's
// version and kind bytes and its 8-byte Seq come the ID's 4-byte
// big-endian length and its bytes. TestBinaryID holds this to the ledger's
// encoder.
func binaryID(b []byte) []byte {
	const at = len(ledger.Hash{}) + 1 + 1 + 8
	if len(b) < at+4 {
		return nil
	}
	n := binary.BigEndian.Uint32(b[at:])
	if uint64(len(b)-at-4) < uint64(n) {
		return nil
	}
	return b[at+4 : at+4+int(n)]
}

// history is an account's list of Seqs. Past its first page it grows by
// whole pages, so that the history of an account that every earn touches
// (a partner's issuance account) never copies itself to grow.
type history struct {
	first []uint64    // the first pageSize Seqs, grown by append
	more  *[][]uint64 // the rest, in pages of pageSize; nil until needed
	n     int
}

func (h *history) len() int {
	if h == nil {
		return 0
	}
	return h.n
}

func (h *history) at(i int) uint64 {
	if i < pageSize {
		return h.first[i]
	}
	i -= pageSize
	return (*h.more)[i/pageSize][i%pageSize]
}

func (h *history) append(seq uint64) {
	i := h.n
	h.n++
	if i < pageSize {
		h.first = append(h.first, seq)
		return
	}
	i -= pageSize
	if h.more == nil {
		h.more = new([][]uint64)
	}
	if i%pageSize == 0 {
		*h.more = append(*h.more, make([]uint64, pageSize))
	}
	(*h.more)[i/pageSize][i%pageSize] = seq
}

func (a *account) data() *accountData {
	if a.d == nil {
		a.d = &accountData{}
	}
	return a.d
}

func (d *accountData) find(asset ledger.Asset) *balance {
	for i := range d.bals {
		if d.bals[i].asset == asset {
			return &d.bals[i]
		}
	}
	return nil
}

func (d *accountData) balance(asset ledger.Asset) *balance {
	if b := d.find(asset); b != nil {
		return b
	}
	d.bals = append(d.bals, balance{asset: asset})
	return &d.bals[len(d.bals)-1]
}

// Account implements ledger.ReadTx.
func (t *tx) Account(_ context.Context, id ledger.AccountID) (ledger.Account, error) {
	a := t.acct(id)
	if a == nil {
		return ledger.Account{}, notFound("account " + strconv.Quote(string(id)))
	}
	a.mu.Lock()
	m := a.meta
	a.mu.Unlock()
	return m, nil
}

// Accounts implements ledger.ReadTx.
func (t *tx) Accounts(_ context.Context, after ledger.AccountID, limit int) ([]ledger.Account, error) {
	if t.sorted == nil || t.write {
		t.s.accMu.RLock()
		ids := make([]ledger.AccountID, 0, len(t.s.accounts))
		for id := range t.s.accounts {
			ids = append(ids, id)
		}
		t.s.accMu.RUnlock()
		slices.Sort(ids)
		t.sorted = ids
	}
	i, found := slices.BinarySearch(t.sorted, after)
	if found {
		i++
	}
	var out []ledger.Account
	for ; i < len(t.sorted) && len(out) < limit; i++ {
		a, err := t.Account(context.Background(), t.sorted[i])
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Children implements ledger.ReadTx.
func (t *tx) Children(_ context.Context, parent ledger.AccountID) ([]ledger.Account, error) {
	a := t.acct(parent)
	if a == nil {
		return nil, notFound("account " + strconv.Quote(string(parent)))
	}
	a.mu.Lock()
	var kids []*account
	if a.d != nil {
		kids = slices.Clone(a.d.kids)
	}
	a.mu.Unlock()
	out := make([]ledger.Account, len(kids))
	for i, k := range kids {
		k.mu.Lock()
		out[i] = k.meta
		k.mu.Unlock()
	}
	return out, nil
}

// Balance implements ledger.ReadTx.
func (t *tx) Balance(_ context.Context, id ledger.AccountID, asset ledger.Asset) (ledger.Balance, error) {
	a := t.acct(id)
	if a == nil {
		return ledger.Balance{}, notFound("account " + strconv.Quote(string(id)))
	}
	return a.balance(asset), nil
}

// balance returns a's balance in asset, read under a.mu.
func (a *account) balance(asset ledger.Asset) ledger.Balance {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.d != nil {
		if b := a.d.find(asset); b != nil {
			return ledger.Balance{Posted: b.posted, Held: b.held}
		}
	}
	return ledger.Balance{}
}

// Lots implements ledger.ReadTx.
func (t *tx) Lots(_ context.Context, id ledger.AccountID, asset ledger.Asset, fn func(ledger.Lot) bool) error {
	a := t.acct(id)
	if a == nil {
		return notFound("account " + strconv.Quote(string(id)))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.d == nil {
		return nil
	}
	ll := a.d.lotsOf(asset)
	if ll == nil {
		return nil
	}
	for _, l := range ll.live() {
		if !fn(l.ledgerLot(a.meta.ID, asset)) {
			return nil
		}
	}
	return nil
}

// Lot implements ledger.ReadTx.
func (t *tx) Lot(_ context.Context, account ledger.AccountID, id ledger.LotID) (ledger.Lot, error) {
	a := t.acct(account)
	if a == nil {
		return ledger.Lot{}, notFound("account " + strconv.Quote(string(account)))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.d != nil {
		if ll, x := a.d.findLot(id); x != nil {
			return x.ledgerLot(a.meta.ID, ll.asset), nil
		}
	}
	return ledger.Lot{}, notFound("lot " + id.String())
}

// Entry implements ledger.ReadTx.
func (t *tx) Entry(_ context.Context, id ledger.EntryID) (*ledger.Entry, error) {
	t.s.idx.Lock()
	defer t.s.idx.Unlock()
	seq, ok := t.s.seqOf(id)
	if !ok {
		return nil, notFound("entry " + strconv.Quote(string(id)))
	}
	return t.s.entry(seq)
}

// Key implements ledger.ReadTx.
func (t *tx) Key(_ context.Context, key string) (ledger.EntryID, error) {
	t.s.idx.Lock()
	defer t.s.idx.Unlock()
	seq, ok := t.s.keys.get(key)
	if !ok {
		// A plain sentinel: a miss is the common case on every write.
		return "", ledger.ErrNotFound
	}
	return ledger.EntryID(binaryID(t.s.binary(seq))), nil // a copy: string() of the arena's bytes
}

// History implements ledger.ReadTx. A cursor is the decimal index of the
// next entry in the account's history.
func (t *tx) History(_ context.Context, id ledger.AccountID, cursor string, limit int) ([]*ledger.Entry, string, error) {
	a := t.acct(id)
	if a == nil {
		return nil, "", notFound("account " + strconv.Quote(string(id)))
	}
	start := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, "", ledger.ErrInvalidCursor
		}
		start = n
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var hist *history
	if a.d != nil {
		hist = &a.d.hist
	}
	if start > hist.len() {
		return nil, "", ledger.ErrInvalidCursor
	}
	end := min(start+limit, hist.len())
	out := make([]*ledger.Entry, end-start)
	t.s.idx.Lock() // after a.mu, as in a commit
	for i := range out {
		e, err := t.s.entry(hist.at(start + i))
		if err != nil {
			t.s.idx.Unlock()
			return nil, "", err
		}
		out[i] = e
	}
	t.s.idx.Unlock()
	next := ""
	if end < hist.len() {
		next = strconv.Itoa(end)
	}
	return out, next, nil
}

// Changes implements ledger.ReadTx.
func (t *tx) Changes(_ context.Context, after uint64, limit int) ([]*ledger.Entry, error) {
	t.s.idx.Lock()
	defer t.s.idx.Unlock()
	n := uint64(t.s.feed.len())
	if after >= n {
		return nil, nil
	}
	end := min(after+uint64(limit), n)
	out := make([]*ledger.Entry, 0, end-after)
	for seq := after + 1; seq <= end; seq++ {
		e, err := t.s.entry(seq)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Expiring implements ledger.ReadTx. It reads the candidates from the
// expiry index, in ID order, and checks each: its cost follows the
// accounts it returns (and those whose expiring lots are all held), not
// the accounts in the store.
func (t *tx) Expiring(_ context.Context, asOf time.Time, after ledger.AccountID, limit int) ([]ledger.AccountID, error) {
	var out []ledger.AccountID
	var cands []*account
	for len(out) < limit {
		want := limit - len(out)
		t.s.expMu.Lock()
		cands = t.s.expiring.collect(after, asOf, want, cands[:0])
		t.s.expMu.Unlock()
		// Checked outside expMu, which is no outer lock to a.mu. Inside a
		// View no commit runs, so the index and the accounts agree.
		for _, a := range cands {
			a.mu.Lock()
			if a.d != nil && a.d.expiring(asOf) {
				out = append(out, a.meta.ID)
			}
			a.mu.Unlock()
		}
		if len(cands) < want {
			break
		}
		after = cands[len(cands)-1].meta.ID
	}
	return out, nil
}

// expiring reports whether, in some asset, lots expiring by asOf hold more
// than the held amount.
func (d *accountData) expiring(asOf time.Time) bool {
	for _, b := range d.bals {
		ll := d.lotsOf(b.asset)
		if ll == nil {
			continue
		}
		var sum int64
		for _, l := range ll.live() {
			if l.expiresAfter(asOf) {
				break
			}
			sum += l.remaining
		}
		if sum > max(b.held, 0) {
			return true
		}
	}
	return false
}

// PendingHolds implements ledger.ReadTx. The index by deadline skips the
// holds not yet due.
func (t *tx) PendingHolds(_ context.Context, asOf time.Time, after ledger.EntryID, limit int) ([]*ledger.Entry, error) {
	t.s.idx.Lock()
	out := t.s.pending.collect(after, asOf, limit, nil)
	t.s.idx.Unlock()
	return out, nil
}
