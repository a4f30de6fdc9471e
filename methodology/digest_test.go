package methodology

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/stretchr/testify/require"
)

func busActivity(t *testing.T) carbon.Activity {
	t.Helper()
	return activity(t, "transport.bus", q{"distance": "6.4 km"}, q{"line": "B12"})
}

func TestDigestDeterministic(t *testing.T) {
	r := Builtin()
	a := busActivity(t)
	first, err := r.Quantify(a)
	require.NoError(t, err)
	require.Len(t, first.Digest, 64)

	t.Run("twice", func(t *testing.T) {
		again, err := r.Quantify(a)
		require.NoError(t, err)
		require.Equal(t, first.Digest, again.Digest)
	})
	t.Run("another catalog instance", func(t *testing.T) {
		again, err := Builtin().Quantify(a)
		require.NoError(t, err)
		require.Equal(t, first.Digest, again.Digest)
	})
	t.Run("after a JSON round trip of the activity", func(t *testing.T) {
		b, err := json.Marshal(a)
		require.NoError(t, err)
		var back carbon.Activity
		require.NoError(t, json.Unmarshal(b, &back))
		again, err := r.Quantify(back)
		require.NoError(t, err)
		require.Equal(t, first.Digest, again.Digest)
		require.NoError(t, r.Verify(back, first))
	})
	t.Run("same instant in another zone", func(t *testing.T) {
		b := a
		b.OccurredAt = a.OccurredAt.UTC()
		again, err := r.Quantify(b)
		require.NoError(t, err)
		require.Equal(t, first.Digest, again.Digest)
	})
	t.Run("same value at another scale", func(t *testing.T) {
		b := activity(t, "transport.bus", q{"distance": "6.400 km"}, q{"line": "B12"})
		again, err := r.Quantify(b)
		require.NoError(t, err)
		require.Equal(t, first.Digest, again.Digest)
	})
}

func TestDigestChanges(t *testing.T) {
	r := Builtin()
	base, err := r.Quantify(busActivity(t))
	require.NoError(t, err)

	edits := []struct {
		name string
		edit func(a *carbon.Activity)
	}{
		{"id", func(a *carbon.Activity) { a.ID = "evt-0002" }},
		{"partner", func(a *carbon.Activity) { a.Partner = "partner-b" }},
		{"user", func(a *carbon.Activity) { a.User = "u-43" }},
		{"time", func(a *carbon.Activity) { a.OccurredAt = a.OccurredAt.Add(time.Nanosecond) }},
		{"region", func(a *carbon.Activity) { a.Region = carbon.Beijing }},
		{"quantity value", func(a *carbon.Activity) { a.Quantities["distance"], _ = carbon.ParseQuantity("6.5 km") }},
		{"quantity unit", func(a *carbon.Activity) { a.Quantities["distance"], _ = carbon.ParseQuantity("6400 m") }},
		{"extra quantity", func(a *carbon.Activity) { a.Quantities["stops"], _ = carbon.ParseQuantity("3 trip") }},
		{"attribute value", func(a *carbon.Activity) { a.Attributes["line"] = "B13" }},
		{"attribute removed", func(a *carbon.Activity) { a.Attributes = nil }},
	}
	for _, e := range edits {
		t.Run("activity "+e.name, func(t *testing.T) {
			a := busActivity(t)
			e.edit(&a)
			res, err := r.Quantify(a)
			require.NoError(t, err)
			require.NotEqual(t, base.Digest, res.Digest)
			err = r.Verify(a, base)
			require.ErrorIs(t, err, ErrMismatch, "the original result does not verify against the edited activity")
		})
	}

	specEdits := []struct {
		name string
		edit func(s *Spec)
	}{
		{"factor value", func(s *Spec) { s.Factors[0].Value = num("171") }},
		{"factor version", func(s *Spec) { s.Factors[0].Version = "2024" }},
		{"unused factor note", func(s *Spec) { s.Factors[0].Note += " (revised)" }},
		{"methodology version", func(s *Spec) { s.Version = "2024.2" }},
		{"discount", func(s *Spec) { s.Conservativeness.Discount = num("0.05") }},
	}
	for _, e := range specEdits {
		t.Run("spec "+e.name, func(t *testing.T) {
			m, err := r.Get("carbonkit.transport.bus", "2024.1")
			require.NoError(t, err)
			s := m.Spec()
			s.Formula = ""
			e.edit(&s)
			f := Formula{
				BE: []Term{{Quantity: "distance", Factors: []string{"car", "car-occupancy"}}},
				PE: []Term{{Quantity: "distance", Factors: []string{"bus"}}},
			}
			changed := mustDeclarative(t, s, f)
			res, err := changed.Quantify(busActivity(t))
			require.NoError(t, err)
			require.NotEqual(t, base.Digest, res.Digest)
			require.NotEqual(t, base.SpecDigest, res.SpecDigest)
		})
	}
	t.Run("spec unchanged rebuilds to the same digest", func(t *testing.T) {
		m, err := r.Get("carbonkit.transport.bus", "2024.1")
		require.NoError(t, err)
		s := m.Spec()
		s.Formula = ""
		same := mustDeclarative(t, s, Formula{
			BE: []Term{{Quantity: "distance", Factors: []string{"car", "car-occupancy"}}},
			PE: []Term{{Quantity: "distance", Factors: []string{"bus"}}},
		})
		res, err := same.Quantify(busActivity(t))
		require.NoError(t, err)
		require.Equal(t, base.Digest, res.Digest)
	})
}

// TestDigestGolden spells out the documented encoding of one result by hand
// and checks the digest is its SHA-256; it also pins the digest, so that any
// change to the encoding, the catalog or the arithmetic is deliberate (and
// comes with a new encoding or methodology version).
func TestDigestGolden(t *testing.T) {
	a := carbon.Activity{
		ID: "order-20250314-0001", Partner: "eleme", User: "u-42", Scenario: "food.no-cutlery",
		OccurredAt: time.Date(2025, 3, 14, 20, 0, 0, 0, time.FixedZone("CST", 8*3600)), Region: carbon.Zhejiang,
		Quantities: map[string]carbon.Quantity{"orders": qty("1.0", carbon.Order)},
		Attributes: map[string]string{"cutlery": "none"},
	}
	r := Builtin()
	res, err := r.Quantify(a)
	require.NoError(t, err)
	m, err := r.Get("carbonkit.food.no-cutlery", "2024.1")
	require.NoError(t, err)

	records := [][2]string{
		{"encoding", "carbonkit.result/v1"},
		{"methodology", "carbonkit.food.no-cutlery"},
		{"version", "2024.1"},
		{"spec", m.Spec().Digest()},
		{"activity", "order-20250314-0001"},
		{"partner", "eleme"},
		{"user", "u-42"},
		{"scenario", "food.no-cutlery"},
		{"occurred_at", "2025-03-14T12:00:00Z"},
		{"region", "CN-ZJ"},
		{"quantities", "1"},
		{"quantity", "orders"}, {"value", "1"}, {"unit", "order"},
		{"attributes", "1"},
		{"attribute", "cutlery"}, {"value", "none"},
		{"factors", "1"},
		{"factor", "cutlery-set"}, {"version", "2024.1"}, {"value", "30"},
		{"steps", "6"},
		{"step", "BE[0]"}, {"expression", "orders (1 order) × cutlery-set (30 g/order)"}, {"value", "30"},
		{"step", "BE"}, {"expression", "BE[0]"}, {"value", "30"},
		{"step", "PE"}, {"expression", "0"}, {"value", "0"},
		{"step", "LE"}, {"expression", "0"}, {"value", "0"},
		{"step", "ER.gross"}, {"expression", "BE − PE − LE"}, {"value", "30"},
		{"step", "ER"}, {"expression", "ER rounded toward zero to a multiple of 0.001g"}, {"value", "30"},
		{"be", "30"}, {"pe", "0"}, {"le", "0"}, {"er", "30"},
		{"resolution", "0.001"}, {"rounding", "toward-zero"},
	}
	var enc strings.Builder
	for _, r := range records {
		fmt.Fprintf(&enc, "%s %d:%s\n", r[0], len(r[1]), r[1])
	}
	sum := sha256.Sum256([]byte(enc.String()))
	require.Equal(t, hex.EncodeToString(sum[:]), res.Digest)
	require.Equal(t, "327c35446429dcb766a406ab1d1ccc3a7d7a0bd317ae7d5cbea370c4014ae487", res.Digest)
}

func TestCanonRecords(t *testing.T) {
	c := newCanon("v", nil)
	c.str("a", "x y\n")
	c.dec("n", num("1.500"))
	c.time("t", time.Date(2025, 1, 1, 8, 0, 0, 5, time.FixedZone("CST", 8*3600)))
	c.time("z", time.Time{})
	want := "encoding 1:v\na 4:x y\n\nn 3:1.5\nt 30:2025-01-01T00:00:00.000000005Z\nz 0:\n"
	sum := sha256.Sum256([]byte(want))
	require.Equal(t, hex.EncodeToString(sum[:]), c.sum())
}
