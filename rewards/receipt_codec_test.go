package rewards

import (
	"context"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// fullReceipt returns a record with every Receipt field set to a value of
// its own (Replayed aside, which no store keeps), found by reflection, so
// that a field added to Receipt and forgotten by the codec fails
// TestReceiptCodecKeepsEveryField.
func fullReceipt(t *testing.T) ReceiptRecord {
	t.Helper()
	rec := ReceiptRecord{Pending: true}
	v := reflect.ValueOf(&rec.Receipt).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch f.Interface().(type) {
		case time.Time:
			at := time.Date(2026, 8, 3, 10, 4, 5, 123456789, time.UTC).Add(time.Duration(i) * time.Hour)
			f.Set(reflect.ValueOf(at.In(time.FixedZone("UTC+8", 8*3600))))
		case decimal.Decimal:
			f.Set(reflect.ValueOf(decimal.RequireFromString("1.25")))
		case carbon.Mass:
			f.Set(reflect.ValueOf(carbon.Grams(decimal.RequireFromString("1234.567"))))
		default:
			switch f.Kind() {
			case reflect.String:
				f.SetString("v-" + strings.ToLower(name))
			case reflect.Int64:
				f.SetInt(int64(1000 + i))
			case reflect.Bool:
				f.SetBool(name != "Replayed")
			default:
				t.Fatalf("Receipt.%s: the test does not know kind %s", name, f.Kind())
			}
		}
	}
	rec.Receipt.ResultDigest = strings.Repeat("0123456789abcdef", 4)
	return rec
}

// requireSameReceipt checks that got holds want's every field, comparing
// times, decimals and masses by value.
func requireSameReceipt(t *testing.T, want, got ReceiptRecord) {
	t.Helper()
	require.Equal(t, want.Pending, got.Pending)
	w, g := reflect.ValueOf(want.Receipt), reflect.ValueOf(got.Receipt)
	for i := range w.NumField() {
		name := w.Type().Field(i).Name
		switch wf := w.Field(i).Interface().(type) {
		case time.Time:
			require.True(t, wf.Equal(g.Field(i).Interface().(time.Time)), "Receipt.%s: %v, want %v", name, g.Field(i), wf)
		case decimal.Decimal:
			require.True(t, wf.Equal(g.Field(i).Interface().(decimal.Decimal)), "Receipt.%s: %v, want %v", name, g.Field(i), wf)
		case carbon.Mass:
			require.True(t, wf.Equal(g.Field(i).Interface().(carbon.Mass)), "Receipt.%s: %v, want %v", name, g.Field(i), wf)
		default:
			require.Equal(t, w.Field(i).Interface(), g.Field(i).Interface(), "Receipt.%s", name)
		}
	}
}

func TestReceiptCodecKeepsEveryField(t *testing.T) {
	for _, digest := range []string{"", "not hex", strings.Repeat("AB", 32), strings.Repeat("0f", 32)} {
		rec := fullReceipt(t)
		rec.Receipt.Fingerprint = digest
		rec.Receipt.Replayed = false
		got, err := storedReceipt(appendReceiptRecord(nil, &rec, 0)).decode()
		require.NoError(t, err)
		requireSameReceipt(t, rec, got)
		require.Equal(t, time.UTC, got.Receipt.OccurredAt.Location(), "times come back in UTC")
	}
}

func TestReceiptCodecRejectsTruncatedRecords(t *testing.T) {
	rec := fullReceipt(t)
	enc := appendReceiptRecord(nil, &rec, 0)
	for n := 0; n < len(enc); n++ {
		_, err := storedReceipt(enc[:n]).decode()
		require.ErrorIs(t, err, errCorrupt, "%d of %d bytes", n, len(enc))
	}
}

// TestMemReceiptStoreRefusesWhatItCannotReadBack offers records whose
// decimals the codec would write out but not parse back (1e1000 has 1001
// digits in plain notation): each is refused, and the one at the edge of
// the range is kept and read back. Accepted before, such a record made its
// activity's every replay fail for good.
func TestMemReceiptStoreRefusesWhatItCannotReadBack(t *testing.T) {
	ctx := context.Background()
	s := NewMemReceiptStore()
	for i, m := range []decimal.Decimal{decimal.New(1, 1000), decimal.New(123, 998)} {
		rec := fullReceipt(t)
		rec.Receipt.ActivityID = "far-" + strconv.Itoa(i)
		rec.Receipt.Multiplier = m
		_, _, err := s.InsertReceipt(ctx, rec)
		require.ErrorIs(t, err, ErrInvalidArgument, "multiplier %d digits, exponent %d", m.NumDigits(), m.Exponent())
	}
	rec := fullReceipt(t)
	rec.Receipt.Replayed = false
	rec.Receipt.ActivityID = "edge"
	rec.Receipt.Multiplier = decimal.New(1, 999)
	_, inserted, err := s.InsertReceipt(ctx, rec)
	require.NoError(t, err)
	require.True(t, inserted)
	got, found, err := s.Receipt(ctx, rec.Receipt.Partner, "edge")
	require.NoError(t, err)
	require.True(t, found)
	requireSameReceipt(t, rec, got)
}

func TestMemReceiptStoreKeepsRecords(t *testing.T) {
	ctx := context.Background()
	s := NewMemReceiptStore()
	want := map[string]ReceiptRecord{}
	for i := range 5000 {
		rec := fullReceipt(t)
		rec.Receipt.Replayed = false
		rec.Receipt.ActivityID = "a-" + strconv.Itoa(i)
		rec.Receipt.Entry = ""
		rec.Receipt.Points = carbon.Points(i)
		_, inserted, err := s.InsertReceipt(ctx, rec)
		require.NoError(t, err)
		require.True(t, inserted)
		if i%3 == 0 {
			// Some entry IDs fit the room kept for them, others not.
			entry := ledger.EntryID(strings.Repeat("e", i%(2*entryRoom)+1))
			at := time.Date(2026, 8, 3, 0, 0, i, 0, time.UTC)
			require.NoError(t, s.CompleteReceipt(ctx, rec.Receipt.Partner, rec.Receipt.ActivityID, entry, at))
			rec.Pending, rec.Receipt.Entry, rec.Receipt.CreditedAt = false, entry, at
		}
		want[rec.Receipt.ActivityID] = rec
	}
	for id, rec := range want {
		got, found, err := s.Receipt(ctx, rec.Receipt.Partner, id)
		require.NoError(t, err)
		require.True(t, found, id)
		requireSameReceipt(t, rec, got)
	}

	// A deleted pending record frees its key for the next one.
	rec := want["a-1"]
	require.NoError(t, s.DeletePendingReceipt(ctx, rec.Receipt.Partner, "a-1"))
	_, found, err := s.Receipt(ctx, rec.Receipt.Partner, "a-1")
	require.NoError(t, err)
	require.False(t, found)
	require.ErrorIs(t, s.CompleteReceipt(ctx, rec.Receipt.Partner, "a-1", "e", time.Now()), ErrInvalidArgument)
	rec.Receipt.Points = 77
	_, inserted, err := s.InsertReceipt(ctx, rec)
	require.NoError(t, err)
	require.True(t, inserted)
	got, found, err := s.Receipt(ctx, rec.Receipt.Partner, "a-1")
	require.NoError(t, err)
	require.True(t, found)
	requireSameReceipt(t, rec, got)

	long := ledger.EntryID(strings.Repeat("e", maxEntryLen+1))
	require.ErrorIs(t, s.CompleteReceipt(ctx, rec.Receipt.Partner, "a-1", long, time.Now()), ErrInvalidArgument)
	rec.Receipt.ActivityID, rec.Receipt.Entry = "a-long", long
	_, _, err = s.InsertReceipt(ctx, rec)
	require.ErrorIs(t, err, ErrInvalidArgument)
	rec.Receipt.Entry = ""
	rec.Receipt.Reduction = carbon.Grams(decimal.New(1, 5000)) // would not read back
	_, _, err = s.InsertReceipt(ctx, rec)
	require.ErrorIs(t, err, ErrInvalidArgument)
}

// keyTable.remove leaves every other key where a probe from its home finds
// it, whatever clusters and wrap-arounds the removal crosses: a random mix
// of inserts and removes over a small table, against a model.
func TestKeyTableRemove(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var tab keyTable
	tab.grow()
	model := map[uint64]uint64{} // hash -> ref
	find := func(h uint64) (int, bool) {
		mask := len(tab.slots) - 1
		for i := int(h) & mask; ; i = (i + 1) & mask {
			switch tab.slots[i].hash {
			case 0:
				return i, false
			case h:
				return i, true
			}
		}
	}
	for step := range 20_000 {
		// Few distinct home slots, so that clusters are long and wrap.
		h := uint64(rng.IntN(64))<<8 | uint64(rng.IntN(16)) + 1
		if i, ok := find(h); ok {
			tab.remove(i)
			delete(model, h)
		} else if (tab.used+1)*4 <= len(tab.slots)*3 {
			tab.slots[i] = keySlot{hash: h, ref: uint64(step)}
			tab.used++
			model[h] = uint64(step)
		}
		if step%97 == 0 {
			require.Equal(t, len(model), tab.used)
			for h, ref := range model {
				i, ok := find(h)
				require.True(t, ok, "step %d: hash %x lost", step, h)
				require.Equal(t, ref, tab.slots[i].ref)
			}
		}
	}
}

// A pending receipt deleted right after it was inserted, as a credit that
// definitely failed is, leaves nothing behind: the store's chunks and table
// are as they were, however many come and go.
func TestMemReceiptStoreDeleteLeavesNothing(t *testing.T) {
	ctx := context.Background()
	s := NewMemReceiptStore()
	rec := fullReceipt(t)
	rec.Receipt.Replayed = false
	for i := range 100 {
		rec.Receipt.ActivityID = "kept-" + strconv.Itoa(i)
		_, _, err := s.InsertReceipt(ctx, rec)
		require.NoError(t, err)
	}
	size := func() (bytes, slots int) {
		for i := range s.shards {
			sh := &s.shards[i]
			for _, c := range sh.recs.list {
				bytes += len(c)
			}
			slots += sh.tab.used
		}
		return bytes, slots
	}
	bytes, slots := size()
	for i := range 10_000 {
		rec.Receipt.ActivityID = "failed-" + strconv.Itoa(i)
		_, inserted, err := s.InsertReceipt(ctx, rec)
		require.NoError(t, err)
		require.True(t, inserted)
		require.NoError(t, s.DeletePendingReceipt(ctx, rec.Receipt.Partner, rec.Receipt.ActivityID))
	}
	gotBytes, gotSlots := size()
	require.Equal(t, bytes, gotBytes)
	require.Equal(t, slots, gotSlots)
	for i := range 100 {
		_, found, err := s.Receipt(ctx, rec.Receipt.Partner, "kept-"+strconv.Itoa(i))
		require.NoError(t, err)
		require.True(t, found)
	}
}

// FuzzReceiptCodec round-trips receipts with arbitrary strings, times and
// numbers through MemReceiptStore's encoding, and decodes arbitrary bytes
// without panicking.
func FuzzReceiptCodec(f *testing.F) {
	f.Add("a1", "p1", strings.Repeat("ab", 32), "1.5", int64(1), int64(1_700_000_000), uint32(5), true, []byte{0, 0, 40, 0, 0})
	f.Add("", "\xff", "ABCD", "-0.000001", int64(-5), int64(-62135596800), uint32(999_999_999), false, []byte{})
	f.Fuzz(func(t *testing.T, id, s, digest, num string, n, sec int64, nsec uint32, pending bool, junk []byte) {
		// Whatever bytes it is given, decode fails or returns a record.
		_, _ = storedReceipt(junk).decode()
		_, _ = storedReceipt(append(junk, make([]byte, headerLen(entryRoom))...)).decode()

		d, err := decimal.NewFromString(num)
		if err != nil || !dec.InRange(d) || len(id)+len(s) > maxEntryLen {
			return // not a receipt MemReceiptStore takes
		}
		at := time.Unix(sec, int64(nsec%1_000_000_000)).UTC()
		rec := ReceiptRecord{Pending: pending, Receipt: Receipt{
			ActivityID: id, Partner: carbon.PartnerID(s), User: carbon.UserID(s + id), Scenario: carbon.Scenario(num),
			Region: carbon.Region(s), OccurredAt: at, Entry: ledger.EntryID(id + s), CreditedAt: at.Add(time.Duration(n)),
			Points: carbon.Points(n), Reduction: carbon.Grams(d), Methodology: s, ResultDigest: digest, Policy: id,
			BasePoints: carbon.Points(-n), Multiplier: d, Campaign: digest, Uncapped: carbon.Points(n / 2), Capped: Cap(s),
			Fingerprint: digest, Reversal: !pending,
		}}
		got, err := storedReceipt(appendReceiptRecord(nil, &rec, 0)).decode()
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		requireSameReceipt(t, rec, got)
	})
}
