package methodology

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strconv"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/shopspring/decimal"
)

// The canonical encoding that digests are taken over.
//
// An encoding is a sequence of records, each
//
//	tag SP length ":" value LF
//
// where tag is a fixed lower-case ASCII name, length is the decimal byte length
// of value, and value is arbitrary bytes. The length prefix makes the encoding
// unambiguous whatever the value holds (spaces, newlines, colons), so two
// different inputs never encode alike. Values are written as follows:
//
//   - text as its UTF-8 bytes;
//   - decimals in plain notation with no exponent and no trailing fractional
//     zeros ("1.5", "0", "-0.002"), so equal values encode alike whatever their
//     internal scale (dec.Format's rules);
//   - masses as their value in grams, written as a decimal;
//   - integers in decimal;
//   - times in UTC as RFC 3339 with nanoseconds and no trailing zeros
//     (time.RFC3339Nano), and the zero time as the empty value;
//   - units, regions, dimensions and statuses by their text symbols;
//   - a list as a record holding its length, followed by its elements' records.
//
// The first record names the encoding and its version ("carbonkit.result/v1",
// "carbonkit.spec/v1"); an incompatible change gets a new version name, so a
// digest always says which encoding produced it. The fields and their order
// are listed where each encoding is written: encodeSpec and encodeResult.
type canon struct {
	h   hash.Hash
	buf []byte // pending bytes, written to h in chunks
}

// newCanon starts an encoding named version, buffering in buf's spare
// capacity (or a new buffer when buf is nil).
func newCanon(version string, buf []byte) canon {
	if cap(buf) < canonChunk {
		buf = make([]byte, 0, 2*canonChunk)
	}
	c := canon{h: sha256.New(), buf: buf[:0]}
	c.str("encoding", version)
	return c
}

// canonChunk is how many pending bytes are written to the hash at a time.
const canonChunk = 256

func (c *canon) record(tag string, val []byte) {
	c.buf = append(c.buf, tag...)
	c.buf = append(c.buf, ' ')
	c.buf = strconv.AppendInt(c.buf, int64(len(val)), 10)
	c.buf = append(c.buf, ':')
	c.buf = append(c.buf, val...)
	c.buf = append(c.buf, '\n')
	c.flush()
}

func (c *canon) flush() {
	if len(c.buf) >= canonChunk {
		c.h.Write(c.buf)
		c.buf = c.buf[:0]
	}
}

func (c *canon) str(tag, s string) {
	c.buf = append(c.buf, tag...)
	c.buf = append(c.buf, ' ')
	c.buf = strconv.AppendInt(c.buf, int64(len(s)), 10)
	c.buf = append(c.buf, ':')
	c.buf = append(c.buf, s...)
	c.buf = append(c.buf, '\n')
	c.flush()
}

func (c *canon) dec(tag string, d decimal.Decimal) {
	var tmp [64]byte
	c.record(tag, dec.Append(tmp[:0], d))
}

func (c *canon) mass(tag string, m carbon.Mass) { c.dec(tag, m.Grams()) }

func (c *canon) int(tag string, n int) {
	var tmp [20]byte
	c.record(tag, strconv.AppendInt(tmp[:0], int64(n), 10))
}

func (c *canon) bool(tag string, b bool) {
	var tmp [8]byte
	c.record(tag, strconv.AppendBool(tmp[:0], b))
}

func (c *canon) time(tag string, t time.Time) {
	var tmp [64]byte
	v := tmp[:0]
	if !t.IsZero() {
		v = t.UTC().AppendFormat(v, time.RFC3339Nano)
	}
	c.record(tag, v)
}

// sum returns the SHA-256 of the encoding in lower-case hex.
func (c *canon) sum() string {
	c.h.Write(c.buf)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], c.h.Sum(c.buf[:0])) // reuse buf: no allocation
	return string(out[:])
}

// formatDecimal is appendDecimal to a string.
func formatDecimal(d decimal.Decimal) string {
	var buf [32]byte
	return string(dec.Append(buf[:0], d))
}

// maxExponent bounds the exponent and digit count of any decimal this package
// accepts (dec.InRange).
const maxExponent = dec.MaxDigits

// The appenders below write records as canon does, for the encodings that
// are built in one buffer: appendRecord and the others for a whole record,
// appendRec and the others after a tag already written with its space.

// appendRecord appends the record tag: s.
func appendRecord(b []byte, tag, s string) []byte {
	b = append(b, tag...)
	return appendRec(append(b, ' '), "", s)
}

// appendDecimalRecord appends the record of a decimal, as canon.dec does.
func appendDecimalRecord(b []byte, tag string, v value) []byte {
	b = append(b, tag...)
	return appendValue(append(b, ' '), &v)
}

// appendRec appends tagSP (a tag and its space, or nothing), then the
// length of v, a colon, v and a newline.
func appendRec(b []byte, tagSP, v string) []byte {
	b = append(b, tagSP...)
	b = appendLen(b, len(v))
	b = append(b, ':')
	b = append(b, v...)
	return append(b, '\n')
}

// appendRecBytes is appendRec for a value in bytes.
func appendRecBytes(b []byte, tagSP string, v []byte) []byte {
	b = append(b, tagSP...)
	b = appendLen(b, len(v))
	b = append(b, ':')
	b = append(b, v...)
	return append(b, '\n')
}

// appendCount is appendRec for an integer value.
func appendCount(b []byte, tagSP string, n int) []byte {
	b = append(b, tagSP...)
	if n < 10 {
		return append(b, '1', ':', byte('0'+n), '\n')
	}
	var tmp [20]byte
	return appendRecBytes(b, "", strconv.AppendInt(tmp[:0], int64(n), 10))
}

// appendValue is appendRec for a decimal value, after its tag.
func appendValue(b []byte, v *value) []byte {
	var tmp [48]byte
	return appendRecBytes(b, "", v.appendText(tmp[:0]))
}

// appendLen appends n >= 0 in decimal.
func appendLen(b []byte, n int) []byte {
	switch {
	case n < 10:
		return append(b, byte('0'+n))
	case n < 100:
		return append(b, byte('0'+n/10), byte('0'+n%10))
	}
	return strconv.AppendInt(b, int64(n), 10)
}
