package pgstore

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/carbonkit/carbonkit/ledger"
)

// An entry's body column holds everything but its ID, Seq and hashes in a
// compact binary encoding: a format version byte, then the fields in order,
// every integer fixed-width big-endian, every string and list
// length-prefixed, times as a presence byte and Unix seconds and
// nanoseconds (exact to the nanosecond, which the hash chain needs and
// timestamptz cannot hold). A reader refuses a version it does not know.
const bodyVersion = 1

// errCorrupt reports a body that does not decode; errCorruptSeal, a
// sealed entry's feed row (seq, prev_hash, hash) or the chain head's hash
// that is malformed.
var (
	errCorrupt     = errors.New("pgstore: corrupt entry body")
	errCorruptSeal = errors.New("pgstore: corrupt seal (ledger_feed or ledger_chain)")
)

func encodeBody(b []byte, e *ledger.Entry) []byte {
	b = append(b, bodyVersion, byte(e.Kind))
	b = putStr(b, e.Key)
	b = putStr(b, string(e.Ref))
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Postings)))
	for _, p := range e.Postings {
		b = putStr(b, string(p.Account))
		b = putStr(b, string(p.Asset))
		b = binary.BigEndian.AppendUint64(b, uint64(p.Amount))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Lots)))
	for _, u := range e.Lots {
		b = putStr(b, string(u.Lot.Entry))
		b = binary.BigEndian.AppendUint32(b, uint32(u.Lot.Posting))
		b = putStr(b, string(u.Account))
		b = putStr(b, string(u.Asset))
		b = binary.BigEndian.AppendUint64(b, uint64(u.Amount))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(e.Metadata)))
	for k, v := range e.Metadata {
		b = putStr(b, k)
		b = putStr(b, v)
	}
	b = putTime(b, e.Effective)
	b = putTime(b, e.Recorded)
	b = putTime(b, e.Deadline)
	return append(b, e.Fingerprint[:]...)
}

func putStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func putTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// decodeBody fills e (whose ID the caller sets) from a body.
func decodeBody(b []byte, e *ledger.Entry) error {
	d := decoder{b: b}
	if d.byte() != bodyVersion {
		return errCorrupt
	}
	e.Kind = ledger.EntryKind(d.byte())
	e.Key = d.str()
	e.Ref = ledger.EntryID(d.str())
	if n := d.count(8 + 8); n > 0 {
		e.Postings = make([]ledger.Posting, n)
		for i := range e.Postings {
			e.Postings[i] = ledger.Posting{Account: ledger.AccountID(d.str()), Asset: ledger.Asset(d.str()), Amount: int64(d.u64())}
		}
	}
	if n := d.count(4 + 4 + 4 + 4 + 8); n > 0 {
		e.Lots = make([]ledger.LotUse, n)
		for i := range e.Lots {
			u := &e.Lots[i]
			u.Lot.Entry = ledger.EntryID(d.str())
			u.Lot.Posting = int(d.u32())
			u.Account = ledger.AccountID(d.str())
			u.Asset = ledger.Asset(d.str())
			u.Amount = int64(d.u64())
		}
	}
	if n := d.count(8); n > 0 {
		e.Metadata = make(map[string]string, n)
		for range n {
			k := d.str()
			e.Metadata[k] = d.str()
		}
	}
	e.Effective = d.time()
	e.Recorded = d.time()
	e.Deadline = d.time()
	copy(e.Fingerprint[:], d.take(len(e.Fingerprint)))
	if d.bad || len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}

// decoder reads a body; on a short or malformed input it sets bad and
// returns zero values from then on.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b) {
		d.bad = true
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) byte() byte {
	if s := d.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if s := d.take(4); s != nil {
		return binary.BigEndian.Uint32(s)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if s := d.take(8); s != nil {
		return binary.BigEndian.Uint64(s)
	}
	return 0
}

func (d *decoder) str() string { return string(d.take(int(d.u32()))) }

// count reads a list length, refusing one that the remaining bytes cannot
// hold at min bytes per item (so a corrupt length cannot allocate much).
func (d *decoder) count(min int) int {
	n := int(d.u32())
	if d.bad || n > len(d.b)/min {
		d.bad = true
		return 0
	}
	return n
}

func (d *decoder) time() time.Time {
	if d.byte() == 0 {
		return time.Time{}
	}
	s, ns := int64(d.u64()), d.u32()
	if ns >= 1_000_000_000 {
		d.bad = true
		return time.Time{}
	}
	return time.Unix(s, int64(ns)).UTC()
}
