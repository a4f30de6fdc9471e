package rewards

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"time"
	"unsafe"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/shopspring/decimal"
)

// storedReceipt is a ReceiptRecord as MemReceiptStore keeps it. The part
// that completing a record changes comes first, at fixed offsets, so that
// it changes in place:
//
//	flags       1 byte: pending, reversal
//	room        2 bytes: the bytes kept for the entry ID
//	entry       2 bytes of length, then room bytes
//	credited    8 bytes of Unix seconds, 4 of nanoseconds
//
// then the key, which lookups compare (partner, activity ID), and the rest
// of the receipt, in Receipt's field order. Strings are a uvarint length
// and their bytes; integers are varints; decimals are strings in plain
// notation (dec.Append); a digest of 64 lower-case hex digits is its 32
// bytes, after a tag byte. Replayed is never stored.
type storedReceipt []byte

const (
	receiptPending  = 1 << iota // the credit may not have been posted yet
	receiptReversal             // Receipt.Reversal
)

// entryRoom is the least room a record keeps for its entry ID: enough for
// the IDs the ledger makes, so that completing a record never moves it.
const entryRoom = 40

// headerLen is the length of a record's fixed part, whose entry has room
// bytes.
func headerLen(room int) int { return 1 + 2 + 2 + room + 12 }

// errCorrupt is returned for a stored record that does not decode: never,
// unless memory was overwritten.
var errCorrupt = errors.New("rewards: a stored receipt does not decode")

// maxEntryLen is the longest entry ID a record holds.
const maxEntryLen = math.MaxUint16

// appendReceiptRecord appends rec's encoding to b, with room for an entry
// ID of max(entryRoom, room, len(rec.Receipt.Entry)) bytes, at most
// maxEntryLen.
func appendReceiptRecord(b []byte, rec *ReceiptRecord, room int) []byte {
	r := &rec.Receipt
	room = max(room, entryRoom, len(r.Entry))
	var flags byte
	if rec.Pending {
		flags |= receiptPending
	}
	if r.Reversal {
		flags |= receiptReversal
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint16(b, uint16(room))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Entry)))
	b = append(b, r.Entry...)
	b = append(b, make([]byte, room-len(r.Entry))...)
	b = appendTimeBin(b, r.CreditedAt)
	b = appendStrBin(b, string(r.Partner))
	b = appendStrBin(b, r.ActivityID)
	b = appendStrBin(b, string(r.User))
	b = appendStrBin(b, string(r.Scenario))
	b = appendStrBin(b, string(r.Region))
	b = appendTimeBin(b, r.OccurredAt)
	b = binary.AppendVarint(b, int64(r.Points))
	b = appendDecBin(b, r.Reduction.Grams())
	b = appendStrBin(b, r.Methodology)
	b = appendDigestBin(b, r.ResultDigest)
	b = appendStrBin(b, r.Policy)
	b = binary.AppendVarint(b, int64(r.BasePoints))
	b = appendDecBin(b, r.Multiplier)
	b = appendStrBin(b, r.Campaign)
	b = binary.AppendVarint(b, int64(r.Uncapped))
	b = appendStrBin(b, string(r.Capped))
	return appendDigestBin(b, r.Fingerprint)
}

func (s storedReceipt) pending() bool { return s[0]&receiptPending != 0 }
func (s storedReceipt) room() int     { return int(binary.BigEndian.Uint16(s[1:])) }

// is reports whether s is the record of partner's activity ID.
func (s storedReceipt) is(partner carbon.PartnerID, activityID string) bool {
	d := receiptDecoder{b: s[headerLen(s.room()):]}
	return string(d.raw()) == string(partner) && string(d.raw()) == activityID && !d.bad
}

// complete records entry and credited and clears the pending flag, in
// place, if the record has room for entry; otherwise it changes nothing and
// returns false.
func (s storedReceipt) complete(entry ledger.EntryID, credited time.Time) bool {
	room := s.room()
	if len(entry) > room {
		return false
	}
	binary.BigEndian.PutUint16(s[3:], uint16(len(entry)))
	copy(s[5:5+room], entry)
	putTimeBin(s[5+room:], credited)
	s[0] &^= receiptPending
	return true
}

// decode returns the record s holds.
func (s storedReceipt) decode() (ReceiptRecord, error) {
	if len(s) < headerLen(0) {
		return ReceiptRecord{}, errCorrupt
	}
	room := s.room()
	n := int(binary.BigEndian.Uint16(s[3:]))
	if n > room || len(s) < headerLen(room) {
		return ReceiptRecord{}, errCorrupt
	}
	rec := ReceiptRecord{Pending: s.pending()}
	r := &rec.Receipt
	r.Reversal = s[0]&receiptReversal != 0
	r.Entry = ledger.EntryID(s[5 : 5+n])
	d := receiptDecoder{b: s[5+room:]}
	r.CreditedAt = d.time()
	r.Partner = carbon.PartnerID(d.str())
	r.ActivityID = d.str()
	r.User = carbon.UserID(d.str())
	r.Scenario = carbon.Scenario(d.str())
	r.Region = carbon.Region(d.str())
	r.OccurredAt = d.time()
	r.Points = carbon.Points(d.varint())
	r.Reduction = carbon.Grams(d.decimal())
	r.Methodology = d.str()
	r.ResultDigest = d.digest()
	r.Policy = d.str()
	r.BasePoints = carbon.Points(d.varint())
	r.Multiplier = d.decimal()
	r.Campaign = d.str()
	r.Uncapped = carbon.Points(d.varint())
	r.Capped = Cap(d.str())
	r.Fingerprint = d.digest()
	if d.bad || len(d.b) != 0 {
		return ReceiptRecord{}, errCorrupt
	}
	return rec, nil
}

func appendStrBin(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendDecBin appends v's plain notation as a string.
func appendDecBin(b []byte, v decimal.Decimal) []byte {
	var buf [48]byte
	return appendStrBin(b, unsafeString(dec.Append(buf[:0], v)))
}

// appendTimeBin appends t as Unix seconds and nanoseconds, exact for any
// time, the zero one included.
func appendTimeBin(b []byte, t time.Time) []byte {
	var buf [12]byte
	putTimeBin(buf[:], t)
	return append(b, buf[:]...)
}

func putTimeBin(b []byte, t time.Time) {
	binary.BigEndian.PutUint64(b, uint64(t.Unix()))
	binary.BigEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
}

// Digest tags: a digest of 64 lower-case hex digits is kept as its 32
// bytes; anything else as a string.
const (
	digestText = iota
	digestHex
)

func appendDigestBin(b []byte, s string) []byte {
	var sum [32]byte
	if decodeLowerHex(sum[:], s) {
		return append(append(b, digestHex), sum[:]...)
	}
	return appendStrBin(append(b, digestText), s)
}

// unsafeString returns b's bytes as a string, for a string that does not
// outlive b and is not changed while it lives.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// decodeLowerHex decodes s, 2*len(dst) lower-case hex digits, into dst
// and reports whether s was that.
func decodeLowerHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	// hex.Decode only reads its source.
	if _, err := hex.Decode(dst, unsafe.Slice(unsafe.StringData(s), len(s))); err != nil {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' && s[i] > '9' { // an upper-case digit, which would come back lower-case
			return false
		}
	}
	return true
}

// receiptDecoder reads a storedReceipt's fields; past a malformed one it
// sets bad and returns zero values.
type receiptDecoder struct {
	b   []byte
	bad bool
}

func (d *receiptDecoder) take(n uint64) []byte {
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *receiptDecoder) str() string { return string(d.raw()) }

// raw is str without the copy.
func (d *receiptDecoder) raw() []byte {
	n, w := binary.Uvarint(d.b)
	if w <= 0 {
		d.bad = true
		return nil
	}
	d.b = d.b[w:]
	return d.take(n)
}

func (d *receiptDecoder) varint() int64 {
	v, w := binary.Varint(d.b)
	if w <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[w:]
	return v
}

func (d *receiptDecoder) time() time.Time {
	b := d.take(12)
	if b == nil {
		return time.Time{}
	}
	nsec := binary.BigEndian.Uint32(b[8:])
	if nsec >= 1_000_000_000 {
		d.bad = true
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b)), int64(nsec)).UTC()
}

func (d *receiptDecoder) decimal() decimal.Decimal {
	v, err := dec.Parse(d.str())
	if err != nil {
		d.bad = true
	}
	return v
}

func (d *receiptDecoder) digest() string {
	switch tag := d.take(1); {
	case tag == nil:
		return ""
	case tag[0] == digestHex:
		return hex.EncodeToString(d.take(32))
	case tag[0] == digestText:
		return d.str()
	}
	d.bad = true
	return ""
}
