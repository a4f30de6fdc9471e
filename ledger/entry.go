package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// EntryID identifies an entry. The Ledger assigns it (Options.NewID).
type EntryID string

// EntryKind says what an entry does.
type EntryKind uint8

// The entry kinds. Only Transfer, Commit, Reversal and Expiry change posted
// balances; Hold reserves its debits and Void releases them, so a reader
// summing postings must skip those two kinds.
const (
	KindTransfer EntryKind = iota + 1 // postings moved value (Post, Spend)
	KindHold                          // postings reserved, not yet moved
	KindCommit                        // a hold's postings moved (Ref: the hold); Postings are what moved
	KindVoid                          // a hold released (Ref: the hold); Postings repeat the hold's
	KindReversal                      // an entry undone (Ref: the entry)
	KindExpiry                        // expired lots moved to breakage
)

// String names the kind: "transfer", "hold", "commit", "void", "reversal",
// "expiry".
func (k EntryKind) String() string {
	switch k {
	case KindTransfer:
		return "transfer"
	case KindHold:
		return "hold"
	case KindCommit:
		return "commit"
	case KindVoid:
		return "void"
	case KindReversal:
		return "reversal"
	case KindExpiry:
		return "expiry"
	}
	return "invalid"
}

// Posting moves Amount minor units of Asset into Account (a credit, positive)
// or out of it (a debit, negative).
type Posting struct {
	Account AccountID // the account posted to
	Asset   Asset     // a registered asset
	Amount  int64     // minor units: credit positive, debit negative, never zero
}

// Hash is a SHA-256 digest.
type Hash [32]byte

// String returns the digest in lower-case hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// LotID identifies a lot: the entry whose posting created it and that
// posting's index.
type LotID struct {
	Entry   EntryID // the crediting entry
	Posting int     // the index of the credit among its postings
}

// String formats the lot ID as "entry#index".
func (id LotID) String() string { return string(id.Entry) + "#" + strconv.Itoa(id.Posting) }

// Lot is what is left of one credit to a user account. Debits consume lots
// soonest-expiring first (CompareLots, then insertion order), and the sum
// of an account's remaining lots always equals its posted balance.
type Lot struct {
	ID        LotID     // the credit that made it
	Account   AccountID // a user account
	Asset     Asset     // the credit's asset
	Amount    int64     // the credit
	Remaining int64     // what is left of it, 0 to Amount
	Expires   time.Time // zero: never
	Created   time.Time // the Recorded time of the entry that created it
}

// CompareLots orders lots as debits consume them: soonest expiry first,
// lots that never expire last, then by creation time, then by account ID.
// It returns -1, 0 or +1, as cmp.Compare does; two lots of one account
// created at one instant with one expiry compare equal, and a Store keeps
// those in insertion order.
func CompareLots(a, b Lot) int {
	if c := compareExpiry(a.Expires, b.Expires); c != 0 {
		return c
	}
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return strings.Compare(string(a.Account), string(b.Account))
}

// LotUse records that an entry took Amount out of a lot (or, in a reversal,
// put it back: Amount negative).
type LotUse struct {
	Lot     LotID     // the lot
	Account AccountID // the account holding it
	Asset   Asset     // its asset
	Amount  int64     // taken out (positive) or put back (negative)
}

// Entry is a committed ledger entry. Nothing about it changes once it is
// committed, except Seq, PrevHash and Hash, which the store sets once when it
// seals the entry (at commit or shortly after).
//
// Entries returned by the Ledger share their slices and map with the store:
// treat them as read-only.
type Entry struct {
	ID          EntryID           // assigned by the Ledger
	Kind        EntryKind         // what the entry does
	Key         string            // the caller's idempotency key ("" for expiry entries)
	Ref         EntryID           // the hold committed or voided, the entry reversed
	Postings    []Posting         // for a Hold, the postings reserved
	Lots        []LotUse          // lots consumed (or restored by a reversal)
	Metadata    map[string]string // the caller's, or the ledger's for system entries
	Effective   time.Time         // when the entry takes effect (balances as of a time)
	Recorded    time.Time         // when the ledger recorded it
	Deadline    time.Time         // a hold's timeout; zero: none
	Fingerprint Hash              // SHA-256 of the canonical encoding of the request

	Seq      uint64 // gapless position in the change feed, from 1; 0 until sealed
	PrevHash Hash   // the previous entry's Hash (zero for Seq 1)
	Hash     Hash   // SHA-256(PrevHash || canonical encoding of the entry)
}

// Sealed reports whether the store has sealed the entry.
func (e *Entry) Sealed() bool { return e.Seq != 0 }

// Sealer computes the hash chain. A Store seals each committed entry, in
// commit order, with Seal. A Sealer is not safe for concurrent use: a store
// keeps one under the lock that orders its feed.
type Sealer struct {
	buf []byte
}

// NewSealer returns a Sealer.
func NewSealer() *Sealer { return &Sealer{buf: make([]byte, 0, 512)} }

// Seal sets e.Seq to seq, e.PrevHash to prev and e.Hash to SHA-256 of prev
// and the canonical encoding of e (which includes seq).
func (s *Sealer) Seal(e *Entry, seq uint64, prev Hash) {
	e.Seq, e.PrevHash = seq, prev
	e.Hash = s.sum(e)
}

// sum returns the hash e should have given its Seq and PrevHash.
func (s *Sealer) sum(e *Entry) Hash {
	s.buf = appendEntry(append(s.buf[:0], e.PrevHash[:]...), e)
	return sha256.Sum256(s.buf)
}

// Canonical encoding. Every variable-length field is length-prefixed, every
// integer fixed-width big-endian, maps in sorted key order, times as UTC
// seconds and nanoseconds: the encoding of equal values is identical, and no
// two different values encode alike. The first byte versions the format.
const encodingVersion = 1

func appendEntry(b []byte, e *Entry) []byte {
	b = append(b, encodingVersion, byte(e.Kind))
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = appendStr(b, string(e.ID))
	b = appendStr(b, e.Key)
	b = appendStr(b, string(e.Ref))
	b = appendPostings(b, e.Postings)
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Lots)))
	for _, u := range e.Lots {
		b = appendStr(b, string(u.Lot.Entry))
		b = binary.BigEndian.AppendUint32(b, uint32(u.Lot.Posting))
		b = appendStr(b, string(u.Account))
		b = appendStr(b, string(u.Asset))
		b = binary.BigEndian.AppendUint64(b, uint64(u.Amount))
	}
	b = appendMeta(b, e.Metadata)
	b = appendTime(b, e.Effective)
	b = appendTime(b, e.Recorded)
	b = appendTime(b, e.Deadline)
	b = append(b, e.Fingerprint[:]...)
	return b
}

func appendPostings(b []byte, ps []Posting) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(ps)))
	for _, p := range ps {
		b = appendStr(b, string(p.Account))
		b = appendStr(b, string(p.Asset))
		b = binary.BigEndian.AppendUint64(b, uint64(p.Amount))
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

func appendMeta(b []byte, m map[string]string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(m)))
	if len(m) == 0 {
		return b
	}
	var buf [16]string // MaxMetadata is larger, but most entries carry a few pairs
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	// Insertion sort: metadata has a few pairs, and for a few strings it
	// beats the general sort.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	for _, k := range keys {
		b = appendStr(b, k)
		b = appendStr(b, m[k])
	}
	return b
}

// Balance is an account's balance in one asset.
type Balance struct {
	Posted int64 // the sum of the account's posted entries
	Held   int64 // reserved by pending holds that debit the account
}

// Available returns Posted - Held, what the account can spend now, and
// false if that overflows.
func (b Balance) Available() (int64, bool) { return sub64(b.Posted, b.Held) }
