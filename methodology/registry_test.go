package methodology

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carbonkit/carbonkit/carbon"
	"github.com/stretchr/testify/require"
)

var (
	y2024 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	y2025 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
)

// widgetVersion returns the widget methodology as version v, valid in
// [from, to), with the given status and factor value.
func widgetVersion(t *testing.T, v string, from, to time.Time, st Status, factor string) Methodology {
	t.Helper()
	s := testSpec()
	s.Version, s.ValidFrom, s.ValidTo, s.Status = v, from, to, st
	s.Factors[0].Value = num(factor)
	return mustDeclarative(t, s, widgetFormula)
}

func TestRegisterIdempotentAndConflict(t *testing.T) {
	r := New()
	require.NoError(t, r.Register(widgetVersion(t, "1", y2024, time.Time{}, Active, "5")))
	t.Run("same content again", func(t *testing.T) {
		require.NoError(t, r.Register(widgetVersion(t, "1", y2024, time.Time{}, Active, "5")))
		require.Len(t, r.List(), 1)
	})
	t.Run("same content, equal decimal at another scale", func(t *testing.T) {
		require.NoError(t, r.Register(widgetVersion(t, "1", y2024, time.Time{}, Active, "5.000")))
	})
	t.Run("different content", func(t *testing.T) {
		err := r.Register(widgetVersion(t, "1", y2024, time.Time{}, Active, "6"))
		require.ErrorIs(t, err, ErrConflict)
		var ce *ConflictError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, "test.widget@1", ce.Methodology)
		require.NotEqual(t, ce.Registered, ce.Offered)
		m, err := r.Get("test.widget", "1")
		require.NoError(t, err)
		require.True(t, num("5").Equal(m.Spec().Factors[0].Value), "the first registration stands")
	})
	t.Run("nil", func(t *testing.T) {
		require.ErrorIs(t, r.Register(nil), ErrInvalidSpec)
	})
	t.Run("a Methodology not built by this package", func(t *testing.T) {
		inner := widgetVersion(t, "2", y2025, time.Time{}, Active, "5")
		require.NoError(t, r.Register(wrapped{inner}))
		require.NoError(t, r.Register(inner), "same Spec, same content digest")
	})
}

// wrapped hides the concrete type, as a host's own implementation would.
type wrapped struct{ Methodology }

func TestGet(t *testing.T) {
	r := Builtin()
	m, err := r.Get("carbonkit.food.no-cutlery", "2024.1")
	require.NoError(t, err)
	require.Equal(t, carbon.Scenario("food.no-cutlery"), m.Spec().Scenario)
	_, err = r.Get("carbonkit.food.no-cutlery", "1999")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = r.Get("", "")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestResolve(t *testing.T) {
	mid2024 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	r := New()
	require.NoError(t, r.Register(widgetVersion(t, "1", y2024, y2025, Active, "5")))
	require.NoError(t, r.Register(widgetVersion(t, "2", y2025, time.Time{}, Active, "4")))
	require.NoError(t, r.Register(widgetVersion(t, "3-draft", y2024, time.Time{}, Draft, "3")))
	require.NoError(t, r.Register(widgetVersion(t, "0-retired", y2024, time.Time{}, Retired, "9")))

	tests := []struct {
		name    string
		at      time.Time
		version string
		err     error
	}{
		{"inside the first window", mid2024, "1", nil},
		{"first instant of the first window", y2024, "1", nil},
		{"last instant of the first window", y2025.Add(-time.Nanosecond), "1", nil},
		{"first instant of the second window", y2025, "2", nil},
		{"far future", y2025.AddDate(50, 0, 0), "2", nil},
		{"same instant in another zone", y2025.In(time.FixedZone("CST", 8*3600)), "2", nil},
		{"before every window", y2024.Add(-time.Nanosecond), "", ErrNoneInForce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := r.Resolve("test.widget", tc.at)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				var re *ResolveError
				require.ErrorAs(t, err, &re)
				require.Equal(t, carbon.Scenario("test.widget"), re.Scenario)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.version, m.Spec().Version)
		})
	}
	t.Run("unknown scenario", func(t *testing.T) {
		_, err := r.Resolve("test.gadget", mid2024)
		require.ErrorIs(t, err, ErrNoneInForce)
	})
	t.Run("overlap", func(t *testing.T) {
		require.NoError(t, r.Register(widgetVersion(t, "2b", y2025.AddDate(0, 6, 0), time.Time{}, Active, "4")))
		_, err := r.Resolve("test.widget", y2025.AddDate(1, 0, 0))
		require.ErrorIs(t, err, ErrAmbiguous)
		var re *ResolveError
		require.ErrorAs(t, err, &re)
		require.Equal(t, []string{"test.widget@2", "test.widget@2b"}, re.Candidates)
		m, err := r.Resolve("test.widget", y2025.AddDate(0, 1, 0))
		require.NoError(t, err, "before the overlap starts, version 2 alone is in force")
		require.Equal(t, "2", m.Spec().Version)
	})
	t.Run("retired versions still verify", func(t *testing.T) {
		m, err := r.Get("test.widget", "0-retired")
		require.NoError(t, err)
		a := activity(t, "test.widget", q{"widgets": "1 item"}, nil)
		a.OccurredAt = mid2024
		res, err := m.Quantify(a)
		require.NoError(t, err)
		require.NoError(t, r.Verify(a, res))
	})
}

func TestList(t *testing.T) {
	specs := Builtin().List()
	require.Len(t, specs, 10)
	for i := 1; i < len(specs); i++ {
		require.LessOrEqual(t, specs[i-1].Scenario, specs[i].Scenario)
	}
	specs[0].Factors[0].Value = num("999")
	require.False(t, num("999").Equal(Builtin().List()[0].Factors[0].Value))
}

func TestVerify(t *testing.T) {
	r := Builtin()
	a := activity(t, "logistics.e-waybill", q{"waybills": "3 sheet"}, nil)
	res, err := r.Quantify(a)
	require.NoError(t, err)
	require.NoError(t, r.Verify(a, res))

	tamper := []struct {
		name  string
		edit  func(r *Result)
		field string
	}{
		{"er", func(r *Result) { r.ER = r.ER.Add(carbon.GramsInt(1)) }, "er"},
		{"be", func(r *Result) { r.BE = carbon.GramsInt(0) }, "be"},
		{"spec digest", func(r *Result) { r.SpecDigest = "00" }, "spec_digest"},
		{"step value", func(r *Result) { r.Steps[0].Value = carbon.GramsInt(1) }, "steps[0].value"},
		{"step expression", func(r *Result) { r.Steps[1].Expression = "BE[0] × 2" }, "steps[1].expression"},
		{"steps removed", func(r *Result) { r.Steps = r.Steps[:2] }, "steps"},
		{"factor", func(r *Result) { r.Factors[0].Version = "1990" }, "factors[0]"},
		{"resolution", func(r *Result) { r.Resolution = carbon.GramsInt(1) }, "resolution"},
		{"digest", func(r *Result) { r.Digest = "0" + r.Digest[1:] }, "digest"},
		{"methodology", func(r *Result) { r.Version = "2024.2" }, "methodology"},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			bad := res
			bad.Steps = append([]Step(nil), res.Steps...)
			bad.Factors = append([]FactorRef(nil), res.Factors...)
			tc.edit(&bad)
			err := r.Verify(a, bad)
			require.ErrorIs(t, err, ErrMismatch)
			var me *MismatchError
			require.ErrorAs(t, err, &me)
			require.Equal(t, tc.field, me.Field, "error: %v", err)
		})
	}
	t.Run("unregistered version", func(t *testing.T) {
		bad := res
		bad.Version = "2024.2"
		err := r.Verify(a, bad)
		require.ErrorIs(t, err, ErrMismatch)
		require.ErrorIs(t, err, ErrNotFound)
	})
	t.Run("activity no longer quantifies", func(t *testing.T) {
		b := a
		b.Quantities = nil
		require.ErrorIs(t, r.Verify(b, res), ErrMissingQuantity)
	})
	t.Run("against another methodology", func(t *testing.T) {
		m, err := r.Get("carbonkit.logistics.box-reuse", "2024.1")
		require.NoError(t, err)
		var me *MismatchError
		require.ErrorAs(t, Verify(m, a, res), &me)
		require.Equal(t, "methodology", me.Field)
	})
}

// TestRegistryConcurrent exercises registration, resolution, quantification
// and listing together; run with -race.
func TestRegistryConcurrent(t *testing.T) {
	r := Builtin()
	a := activity(t, "transport.metro", q{"distance": "12 km"}, nil)
	want, err := r.Quantify(a)
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				s := testSpec()
				s.Version = fmt.Sprintf("%d.%d", g, i)
				s.ValidFrom = y2024.AddDate(0, 0, g*100+i)
				s.Status = Draft
				m, err := NewDeclarative(s, widgetFormula)
				if err == nil {
					err = r.Register(m)
				}
				if err != nil {
					errs <- err
					return
				}
				res, err := r.Quantify(a)
				if err != nil {
					errs <- err
					return
				}
				if res.Digest != want.Digest {
					errs <- errors.New("digest changed under concurrency")
					return
				}
				_ = r.List()
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Len(t, r.List(), 10+8*50)
}

func TestZeroValues(t *testing.T) {
	var r Registry
	_, err := r.Resolve("test.widget", y2024)
	require.ErrorIs(t, err, ErrNoneInForce)
	require.Empty(t, r.List())
	require.NoError(t, r.Register(widgetVersion(t, "1", y2024, time.Time{}, Active, "5")))
	_, err = r.Resolve("test.widget", y2024)
	require.NoError(t, err)
	require.ErrorIs(t, Verify(nil, carbon.Activity{}, Result{}), ErrNotFound)
}

// QuantifyBrief answers as Quantify does, through the registry: the same
// figure and digest for every built-in methodology, Go-coded ones
// included, and the same error for an activity nothing in force covers
// or that is invalid.
func TestQuantifyBriefMatchesQuantify(t *testing.T) {
	r := Builtin()
	acts := []carbon.Activity{
		activity(t, "transport.metro", map[string]string{"distance": "6.4 km"}, nil),
		activity(t, "secondhand.resale", map[string]string{"items": "2 item"}, map[string]string{"category": "phone", "condition": "good"}),
		activity(t, "logistics.box-reuse", map[string]string{"boxes": "80 box"}, nil), // a condition not met
		activity(t, "transport.teleport", map[string]string{"distance": "1 km"}, nil), // no methodology
	}
	invalid := activity(t, "transport.metro", map[string]string{"distance": "6.4 km"}, nil)
	invalid.OccurredAt = time.Time{}
	early := activity(t, "transport.metro", map[string]string{"distance": "6.4 km"}, nil)
	early.OccurredAt = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	acts = append(acts, invalid, early)
	quantified := 0
	for _, a := range acts {
		want, wantErr := r.Quantify(a)
		got, err := r.QuantifyBrief(a)
		if wantErr != nil {
			require.Error(t, err, a.Scenario)
			require.Equal(t, wantErr.Error(), err.Error())
			continue
		}
		quantified++
		require.NoError(t, err, a.Scenario)
		require.Equal(t, want.Ref(), got.Ref())
		require.Equal(t, want.Digest, got.Digest)
		require.True(t, want.ER.Equal(got.ER), "%s: %s, want %s", a.Scenario, got.ER, want.ER)
	}
	require.Equal(t, 2, quantified)
}
