package memstore

import (
	"cmp"
	"context"
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/internal/offheap"
	"github.com/carbonkit/carbonkit/ledger"
)

// TestKeyIndexCollision checks the keyIndex when two keys share a hash:
// each maps to its own Seq. A collision of 64-bit hashes cannot be found on
// demand, so the test gives both keys one hash.
func TestKeyIndexCollision(t *testing.T) {
	x := newKeyIndex(offheap.New(), maphash.MakeSeed())
	const h = 42
	x.putHashed(h, "a", 1)
	if _, ok := x.getHashed(h, "b"); ok {
		t.Fatal(`"b" found before it was put, through "a"'s hash`)
	}
	x.putHashed(h, "b", 2)
	for s, want := range map[string]uint64{"a": 1, "b": 2} {
		if seq, ok := x.getHashed(h, s); !ok || seq != want {
			t.Errorf("get(%q) = %d, %v; want %d, true", s, seq, ok, want)
		}
	}
	if seq, ok := x.getHashed(h, "c"); ok {
		t.Errorf(`get("c") = %d, true; want not found`, seq)
	}
}

// TestKeyIndexMany puts keys across several arena chunks, past the
// allocator's heap budget, and reads each back.
func TestKeyIndexMany(t *testing.T) {
	x := newKeyIndex(offheap.New(), maphash.MakeSeed())
	long := string(make([]byte, chunkSize+1)) // a key larger than a chunk
	x.put(long, 1)
	n := 3*offheap.HeapBytes/16 + 7
	if testing.Short() {
		n = 3*pageSize + 7
	}
	for i := range n {
		x.put("key-"+strconv.Itoa(i), uint64(i+2))
	}
	if seq, ok := x.get(long); !ok || seq != 1 {
		t.Errorf("get(long) = %d, %v; want 1, true", seq, ok)
	}
	for i := range n {
		if seq, ok := x.get("key-" + strconv.Itoa(i)); !ok || seq != uint64(i+2) {
			t.Fatalf("get(key-%d) = %d, %v; want %d, true", i, seq, ok, i+2)
		}
	}
	if _, ok := x.get("key-" + strconv.Itoa(n)); ok {
		t.Error("a key never put was found")
	}
	if len(x.recs.chunks) < 2 {
		t.Errorf("arena has %d chunks, want at least 2", len(x.recs.chunks))
	}
}

// TestHashIndex checks the hashIndex against a map through growth, splits
// and directory doublings, with hashes that repeat (several values under
// one hash, a hundred under the hash 0) and hashes whose top bits agree
// (tables that split several times over one directory slot).
func TestHashIndex(t *testing.T) {
	x := newHashIndex(offheap.New())
	want := make(map[uint64][]uint64)
	r := rand.New(rand.NewPCG(1, 2))
	n := 300_000
	if testing.Short() {
		n = 50_000
	}
	for v := range uint64(n) {
		var h uint64
		switch v % 10 {
		case 0: // a hash put before
			for k := range want {
				h = k
				break
			}
		case 1: // the top 20 bits fixed
			h = 0xABCDE<<44 | r.Uint64()>>20
		case 2:
			if v < 100 {
				h = 0 // stored as 1
			} else {
				h = r.Uint64()
			}
		default:
			h = r.Uint64()
		}
		x.insert(h, v)
		want[norm(h)] = append(want[norm(h)], v)
	}
	if x.len() != n {
		t.Fatalf("len = %d, want %d", x.len(), n)
	}
	if x.depth() < 3 || len(x.tabs) < 8 {
		t.Fatalf("%d values in %d tables, directory depth %d: the test did not split", n, len(x.tabs), x.depth())
	}
	for h, vs := range want {
		for _, v := range vs {
			if got, ok := x.find(h, func(c uint64) bool { return c == v }); !ok || got != v {
				t.Fatalf("find(%#x, %d) = %d, %v", h, v, got, ok)
			}
		}
		seen := 0
		x.find(h, func(uint64) bool { seen++; return false })
		if seen != len(vs) {
			t.Fatalf("hash %#x holds %d values, want %d", h, seen, len(vs))
		}
	}
	for range 1000 {
		h := r.Uint64()
		if _, ok := want[norm(h)]; ok {
			continue
		}
		if v, ok := x.find(h, func(uint64) bool { return true }); ok {
			t.Fatalf("find(%#x) = %d for a hash never put", h, v)
		}
	}
	// Every hash is in the table its directory slot names.
	for ti := range x.tabs {
		for _, s := range x.tabs[ti].slots {
			if s.h != 0 && x.dir[s.h>>x.shift] != uint32(ti) {
				t.Fatalf("hash %#x is in table %d, which directory slot %d does not name", s.h, ti, s.h>>x.shift)
			}
		}
	}
}

// TestBinaryID holds binaryID to the ledger's binary form.
func TestBinaryID(t *testing.T) {
	for _, id := range []ledger.EntryID{"", "e1", ledger.EntryID(make([]byte, 300))} {
		e := &ledger.Entry{ID: id, Key: "k", Kind: ledger.KindTransfer, Seq: 7}
		b, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if got := binaryID(b); string(got) != string(id) {
			t.Errorf("binaryID = %q, want %q", got, id)
		}
		if got := binaryID(b[:len(ledger.Hash{})+12]); got != nil {
			t.Errorf("binaryID of a truncated form = %q, want nil", got)
		}
	}
}

// TestEntryAndKeyLookups reads entries back by ID and by key from a store
// past its allocator's heap budget, and misses IDs and keys it never held.
func TestEntryAndKeyLookups(t *testing.T) {
	ctx := context.Background()
	s := New()
	l, err := ledger.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.OpenUser(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LinkPartner(ctx, "u", "p"); err != nil {
		t.Fatal(err)
	}
	n := 3*pageSize + 5 // the issuance account's history takes more than one page
	ids := make([]ledger.EntryID, n)
	for i := range n {
		e, err := l.Post(ctx, ledger.PostRequest{Key: "k" + strconv.Itoa(i), Postings: []ledger.Posting{
			{Account: ledger.IssuanceAccount("p"), Asset: ledger.Points, Amount: -1},
			{Account: ledger.PartnerAccount("u", "p"), Asset: ledger.Points, Amount: 1},
		}})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = e.ID
	}
	err = s.View(ctx, func(tx ledger.ReadTx) error {
		for i, id := range ids {
			e, err := tx.Entry(ctx, id)
			if err != nil || e.ID != id || e.Key != "k"+strconv.Itoa(i) {
				t.Fatalf("Entry(%q) = %v, %v", id, e, err)
			}
			got, err := tx.Key(ctx, "k:k"+strconv.Itoa(i))
			if err != nil || got != id {
				t.Fatalf("Key(k%d) = %q, %v; want %q", i, got, err, id)
			}
		}
		if _, err := tx.Entry(ctx, "never"); err == nil {
			t.Fatal("Entry of an unknown ID: no error")
		}
		if _, err := tx.Key(ctx, "k:never"); err == nil {
			t.Fatal("Key of an unknown key: no error")
		}
		// The issuance account's history spans several pages.
		var got []ledger.EntryID
		for cursor := ""; ; {
			es, next, err := tx.History(ctx, ledger.IssuanceAccount("p"), cursor, 999)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				got = append(got, e.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("History of the issuance account: %d entries, want the %d posted, in order", len(got), len(ids))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHashIndexSharedTopBits puts more values than a table holds under
// hashes that agree in all but their low bits: no split can part them, so
// the directory must stop doubling and the table grow instead.
func TestHashIndexSharedTopBits(t *testing.T) {
	x := newHashIndex(offheap.New())
	const n = maxTableSlots
	for i := range uint64(n) {
		x.insert(0x5A5A5A5A<<32|i, i)
	}
	if len(x.dir) > 16*len(x.tabs) { // 8 per table before its last doubling
		t.Fatalf("directory of %d slots for %d tables", len(x.dir), len(x.tabs))
	}
	for i := range uint64(n) {
		if v, ok := x.find(0x5A5A5A5A<<32|i, func(uint64) bool { return true }); !ok || v != i {
			t.Fatalf("find(%d) = %d, %v", i, v, ok)
		}
	}
}

// TestHashIndexSplitsAnOversizedTable grows a table past maxTableSlots with
// hashes that share their top 32 bits, then adds random ones until other
// tables split enough for the directory to allow splitting it too: more
// than maxTableSlots of its hashes then move to the new table, which must
// hold them (it was made maxTableSlots large, and the insert probed for a
// free slot for ever). Every value stays findable.
func TestHashIndexSplitsAnOversizedTable(t *testing.T) {
	x := newHashIndex(offheap.New())
	const hot = 40_000
	for i := range uint64(hot) {
		x.insert(0xFFFFFFFF<<32|i, i)
	}
	if n := len(x.table(0xFFFFFFFF << 32).slots); n <= maxTableSlots {
		t.Fatalf("the shared-bits table has %d slots, not more than %d: the test does not reach its case", n, maxTableSlots)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const random = 1_500_000
	for i := range uint64(random) {
		x.insert(r.Uint64(), hot+i)
	}
	for i := range uint64(hot) {
		if v, ok := x.find(0xFFFFFFFF<<32|i, func(uint64) bool { return true }); !ok || v != i {
			t.Fatalf("find(%d) = %d, %v", i, v, ok)
		}
	}
	r = rand.New(rand.NewPCG(1, 2))
	for i := range uint64(random) {
		want := hot + i
		if _, ok := x.find(r.Uint64(), func(v uint64) bool { return v == want }); !ok {
			t.Fatalf("random value %d not found", i)
		}
	}
}

func TestHistoryPages(t *testing.T) {
	var h history
	const n = 3*pageSize + 7
	for i := range uint64(n) {
		h.append(i * 3)
	}
	if h.len() != n {
		t.Fatalf("len = %d, want %d", h.len(), n)
	}
	for i := range n {
		if got := h.at(i); got != uint64(i)*3 {
			t.Fatalf("at(%d) = %d, want %d", i, got, i*3)
		}
	}
	if len(h.first) != pageSize || len(*h.more) != 3 {
		t.Fatalf("%d in the first page and %d more pages, want %d and 3", len(h.first), len(*h.more), pageSize)
	}
}

// TestInsertLotOrder inserts lots that expire, at random times, and lots
// that never do, in random order, and checks that the account holds them
// in lotCmp order: soonest expiry first, those that never expire last.
func TestInsertLotOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	d := &accountData{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 500 {
		l := ledger.Lot{ID: ledger.LotID{Entry: ledger.EntryID("e" + strconv.Itoa(i))}, Asset: ledger.Points, Amount: 1, Remaining: 1,
			Created: t0.Add(time.Duration(r.IntN(1000)) * time.Second)}
		if r.IntN(2) == 0 {
			l.Expires = t0.Add(time.Duration(r.IntN(1000)) * time.Hour)
		}
		d.insertLot(l)
	}
	ll := d.lotsOf(ledger.Points)
	if len(d.lots) != 1 || ll == nil || len(ll.lots) != 500 {
		t.Fatalf("%d lists of lots, want one of 500", len(d.lots))
	}
	if !slices.IsSortedFunc(ll.lots, lotCmp) {
		t.Fatal("lots out of order")
	}
	never := 0
	for _, l := range ll.lots {
		if l.never() {
			never++
		}
	}
	if never != ll.never {
		t.Fatalf("never = %d, want %d", ll.never, never)
	}
}

// len returns the number of values x stores.
func (x *hashIndex) len() int {
	n := 0
	for i := range x.tabs {
		n += x.tabs[i].n
	}
	return n
}

// depth is the depth of x's directory.
func (x *hashIndex) depth() int { return bits.Len(uint(len(x.dir))) - 1 }

// TestLotsPerAsset credits an account points and CO2e alternately, spends
// points lot by lot, and checks that each asset's lots keep their own live
// lots: spent points lots leave them while the CO2e lots stay,
// earliestExpiry reads the first live lot of each, and findLot still finds
// a spent lot.
func TestLotsPerAsset(t *testing.T) {
	d := &accountData{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 50
	for i := range n {
		for _, asset := range []ledger.Asset{ledger.Points, ledger.CO2e} {
			l := ledger.Lot{ID: ledger.LotID{Entry: ledger.EntryID("e" + strconv.Itoa(i)), Posting: len(asset)},
				Asset: asset, Amount: 2, Remaining: 2, Created: t0.Add(time.Duration(i) * time.Second)}
			if asset == ledger.Points {
				l.Expires = t0.AddDate(1, 0, i)
			}
			d.insertLot(l)
		}
	}
	pts, co2 := d.lotsOf(ledger.Points), d.lotsOf(ledger.CO2e)
	if pts == nil || co2 == nil || len(pts.live()) != n || len(co2.live()) != n {
		t.Fatalf("lists %+v", d.lots)
	}
	if e, ok := d.earliestExpiry(); !ok || !e.Equal(t0.AddDate(1, 0, 0)) {
		t.Fatalf("earliestExpiry = %v, %v", e, ok)
	}
	// Spend the first 30 points lots, as a commit's lot changes do.
	for i := range 30 {
		ll, x := d.findLot(ledger.LotID{Entry: ledger.EntryID("e" + strconv.Itoa(i)), Posting: len(ledger.Points)})
		if ll != pts || x != pts.live()[0] {
			t.Fatalf("points lot %d not found at the head", i)
		}
		ll.add(x, -x.remaining)
	}
	if len(pts.live()) != n-30 || len(pts.spent) != 30 || len(co2.live()) != n {
		t.Fatalf("%d live and %d spent points lots, %d live CO2e lots", len(pts.live()), len(pts.spent), len(co2.live()))
	}
	if e, _ := d.earliestExpiry(); !e.Equal(t0.AddDate(1, 0, 30)) {
		t.Fatalf("earliestExpiry = %v after the spends", e)
	}
	if ll, x := d.findLot(ledger.LotID{Entry: "e7", Posting: len(ledger.Points)}); ll != pts || x == nil || x.remaining != 0 {
		t.Fatal("spent lot e7 not found")
	}
	if ll, x := d.findLot(ledger.LotID{Entry: "e7", Posting: len(ledger.CO2e)}); ll != co2 || x == nil {
		t.Fatal("CO2e lot e7 not found")
	}
	if ll, _ := d.findLot(ledger.LotID{Entry: "e999"}); ll != nil {
		t.Fatal("found a lot never inserted")
	}
}

// TestLotListModel runs random lot changes (new lots that expire or not,
// spends, partial and whole, refills of spent lots, at the head and
// elsewhere) against a plain list of every lot, and checks after each that
// the live lots are exactly the non-empty ones in lotCmp order, the spent
// ones exactly the empty ones, never counts the live lots that never
// expire, and findLot finds every lot.
func TestLotListModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	d := &accountData{}
	var all []*lot // every lot, as inserted
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for step := range 4000 {
		switch op := r.IntN(10); {
		case op < 3 || len(all) == 0:
			l := ledger.Lot{ID: ledger.LotID{Entry: ledger.EntryID("e" + strconv.Itoa(step))}, Asset: ledger.Points,
				Amount: 3, Remaining: 3, Created: t0.Add(time.Duration(r.IntN(100))*time.Minute + time.Duration(r.IntN(3)))}
			if r.IntN(3) > 0 {
				// Nanoseconds apart as well as hours, and some before 1970.
				l.Expires = t0.Add(time.Duration(r.IntN(50))*time.Hour + time.Duration(r.IntN(3)))
				if r.IntN(10) == 0 {
					l.Expires = time.Date(1969, 12, 31, 23, 59, 59, r.IntN(3), time.UTC)
				}
			}
			d.insertLot(l)
			_, x := d.findLot(l.ID)
			all = append(all, x)
		default:
			var x *lot
			if live := d.lots[0].live(); op < 6 && len(live) > 0 {
				x = live[0] // as a spend does
			} else {
				x = all[r.IntN(len(all))]
			}
			delta := int64(r.IntN(int(x.amount)+1)) - x.remaining // to anything from 0 to amount
			d.lots[0].add(x, delta)
		}
		ll := &d.lots[0]
		var want, empty []*lot
		never := 0
		for _, x := range all {
			if x.remaining > 0 {
				want = append(want, x)
				if x.never() {
					never++
				}
			} else {
				empty = append(empty, x)
			}
		}
		// In ledger.CompareLots order, then insertion order: what lotCmp
		// must give on its compact fields.
		slices.SortFunc(want, func(a, b *lot) int {
			return cmp.Or(ledger.CompareLots(a.ledgerLot("", ll.asset), b.ledgerLot("", ll.asset)), cmp.Compare(a.seq, b.seq))
		})
		if !slices.Equal(ll.live(), want) {
			t.Fatalf("step %d: %d live lots, want %d, or out of order", step, len(ll.live()), len(want))
		}
		if ll.never != never {
			t.Fatalf("step %d: never = %d, want %d", step, ll.never, never)
		}
		if len(ll.spent) != len(empty) || slices.ContainsFunc(ll.spent, func(x *lot) bool { return x.remaining != 0 }) {
			t.Fatalf("step %d: %d spent lots, want %d", step, len(ll.spent), len(empty))
		}
		if step%50 == 0 {
			for _, x := range all {
				id := ledger.LotID{Entry: x.entry, Posting: int(x.posting)}
				if _, got := d.findLot(id); got != x {
					t.Fatalf("step %d: lot %s not found", step, id)
				}
			}
		}
	}
	if len(d.lots[0].lots) > 2*len(d.lots[0].live())+64 {
		t.Fatalf("%d slots for %d live lots", len(d.lots[0].lots), len(d.lots[0].live()))
	}
}

// TestIDIndex inserts IDs of every kind the idIndex tells apart (counter
// IDs of a few prefixes, out of order and with gaps; counters far past
// their run; more prefixes than get runs; 32 hex digits in upper case;
// IDs of other lengths) and checks against a map, after each insert, that
// every ID inserted is found with its Seq and none of a set never
// inserted (some in a run's empty slots) is.
func TestIDIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	x := newIDIndex(offheap.New(), maphash.MakeSeed())
	want := map[ledger.EntryID]uint64{}
	// match stands for the Store's check of the stored entry's ID.
	seqID := map[uint64]ledger.EntryID{}
	find := func(id ledger.EntryID) (uint64, bool) {
		return x.find(id, func(seq uint64) bool { return seqID[seq] == id })
	}
	hexID := func(prefix, counter uint64) ledger.EntryID {
		const digits = "0123456789abcdef"
		var b [32]byte
		for i := range 16 {
			b[15-i] = digits[prefix>>(4*i)&15]
			b[31-i] = digits[counter>>(4*i)&15]
		}
		return ledger.EntryID(b[:])
	}
	next := map[uint64]uint64{} // per prefix, the next counter
	var never []ledger.EntryID
	var held ledger.EntryID // an ID whose commit the next one overtakes
	for i := range 6000 {
		var id ledger.EntryID
		switch k := r.IntN(20); {
		case held != "" && k < 10:
			id, held = held, ""
		case k < 12: // a Ledger's next ID, one of three prefixes, sometimes skipping (a retry) or swapped with the next (concurrent commits)
			p := uint64(r.IntN(3)) + 1
			c := next[p] + 1
			next[p] = c + uint64(r.IntN(2))
			if r.IntN(8) == 0 {
				never = append(never, hexID(p, c+1)) // skipped: never inserted, inside the run
			}
			id = hexID(p, c)
			if held == "" && r.IntN(4) == 0 {
				held, id = id, hexID(p, next[p]+1)
				next[p]++
			}
		case k < 14: // a counter far past its run
			id = hexID(uint64(r.IntN(3))+1, 1<<40+uint64(i))
		case k < 17: // random 32 hex digits: a prefix each, past maxRuns soon
			id = hexID(r.Uint64(), r.Uint64())
		case k < 18:
			id = ledger.EntryID(strings.ToUpper(string(hexID(1, uint64(i)))))
		default:
			id = ledger.EntryID("id-" + strconv.Itoa(i))
		}
		if _, dup := want[id]; dup {
			continue
		}
		if _, ok := find(id); ok {
			t.Fatalf("step %d: %s found before it was inserted", i, id)
		}
		seq := uint64(len(want) + 1)
		x.insert(id, seq)
		want[id], seqID[seq] = seq, id
		if i%500 == 0 || i == 5999 {
			for id, seq := range want {
				if got, ok := find(id); !ok || got != seq {
					t.Fatalf("step %d: find(%s) = %d, %v; want %d", i, id, got, ok, seq)
				}
			}
			for _, id := range never {
				if _, in := want[id]; in {
					continue
				}
				if _, ok := find(id); ok {
					t.Fatalf("step %d: %s found, never inserted", i, id)
				}
			}
		}
	}
	if len(x.runs) != maxRuns || x.hash.len() == 0 {
		t.Fatalf("%d runs and %d hashed IDs: the test did not reach every path", len(x.runs), x.hash.len())
	}
}
