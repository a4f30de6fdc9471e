package memstore

import (
	"cmp"
	"slices"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
)

// lot is a lot as an account keeps it, compactly: its account and asset
// are those of the list that holds it, its times are Unix seconds and
// nanoseconds (UTC, as the Ledger gives them), and seq orders lots that
// lotCmp would otherwise find equal, in insertion order. Every credit to a
// user account makes one and keeps it for ever: 80 bytes with one pointer,
// where a ledger.Lot and seq took 128 bytes with five.
type lot struct {
	entry             ledger.EntryID // the ID's Entry
	posting           int32          // the ID's Posting (at most MaxPostings)
	expNsec, crNsec   int32
	amount, remaining int64
	expSec, crSec     int64 // Expires and Created; Expires zero is zeroUnix
	seq               uint64
}

// zeroUnix is the zero time's Unix seconds: a lot that never expires.
var zeroUnix = time.Time{}.Unix()

func newLot(l *ledger.Lot, seq uint64) *lot {
	return &lot{entry: l.ID.Entry, posting: int32(l.ID.Posting), amount: l.Amount, remaining: l.Remaining,
		expSec: l.Expires.Unix(), expNsec: int32(l.Expires.Nanosecond()),
		crSec: l.Created.Unix(), crNsec: int32(l.Created.Nanosecond()), seq: seq}
}

// is reports whether x is lot id.
func (x *lot) is(id ledger.LotID) bool { return x.entry == id.Entry && int(x.posting) == id.Posting }

// never reports whether x never expires.
func (x *lot) never() bool { return x.expSec == zeroUnix && x.expNsec == 0 }

// expiresAfter reports whether x expires after t (or never).
func (x *lot) expiresAfter(t time.Time) bool {
	if x.never() {
		return true
	}
	s := t.Unix()
	return x.expSec > s || x.expSec == s && int(x.expNsec) > t.Nanosecond()
}

// expires returns x's expiry, zero for never.
func (x *lot) expires() time.Time { return unixTime(x.expSec, x.expNsec) }

func unixTime(sec int64, nsec int32) time.Time {
	if sec == zeroUnix && nsec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// ledgerLot returns x as a ledger.Lot of account's lots of asset.
func (x *lot) ledgerLot(account ledger.AccountID, asset ledger.Asset) ledger.Lot {
	return ledger.Lot{ID: ledger.LotID{Entry: x.entry, Posting: int(x.posting)}, Account: account, Asset: asset,
		Amount: x.amount, Remaining: x.remaining, Expires: x.expires(), Created: unixTime(x.crSec, x.crNsec)}
}

// lotCmp orders an account's lots as Lots returns them: as
// ledger.CompareLots does (soonest expiry first, those that never expire
// last, then by creation; the account is the same), then in insertion
// order. No two lots of an account compare equal.
func lotCmp(a, b *lot) int {
	if an, bn := a.never(), b.never(); an != bn {
		if an {
			return 1
		}
		return -1
	}
	return cmp.Or(cmp.Compare(a.expSec, b.expSec), cmp.Compare(a.expNsec, b.expNsec),
		cmp.Compare(a.crSec, b.crSec), cmp.Compare(a.crNsec, b.crNsec), cmp.Compare(a.seq, b.seq))
}

// lotList is an account's lots of one asset.
//
// Reads want the lots that are not empty, in lotCmp order, and must not
// pay for the account's history; yet an empty lot is kept, because a
// reversal may refill it. So the lots not empty are apart, lots[head:],
// in order, every one of them holding something, and each lot that
// empties moves to spent. One that empties at the head (a spend consumes
// soonest-expiring first, expiry takes the expired ones) leaves a free
// slot in front of the head, which the next lot to sort first reuses and
// compact drops; one that empties elsewhere (a reversal took back a credit
// that later lots follow) is cut out. A lot refilled goes back among the
// live ones, in its place.
type lotList struct {
	asset ledger.Asset
	lots  []*lot // lots[head:] are the lots not empty, in lotCmp order; the rest nil
	head  int
	// never is the number of lots in lots[head:] that never expire: the
	// last ones.
	never int
	// spent are the empty lots, most recently emptied last.
	spent []*lot
}

// live returns the lots not empty, in lotCmp order.
func (ll *lotList) live() []*lot { return ll.lots[ll.head:] }

// lotsOf returns the account's lots of asset, or nil if it never held one.
func (d *accountData) lotsOf(asset ledger.Asset) *lotList {
	for i := range d.lots {
		if d.lots[i].asset == asset {
			return &d.lots[i]
		}
	}
	return nil
}

// insertLot adds a new lot to the account.
func (d *accountData) insertLot(l ledger.Lot) {
	d.seq++
	ll := d.lotsOf(l.Asset)
	if ll == nil {
		d.lots = append(d.lots, lotList{asset: l.Asset})
		ll = &d.lots[len(d.lots)-1]
	}
	n := newLot(&l, d.seq)
	if n.remaining == 0 {
		ll.spent = append(ll.spent, n)
		return
	}
	ll.insert(n)
}

// insert puts x, which is not empty, among the live lots, in its place.
func (ll *lotList) insert(x *lot) {
	// Lots that never expire sort last: a lot that expires goes before
	// all of them, found without reading them.
	i := len(ll.lots)
	if x.never() {
		ll.never++
	} else {
		i -= ll.never
	}
	for i > ll.head && lotCmp(ll.lots[i-1], x) > 0 {
		i--
	}
	if i == ll.head && ll.head > 0 {
		// A free slot in front: no lot moves.
		ll.head--
		ll.lots[ll.head] = x
		return
	}
	ll.lots = slices.Insert(ll.lots, i, x)
}

// findLot returns the lot id and the lots that hold it, or nils. A lot ID
// does not name its asset, so it looks through every asset's lots at once,
// from both ends of the live lots inward: both the lot a spend consumes
// (at the head) and the one a credit just made (near the end, which its
// reversal takes back) are found at once, whichever asset holds them, and
// however many lots another asset holds. Then it looks among the spent
// lots, most recently emptied first (a reversal refilling one).
func (d *accountData) findLot(id ledger.LotID) (*lotList, *lot) {
	for off, more := 0, true; more; off++ {
		more = false
		for k := range d.lots {
			ll := &d.lots[k]
			live := ll.live()
			i, j := off, len(live)-1-off
			if i > j {
				continue
			}
			more = true
			if live[i].is(id) {
				return ll, live[i]
			}
			if live[j].is(id) {
				return ll, live[j]
			}
		}
	}
	for off, more := 1, true; more; off++ {
		more = false
		for k := range d.lots {
			ll := &d.lots[k]
			if i := len(ll.spent) - off; i >= 0 {
				more = true
				if ll.spent[i].is(id) {
					return ll, ll.spent[i]
				}
			}
		}
	}
	return nil, nil
}

// add changes the remaining amount of x, one of ll's lots, by delta (the
// caller has checked that it stays within 0 and the lot's amount), and
// moves it between the live lots and the spent ones if it empties or is
// refilled.
func (ll *lotList) add(x *lot, delta int64) {
	was := x.remaining
	x.remaining += delta
	switch {
	case was > 0 && x.remaining == 0:
		ll.remove(x)
		ll.spent = append(ll.spent, x)
	case was == 0 && x.remaining > 0:
		i := slices.Index(ll.spent, x)
		ll.spent = slices.Delete(ll.spent, i, i+1)
		ll.insert(x)
	}
}

// remove takes x out of the live lots.
func (ll *lotList) remove(x *lot) {
	if x.never() {
		ll.never--
	}
	live := ll.live()
	i, _ := slices.BinarySearchFunc(live, x, lotCmp) // exact: no two lots compare equal
	if i == 0 {
		ll.lots[ll.head] = nil
		ll.head++
		ll.compact()
		return
	}
	ll.lots = slices.Delete(ll.lots, ll.head+i, ll.head+i+1)
}

// compact drops the free slots in front of the live lots once they are
// the larger part of the slice, so that the slice does not keep growing
// while the account's lots are spent one after another.
func (ll *lotList) compact() {
	if ll.head < 32 || ll.head < len(ll.lots)/2 {
		return
	}
	n := copy(ll.lots, ll.lots[ll.head:])
	clear(ll.lots[n:])
	ll.lots, ll.head = ll.lots[:n], 0
}
