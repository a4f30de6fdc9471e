package ledger

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

// binaryEntries are entries of every shape the binary form must carry.
func binaryEntries() []*Entry {
	t1 := time.Date(2026, 8, 3, 9, 30, 0, 123456789, time.UTC)
	return []*Entry{
		{ID: "e1", Kind: KindTransfer, Key: "k", Postings: []Posting{
			{Account: "issuance:p", Asset: Points, Amount: -5}, {Account: "user:u/partner:p", Asset: Points, Amount: 5}},
			Effective: t1, Recorded: t1, Seq: 1},
		{ID: "e2", Kind: KindCommit, Key: "k2", Ref: "e1", Postings: []Posting{
			{Account: "user:u/partner:p", Asset: Points, Amount: -9223372036854775807},
			{Account: "merchant:m", Asset: Points, Amount: 9223372036854775807}},
			Lots:      []LotUse{{Lot: LotID{Entry: "e1", Posting: 1}, Account: "user:u/partner:p", Asset: Points, Amount: 5}},
			Metadata:  map[string]string{"a": "1", "b": "", "order": "所有"},
			Effective: t1.Add(-time.Hour), Recorded: t1, Deadline: t1.Add(time.Minute),
			Fingerprint: Hash{1, 2, 3}, Seq: 1 << 40, PrevHash: Hash{9}, Hash: Hash{7, 7}},
		{ID: "e3", Kind: KindExpiry, Lots: []LotUse{{Lot: LotID{Entry: "e1", Posting: 0}, Account: "user:u", Asset: CNY, Amount: -3}},
			Effective: time.Unix(-62135596800, 0).UTC(), Recorded: time.Unix(0, 1).UTC()},
	}
}

// TestBinaryRoundTrip checks that UnmarshalBinary inverts AppendBinary, and
// that SealAppend seals as Seal does while it appends the same bytes.
func TestBinaryRoundTrip(t *testing.T) {
	for _, e := range binaryEntries() {
		b, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Entry
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("entry %s: %v", e.ID, err)
		}
		if !reflect.DeepEqual(&got, e) {
			t.Errorf("entry %s: round trip gives\n%+v\nwant\n%+v", e.ID, got, *e)
		}

		sealed, appended := *e, *e
		NewSealer().Seal(&sealed, 42, Hash{5})
		out := NewSealer().SealAppend([]byte("prefix"), &appended, 42, Hash{5})
		if appended.Hash != sealed.Hash || appended.Seq != 42 || appended.PrevHash != (Hash{5}) {
			t.Errorf("entry %s: SealAppend sealed as seq %d, prev %v, hash %v; Seal gave hash %v",
				e.ID, appended.Seq, appended.PrevHash, appended.Hash, sealed.Hash)
		}
		want, _ := sealed.AppendBinary([]byte("prefix"))
		if !bytes.Equal(out, want) {
			t.Errorf("entry %s: SealAppend appended %x, want %x", e.ID, out, want)
		}
	}
}

// TestUnmarshalBinaryRejects checks that malformed forms get
// ErrMalformedEntry and leave the entry unchanged.
func TestUnmarshalBinaryRejects(t *testing.T) {
	good, _ := binaryEntries()[1].MarshalBinary()
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := map[string][]byte{
		"empty":          {},
		"truncated":      good[:len(good)-1],
		"trailing bytes": append(bytes.Clone(good), 0),
		"version":        mutate(func(b []byte) []byte { b[32] = 9; return b }),
		"kind":           mutate(func(b []byte) []byte { b[33] = 0; return b }),
		"zero time set": func() []byte {
			e := *binaryEntries()[0]
			b, _ := e.MarshalBinary()
			// The Deadline, zero, is the last time: before the fingerprint
			// and the hash. Flag it set, at the zero time's instant.
			i := len(b) - 64 - 1
			zero := []byte{1, 0xff, 0xff, 0xff, 0xf1, 0x88, 0x6e, 0x09, 0x00, 0, 0, 0, 0}
			return append(append(b[:i:i], zero...), b[i+1:]...)
		}(),
		"huge count": mutate(func(b []byte) []byte {
			// The postings count follows version, kind, seq and three strings.
			i := 32 + 2 + 8
			for range 3 {
				i += 4 + int(b[i+3])
			}
			copy(b[i:], []byte{0xff, 0xff, 0xff, 0xff})
			return b
		}),
	}
	for name, b := range cases {
		e := Entry{ID: "unchanged"}
		err := e.UnmarshalBinary(b)
		if !errors.Is(err, ErrMalformedEntry) {
			t.Errorf("%s: %v, want ErrMalformedEntry", name, err)
		}
		if e.ID != "unchanged" {
			t.Errorf("%s: entry changed to %+v", name, e)
		}
	}
}

// FuzzUnmarshalBinary feeds arbitrary bytes to UnmarshalBinary: it must not
// panic, and whatever it accepts must encode back to the same bytes (the
// form is canonical).
func FuzzUnmarshalBinary(f *testing.F) {
	for _, e := range binaryEntries() {
		b, _ := e.MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if err := e.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrMalformedEntry) {
				t.Fatalf("error %v is not ErrMalformedEntry", err)
			}
			return
		}
		again, _ := e.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted %x but it encodes back as %x", b, again)
		}
	})
}
