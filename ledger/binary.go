package ledger

import (
	"crypto/sha256"
	"strconv"
	"time"
)

// The binary form of an entry is its PrevHash, its canonical encoding (the
// bytes its Hash covers after PrevHash) and its Hash: a store can keep
// entries as bytes, and the chain link of each is checked by hashing all
// but its last 32 bytes. Sealer.SealAppend writes it as it seals.

// AppendBinary implements encoding.BinaryAppender: it appends e's binary
// form to b.
func (e *Entry) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, e.PrevHash[:]...)
	b = appendEntry(b, e)
	return append(b, e.Hash[:]...), nil
}

// MarshalBinary implements encoding.BinaryMarshaler.
func (e *Entry) MarshalBinary() ([]byte, error) { return e.AppendBinary(nil) }

// SealAppend seals e as Seal does and appends its binary form to dst,
// hashing the bytes it appends rather than encoding the entry twice.
func (s *Sealer) SealAppend(dst []byte, e *Entry, seq uint64, prev Hash) []byte {
	e.Seq, e.PrevHash = seq, prev
	start := len(dst)
	dst = appendEntry(append(dst, prev[:]...), e)
	e.Hash = sha256.Sum256(dst[start:])
	return append(dst, e.Hash[:]...)
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler: it sets e from
// its binary form, checking the form strictly (the version, every length
// against the bytes left, the kind, times, metadata keys in sorted order,
// no trailing bytes) but not the hash: VerifyChain does that. The strings
// of the result share one copy of data; its slices and map are new.
// Errors: an *Error of kind ErrMalformedEntry; e is then unchanged.
func (e *Entry) UnmarshalBinary(data []byte) error {
	d := entryDecoder{s: string(data)}
	var x Entry
	d.hash(&x.PrevHash)
	if v := d.byte(); v != encodingVersion && d.err == nil {
		d.fail("version " + strconv.Itoa(int(v)))
	}
	x.Kind = EntryKind(d.byte())
	if x.Kind.String() == "invalid" && d.err == nil {
		d.fail("kind " + strconv.Itoa(int(x.Kind)))
	}
	x.Seq = d.u64()
	x.ID = EntryID(d.str())
	x.Key = d.str()
	x.Ref = EntryID(d.str())
	if n := d.count(postingSize); n > 0 {
		x.Postings = make([]Posting, n)
		for i := range x.Postings {
			x.Postings[i] = Posting{Account: AccountID(d.str()), Asset: Asset(d.str()), Amount: int64(d.u64())}
		}
	}
	if n := d.count(lotUseSize); n > 0 {
		x.Lots = make([]LotUse, n)
		for i := range x.Lots {
			u := &x.Lots[i]
			u.Lot.Entry = EntryID(d.str())
			u.Lot.Posting = int(d.u32())
			u.Account = AccountID(d.str())
			u.Asset = Asset(d.str())
			u.Amount = int64(d.u64())
		}
	}
	if n := d.count(8); n > 0 {
		x.Metadata = make(map[string]string, n)
		prev := ""
		for i := range n {
			k, v := d.str(), d.str()
			if i > 0 && k <= prev && d.err == nil {
				d.fail("metadata keys out of order")
			}
			x.Metadata[k], prev = v, k
		}
	}
	x.Effective, x.Recorded, x.Deadline = d.time(), d.time(), d.time()
	d.hash(&x.Fingerprint)
	d.hash(&x.Hash)
	if d.err == nil && len(d.s) > 0 {
		d.fail(strconv.Itoa(len(d.s)) + " trailing bytes")
	}
	if d.err != nil {
		return d.err
	}
	*e = x
	return nil
}

// The fewest bytes a posting and a lot use take in the encoding, to bound
// a count by the bytes left before allocating for it.
const (
	postingSize = 4 + 4 + 8
	lotUseSize  = 4 + 4 + 4 + 4 + 8
)

// entryDecoder reads the binary form. After the first error every read
// returns a zero value, so the caller checks err once.
type entryDecoder struct {
	s   string // what is left
	err error
}

func (d *entryDecoder) fail(what string) {
	if d.err == nil {
		d.err = newErr("UnmarshalBinary", ErrMalformedEntry, what)
		d.s = ""
	}
}

func (d *entryDecoder) take(n int) string {
	if d.err != nil {
		return ""
	}
	if n < 0 || n > len(d.s) {
		d.fail("truncated")
		return ""
	}
	v := d.s[:n]
	d.s = d.s[n:]
	return v
}

func (d *entryDecoder) byte() byte {
	if v := d.take(1); v != "" {
		return v[0]
	}
	return 0
}

func (d *entryDecoder) u32() uint32 {
	if v := d.take(4); v != "" {
		return uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	}
	return 0
}

func (d *entryDecoder) u64() uint64 {
	if v := d.take(8); v != "" {
		return uint64(v[0])<<56 | uint64(v[1])<<48 | uint64(v[2])<<40 | uint64(v[3])<<32 |
			uint64(v[4])<<24 | uint64(v[5])<<16 | uint64(v[6])<<8 | uint64(v[7])
	}
	return 0
}

func (d *entryDecoder) str() string { return d.take(int(d.u32())) }

func (d *entryDecoder) hash(h *Hash) { copy(h[:], d.take(len(h))) }

// count reads a count of items that take at least min bytes each.
func (d *entryDecoder) count(min int) int {
	n := d.u32()
	if uint64(n)*uint64(min) > uint64(len(d.s)) {
		d.fail("count " + strconv.FormatUint(uint64(n), 10) + " exceeds the bytes left")
		return 0
	}
	return int(n)
}

func (d *entryDecoder) time() time.Time {
	switch d.byte() {
	case 0:
		return time.Time{}
	case 1:
		sec, nsec := int64(d.u64()), d.u32()
		if nsec >= 1_000_000_000 {
			d.fail("nanoseconds " + strconv.FormatUint(uint64(nsec), 10))
			return time.Time{}
		}
		t := time.Unix(sec, int64(nsec)).UTC()
		if t.IsZero() {
			d.fail("zero time flagged as set") // the zero time has its own flag
		}
		return t
	}
	d.fail("time flag")
	return time.Time{}
}
