package rewards

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/carbonkit/carbonkit/internal/dec"
	"github.com/carbonkit/carbonkit/ledger"
	"github.com/shopspring/decimal"
)

// The integer fast paths of the Earn path must agree exactly with the
// decimal arithmetic they stand in for, whichever of them answers.

// fastPathDecimals returns decimals around the edges the fast paths care
// about: zero, signs, exponents near and beyond what a uint64 scales to,
// coefficients near the int64 limits, and random values.
func fastPathDecimals(rng *rand.Rand) []decimal.Decimal {
	var out []decimal.Decimal
	coefs := []int64{0, 1, -1, 7, 10, 999, 1000, -1000, 123456789, 999_999_999_999_999_999, -999_999_999_999_999_999,
		1_000_000_000_000_000_000, math.MaxInt64, math.MinInt64, math.MaxInt64 / 1000, math.MinInt64 / 1000}
	for _, c := range coefs {
		for _, e := range []int32{-40, -22, -21, -20, -19, -18, -4, -3, -2, -1, 0, 1, 2, 3, 15, 16, 17, 18, 19, 20, 40} {
			out = append(out, decimal.New(c, e))
		}
	}
	for range 3000 {
		c := rng.Int64N(1 << uint(rng.IntN(63)))
		if rng.IntN(4) == 0 {
			c = -c
		}
		out = append(out, decimal.New(c, int32(rng.IntN(50)-25)))
	}
	// A coefficient beyond int64.
	big, _ := dec.Parse("123456789012345678901234567890.125")
	return append(out, big, big.Neg())
}

// slowWholeMg is wholeMg in decimals alone, as it was before its fast path.
func slowWholeMg(m carbon.Mass) (int64, bool) {
	mg := m.Grams().Shift(3)
	if !mg.IsInteger() || mg.Cmp(maxInt64Dec) > 0 || mg.Cmp(minInt64Dec) < 0 {
		return 0, false
	}
	return mg.IntPart(), true
}

func TestWholeMgFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, d := range fastPathDecimals(rng) {
		m := carbon.Grams(d)
		got, gotOK := wholeMg(m)
		want, wantOK := slowWholeMg(m)
		if got != want || gotOK != wantOK {
			t.Fatalf("wholeMg(%s) = %d, %v; decimals say %d, %v", dec.Format(d), got, gotOK, want, wantOK)
		}
	}
}

func TestMassMgFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range fastPathDecimals(rng) {
		m := carbon.Grams(d)
		got, gotErr := massMg(m)
		want, wantErr := ledger.MassAmount(m, carbon.TowardZero)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("massMg(%s) = %d, %v; ledger.MassAmount says %d, %v", dec.Format(d), got, gotErr, want, wantErr)
		}
		if wantErr != nil && !errors.Is(gotErr, ledger.ErrOverflow) {
			t.Fatalf("massMg(%s) = %v, want ledger.ErrOverflow", dec.Format(d), gotErr)
		}
	}
}

func TestPointsFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ds := fastPathDecimals(rng)
	rates := []decimal.Decimal{decimal.New(1, 0), decimal.New(5, -1), decimal.New(1, -3), decimal.New(3, -7),
		decimal.New(1_000_000, 0), decimal.New(333333333333333333, -18), decimal.New(7, 2)}
	mults := []decimal.Decimal{one, decimal.New(15, -1), decimal.New(100, 0), decimal.New(1234567, -6), decimal.New(3, -20)}
	for i := range 20_000 {
		er := carbon.Grams(ds[rng.IntN(len(ds))])
		if i%2 == 0 {
			// Mostly what a methodology gives: whole milligrams, not negative.
			er = carbon.Grams(decimal.New(rng.Int64N(1<<uint(rng.IntN(63))), -3))
		}
		p := EarnPolicy{PointsPerGram: rates[rng.IntN(len(rates))]}
		if rng.IntN(3) == 0 {
			p.PointsPerGram = ds[rng.IntN(len(ds))]
		}
		m := mults[rng.IntN(len(mults))]
		if rng.IntN(3) == 0 {
			m = ds[rng.IntN(len(ds))]
		}
		b, v, err := p.points(er, m)
		wb, wv, werr := p.pointsDec(er, m)
		if b != wb || v != wv || (err == nil) != (werr == nil) {
			t.Fatalf("points(%s, rate %s, multiplier %s) = %d, %d, %v; decimals say %d, %d, %v",
				dec.Format(er.Grams()), dec.Format(p.PointsPerGram), dec.Format(m), b, v, err, wb, wv, werr)
		}
	}
}

func TestTimeFormatsFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("X", -(9*3600 + 30*60))}
	times := []time.Time{
		time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1000, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(999, 12, 31, 23, 59, 59, 100, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 120_000_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	}
	for range 5000 {
		ts := time.Unix(rng.Int64N(300*365*86400)-2208988800, rng.Int64N(1_000_000_000)).UTC() // 1900 to 2199
		if rng.IntN(3) == 0 {
			ts = ts.Truncate(time.Duration(1) * [...]time.Duration{time.Second, time.Millisecond, time.Microsecond}[rng.IntN(3)])
		}
		times = append(times, ts)
	}
	for _, ts := range times {
		if got, want := string(appendRFC3339Nano(nil, ts.UTC())), ts.UTC().Format(time.RFC3339Nano); got != want {
			t.Fatalf("appendRFC3339Nano(%v) = %q, want %q", ts, got, want)
		}
		if got, want := string(appendRFC3339Nano(nil, ts.In(zones[1]))), ts.In(zones[1]).Format(time.RFC3339Nano); got != want {
			t.Fatalf("appendRFC3339Nano(%v) = %q, want %q", ts.In(zones[1]), got, want)
		}
		for _, z := range zones {
			if got, want := string(appendDate([]byte("x"), ts.In(z))), "x"+ts.In(z).Format(time.DateOnly); got != want {
				t.Fatalf("appendDate(%v) = %q, want %q", ts.In(z), got, want)
			}
		}
	}
}

// The encodings the Earn path builds in its own buffers must be byte for
// byte what they were: fingerprints and keys are stored, and a replay or a
// rebuilt entry must match them. The functions below are the earlier,
// plainer versions.

func plainFingerprint(a *carbon.Activity) string {
	b := make([]byte, 0, 256)
	str := func(s string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	str("carbonkit.activity/v1")
	str(a.ID)
	str(string(a.Partner))
	str(string(a.User))
	str(string(a.Scenario))
	str(string(a.Region))
	b = binary.BigEndian.AppendUint64(b, uint64(a.OccurredAt.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(a.OccurredAt.Nanosecond()))
	names := make([]string, 0, len(a.Quantities)+len(a.Attributes))
	for k := range a.Quantities {
		names = append(names, k)
	}
	slices.Sort(names)
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	var num [64]byte
	for _, k := range names {
		q := a.Quantities[k]
		str(k)
		str(string(dec.Append(num[:0], q.Value())))
		str(string(q.Unit()))
	}
	names = names[:0]
	for k := range a.Attributes {
		names = append(names, k)
	}
	slices.Sort(names)
	b = binary.BigEndian.AppendUint32(b, uint32(len(names)))
	for _, k := range names {
		str(k)
		str(a.Attributes[k])
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func plainEarnMeta(r *Receipt) map[string]string {
	pol := make([]byte, 0, 96)
	pol = append(pol, r.Policy...)
	pol = append(pol, " base="...)
	pol = strconv.AppendInt(pol, int64(r.BasePoints), 10)
	pol = append(pol, " multiplier="...)
	pol = dec.Append(pol, r.Multiplier)
	if r.Campaign != "" {
		pol = append(pol, " campaign="...)
		pol = append(pol, r.Campaign...)
	}
	pol = append(pol, " uncapped="...)
	pol = strconv.AppendInt(pol, int64(r.Uncapped), 10)
	if r.Capped != CapNone {
		pol = append(pol, " capped="...)
		pol = append(pol, r.Capped...)
	}
	return map[string]string{
		metaKind: kindEarn, metaActivity: r.ActivityID, metaScenario: string(r.Scenario), metaRegion: string(r.Region),
		metaOccurred:    r.OccurredAt.UTC().Format(time.RFC3339Nano),
		metaMethodology: r.Methodology + " " + r.ResultDigest,
		metaPolicy:      string(pol),
		metaFingerprint: r.Fingerprint,
	}
}

func TestEarnEncodingsUnchanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	units := []string{"km", "kWh", "order", "item", "kg"}
	for i := range 2000 {
		a := carbon.Activity{ID: "act-" + strconv.Itoa(i), Partner: carbon.PartnerID("p" + strconv.Itoa(rng.IntN(5))),
			User: carbon.UserID("u" + strconv.Itoa(rng.IntN(100))), Scenario: "transport.metro", Region: carbon.Guangdong,
			OccurredAt: time.Unix(rng.Int64N(4_000_000_000), rng.Int64N(1_000_000_000)).In(time.FixedZone("Z", 3600*rng.IntN(12)))}
		// Up to 12 quantities and attributes: more than the names' stack
		// buffer holds.
		for j := range rng.IntN(13) {
			q, err := carbon.ParseQuantity(fmt.Sprintf("%d.%d %s", rng.IntN(1000), rng.IntN(100), units[rng.IntN(len(units))]))
			if err != nil {
				t.Fatal(err)
			}
			if a.Quantities == nil {
				a.Quantities = map[string]carbon.Quantity{}
			}
			a.Quantities["q"+strconv.Itoa(j)] = q
		}
		for j := range rng.IntN(13) {
			if a.Attributes == nil {
				a.Attributes = map[string]string{}
			}
			a.Attributes["a"+strconv.Itoa(j)] = string(make([]byte, rng.IntN(300)))
		}
		if got, want := activityFingerprint(&a), plainFingerprint(&a); got != want {
			t.Fatalf("activity %d: fingerprint %s, was %s", i, got, want)
		}
		if got, want := EarnKey(a.Partner, a.ID), "earn-"+subjectHash(string(a.Partner), a.ID); got != want {
			t.Fatalf("activity %d: EarnKey %s, was %s", i, got, want)
		}
		r := Receipt{ActivityID: a.ID, Partner: a.Partner, User: a.User, Scenario: a.Scenario, Region: a.Region,
			OccurredAt: a.OccurredAt, Methodology: "transport.metro@1", ResultDigest: strconv.Itoa(rng.IntN(1 << 30)),
			Policy: "base@1", BasePoints: carbon.Points(rng.IntN(1000)), Multiplier: decimal.New(int64(10+rng.IntN(20)), -1),
			Uncapped: carbon.Points(rng.IntN(1000)), Fingerprint: activityFingerprint(&a)}
		if i%3 == 0 {
			r.Campaign = "gd"
		}
		if i%4 == 0 {
			r.Capped = CapDaily
		}
		if got, want := earnMeta(&r), plainEarnMeta(&r); !maps.Equal(got, want) {
			t.Fatalf("activity %d: metadata %v, was %v", i, got, want)
		}
	}
}
